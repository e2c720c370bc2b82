import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBacktest } from '@oitrader/backtest';
import { DEFAULT_RISK_LIMITS } from '@oitrader/trading';
import { trainPpo } from '../algo/ppo.ts';
import { controllerStrategy } from './controller-strategy.ts';
import { alignOutOfSample, sliceMarket, sliceSignal } from './ml-signal.ts';
import { marketColumns } from './observation.ts';
import { syntheticMarket } from './synthetic.ts';
import { FuturesTradingEnv } from './trading-env.ts';

const TRAIN_END = 9000;
// Regime drift 0.06 %/bar under 0.2 %/bar noise: weak enough that the price
// features alone do not reveal the trend early, so profit needs the signal.

/** Trains PPO on the first 9,000 bars, then backtests the greedy agent on the 3,000 bars after them. */
async function trainAndTest(accuracy: number, driftPerBar: number) {
  const { frame, predictions } = syntheticMarket({ bars: 12_000, seed: 11, accuracy, driftPerBar });
  const ml = alignOutOfSample(predictions, frame);
  const market = marketColumns(frame);
  const envs = Array.from({ length: 4 }, () => new FuturesTradingEnv(frame, ml, { startIndex: 300, endIndex: TRAIN_END, episodeBars: 512, market }));
  const { net, logs } = await trainPpo(envs, { totalTimesteps: 20_480, nSteps: 512, batchSize: 256, nEpochs: 4, seed: 1, entCoef: 0.01, learningRate: 1e-3 });
  const strategy = controllerStrategy({ name: 'ppo', market: sliceMarket(market, TRAIN_END, frame.length), ml: sliceSignal(ml, TRAIN_END, frame.length), maxDailyLoss: DEFAULT_RISK_LIMITS.maxDailyLoss, choose: (o, m) => net.act(o, m) });
  const result = runBacktest(frame.slice(TRAIN_END), strategy, { risk: { limits: DEFAULT_RISK_LIMITS, stopLoss: 0.02 } });
  const pLong = ml.pLong.subarray(TRAIN_END);
  let inPosition = 0;
  let withSignal = 0;
  result.position.forEach((q, i) => {
    if (q === 0 || i === 0) return;
    inPosition++;
    // The position held during bar i was decided on bar i−1's signal.
    if (Math.sign(q) === (pLong[i - 1] > 0.5 ? 1 : -1)) withSignal++;
  });
  return { result, logs, frame, strategy: { market: sliceMarket(market, TRAIN_END, frame.length), ml: sliceSignal(ml, TRAIN_END, frame.length), maxDailyLoss: DEFAULT_RISK_LIMITS.maxDailyLoss }, inPositionShare: inPosition / result.position.length, withSignalShare: withSignal / Math.max(1, inPosition), histogram: strategy.actionHistogram };
}

describe('PPO learns to trade under the env\'s costs and risk rules (seeded synthetic markets)', () => {
  it('trained on a market whose ML signal is right 70% of the time, it beats a random policy out of sample after fees and funding, never liquidated', async () => {
    const { result, logs, strategy, frame } = await trainAndTest(0.7, 0.0006);
    const final = result.equity[result.equity.length - 1];
    // The same bars, the same risk engine, actions drawn uniformly among the allowed ones (seeded).
    let s = 1;
    const random = () => ((s = (s * 16807) % 2147483647) / 2147483647);
    const coin = controllerStrategy({ ...strategy, name: 'random', choose: (_o, m) => ((allowed) => allowed[Math.floor(random() * allowed.length)])([0, 1, 2, 3, 4, 5].filter((a) => m[a] === 1)) });
    const baseline = runBacktest(frame.slice(TRAIN_END), coin, { risk: { limits: DEFAULT_RISK_LIMITS, stopLoss: 0.02 } });
    const randomFinal = baseline.equity[baseline.equity.length - 1];
    // Measured (this seed and seeds 2-5): PPO 1,796-2,011 USDT, a random policy 1,697-1,777. The agent does not yet
    // follow the signal reliably (53-68% of its position bars on the signal's side at this budget) — see docs/phase-4-rl.md.
    assert.ok(final > randomFinal + 100, `out-of-sample equity ${final.toFixed(2)} USDT vs ${randomFinal.toFixed(2)} for random actions: PPO learned nothing under costs`);
    assert.equal(result.liquidations, 0, 'an agent under the risk rules was liquidated');
    assert.ok(logs.every((l) => Number.isFinite(l.entropy) && l.actionHistogram.length === 6), 'every update logs entropy and the action histogram');
  });

  it('on pure noise (no drift, coin-flip signal) it learns to stay mostly flat', async () => {
    const { inPositionShare, result } = await trainAndTest(0.5, 0);
    assert.ok(inPositionShare < 0.15, `in a position ${(inPositionShare * 100).toFixed(0)}% of bars on a market with no edge (${result.trades.length} trades, ${result.feesUsd.toFixed(2)} USDT fees)`);
  });
});
