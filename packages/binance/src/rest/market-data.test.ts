import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEach } from '../payload.ts';
import { klinesWeight, parseKline } from './market-data.ts';

// Binance's documented /fapi/v1/klines row.
const DOC_KLINE = [1499040000000, '0.01634790', '0.80000000', '0.01575800', '0.01577100', '148976.11427815', 1499644799999, '2434.19055334', 308, '1756.87402397', '28.46694368', '17928899.62484339'];

describe('REST parsers', () => {
  it('parse the documented kline row', () => {
    assert.deepEqual(parseKline(DOC_KLINE, 'k'), {
      openTime: 1499040000000, open: 0.0163479, high: 0.8, low: 0.015758, close: 0.015771, volume: 148976.11427815, closeTime: 1499644799999,
      quoteVolume: 2434.19055334, trades: 308, takerBuyVolume: 1756.87402397, takerBuyQuoteVolume: 28.46694368,
    });
  });

  it('reject bad rows one by one with the reason and keep the good ones', () => {
    const rows = [DOC_KLINE, [...DOC_KLINE.slice(0, 4), 'NaN', ...DOC_KLINE.slice(5)], [...DOC_KLINE.slice(0, 2), '0.01', ...DOC_KLINE.slice(3)], DOC_KLINE.slice(0, 5)];
    const parsed = parseEach(rows, parseKline, 'klines');
    assert.equal(parsed.rows.length, 1);
    assert.deepEqual(parsed.rejected.map((r) => r.index), [1, 2, 3]);
    assert.match(parsed.rejected[0].reason, /klines\[1\]\.close: expected a decimal/);
    assert.match(parsed.rejected[1].reason, /high\/low do not bracket/);
    assert.match(parsed.rejected[2].reason, /a kline has 12 fields, got 5/);
  });

  it('weighs klines requests as Binance does (1000 is the cheapest per bar)', () => {
    assert.deepEqual([1, 99, 100, 499, 500, 1000, 1001, 1500].map(klinesWeight), [1, 1, 2, 2, 5, 5, 10, 10]);
  });
});
