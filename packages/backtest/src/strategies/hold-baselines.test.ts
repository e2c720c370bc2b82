import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Frame } from '@oitrader/core';
import { runBacktest } from '../engine/backtester.ts';
import { realOpenInterestFrame } from '../testing/real-sample.ts';
import { fundingCarry, oiDivergence, oiTrend } from './baselines.ts';

const BAR = 300_000;

/** A fixture (generated, labelled): flat candles, then a step in price and open interest. */
function fixture(n: number, columns: Record<string, (i: number) => number>): Frame {
  const time = Float64Array.from({ length: n }, (_, i) => Date.UTC(2026, 0, 1) + i * BAR);
  const close = Float64Array.from({ length: n }, (_, i) => columns.close(i));
  const out: Record<string, Float64Array> = { open: close, high: close, low: close, close, volume: new Float64Array(n).fill(1000) };
  for (const [name, f] of Object.entries(columns)) if (name !== 'close') out[name] = Float64Array.from({ length: n }, (_, i) => f(i));
  return new Frame('SOLUSDT', '5m', time, out);
}

const positions = (r: ReturnType<typeof runBacktest>) => r.trades.map((t) => ({ side: t.side, bars: Math.round((t.exitTimeMs - t.entryTimeMs) / BAR) }));

describe('low-turnover baselines that hold to a horizon', () => {
  it('oi-divergence shorts a rally on falling open interest and holds it 4 hours (48 five-minute bars)', () => {
    // Price +3% over the lookback while open interest falls 5%: shorts covering.
    const f = fixture(200, { close: (i) => (i < 50 ? 100 : 103), open_interest: (i) => (i < 50 ? 1e6 : 0.95e6), funding_rate: () => 0.0001 });
    const r = runBacktest(f, oiDivergence(24, 0.01, 4), { leverage: 1, initialBalanceUsd: 2000, closeAtEnd: true });
    const trades = positions(r);
    assert.equal(trades[0]?.side, 'short', JSON.stringify(trades));
    assert.equal(trades[0].bars, 48, 'held exactly its horizon');
    assert.ok(trades.length <= 2, 'low turnover: one divergence, at most one holding period after another');
  });

  it('funding-carry takes the side that is paid an extreme rate, holds one funding interval, and stands aside without funding data', () => {
    const f = fixture(300, { close: () => 100, funding_rate: (i) => (i >= 10 && i < 40 ? 0.0008 : 0.0001) });
    const r = runBacktest(f, fundingCarry(0.0003, 8), { leverage: 1, initialBalanceUsd: 2000, closeAtEnd: true });
    assert.deepEqual(positions(r), [{ side: 'short', bars: 96 }], 'longs pay shorts: short for 8 h, then flat once the rate is ordinary');
    const none = fixture(300, { close: () => 100 });
    assert.equal(runBacktest(none, fundingCarry(), { leverage: 1, initialBalanceUsd: 2000 }).trades.length, 0);
  });

  it('both trade far less than oi-trend on real SOLUSDT data (they are the low-turnover baselines)', () => {
    const frame = realOpenInterestFrame('SOLUSDT', 20);
    const turnover = (s: Parameters<typeof runBacktest>[1]) => runBacktest(frame, s, { leverage: 1, initialBalanceUsd: 2000 }).trades.length;
    const [divergence, carry, trend] = [turnover(oiDivergence()), turnover(fundingCarry()), turnover(oiTrend())];
    assert.ok(divergence * 3 < trend && carry * 3 < trend, `20 real days: oi-divergence ${divergence}, funding-carry ${carry}, oi-trend ${trend} trades`);
  });
});
