import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RISK_LIMITS, type RiskLimits } from '@oitrader/trading';
import { runBacktest, type BacktestCommand, type BacktestOptions } from './backtester.ts';
import { smaTrend } from '../strategies/baselines.ts';
import { realSampleFrame } from '../testing/real-sample.ts';

const frame = realSampleFrame();
const managed = (limits: Partial<RiskLimits> = {}, commands: BacktestCommand[] = []): BacktestOptions => ({
  leverage: 5,
  initialBalanceUsd: 2000,
  risk: { limits: { ...DEFAULT_RISK_LIMITS, ...limits }, stopLoss: 0.01 },
  commands,
});
const loose = { maxDailyLoss: 0.5, maxDrawdown: 0.9 };

describe('a strategy through the risk engine on the real XRPUSDT sample', () => {
  it('every entry carries its stop from the bar it fills, and a stopped trade loses about risk_per_trade', () => {
    const result = runBacktest(frame, smaTrend(), managed(loose));
    assert.ok(result.trades.length > 5, `sma-trend should trade on a week of 5m bars, made ${result.trades.length} trades`);
    const stopped = result.trades.filter((t) => t.reason === 'stop');
    assert.ok(stopped.length > 0, 'a 1% stop on XRP 5m bars must fire at least once in a week');
    for (const t of stopped) {
      const lossPct = -t.grossPnlUsd / 2000;
      // 2% of equity at the stop, ± equity drift and gaps through the stop.
      assert.ok(lossPct > 0.005 && lossPct < 0.04, `a stopped trade lost ${(lossPct * 100).toFixed(2)}% of the start equity; the risk budget is 2%`);
    }
    assert.equal(result.liquidations, 0, 'a stop at 1% with 5x must never let a position reach liquidation');
    assert.equal(result.managed, true);
  });

  it('the daily loss limit flattens the book and keeps it flat for the rest of the UTC day, and the fill says why', () => {
    // A tiny limit so the real week crosses it: after it fires no position is open until the next UTC day.
    const result = runBacktest(frame, smaTrend(), managed({ maxDailyLoss: 0.005, maxDrawdown: 0.9 }));
    const fired = result.riskEvents.filter((e) => e.kind === 'daily_loss');
    assert.ok(fired.length > 0, 'a 0.5% daily limit must fire on a week of sma-trend trading');
    for (const event of fired) {
      const dayEnd = Math.floor(event.timeMs / 86_400_000) * 86_400_000 + 86_400_000;
      // The flatten order decided at this close fills on the next bar; from the bar after, flat until midnight.
      const from = frame.indexAtOrAfter(event.timeMs) + 1;
      for (let i = from; i < frame.length && frame.time[i] + 300_000 <= dayEnd; i++) {
        assert.equal(result.position[i], 0, `position ${result.position[i]} open at ${new Date(frame.time[i]).toISOString()} after the daily limit fired at ${new Date(event.timeMs).toISOString()}`);
      }
    }
    assert.ok(result.trades.some((t) => t.reason === 'daily_loss'), 'a position closed by the daily halt is labelled daily_loss, not signal');
    assert.ok((result.refusals.daily_loss ?? 0) > 0, 'entries refused by the halt are counted by reason');
  });

  it('the kill switch flattens and nothing enters until resume', () => {
    const result = runBacktest(frame, smaTrend(), managed(loose, [
      { atMs: frame.time[800], kind: 'kill', why: 'test' },
      { atMs: frame.time[1200], kind: 'resume', why: 'test' },
    ]));
    for (let i = 802; i <= 1200; i++) assert.equal(result.position[i], 0, `position open at bar ${i} while the kill switch was engaged`);
    assert.ok(result.position.slice(1202).some((q) => q !== 0), 'after resume the strategy trades again');
  });

  it('stop-entries keeps the open position with its stop and exits, enters nothing new until resume', () => {
    const reference = runBacktest(frame, smaTrend(), managed(loose));
    // Stop entries at a bar where the reference holds a position, so its exit is what is tested.
    const stopAt = reference.position.findIndex((q, i) => i > 600 && q !== 0 && reference.position[i + 1] !== 0);
    const resumeAt = stopAt + 500;
    const held = reference.trades.find((t) => t.entryTimeMs <= frame.time[stopAt] && t.exitTimeMs > frame.time[stopAt])!;
    assert.ok(held, 'the reference run holds a trade at the stop-entries bar');
    const result = runBacktest(frame, smaTrend(), managed(loose, [
      { atMs: frame.time[stopAt], kind: 'stop_entries', why: 'test' },
      { atMs: frame.time[resumeAt], kind: 'resume', why: 'test' },
    ]));
    const same = result.trades.find((t) => t.entryTimeMs === held.entryTimeMs);
    assert.ok(same, 'the position open at stop-entries vanished');
    assert.equal(same.exitTimeMs, held.exitTimeMs, `stop-entries changed how the open position ended (${same.reason} at ${new Date(same.exitTimeMs).toISOString()}, should be ${held.reason} at ${new Date(held.exitTimeMs).toISOString()})`);
    assert.equal(same.reason, held.reason, 'the open position must leave by its own stop or exit, as without stop-entries');
    const flatFrom = frame.indexAtOrAfter(held.exitTimeMs);
    for (let i = flatFrom + 1; i <= resumeAt; i++) assert.equal(result.position[i], 0, `a position opened at bar ${i} while entries were stopped`);
    assert.ok(reference.position.slice(flatFrom + 1, resumeAt + 1).some((q) => q !== 0), 'the reference run enters in that span, so the test can see an entry refused');
    assert.ok(result.position.slice(resumeAt + 2).some((q) => q !== 0), 'after resume the strategy trades again');
  });

  it('without the engine the same strategy holds positions far larger than the risk budget allows', () => {
    // Guards the tests above against an engine that does nothing: plain sma-trend goes 5x all-in.
    const plain = runBacktest(frame, smaTrend(), { leverage: 5, initialBalanceUsd: 2000 });
    const gated = runBacktest(frame, smaTrend(), managed(loose));
    const maxNotional = (r: typeof plain) => Math.max(...r.trades.map((t) => t.qtyBase * t.entryPriceUsd));
    assert.ok(maxNotional(gated) < maxNotional(plain), 'the risk engine must size below the all-in 5x of the bare strategy');
    assert.equal(plain.managed, false);
  });
});
