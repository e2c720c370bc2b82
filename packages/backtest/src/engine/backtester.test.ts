import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Strategy } from '@oitrader/trading';
import { runBacktest } from './backtester.ts';
import { BASELINES, buyAndHold, flat, smaTrend } from '../strategies/baselines.ts';
import { computeMetrics, deflatedSharpe } from '../metrics/metrics.ts';
import { normalCdf, normalInverseCdf } from '../metrics/normal.ts';
import { realSampleFrame } from '../testing/real-sample.ts';

const frame = realSampleFrame();
const EIGHT_HOURS = 8 * 3_600_000;

describe('backtester on the real XRPUSDT sample', () => {
  it('buy-and-hold equity equals the price change times the position, minus fees and funding', () => {
    const result = runBacktest(frame, buyAndHold(), { leverage: 5, initialBalanceUsd: 2000 });
    const [trade] = result.trades;
    assert.equal(result.trades.length, 1);
    assert.equal(result.liquidations, 0);
    // Entry: the second bar's open plus the 1 bp half-spread; exit: the last close (forced at the end).
    const entry = frame.column('open')[1] * (1 + 1e-4 + (5e-4 * trade.qtyBase * frame.column('open')[1]) / 100_000);
    assert.ok(Math.abs(trade.entryPriceUsd - entry) < 1e-12, `entry ${trade.entryPriceUsd} vs ${entry}`);
    const last = frame.column('close')[frame.length - 1];
    const expected = 2000 + trade.qtyBase * (last - trade.entryPriceUsd) - result.feesUsd - result.fundingUsd;
    assert.ok(Math.abs(result.equity[frame.length - 1] - expected) < 1e-6, `final equity ${result.equity[frame.length - 1]} vs ${expected}`);
    const notional = trade.qtyBase * trade.entryPriceUsd;
    assert.ok(notional > 2000 * 5 * 0.97 && notional <= 2000 * 5, `5x of $2,000 is ~$10,000 notional, got ${notional}`);
    const leveragedMove = 5 * (last / frame.column('open')[1] - 1);
    assert.ok(Math.abs(result.equity[frame.length - 1] / 2000 - 1 - leveragedMove) < 0.03, 'return ~= 5 × price change, less ~2% sizing buffer and costs');
  });

  it('charges funding only at 8-hour settlements, on the position held at that instant', () => {
    const result = runBacktest(frame, buyAndHold(), { leverage: 5 });
    const qty = result.trades[0].qtyBase;
    const open = frame.column('open');
    const rate = frame.column('funding_rate');
    let expected = 0;
    for (let i = 2; i < frame.length; i++) if (frame.time[i] % EIGHT_HOURS === 0 && Number.isFinite(rate[i])) expected += qty * open[i] * rate[i];
    assert.ok(expected > 0, 'the sample has positive funding while the long is open');
    assert.ok(Math.abs(result.fundingUsd - expected) < 1e-9, `funding ${result.fundingUsd} vs ${expected}`);
    assert.equal(runBacktest(frame, flat()).fundingUsd, 0);
  });

  it('decisions up to bar t are identical when the bars after t do not exist (no look-ahead)', () => {
    const full = runBacktest(frame, smaTrend(24), { closeAtEnd: false });
    for (const cut of [300, 1000, 1700]) {
      const part = runBacktest(frame.slice(0, cut), smaTrend(24), { closeAtEnd: false });
      for (let i = 0; i < cut; i++) {
        assert.equal(part.position[i], full.position[i], `position at bar ${i} depends on bars after ${cut}`);
        assert.equal(part.equity[i], full.equity[i]);
      }
    }
  });

  it('a strategy that asks for a future value is stopped with an error', () => {
    const peeking: Strategy = { name: 'peek', onBar: (ctx) => (ctx.value('close', -1) > 0 ? [] : []) };
    assert.throws(() => runBacktest(frame, peeking), /1 bars in the future/);
  });

  it('every baseline runs after costs and none ends with a negative balance', () => {
    for (const [name, make] of Object.entries(BASELINES)) {
      const result = runBacktest(frame, make(), { leverage: 5 });
      const m = computeMetrics(result, { trials: 5 });
      assert.ok(result.equity.every((e) => e >= 0), `${name} equity went negative`);
      if (m.trades > 0) assert.ok(m.feesUsd > 0, `${name} traded without paying fees`);
      assert.ok(Number.isNaN(m.cagr), 'a 7-day sample is too short to annualise');
    }
  });
});

describe('metrics', () => {
  const synthetic = (returns: number[]) => {
    const equity = new Float64Array(returns.length);
    let e = 1000;
    returns.forEach((r, i) => (equity[i] = e *= 1 + r));
    const time = Float64Array.from(returns.map((_, i) => Date.UTC(2024, 0, 1) + i * 3_600_000));
    return { strategy: 's', symbol: 'SOLUSDT', timeframe: '1h', initialBalanceUsd: 1000, time, equity, close: equity, position: new Float64Array(returns.length).fill(1), trades: [], fills: [], rejections: [], rejectionCount: 0, feesUsd: 0, fundingUsd: 0, liquidations: 0, turnoverUsd: 0, config: {} as never, managed: false, refusals: {}, riskEvents: [] };
  };

  it('annualises Sharpe with the number of bars in a 365-day year', () => {
    const returns = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 0.002 : -0.001));
    const m = computeMetrics(synthetic(returns));
    const mean = 0.0005;
    const std = Math.sqrt(returns.reduce((s, r) => s + (r - mean) ** 2, 0) / 999);
    assert.ok(Math.abs(m.sharpe - (mean / std) * Math.sqrt(365 * 24)) < 1e-9);
  });

  it('measures the maximum drawdown from the running peak', () => {
    const m = computeMetrics(synthetic([0.1, -0.2, 0.05, -0.1, 0.5]));
    // Peak 1100, trough 1100 * 0.8 * 1.05 * 0.9 = 831.6
    assert.ok(Math.abs(m.maxDrawdown - (1 - 831.6 / 1100)) < 1e-12);
  });

  it('the deflated Sharpe falls as the number of trials grows, and the normal helpers invert each other', () => {
    const one = deflatedSharpe(0.1, 500, 0, 3, 1);
    const many = deflatedSharpe(0.1, 500, 0, 3, 100);
    assert.ok(one > 0.95 && many < one, `DSR with 1 trial ${one}, with 100 trials ${many}`);
    for (const p of [0.001, 0.05, 0.5, 0.9, 0.999]) assert.ok(Math.abs(normalCdf(normalInverseCdf(p)) - p) < 1e-6);
  });
});
