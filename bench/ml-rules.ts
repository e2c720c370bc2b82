/**
 * bench/ml-rules: not a speed figure — the trading result of the two ML
 * decision rules (issue 26 item 2) out of sample on the real sample, after
 * taker fees, slippage and funding: for each symbol, a model run trained with
 * the demo's settings on Dec 2025 – Feb 2026 (5m, horizon 48, ±0.5 %), then
 * `backtest --model` on its out-of-fold predictions (the earlier test fold
 * chooses each rule's setting, the later is traded): the cost-aware rule, the
 * fixed-threshold ML-signal rule, flat, buy-and-hold 5x (the ML baseline) and
 * buy-and-hold 1x; then both rules again with no fee, spread or impact (does
 * the signal have a gross edge at all?). Prints one markdown table; minutes
 * per symbol on 2 cores (a trained run is reused).
 *   node --import tsx bench/ml-rules.ts [SOLUSDT,BTCUSDT,...] [5m|15m]
 * 15m aggregates the sample's 5m bars (complete 15-minute periods; open
 * interest and funding as known at the period's close).
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineByName, computeMetrics, DEFAULT_ML_SIGNAL, runBacktest } from '../packages/backtest/src/index.ts';
import { realOpenInterestFrame } from '../packages/backtest/src/testing/real-sample.ts';
import { DEMO_TRAINING } from '../packages/cli/src/commands/demo.ts';
import { runFeatureBuild } from '../packages/cli/src/commands/features.ts';
import { runMlSignalBacktest } from '../packages/cli/src/commands/ml-backtest.ts';
import { runTrain } from '../packages/cli/src/commands/train.ts';
import { createOutput } from '../packages/cli/src/output.ts';
import { configSchema, Frame } from '../packages/core/src/index.ts';

type SampleSymbol = 'SOLUSDT' | 'BTCUSDT' | 'ETHUSDT' | 'DOGEUSDT';
const symbols = (process.argv[2] ?? 'SOLUSDT,BTCUSDT,ETHUSDT,DOGEUSDT').split(',') as SampleSymbol[];
const timeframe = (process.argv[3] ?? '5m') as '5m' | '15m';

/** 5m bars → complete 15m bars: first open, max high, min low, last close, summed volume, the last known open interest and funding. */
function to15m(frame: Frame): Frame {
  const period = 900_000;
  const starts: number[] = [];
  for (let i = 0; i + 2 < frame.length; i++) if (frame.time[i] % period === 0 && frame.time[i + 2] === frame.time[i] + 600_000) starts.push(i);
  const pick = (f: (i: number) => number) => Float64Array.from(starts, f);
  const col = (c: string) => frame.column(c);
  const columns: Record<string, Float64Array> = {
    open: pick((i) => col('open')[i]),
    high: pick((i) => Math.max(col('high')[i], col('high')[i + 1], col('high')[i + 2])),
    low: pick((i) => Math.min(col('low')[i], col('low')[i + 1], col('low')[i + 2])),
    close: pick((i) => col('close')[i + 2]),
    volume: pick((i) => col('volume')[i] + col('volume')[i + 1] + col('volume')[i + 2]),
  };
  for (const c of frame.names) if (!(c in columns)) columns[c] = pick((i) => col(c)[i + 2]);
  return new Frame(frame.symbol, '15m', pick((i) => frame.time[i]), columns);
}
const config = configSchema.parse({});
const quiet = createOutput({ quiet: true });
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;
const num = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');

const rows: string[] = [];
for (const symbol of symbols) {
  const started = performance.now();
  const fine = realOpenInterestFrame(symbol, 90);
  const frame = timeframe === '15m' ? to15m(fine) : fine;
  // A run already trained here by this script is reused (delete the directory to retrain).
  const dir = join(tmpdir(), 'oitrader-ml-rules', timeframe === '5m' ? symbol : `${symbol}-${timeframe}`);
  const runId = `ml-rules-${symbol}${timeframe === '5m' ? '' : `-${timeframe}`}`;
  if (!existsSync(join(dir, 'models', runId, 'manifest.json'))) {
    runFeatureBuild(quiet, frame, join(dir, 'features'), { horizon: 48, threshold: 0.005 });
    await runTrain(quiet, join(dir, 'features'), join(dir, 'models'), { ...DEMO_TRAINING, runId });
  }
  const run = { runId };
  const execution = { leverage: 5, initialBalanceUsd: 2000 };
  const result = await runMlSignalBacktest(quiet, frame, { modelsDir: join(dir, 'models'), runId: run.runId, execution, trading: config.trading, outDir: join(dir, 'reports'), rule: 'cost-aware' });
  const traded = result.test[0].result.time;
  const testFrame = frame.slice(frame.indexAtOrAfter(traded[0]), frame.indexAtOrAfter(traded[traded.length - 1]) + 1);
  const hold1x = computeMetrics(runBacktest(testFrame, baselineByName('buy-and-hold'), { ...execution, leverage: 1 }));
  const entries = [...result.test.filter((e) => !/oi-trend|sma-trend/.test(e.result.strategy)).map((e) => ({ name: e.result.strategy.split('(')[0], m: e.metrics, fees: e.result.feesUsd, funding: e.result.fundingUsd })), { name: 'buy-and-hold 1x', m: hold1x, fees: Number.NaN, funding: Number.NaN }];
  // The same rules with no fee, spread or impact: whether the signal has a gross edge that costs take away, or none at all.
  const free = await runMlSignalBacktest(quiet, frame, { modelsDir: join(dir, 'models'), runId: run.runId, execution: { ...execution, takerFeeRate: 0, makerFeeRate: 0, halfSpreadBps: 0, impactBpsPer100k: 0 }, trading: config.trading, outDir: join(dir, 'reports-free'), rule: 'cost-aware' });
  for (const e of free.test.slice(0, 2)) entries.push({ name: `${e.result.strategy.split('(')[0]} (no costs)`, m: e.metrics, fees: e.result.feesUsd, funding: e.result.fundingUsd });
  // Each rule at its default setting, no selection on validation: the cost-aware rule's configured hurdle, ML-signal's 1.2 × prior.
  const pinned = await runMlSignalBacktest(quiet, frame, { modelsDir: join(dir, 'models'), runId: run.runId, execution, trading: config.trading, outDir: join(dir, 'reports-pinned'), rule: 'cost-aware', pinned: { 'cost-aware': config.trading.ml_rule.hurdle, 'ml-signal': DEFAULT_ML_SIGNAL.threshold } });
  for (const e of pinned.test.slice(0, 2)) entries.push({ name: `${e.result.strategy.split('(')[0]} (default, not chosen)`, m: e.metrics, fees: e.result.feesUsd, funding: e.result.fundingUsd });
  for (const e of entries) {
    const r = e.name.endsWith('(no costs)') ? free : e.name.endsWith('(default, not chosen)') ? pinned : result;
    const setting = e.name.startsWith('cost-aware') ? (r.hurdle === Infinity ? 'stand aside' : `hurdle ${(r.hurdle * 100).toFixed(3)}%`) : e.name.startsWith('ml-signal') ? (r.threshold === Infinity ? 'stand aside' : `${r.threshold} × prior`) : '';
    rows.push(`| ${symbol} ${timeframe} | ${e.name} | ${setting} | ${e.m.trades} | ${pct(e.m.totalReturn)} | ${num(e.m.sharpe)} | ${pct(-e.m.maxDrawdown)} | ${Number.isFinite(e.fees) ? e.fees.toFixed(0) : '—'} | ${Number.isFinite(e.funding) ? e.funding.toFixed(1) : '—'} |`);
  }
  console.error(`${symbol}: test ${result.span.test.join(' .. ')}, ${result.trials} trials, ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
console.log('| symbol | strategy | setting (chosen on validation) | trades | return | Sharpe | max drawdown | fees USDT | funding USDT |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
