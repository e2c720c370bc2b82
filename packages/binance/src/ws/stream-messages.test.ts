import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStreamMessage } from './stream-messages.ts';

// Payloads as Binance's USDⓈ-M WebSocket documentation shows them (no real captures exist in ../shared/data/real),
// except the kline's open: the documented 0.0010 lies below its own low (0.0015), which the parser rightly refuses.
const KLINE = {
  e: 'kline',
  E: 1638747660000,
  s: 'BTCUSDT',
  k: { t: 1638747660000, T: 1638747719999, s: 'BTCUSDT', i: '1m', f: 100, L: 200, o: '0.0016', c: '0.0020', h: '0.0025', l: '0.0015', v: '1000', n: 100, x: false, q: '1.0000', V: '500', Q: '0.500', B: '123456' },
};
const MARK = { e: 'markPriceUpdate', E: 1562305380000, s: 'BTCUSDT', p: '11794.15000000', i: '11784.62659091', P: '11784.25641265', r: '0.00038167', T: 1562306400000 };
const FORCE = { e: 'forceOrder', E: 1568014460893, o: { s: 'BTCUSDT', S: 'SELL', o: 'LIMIT', f: 'IOC', q: '0.014', p: '9910', ap: '9910', X: 'FILLED', l: '0.014', z: '0.014', T: 1568014460893 } };
const DEPTH = { e: 'depthUpdate', E: 1571889248277, T: 1571889248276, s: 'BTCUSDT', U: 390497796, u: 390497878, pu: 390497794, b: [['7403.89', '0.002'], ['7403.90', '3.906']], a: [['7405.96', '3.340'], ['7406.63', '4.525']] };

const combined = (stream: string, data: unknown) => JSON.stringify({ stream, data });

describe('parseStreamMessage', () => {
  it('reads the documented kline, mark price, liquidation and partial depth events', () => {
    const k = parseStreamMessage(combined('btcusdt@kline_1m', KLINE));
    assert.equal(k.stream, 'btcusdt@kline_1m');
    assert.deepEqual(k.event, {
      type: 'kline', symbol: 'BTCUSDT', interval: '1m', eventTime: 1638747660000, openTime: 1638747660000, closeTime: 1638747719999,
      open: 0.0016, high: 0.0025, low: 0.0015, close: 0.002, volume: 1000, quoteVolume: 1, trades: 100, takerBuyVolume: 500, takerBuyQuoteVolume: 0.5, closed: false,
    });
    const m = parseStreamMessage(combined('btcusdt@markPrice@1s', MARK)).event;
    assert.equal(m.type === 'markPrice' && m.fundingRate, 0.00038167);
    const f = parseStreamMessage(JSON.stringify(FORCE)).event;
    assert.deepEqual(f, { type: 'liquidation', symbol: 'BTCUSDT', eventTime: 1568014460893, tradeTime: 1568014460893, side: 'SELL', price: 9910, avgPrice: 9910, qty: 0.014, status: 'FILLED' });
    const d = parseStreamMessage(combined('btcusdt@depth20@500ms', DEPTH)).event;
    assert.equal(d.type === 'depth' && d.bids[1][1], 3.906);
  });

  it('names the field it rejects', () => {
    const bad = (patch: Record<string, unknown>) => combined('btcusdt@kline_1m', { ...KLINE, k: { ...KLINE.k, ...patch } });
    assert.throws(() => parseStreamMessage('{"stream":'), /malformed JSON/);
    assert.throws(() => parseStreamMessage(bad({ c: 'NaN' })), /kline\.k\.c: expected a decimal, got "NaN"/);
    assert.throws(() => parseStreamMessage(bad({ o: '-5' })), /kline\.k\.o: expected a positive number/);
    assert.throws(() => parseStreamMessage(bad({ x: 'true' })), /kline\.k\.x: expected a boolean/);
    assert.throws(() => parseStreamMessage(bad({ h: '0.0012' })), /high\/low do not bracket/);
    assert.throws(() => parseStreamMessage(bad({ T: 1638747650000 })), /close time .* is not after open time/);
    assert.throws(() => parseStreamMessage(combined('x', { ...FORCE, o: { ...FORCE.o, S: 'HOLD' } })), /forceOrder\.o\.S: expected BUY or SELL/);
    assert.throws(() => parseStreamMessage(combined('x', { e: 'aggTrade' })), /unknown event type "aggTrade"/);
    assert.throws(() => parseStreamMessage(combined('x', { ...DEPTH, b: [['7403.89']] })), /depthUpdate\.b\[0\]\.qty/);
  });
});
