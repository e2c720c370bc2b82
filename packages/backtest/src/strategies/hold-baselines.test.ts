import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Frame } from '@oitrader/core';
import { runBacktest, runPortfolioBacktest } from '../engine/backtester.ts';
import { realOpenInterestFrame } from '../testing/real-sample.ts';
import { fundingCarry, fundingCarryCrossSection, oiDivergence, oiTrend } from './baselines.ts';

const BAR = 300_000;

/** A fixture (generated, labelled): flat candles, then a step in price and open interest. */
function fixture(n: number, columns: Record<string, (i: number) => number>, symbol = 'SOLUSDT'): Frame {
  const time = Float64Array.from({ length: n }, (_, i) => Date.UTC(2026, 0, 1) + i * BAR);
  const close = Float64Array.from({ length: n }, (_, i) => columns.close(i));
  const out: Record<string, Float64Array> = { open: close, high: close, low: close, close, volume: new Float64Array(n).fill(1000) };
  for (const [name, f] of Object.entries(columns)) if (name !== 'close') out[name] = Float64Array.from({ length: n }, (_, i) => f(i));
  return new Frame(symbol, '5m', time, out);
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

describe('cross-sectional funding carry (a portfolio baseline)', () => {
  const H8 = 96; // 8 hours of 5-minute bars; the fixture starts at 00:00 UTC, a funding boundary.
  const book = (rates: Record<string, (i: number) => number>) => Object.entries(rates).map(([symbol, rate]) => fixture(4 * H8, { close: () => 100, funding_rate: rate }, symbol));
  const sides = (frames: Frame[], spread = 0.0001) => {
    const source = fundingCarryCrossSection(frames, { spread });
    const run = runPortfolioBacktest(frames, (s) => source.create(s), { leverage: 1, initialBalanceUsd: 3000, closeAtEnd: true });
    return Object.fromEntries(run.instruments.map((r) => [r.symbol, r.trades.map((t) => `${t.side} ${Math.round((t.entryTimeMs - Date.UTC(2026, 0, 1)) / BAR)}-${Math.round((t.exitTimeMs - Date.UTC(2026, 0, 1)) / BAR)}`)]));
  };

  it('shorts the highest settled rate and longs the lowest at each boundary, holds to the next, re-ranks there', () => {
    // Fixture (generated): A pays the most for 16 h, then C does; B sits between.
    const frames = book({ SOLUSDT: (i) => (i < 2 * H8 ? 0.0006 : -0.0002), BTCUSDT: () => 0.0001, ETHUSDT: (i) => (i < 2 * H8 ? -0.0003 : 0.0009) });
    const trades = sides(frames);
    assert.deepEqual(trades.BTCUSDT, [], 'the middle of three sits out (one leg a side)');
    // Decided at a bar's close, filled at the next bar's open: entered at bar 1, out at the boundary bar 192's next open, in again a bar later.
    assert.deepEqual(trades.SOLUSDT, ['short 1-193', 'long 194-383'], 'short while its rate is the highest, flat at the boundary, long from the next bar');
    assert.deepEqual(trades.ETHUSDT, ['long 1-193', 'short 194-383']);
  });

  it('stands aside when the spread between the highest and lowest rate is within the threshold, and never reads a later rate', () => {
    const tight = book({ SOLUSDT: () => 0.0001, BTCUSDT: () => 0.00012, ETHUSDT: () => 0.00009 });
    assert.deepEqual(Object.values(sides(tight)).flat(), [], 'a 0.003% spread is no carry');
    // Rates changed from bar 97 on (just after the second boundary) leave the decisions at bars 0 and 96 unchanged.
    const before = sides(book({ SOLUSDT: () => 0.0006, BTCUSDT: () => 0.0001, ETHUSDT: () => -0.0003 }));
    const after = sides(book({ SOLUSDT: (i) => (i < H8 + 1 ? 0.0006 : -0.0009), BTCUSDT: () => 0.0001, ETHUSDT: (i) => (i < H8 + 1 ? -0.0003 : 0.002) }));
    assert.deepEqual(before.SOLUSDT, ['short 1-383']);
    assert.equal(after.SOLUSDT[0], 'short 1-193', 'rates that change after the boundary at bar 96 act only at the next boundary (bar 192), never on a decision before them');
  });

  it('on the real 4-symbol sample it changes positions only at funding boundaries (00/08/16 UTC) or the bar after', () => {
    const frames = (['SOLUSDT', 'BTCUSDT', 'ETHUSDT', 'DOGEUSDT'] as const).map((s) => realOpenInterestFrame(s, 10));
    const source = fundingCarryCrossSection(frames);
    const run = runPortfolioBacktest(frames, (s) => source.create(s), { leverage: 1, initialBalanceUsd: 2000, closeAtEnd: false });
    const trades = run.instruments.flatMap((r) => r.trades);
    assert.ok(trades.length > 0, "the sample's rates differ enough across symbols to trade");
    for (const t of trades) {
      // Fills happen at the next bar's open after the decision bar closes.
      const decidedAt = (t.entryTimeMs - BAR) % (8 * 3_600_000);
      assert.ok(decidedAt === 0 || decidedAt === BAR, `entered ${new Date(t.entryTimeMs).toISOString()}: not at a boundary`);
    }
  });
});
