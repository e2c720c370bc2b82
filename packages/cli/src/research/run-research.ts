import { computeMetrics, costAwareRule, dailyCloses, DEFAULT_COST_AWARE, geometricPayoffs, runPortfolioBacktest, type BacktestOptions } from '@oitrader/backtest';
import { correlation, OitraderError, type Frame } from '@oitrader/core';
import { FeatureEngineer, TargetEngineer, type FeatureTable } from '@oitrader/features';
import { applyCalibrator, cpcv, fitCalibrator, GradientBoostedTrees, meanLogLoss, type Matrix } from '@oitrader/ml';
import { ABLATIONS, type Ablation, type ResearchGrid } from './research-grid.ts';


export class ResearchStoppedError extends OitraderError {
  constructor() {
    super('research stopped (SIGINT/SIGTERM or --for): the trials logged so far are kept, no report was written', { exitCode: 130 });
  }
}
const K = 3;

/** One point of the grid: what is trained and how it is traded. */
export interface ResearchConfig {
  symbol: string;
  timeframe: string;
  horizon: number;
  threshold: number;
  ablation: Ablation;
  hurdle: number;
}

export const configKey = (c: ResearchConfig) => `${c.symbol} ${c.timeframe} h${c.horizon} t${c.threshold} ${c.ablation} hurdle ${c.hurdle}`;

/** One CPCV path: a whole out-of-sample history of the configuration. */
export interface PathResult {
  /** Mean log-loss of the calibrated probabilities, and of each split's training prior on the same rows. */
  logLoss: number;
  priorLogLoss: number;
  /** Pearson correlation of the lean P(long) − P(short) with the forward return over the horizon, within each CPCV group, averaged. */
  ic: number;
  /** The cost-aware rule traded through the risk engine: annualised Sharpe and return after fees, funding and slippage. */
  sharpe: number;
  totalReturn: number;
  trades: number;
  feesUsd: number;
  /** UTC day start → that day's return. */
  daily: Map<number, number>;
}

export interface ConfigResult {
  config: ResearchConfig;
  features: number;
  rows: number;
  /** Rows the IC's interval treats as independent: rows / horizon (the forward returns overlap). */
  effectiveRows: number;
  paths: PathResult[];
  seconds: number;
}

export interface ResearchData {
  frame: Frame;
  /** Every feature family (the ablations pick theirs). */
  table: FeatureTable;
}

/** Features of every family for one symbol and timeframe, computed once for all the ablations. */
export function researchData(frame: Frame): ResearchData {
  return { frame, table: new FeatureEngineer({ groups: ABLATIONS['with-calendar'] }).engineerAllFeatures(frame) };
}

/** Rows × the features of `names`, gathered from `rows` (indices into the dataset, which starts at `offset`). */
function gather(table: FeatureTable, names: readonly string[], rows: ArrayLike<number>, offset: number): Matrix {
  const cols = names.length;
  const data = new Float32Array(rows.length * cols);
  const columns = names.map((n) => table.columns[n]);
  for (let r = 0; r < rows.length; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = columns[c][offset + rows[r]];
  return { data, rows: rows.length, cols };
}

const range = (start: number, end: number) => Uint32Array.from({ length: end - start }, (_, i) => start + i);

/**
 * Every hurdle of one trained configuration: CPCV over the dataset's rows
 * (purged by the label horizon, embargoed), a GBDT per split fitted on the
 * split's training rows with a temperature calibration on their last fifth
 * (purged from the fit), predictions of the tested groups, assembled into
 * paths; each path is scored (log-loss against the training prior, IC) and
 * traded by the cost-aware rule through the portfolio backtester. The model
 * never sees a row it is scored or traded on.
 */
export async function runResearchConfig(data: ResearchData, base: Omit<ResearchConfig, 'hurdle'>, hurdles: readonly number[], grid: Pick<ResearchGrid, 'cpcv' | 'model'>, execution: BacktestOptions, signal?: AbortSignal): Promise<ConfigResult[]> {
  const started = performance.now();
  const { frame, table } = data;
  const groups = new Set<string>(ABLATIONS[base.ablation]);
  const names = table.names.filter((n) => groups.has(table.specs.find((s) => s.name === n)!.group));
  const targets = new TargetEngineer();
  const labels = targets.createClassificationTarget(frame, { horizon: base.horizon, threshold: base.threshold });
  const forward = targets.createRegressionTarget(frame, { horizon: base.horizon });
  // The same rows for every ablation (the warm-up of every family), so their scores are paired.
  const offset = table.firstCompleteRow;
  const rows = Math.max(0, frame.length - base.horizon - offset);
  const y = labels.subarray(offset, offset + rows);
  const embargo = grid.cpcv.embargo_bars ?? base.horizon;
  const cv = cpcv(rows, { groups: grid.cpcv.groups, testGroups: grid.cpcv.test_groups, horizon: base.horizon, embargo });
  // predictions[split][group] → rows × 3 probabilities; priors[split] → the training class frequencies.
  const predictions = new Map<string, Float64Array>();
  const priors: Float64Array[] = [];
  for (const split of cv.splits) {
    // Between fits: Ctrl-C (and --for) are heard within one fit, not at the end of the grid.
    await new Promise((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw new ResearchStoppedError();
    const train = split.train;
    // The calibration fifth: the latest training rows, purged from the fit by the horizon.
    const calFrom = Math.floor(train.length * 0.8);
    const fitRows = train.subarray(0, calFrom).filter((t) => t + base.horizon < train[calFrom]);
    const calRows = train.subarray(calFrom);
    const model = new GradientBoostedTrees({ nEstimators: grid.model.trees, maxDepth: grid.model.depth, learningRate: grid.model.learning_rate, seed: grid.model.seed, maxBins: 64, minChildWeight: 5 });
    model.fit(gather(table, names, fitRows, offset), Float64Array.from(fitRows, (t) => y[t]));
    const calibrator = fitCalibrator('temperature', model.predictProba(gather(table, names, calRows, offset)), Float64Array.from(calRows, (t) => y[t]), K);
    const prior = new Float64Array(K);
    for (const t of train) prior[y[t]]++;
    for (let c = 0; c < K; c++) prior[c] = (prior[c] + 1) / (train.length + K);
    priors[split.index] = prior;
    for (const g of split.testGroups) {
      const [start, end] = cv.groups[g];
      predictions.set(`${split.index}:${g}`, applyCalibrator(calibrator, model.predictProba(gather(table, names, range(start, end), offset)), K));
    }
  }
  const results: ConfigResult[] = hurdles.map((hurdle) => ({ config: { ...base, hurdle }, features: names.length, rows, effectiveRows: Math.floor(rows / base.horizon), paths: [], seconds: 0 }));
  for (const path of cv.paths) {
    const proba = new Float64Array(rows * K);
    const priorProba = new Float64Array(rows * K);
    path.forEach((splitIndex, g) => {
      const [start, end] = cv.groups[g];
      proba.set(predictions.get(`${splitIndex}:${g}`)!, start * K);
      for (let t = start; t < end; t++) priorProba.set(priors[splitIndex], t * K);
    });
    const lean = new Float64Array(rows);
    for (let t = 0; t < rows; t++) lean[t] = proba[t * K + 2] - proba[t * K];
    const columns = { p_short: nanColumn(frame.length), p_neutral: nanColumn(frame.length), p_long: nanColumn(frame.length) };
    for (let t = 0; t < rows; t++) {
      columns.p_short[offset + t] = proba[t * K];
      columns.p_neutral[offset + t] = proba[t * K + 1];
      columns.p_long[offset + t] = proba[t * K + 2];
    }
    const traded = frame.withColumns(columns);
    // IC within each group, then averaged: each group is predicted by one split's model, and pooling groups would
    // correlate the splits' differing base rates with the groups' drift (a CPCV artifact: the groups a split does
    // not train on are the ones whose drift its training set lacks).
    const fwd = forward.subarray(offset, offset + rows);
    const ics = cv.groups.map(([start, end]) => correlation(lean.subarray(start, end), fwd.subarray(start, end))).filter(Number.isFinite);
    const scores = { logLoss: meanLogLoss(proba, y, K), priorLogLoss: meanLogLoss(priorProba, y, K), ic: ics.length > 0 ? ics.reduce((a, b) => a + b, 0) / ics.length : Number.NaN };
    for (const result of results) {
      const rule = costAwareRule({
        ...DEFAULT_COST_AWARE,
        hurdle: result.config.hurdle,
        horizonBars: base.horizon,
        // The label's own geometry, not its realised payoffs: nothing learned from the rows being traded.
        payoffs: geometricPayoffs(base.threshold),
        costs: { takerFeeRate: execution.takerFeeRate ?? 0.0005, slippageRate: ((execution.halfSpreadBps ?? 1) / 10_000) },
      });
      const run = runPortfolioBacktest([traded], () => rule, execution).portfolio;
      const m = computeMetrics(run);
      result.paths.push({ ...scores, sharpe: m.sharpe, totalReturn: m.totalReturn, trades: m.trades, feesUsd: m.feesUsd, daily: dailyReturns(run.time, run.equity, run.initialBalanceUsd) });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  for (const r of results) r.seconds = seconds / results.length;
  return results;
}

function nanColumn(n: number): Float64Array {
  return new Float64Array(n).fill(Number.NaN);
}

/** A correlation's 95% interval by Fisher's z over `n` independent pairs. */
export function correlationInterval(r: number, n: number): [number, number] {
  if (!Number.isFinite(r) || n < 4) return [Number.NaN, Number.NaN];
  const z = Math.atanh(Math.max(-0.999999, Math.min(0.999999, r)));
  const half = 1.959964 / Math.sqrt(n - 3);
  return [Math.tanh(z - half), Math.tanh(z + half)];
}

/** Each UTC day's return of an equity curve (the last equity of the day over the last of the day before). */
export function dailyReturns(time: Float64Array, equity: Float64Array, initial: number): Map<number, number> {
  const out = new Map<number, number>();
  let previous = initial;
  for (const d of dailyCloses(time, equity)) {
    out.set(d.dayMs, d.equityUsd / previous - 1);
    previous = d.equityUsd;
  }
  return out;
}
