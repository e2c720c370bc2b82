import { runBacktest } from '@oitrader/backtest';
import { DEFAULT_RISK_LIMITS } from '@oitrader/trading';
import { trainPpo, controllerStrategy, alignOutOfSample, sliceMarket, sliceSignal, marketColumns, syntheticMarket, FuturesTradingEnv } from './index.ts';
const TRAIN_END = 9000;
const { frame, predictions } = syntheticMarket({ bars: 12_000, seed: 11, accuracy: Number(process.env.ACC ?? 0.7), driftPerBar: 0.0006 });
const ml = alignOutOfSample(predictions, frame);
const market = marketColumns(frame);
const actions = { stopAtr: Number(process.env.STOPATR ?? 2), scaleInRisk: 0.5, maxUnits: 2 };
const envs = Array.from({ length: 4 }, () => new FuturesTradingEnv(frame, ml, { startIndex: 300, endIndex: TRAIN_END, episodeBars: 512, market, actions }));
const { net, logs } = trainPpo(envs, { totalTimesteps: Number(process.env.STEPS ?? 20_480), nSteps: 512, batchSize: 256, nEpochs: 4, seed: Number(process.env.SEED ?? 1), entCoef: 0.01, learningRate: 1e-3 });
const strategy = controllerStrategy({ name: 'ppo', market: sliceMarket(market, TRAIN_END, frame.length), ml: sliceSignal(ml, TRAIN_END, frame.length), maxDailyLoss: 0.03, actions, choose: (o, m) => net.act(o, m) });
const result = runBacktest(frame.slice(TRAIN_END), strategy, { risk: { limits: DEFAULT_RISK_LIMITS, stopLoss: 0.02 } });
console.log('final', result.equity.at(-1), 'trades', result.trades.length, 'hist', strategy.actionHistogram, 'reasons', JSON.stringify(result.trades.reduce((m: Record<string, number>, t) => ((m[t.reason] = (m[t.reason] ?? 0) + 1), m), {})), 'refusals', JSON.stringify(result.refusals));
console.log('last logs', logs.slice(-3).map((l) => JSON.stringify({ h: l.actionHistogram, r: (l as unknown as Record<string, number>).meanEpisodeReturn })).join('\n'));
{
  const pLong = ml.pLong.subarray(TRAIN_END);
  let inPosition = 0, withSignal = 0;
  result.position.forEach((q, i) => { if (q === 0 || i === 0) return; inPosition++; if (Math.sign(q) === (pLong[i - 1] > 0.5 ? 1 : -1)) withSignal++; });
  console.log('inPosition', (inPosition / result.position.length).toFixed(3), 'withSignal', (withSignal / Math.max(1, inPosition)).toFixed(3));
}
