import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Frame } from '@oitrader/core';
import { DEFAULT_RISK_LIMITS, enter, singleMarket, type EnterIntent, type Strategy } from '@oitrader/trading';
import { runBacktest, type BacktestOptions } from '../engine/backtester.ts';
import { mlSignal, mlSignalDirection, wilderAtr } from './ml-signal.ts';

const T0 = Date.UTC(2026, 0, 5);
const M5 = 300_000;
const PRIORS = [0.3, 0.4, 0.3] as const;

/**
 * FIXTURE (generated, not market data): flat bars at 100 with a 1-point range,
 * the probabilities a test plants, then scripted bars.
 */
function fixture(bars: Array<[number, number, number, number]>, pLongAt: Record<number, number>): Frame {
  const n = bars.length;
  const col = (k: number) => Float64Array.from(bars, (b) => b[k]);
  const pLong = Float64Array.from({ length: n }, (_, i) => pLongAt[i] ?? 0.3);
  const pShort = Float64Array.from({ length: n }, (_, i) => (pLongAt[i] !== undefined ? (1 - pLongAt[i]) / 2 : 0.3));
  const pNeutral = Float64Array.from({ length: n }, (_, i) => 1 - pLong[i] - pShort[i]);
  return new Frame('SOLUSDT', '5m', Float64Array.from({ length: n }, (_, i) => T0 + i * M5), {
    open: col(0), high: col(1), low: col(2), close: col(3), volume: new Float64Array(n).fill(1000), p_short: pShort, p_neutral: pNeutral, p_long: pLong,
  });
}

const flatBars = (n: number): Array<[number, number, number, number]> => Array.from({ length: n }, () => [100, 100.5, 99.5, 100]);

function strategy(params: Partial<Parameters<typeof mlSignal>[0]> = {}): Strategy {
  return mlSignal({ threshold: 1.2, priors: PRIORS, stopAtr: 2, takeProfitAtr: 3, maxBars: 48, atrPeriod: 14, ...params });
}

const exact: BacktestOptions = { halfSpreadBps: 0, impactBpsPer100k: 0, closeAtEnd: false };
/** Through the risk engine with the default limits (the bot's rules), as every ML-signal backtest runs. */
const managed: BacktestOptions = { ...exact, risk: { limits: DEFAULT_RISK_LIMITS, stopLoss: 0.02 } };

describe('ML-signal strategy', () => {
  it('fires only when LONG/SHORT is the top class and beats threshold × its prior', () => {
    assert.equal(mlSignalDirection(0.2, 0.39, 0.41, { threshold: 1.2, priors: PRIORS }), 1, '0.41 >= 1.2 × 0.3 and the top class');
    assert.equal(mlSignalDirection(0.25, 0.4, 0.35, { threshold: 1.2, priors: PRIORS }), 0, 'LONG is not the most probable class');
    assert.equal(mlSignalDirection(0.3, 0.34, 0.35, { threshold: 1.2, priors: [0.3, 0.4, 0.3] }), 0, 'neutral 0.34 < long 0.35 but 0.35 < 0.36 = 1.2 × prior');
    assert.equal(mlSignalDirection(0.5, 0.2, 0.3, { threshold: 1.2, priors: PRIORS }), -1);
    assert.equal(mlSignalDirection(Number.NaN, 0.2, 0.3, { threshold: 1.2, priors: PRIORS }), 0, 'no prediction, no trade');
  });

  it('ATR is causal: truncating the future leaves every earlier value unchanged', () => {
    const bars = flatBars(60).map((b, i): [number, number, number, number] => [b[0] + i, b[1] + i * 1.5, b[2], b[3] + i]);
    const full = wilderAtr(fixture(bars, {}), 14);
    const cut = wilderAtr(fixture(bars.slice(0, 30), {}), 14);
    for (let i = 0; i < 30; i++) assert.ok(Object.is(full[i], cut[i]) || full[i] === cut[i], `ATR at bar ${i} changed when later bars were removed`);
  });

  it('on a frame that grows after reset (the live bot appends candles), stops and targets use the ATR of the new candles', () => {
    // Widening ranges, so every bar's ATR differs; LONG signals from bar 20 on (the bot's frame is only 10 bars at reset).
    const bars = flatBars(40).map((b, i): [number, number, number, number] => [b[0] + i, b[1] + i * (1 + i / 10), b[2] + i, b[3] + i]);
    const pLong = Object.fromEntries(Array.from({ length: 20 }, (_, k) => [20 + k, 0.8]));
    const full = fixture(bars, pLong);
    const atr = wilderAtr(full, 14);
    const contextAt = (frame: Frame, index: number) =>
      ({ frame, index, timeMs: frame.time[index], closeUsd: frame.column('close')[index], qtyBase: 0, value: (c: string, ago = 0) => frame.column(c)[index - ago] }) as unknown as Parameters<Strategy['onBar']>[0];
    const params = { threshold: 1.2, priors: PRIORS, stopAtr: 2, takeProfitAtr: 3, maxBars: 48, atrPeriod: 14 };
    const grown = mlSignal(params);
    grown.reset!(full.slice(0, 10));
    for (const index of [20, 27, 39]) {
      // Each step sees a new Frame object holding every candle up to the one just closed, as appendFrame builds it.
      const [intent] = grown.onBar(contextAt(full.slice(0, index + 1), index)) ?? [];
      assert.ok(intent?.kind === 'enter' && intent.stopUsd !== undefined && intent.targetUsd !== undefined, `no entry with stop and target at bar ${index} of the grown frame: the strategy lost its ATR`);
      const close = full.column('close')[index];
      assert.equal(intent.stopUsd, close - 2 * atr[index], `stop at bar ${index} is not 2 ATR below the close (ATR of the grown frame)`);
      assert.equal(intent.targetUsd, close + 3 * atr[index], `target at bar ${index} is not 3 ATR above the close`);
    }
  });

  it('sizes so the ATR stop costs risk_per_trade, places stop and take-profit on the exchange, and a stop gapped through fills at the open', () => {
    const bars = flatBars(30);
    // Bar 20 closes with a LONG signal; bar 21 fills the entry at 100; bar 22 gaps down through the stop.
    bars[22] = [95, 95.5, 94, 95];
    const frame = fixture(bars, { 20: 0.6 });
    const result = runBacktest(frame, strategy(), managed);
    const atr = wilderAtr(frame, 14)[20];
    const stop = Math.round((100 - 2 * atr) * 100) / 100;
    assert.equal(result.trades.length, 1, 'one trade: entered on the signal, stopped out');
    const trade = result.trades[0];
    assert.equal(trade.entryPriceUsd, 100);
    assert.equal(trade.reason, 'stop');
    assert.equal(trade.exitPriceUsd, 95, `the stop at ${stop} was gapped through: it fills at the open 95, not at the stop price`);
    const riskUsd = 2000 * 0.02;
    assert.equal(trade.qtyBase, Math.floor(riskUsd / (100 - stop)), 'quantity = risk_per_trade × equity / stop distance, rounded down to SOLUSDT\'s step of 1');
  });

  it('takes profit at the target and the fill cancels the stop (one group)', () => {
    const bars = flatBars(30);
    bars[23] = [100.2, 104, 100, 103.5];
    const frame = fixture(bars, { 20: 0.6 });
    const result = runBacktest(frame, strategy(), managed);
    assert.equal(result.trades.length, 1);
    assert.equal(result.trades[0].reason, 'target');
    const atr = wilderAtr(frame, 14)[20];
    assert.ok(Math.abs(result.trades[0].exitPriceUsd - Math.round((100 + 3 * atr) * 100) / 100) < 1e-9, 'fills at the take-profit price');
    assert.equal(result.position.at(-1), 0);
  });

  it('exits after the label horizon when neither stop nor target is hit', () => {
    const frame = fixture(flatBars(40), { 5: 0.6, 20: 0.6 });
    const result = runBacktest(frame, strategy({ maxBars: 10, atrPeriod: 3 }), managed);
    assert.ok(result.trades.length >= 1);
    const first = result.trades[0];
    assert.equal((first.exitTimeMs - first.entryTimeMs) / M5, 11, 'entered on bar 6, exit decided at the close of bar 16, filled at the open of bar 17');
  });
});

describe('orders and groups in the execution model', () => {
  it('a market order that closes the position cancels its stop and take-profit at once', () => {
    const ex = singleMarket({ symbol: 'SOLUSDT', halfSpreadBps: 0, impactBpsPer100k: 0 });
    ex.submit(T0, { type: 'market', side: 'buy', qtyBase: 10 }, 100);
    ex.submit(T0, { type: 'stop', side: 'sell', qtyBase: 10, triggerUsd: 95, reduceOnly: true }, 100);
    ex.submit(T0, { type: 'take_profit', side: 'sell', qtyBase: 10, triggerUsd: 110, reduceOnly: true }, 100);
    ex.processBar({ timeMs: T0, open: 100, high: 101, low: 99, close: 100 });
    ex.submit(T0 + M5, { type: 'market', side: 'sell', qtyBase: 10, reduceOnly: true }, 100);
    ex.submit(T0 + M5, { type: 'market', side: 'sell', qtyBase: 5 }, 100);
    ex.processBar({ timeMs: T0 + M5, open: 100, high: 111, low: 94, close: 100 });
    assert.equal(ex.account.qtyBase, -5, 'the new short is untouched: the old long\'s stop and target were cancelled with it');
    assert.equal(ex.account.trades.length, 1);
    assert.equal(ex.pendingOrders.length, 0);
  });

  it('the execution model cancels and replaces resting orders by tag (a scale-in replaces the position\'s stop this way)', () => {
    const ex = singleMarket({ symbol: 'SOLUSDT', halfSpreadBps: 0, impactBpsPer100k: 0 });
    ex.submit(T0, { type: 'limit', side: 'buy', qtyBase: 1, priceUsd: 90, tag: 'entry' }, 100);
    ex.processBar({ timeMs: T0, open: 100, high: 100.5, low: 99.5, close: 100 });
    assert.equal(ex.cancel('entry'), 1, 'the resting limit is cancelled');
    ex.submit(T0 + M5, { type: 'limit', side: 'buy', qtyBase: 1, priceUsd: 99.6, tag: 'entry' }, 100);
    ex.processBar({ timeMs: T0 + M5, open: 100, high: 100.5, low: 89, close: 100 });
    assert.equal(ex.account.fills.length, 1);
    assert.equal(ex.account.fills[0].priceUsd, 99.6, 'only the replacement filled');
  });

  it('baseline sizing rounds to the quantity step first and never re-sends what the filters refuse', () => {
    // A $30 account on SOLUSDT (step 1) at 100: 30 × 5 × 0.98 / 100 = 1.47 → 1 SOL.
    const frame = fixture(flatBars(10), {});
    const intents: readonly EnterIntent[] = [enter('long', { exposure: 1 })];
    const strategy: Strategy = { name: 'long', onBar: () => intents };
    const result = runBacktest(frame, strategy, { ...exact, initialBalanceUsd: 30 });
    assert.equal(result.rejectionCount, 0, 'nothing the exchange refuses is sent');
    assert.equal(result.fills.length, 1);
    assert.equal(result.fills[0].qtyBase, 1);
    const tiny = runBacktest(frame, strategy, { ...exact, initialBalanceUsd: 15 });
    assert.deepEqual([tiny.fills.length, tiny.rejectionCount], [0, 0], '15 × 5 × 0.98 / 100 = 0.73 SOL rounds to 0: no order at all, not a refused one every bar');
  });
});
