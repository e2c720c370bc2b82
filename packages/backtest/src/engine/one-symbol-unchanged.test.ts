import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Fill } from '@oitrader/trading';
import { runBacktest, type BacktestResult } from './backtester.ts';
import { goldenCases, readGolden, standingIntents, type GoldenResult } from '../testing/golden-cases.ts';

/** Exit labels the engine added (the halts and the flatten command name themselves); the old engine called them all `signal`. */
const oldLabel = (reason: Fill['reason']) => (reason === 'flatten' || reason === 'kill' || reason === 'daily_loss' || reason === 'drawdown' ? 'signal' : reason);

function assertSameAsBefore(key: string, result: BacktestResult, golden: GoldenResult): void {
  const final = result.equity[result.equity.length - 1];
  assert.ok(Math.abs(final - golden.finalEquityUsd) < 0.005, `${key}: final equity ${final.toFixed(4)} USDT, the engine before the trading core ended at ${golden.finalEquityUsd.toFixed(4)}`);
  assert.equal(result.fills.length, golden.fills.length, `${key}: ${result.fills.length} fills, before ${golden.fills.length}`);
  result.fills.forEach((f, i) => {
    const [timeMs, side, qty, price, fee, reason] = golden.fills[i];
    const at = `${key}: fill ${i} at ${new Date(f.timeMs).toISOString()}`;
    assert.equal(f.timeMs, timeMs, `${at}: was at ${new Date(timeMs).toISOString()}`);
    assert.equal(f.side, side, at);
    assert.ok(Math.abs(f.qtyBase - qty) < 1e-9 && Math.abs(f.priceUsd - price) < 1e-9 && Math.abs(f.feeUsd - fee) < 1e-9, `${at}: ${f.side} ${f.qtyBase} @ ${f.priceUsd} fee ${f.feeUsd}, before ${side} ${qty} @ ${price} fee ${fee}`);
    assert.equal(oldLabel(f.reason), reason, at);
  });
  assert.ok(Math.abs(result.feesUsd - golden.feesUsd) < 1e-6 && Math.abs(result.fundingUsd - golden.fundingUsd) < 1e-6, `${key}: fees ${result.feesUsd} / funding ${result.fundingUsd}, before ${golden.feesUsd} / ${golden.fundingUsd}`);
  assert.equal(result.trades.length, golden.trades, `${key}: trades`);
  assert.equal(result.liquidations, golden.liquidations, `${key}: liquidations`);
}

describe('one symbol through the trading core: the results of the engine before it, to the cent (real SOLUSDT and BTCUSDT sample, 90 days)', () => {
  const golden = readGolden();
  const cases = goldenCases();

  it('every unmanaged baseline and every risk-managed run whose strategy re-states its intent each bar is unchanged', () => {
    // Strategies that say what they want at every bar (sma-trend, buy-and-hold) or were never refused
    // at a bar they did not repeat (ml-signal under the default limits) do not depend on the intent policy.
    const policyFree = cases.filter((c) => !c.options.risk || /sma-trend|buy-and-hold|risk\(default\) ml-signal/.test(c.key));
    assert.ok(policyFree.length >= 30);
    for (const c of policyFree) assertSameAsBefore(c.key, runBacktest(c.frame, c.strategy(), c.options), golden[c.key]);
  });

  it('with the old gate\'s standing-intent policy on top, every risk-managed run is unchanged — the engine computes what the old risk manager computed', () => {
    for (const c of cases.filter((x) => x.options.risk)) assertSameAsBefore(c.key, runBacktest(c.frame, standingIntents(c.strategy()), c.options), golden[c.key]);
  });

  it('the engine no longer retries a refused entry on a later bar: where the old gate did, the trades differ', () => {
    const c = cases.find((x) => x.key === 'SOLUSDT risk(default) random 5x')!;
    const now = runBacktest(c.frame, c.strategy(), c.options);
    assert.notEqual(now.fills.length, golden[c.key].fills.length, 'random strategy under the default limits: a refused entry used to stand until it filled');
  });

  it('fails when the risk engine is bypassed: the same strategy unmanaged trades otherwise', () => {
    const c = cases.find((x) => x.key === 'SOLUSDT risk(default) sma-trend 5x')!;
    const bypassed = runBacktest(c.frame, c.strategy(), { ...c.options, risk: undefined });
    assert.throws(() => assertSameAsBefore(c.key, bypassed, golden[c.key]));
  });
});
