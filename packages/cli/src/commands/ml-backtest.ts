import { join } from 'node:path';
import { baselineByName, benchmarkEntry, computeMetrics, DEFAULT_ML_SIGNAL, formatSummary, mlSignal, renderHtmlReport, reportBasePath, reportJson, runBacktest, type BacktestOptions, type MlSignalParams, type ReportEntry } from '@oitrader/backtest';
import { riskLimitsFromConfig, type Strategy } from '@oitrader/trading';
import { DataError, formatUtc, OitraderError, writeFileAtomic, type Config, type Frame } from '@oitrader/core';
import { FEATURE_SET_VERSION, FeatureEngineer, TargetEngineer } from '@oitrader/features';
import { alignPredictions, assertOutOfSample, finalKnownUntilMs, loadRun, matrixFromColumns, readManifest, readOutOfFoldPredictions, type FoldSpan } from '@oitrader/ml';
import type { Output } from '../output.ts';
import { writeTradingResult } from './trading-result.ts';

/** Entry thresholds tried on the validation windows (× the class prior). Each is a trial for the Deflated Sharpe Ratio. */
export const THRESHOLD_GRID = [1.0, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0];
/** The baselines the ML-signal strategy is compared with, on the same bars. */
export const ML_BASELINES = ['flat', 'buy-and-hold', 'oi-trend', 'sma-trend'];
const MIN_TRADES_TO_CHOOSE = 5;

export interface MlBacktestOptions {
  modelsDir: string;
  runId: string;
  execution: BacktestOptions;
  trading: Config['trading'];
  outDir: string;
  /** Bars the user asked to trade (default: the run's out-of-fold test windows). */
  requestedStartMs?: number;
  requestedEndMs?: number;
  params?: Partial<Omit<MlSignalParams, 'priors' | 'threshold'>>;
}

export interface MlBacktestResult {
  /** The HTML report's path. */
  report: string;
  threshold: number;
  validation: Array<{ threshold: number; sharpe: number; trades: number; returnPct: number }>;
  test: ReportEntry[];
  beatBaselines: boolean;
  span: { validation: [string, string]; test: [string, string] };
}

function spanOf(folds: FoldSpan[]): [number, number] {
  return [Math.min(...folds.map((f) => f.testStartMs)), Math.max(...folds.map((f) => f.testEndMs))];
}

function sliceByTime(frame: Frame, [fromMs, toMs]: [number, number]): Frame {
  const start = frame.indexAtOrAfter(fromMs);
  let end = start;
  while (end < frame.length && frame.time[end] <= toMs) end++;
  return frame.slice(start, end);
}

/** The run's final ensemble on features computed fresh (causal, on the whole frame), only for bars from `fromMs`. */
export async function freshProbabilities(runDir: string, frame: Frame, fromMs: number): Promise<Record<string, Float64Array>> {
  const table = new FeatureEngineer().engineerAllFeatures(frame);
  const { manifest, ensemble } = await loadRun(runDir, { featureSetVersion: FEATURE_SET_VERSION, features: table.names });
  try {
    const proba = await ensemble.predictSignalProba(matrixFromColumns(table.columns, manifest.features));
    const pick = (c: number) => Float64Array.from(frame.time, (t, i) => (t >= fromMs ? proba[i * 3 + c] : Number.NaN));
    return { p_short: pick(0), p_neutral: pick(1), p_long: pick(2) };
  } finally {
    ensemble.dispose();
  }
}

/**
 * Backtests the ML-signal strategy on a model run's OUT-OF-FOLD predictions
 * only: the earlier half of the ensemble's test windows chooses the entry
 * threshold, the later half is traded and reported next to the baselines.
 * Bars a model of the run was trained on are refused by construction.
 */
export async function runMlSignalBacktest(out: Output, frame: Frame, options: MlBacktestOptions): Promise<MlBacktestResult> {
  const runDir = join(options.modelsDir, options.runId);
  const manifest = readManifest(runDir);
  if (manifest.symbol !== frame.symbol || manifest.timeframe !== frame.timeframe) {
    throw new OitraderError(`model run ${options.runId} was trained on ${manifest.symbol} ${manifest.timeframe}, the frame is ${frame.symbol} ${frame.timeframe}`, { hint: `pass --symbol ${manifest.symbol} --timeframe ${manifest.timeframe}`, exitCode: 2 });
  }
  const oof = await readOutOfFoldPredictions(runDir, 'ensemble');
  const folds = [...oof.folds].sort((a, b) => a.fold - b.fold);
  if (folds.length < 2) {
    throw new DataError(`model run ${options.runId} has out-of-fold ensemble predictions for ${folds.length} fold(s); ml-signal needs 2: one to choose the threshold, one to trade`, { hint: 'train with --folds 3 or more' });
  }
  const horizon = manifest.labels.horizon;
  const finalKnownUntil = finalKnownUntilMs(manifest);
  const fresh = options.requestedStartMs !== undefined && options.requestedStartMs > finalKnownUntil;
  // Out-of-fold: the earlier half of the test windows chooses the threshold, the later half is traded.
  // Fresh (bars after the training span): every out-of-fold window chooses, the final models predict the new bars.
  const validationFolds = fresh ? folds : folds.slice(0, Math.floor(folds.length / 2));
  const validationSpan = spanOf(validationFolds);
  let testSpan: [number, number];
  if (fresh) {
    testSpan = [options.requestedStartMs!, Math.min(options.requestedEndMs ?? Infinity, frame.time[frame.length - 1] + 1) - 1];
    if (testSpan[1] < testSpan[0]) throw new OitraderError(`no bars after ${formatUtc(testSpan[0])} in the loaded data`, { hint: 'import newer data first', exitCode: 2 });
  } else {
    testSpan = spanOf(folds.slice(validationFolds.length));
    if (options.requestedStartMs !== undefined || options.requestedEndMs !== undefined) {
      const from = Math.max(options.requestedStartMs ?? -Infinity, frame.time[0]);
      const to = Math.min(options.requestedEndMs ?? Infinity, frame.time[frame.length - 1] + 1) - 1;
      if (from < testSpan[0] || to > testSpan[1]) {
        throw new OitraderError(
          `ml-signal trades run ${options.runId} only on its out-of-fold test windows ${formatUtc(testSpan[0])} .. ${formatUtc(testSpan[1])}, or on bars after ${formatUtc(finalKnownUntil)}; ${formatUtc(from)} .. ${formatUtc(to)} reaches bars a model of the run was trained on, or that chose its threshold`,
          { hint: 'drop --start/--end (the test windows are the default), or pass a --start after the run\'s training span', exitCode: 2 },
        );
      }
      testSpan = [from, to];
    }
  }
  const oofColumns = (() => {
    const rows = alignPredictions(oof, frame.time);
    const pick = (column: Float64Array) => Float64Array.from(rows, (r) => (r < 0 ? Number.NaN : column[r]));
    return { p_short: pick(oof.pShort), p_neutral: pick(oof.pNeutral), p_long: pick(oof.pLong) };
  })();
  const validationFrame = sliceByTime(frame.withColumns(oofColumns), validationSpan);
  // The guarantee, checked on the bars actually used: every prediction comes from a model that never saw the bar.
  assertOutOfSample(oof, validationFrame.time);
  let testFrame: Frame;
  if (fresh) {
    testFrame = sliceByTime(frame.withColumns(await freshProbabilities(runDir, frame, testSpan[0])), testSpan);
    if (testFrame.time[0] <= finalKnownUntil) throw new DataError('internal: a fresh prediction would cover a bar the run trained on');
  } else {
    testFrame = sliceByTime(frame.withColumns(oofColumns), testSpan);
    assertOutOfSample(oof, testFrame.time);
  }

  // Class priors from labels already known before the validation window opens (causal).
  const priors = new TargetEngineer().classPriors(frame, { horizon, threshold: manifest.labels.threshold }, validationSpan[0]);

  const params = { ...DEFAULT_ML_SIGNAL, maxBars: horizon, ...options.params, priors };
  const strategyFor = (threshold: number) => mlSignal({ ...params, threshold });
  // The ML-signal strategy trades through the risk engine the bot runs; the baselines trade unmanaged, as published.
  const managed: BacktestOptions = { ...options.execution, risk: { limits: riskLimitsFromConfig(options.trading), stopLoss: options.trading.stop_loss } };
  const searchEvaluations = Number(manifest.metrics.searchEvaluations ?? 0);
  const trials = THRESHOLD_GRID.length + searchEvaluations;

  const validation = THRESHOLD_GRID.map((threshold) => {
    const metrics = computeMetrics(runBacktest(validationFrame, strategyFor(threshold), managed), { trials });
    return { threshold, sharpe: metrics.sharpe, trades: metrics.trades, returnPct: metrics.totalReturn * 100 };
  });
  // A threshold with a handful of trades proves nothing; one with none is the strategy standing aside (Sharpe 0):
  // when every threshold that trades lost on validation, the chosen one is the one that does not trade.
  const eligible = validation.filter((v) => (v.trades === 0 || v.trades >= MIN_TRADES_TO_CHOOSE) && Number.isFinite(v.sharpe));
  const pool = eligible.length > 0 ? eligible : validation.filter((v) => Number.isFinite(v.sharpe));
  const chosen = (pool.length > 0 ? pool : validation).reduce((a, b) => (b.sharpe > a.sharpe ? b : a));

  const strategies: Array<[Strategy, BacktestOptions]> = [[strategyFor(chosen.threshold), managed], ...ML_BASELINES.map((name): [Strategy, BacktestOptions] => [baselineByName(name), options.execution])];
  const test: ReportEntry[] = strategies.map(([strategy, runOptions]) => {
    const result = runBacktest(testFrame, strategy, runOptions);
    return { result, metrics: computeMetrics(result, { trials: trials + ML_BASELINES.length }) };
  });
  const ml = test[0].metrics;
  const bestBaseline = test.slice(1).reduce((a, b) => (b.metrics.sharpe > a.metrics.sharpe ? b : a));
  const beatBaselines = test.slice(1).every((b) => ml.sharpe > b.metrics.sharpe && ml.totalReturn > b.metrics.totalReturn);

  // The report adds the 1x buy-and-hold benchmark line; "beat every baseline" stays the published comparison.
  const reported = [...test, benchmarkEntry(testFrame, options.execution, trials + ML_BASELINES.length)];
  const title = `oitrader backtest: ml-signal (run ${options.runId}) on ${frame.symbol} ${frame.timeframe}, out-of-fold test windows ${formatUtc(testSpan[0])} .. ${formatUtc(testSpan[1])}`;
  const base = reportBasePath(options.outDir, ['backtest-ml-signal', options.runId, frame.symbol, frame.timeframe]);
  writeFileAtomic(`${base}.html`, renderHtmlReport(title, reported));
  writeFileAtomic(`${base}.json`, `${JSON.stringify({ runId: options.runId, threshold: chosen.threshold, priors, validation, strategies: reportJson(reported) }, null, 2)}\n`);

  out.text(`model run ${options.runId}: ${fresh ? 'final models predicting bars after its training span' : 'ensemble out-of-fold predictions'}; threshold chosen on ${formatUtc(validationSpan[0])} .. ${formatUtc(validationSpan[1])} (${validationFrame.length} bars), traded on ${formatUtc(testSpan[0])} .. ${formatUtc(testSpan[1])} (${testFrame.length} bars)`);
  out.text(`class priors (labels known before the validation window): short ${priors[0].toFixed(3)}, neutral ${priors[1].toFixed(3)}, long ${priors[2].toFixed(3)}`);
  out.text(`validation (threshold × prior → Sharpe, trades, return): ${validation.map((v) => `${v.threshold}: ${Number.isFinite(v.sharpe) ? v.sharpe.toFixed(2) : '—'}/${v.trades}/${v.returnPct.toFixed(2)}%`).join('  ')}`);
  out.text(`chosen threshold ${chosen.threshold} × prior; Deflated Sharpe counts ${trials + ML_BASELINES.length} trials (${THRESHOLD_GRID.length} thresholds, ${searchEvaluations} search evaluations, ${ML_BASELINES.length} baselines)`);
  out.text(formatSummary(reported));
  out.text(
    beatBaselines
      ? `OUT OF SAMPLE: the ML-signal strategy beat every baseline on Sharpe and return (Sharpe ${ml.sharpe.toFixed(2)} vs best baseline ${bestBaseline.result.strategy} ${bestBaseline.metrics.sharpe.toFixed(2)}; Deflated Sharpe ${ml.deflatedSharpe.toFixed(2)})`
      : `OUT OF SAMPLE: the ML-signal strategy did NOT beat every baseline (Sharpe ${Number.isFinite(ml.sharpe) ? ml.sharpe.toFixed(2) : '—'}, return ${(ml.totalReturn * 100).toFixed(2)}% vs best baseline ${bestBaseline.result.strategy}: Sharpe ${bestBaseline.metrics.sharpe.toFixed(2)}, return ${(bestBaseline.metrics.totalReturn * 100).toFixed(2)}%)`,
  );
  out.text(`report: ${base}.html (and .json)`);
  const buyAndHold = test.find((e) => e.result.strategy === 'buy-and-hold');
  writeTradingResult(runDir, {
    runId: options.runId,
    evaluatedAt: new Date().toISOString(),
    symbol: frame.symbol,
    source: fresh ? 'after-training' : 'out-of-fold',
    testSpan: [formatUtc(testSpan[0]), formatUtc(testSpan[1])],
    threshold: chosen.threshold,
    trades: ml.trades,
    returnPct: ml.totalReturn * 100,
    sharpe: ml.sharpe,
    deflatedSharpe: ml.deflatedSharpe,
    buyAndHoldReturnPct: (buyAndHold?.metrics.totalReturn ?? Number.NaN) * 100,
    beatBaselines,
  });
  const result = { report: `${base}.html`, threshold: chosen.threshold, validation, test, beatBaselines, span: { validation: [formatUtc(validationSpan[0]), formatUtc(validationSpan[1])] as [string, string], test: [formatUtc(testSpan[0]), formatUtc(testSpan[1])] as [string, string] } };
  out.result({ ...result, test: test.map((e) => ({ strategy: e.result.strategy, metrics: e.metrics })) });
  return result;
}
