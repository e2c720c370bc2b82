import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPrice } from './bundled-instruments.ts';
import { stepDecimals } from './instrument.ts';

describe('prices for people are shown on the instrument tick', () => {
  it('rounds to each bundled symbol tick and prints its decimals', () => {
    assert.equal(formatPrice('BTCUSDT', 87123.456), '87123.5');
    assert.equal(formatPrice('DOGEUSDT', 0.123456), '0.12346', 'two decimals would show DOGE at 0.12 and hide every move');
    assert.equal(formatPrice('XRPUSDT', 2.1), '2.1000');
    assert.equal(formatPrice('SOLUSDT', 123.004999), '123.00');
  });

  it('falls back to six significant digits for an unknown symbol and a dash for no price', () => {
    assert.equal(formatPrice('NEWUSDT', 0.000123456789), '0.000123457');
    assert.equal(formatPrice('BTCUSDT', Number.NaN), '–');
    assert.equal(formatPrice('BTCUSDT', undefined), '–');
  });

  it('counts the decimals of a tick size, including exponent notation', () => {
    assert.deepEqual([1, 0.1, 0.01, 0.00001, 1e-7, 0.5, 10].map(stepDecimals), [0, 1, 2, 5, 7, 1, 0]);
  });
});
