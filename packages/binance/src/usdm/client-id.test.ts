import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLIENT_ID_PATTERN, makeClientId, parseClientId } from './client-id.ts';
import { BinanceOrderError, ORDER_ERROR_CODES } from './errors.ts';

describe('client ids', () => {
  it('are deterministic from the decision, fit Binance rule, and round-trip', () => {
    const parts = { prefix: 'oit', intent: 'stop' as const, symbol: 'SOLUSDT', candleTimeMs: 1_764_547_200_000, attempt: 2 };
    const id = makeClientId(parts);
    assert.equal(id, makeClientId(parts), 'a restarted bot must derive the same id for the same decision');
    assert.match(id, CLIENT_ID_PATTERN);
    assert.deepEqual(parseClientId(id), parts);
    assert.notEqual(makeClientId({ ...parts, intent: 'entry' }), id, 'the stop and the entry of one candle must not share an id');
    assert.equal(parseClientId('web_abc123'), undefined, 'a manual order is not ours');
  });
});

describe('order error map', () => {
  it('gives each documented order error a retry decision', () => {
    const expected: Record<number, string> = { [-1021]: 'resync-time', [-1022]: 'fatal', [-1111]: 'never', [-2011]: 'lookup', [-2013]: 'never', [-2019]: 'never', [-2021]: 'never', [-2022]: 'never', [-2027]: 'never', [-4003]: 'never', [-4116]: 'lookup', [-4120]: 'never', [-4131]: 'never', [-4164]: 'never', [-5022]: 'never', [-1007]: 'lookup', [-1015]: 'backoff', [-1125]: 'renew-listen-key' };
    for (const [code, retry] of Object.entries(expected)) assert.equal(ORDER_ERROR_CODES[Number(code)]?.retry, retry, `code ${code} must be ${retry}`);
  });

  it('turns an unmapped 5xx into a lookup and a 4xx into no retry', () => {
    assert.equal(new BinanceOrderError('/fapi/v1/order', 503, undefined, 'x').retry, 'lookup');
    assert.equal(new BinanceOrderError('/fapi/v1/order', 400, -9999, 'x').retry, 'never');
    const e = new BinanceOrderError('/fapi/v1/order', 400, -4120, 'Order type not supported for this endpoint.');
    assert.match(e.hint ?? '', /algoOrder/);
  });
});
