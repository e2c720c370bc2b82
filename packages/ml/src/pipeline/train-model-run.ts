import { join } from 'node:path';
import { OitraderError } from '@oitrader/core';
import { matrixFromColumns } from '../gbdt/matrix.ts';
import type { ClassificationReport } from '../evaluation/classification-metrics.ts';
import { evaluateWalkForward, logisticModel, majorityBaseline, persistenceBaseline, type EvalData, type ModelEvaluation } from '../evaluation/walk-forward-eval.ts';
import { DEFAULT_BASE_MODELS, trainStackedEnsemble, type BaseModelSpec, type StackingResult } from '../ensemble/stacked-ensemble.ts';
import { FOLD_SHAP_ROWS, type ModelFitRunner } from './model-fits.ts';
import { saveRun, type RunManifest } from '../registry/model-registry.ts';
import { PREDICTIONS_FILE, encodeOutOfFoldPredictions, type FoldSpan, type OutOfFoldPredictions } from '../registry/predictions.ts';
import { renderTrainingReport } from '../report/training-report.ts';
import { calendarWarnings, calibrationSummary, perSymbolSummary, verdicts, type CalibrationSummary, type SymbolSummary } from './run-summary.ts';
import { searchWithRunner, type TrialRunner } from '../tuning/hyperparameter-search.ts';
import { pooledWalkForwardFolds, rowsBeforeBar, timeGrid } from '../validation/pooled-folds.ts';
import type { Fold, WalkForwardOptions } from '../validation/walk-forward.ts';
import type { LstmOptions } from '../lstm/lstm-classifier.ts';

/** What a features file provides (Phase 2's contract, read by @oitrader/features' readFeatureDataset). */
export interface TrainingDataset {
  manifest: {
    featureSetVersion: string;
    symbol: string;
    /** A pooled dataset: its symbols, in the order the rows name them. */
    symbols?: string[];
    timeframe: string;
    labels: { horizon: number; threshold: number };
    span: { rowsFrom: string; rowsTo: string };
    /** Each feature's group (calendar features are group `time`). */
    features?: Array<{ name: string; group: string }>;
  };
  time: Float64Array;
  /** A pooled dataset: each row's symbol (rows ordered by time, then symbol). */
  symbol?: string[];
  names: string[];
  columns: Record<string, Float64Array>;
  labels: ArrayLike<number>;
  forwardReturn: Float64Array;
}

export interface TrainRunOptions {
  modelsDir: string;
  folds: number;
  trainShare: number;
  embargo: number;
  seed: number;
  runId?: string;
  /** Configurations per GBDT policy in the nested search (0 = default parameters). */
  searchTrials?: number;
  /** Train the LSTM member (default true), optionally with its own settings (the demo shortens its epochs). */
  lstm?: boolean | Partial<LstmOptions>;
  /** Trees per GBDT member when no search chooses them (default: DEFAULT_BASE_MODELS' 100). */
  trees?: number;
  codeVersion?: string;
  /**
   * Where the nested search's trials run (default: in this process). Given the
   * rows the search sees (the leading `rows` of the dataset) and its folds'
   * spec, so a runner can tell workers which data to load instead of sending it.
   */
  trialRunner?: (scope: TrialScope) => TrialRunner;
  /**
   * Where the walk-forward and final model fits run (default: in this process,
   * the LSTM on its own thread), given every row and the folds' spec.
   */
  fitRunner?: (scope: TrialScope) => ModelFitRunner;
}

/** The first `rows` rows of the matrix (labels stay whole: folds never index past `rows`); what a search and a worker evaluate on. */
export function leadingRows(data: EvalData, rows: number): EvalData {
  return { ...data, x: { ...data.x, rows, data: data.x.data.subarray(0, rows * data.x.cols) }, ...(data.timeIndex && data.series ? { timeIndex: data.timeIndex.subarray(0, rows), series: data.series.subarray(0, rows) } : {}) };
}

/**
 * A features file as the models read it: every row, 3 classes, the label
 * horizon from its manifest; a pooled file also gives each row's bar on the
 * common time grid and its symbol.
 */
export function evalDataOf(dataset: TrainingDataset): EvalData {
  const data: EvalData = { x: matrixFromColumns(dataset.columns, dataset.names), y: Float64Array.from(dataset.labels), forwardReturn: dataset.forwardReturn, numClass: 3, horizon: dataset.manifest.labels.horizon };
  const symbols = dataset.manifest.symbols;
  if (!dataset.symbol || !symbols || symbols.length < 2) return data;
  const index = new Map(symbols.map((s, i) => [s, i]));
  const series = Int32Array.from(dataset.symbol, (s) => {
    const i = index.get(s);
    if (i === undefined) throw new OitraderError(`the features file names symbol ${s}, which its manifest does not list`, { hint: 'rebuild it with oitrader features build --symbols' });
    return i;
  });
  return { ...data, timeIndex: timeGrid(dataset.time), series };
}

/** The walk-forward folds of the data (`options` in bars: split by time across every symbol of a pooled dataset). */
export function foldsOf(data: EvalData, options: WalkForwardOptions): Fold[] {
  return pooledWalkForwardFolds(data.timeIndex, data.x.rows, options);
}

/** The slice of the dataset a search evaluates on: its first `rows` rows, cut into folds by `folds`. */
export interface TrialScope {
  rows: number;
  folds: WalkForwardOptions;
}

/** One progress event: the stage that starts, as the CLI renders it. */
export interface TrainProgress {
  stage: string;
  elapsedMs: number;
}

export interface ModelRow {
  name: string;
  report: ClassificationReport;
}

export interface FeatureStability {
  model: string;
  /** Top-10 features by mean |SHAP| of each fold's model, on that fold's test rows. */
  perFold: string[][];
  /** Mean pairwise overlap (Jaccard) of the folds' top-10 sets: 1 = the same features every fold. */
  overlap: number;
}

export interface TrainedRun {
  runId: string;
  dir: string;
  manifest: RunManifest;
  /** Every model and baseline, out of sample. */
  table: ModelRow[];
  ensembleChoice: string;
  /** Plain statements: the ensemble against the training prior (log-loss) and the majority class (accuracy), and why it answers what it does. */
  verdict: string[];
  /** Before → after calibration of every model on the comparison rows, with the baselines on the same rows. */
  calibration: CalibrationSummary;
  /** A pooled run: every model per symbol (empty for one symbol). */
  perSymbol: SymbolSummary[];
  /** E.g. a calendar feature leading SHAP. */
  warnings: string[];
  shapTop: Array<{ model: string; top: Array<{ feature: string; value: number }> }>;
  stability: FeatureStability[];
  searchEvaluations: number;
  /** One line per searched policy. */
  searchNotes: string[];
  /**
   * Wall time per stage of this thread (search, baselines, model fits — the time waited for them beyond the
   * baselines —, stacking, shap, save); the fits themselves run on the LSTM's thread, this thread or workers.
   */
  stageSeconds: Record<string, number>;
  /** Seconds of fitting per model (its folds and final model), where the fits ran. */
  fitSeconds: Record<string, number>;
}

const SHAP_ROWS = FOLD_SHAP_ROWS;
const TOP = 10;

function jaccard(a: string[], b: string[]): number {
  const sa = new Set(a);
  const inter = b.filter((x) => sa.has(x)).length;
  return inter / (sa.size + b.length - inter);
}

function topFeatures(values: Float64Array, names: string[], n: number): Array<{ feature: string; value: number }> {
  return [...values.keys()].sort((a, b) => values[b] - values[a]).slice(0, n).map((f) => ({ feature: names[f], value: values[f] }));
}

/** The time span each fold's model saw: training rows and the bars their labels looked ahead to (on the common time grid of a pooled dataset). */
export function foldSpans(folds: Fold[], time: Float64Array, horizon: number, timeIndex?: Int32Array): FoldSpan[] {
  const grid = timeIndex ? time.filter((t, i) => i === 0 || timeIndex[i] !== timeIndex[i - 1]) : time;
  const bar = (t: number) => (timeIndex ? timeIndex[t] : t);
  return folds.map((fold) => {
    const lastTrain = fold.train[fold.train.length - 1];
    return {
      fold: fold.index,
      trainStartMs: time[fold.train[0]],
      trainEndMs: time[lastTrain],
      knownUntilMs: grid[Math.min(grid.length - 1, bar(lastTrain) + horizon)],
      testStartMs: time[fold.test[0]],
      testEndMs: time[fold.test[1] - 1],
    };
  });
}

/** Out-of-fold rows of one model as the predictions contract (rows without a prediction are left out; a pooled dataset's rows keep their symbol). */
export function toOutOfFold(model: string, outOfFold: Float64Array, folds: Fold[], time: Float64Array, spans: FoldSpan[], symbol?: string[]): OutOfFoldPredictions {
  const rows: number[] = [];
  const fold: number[] = [];
  for (const f of folds) {
    for (let t = f.test[0]; t < f.test[1]; t++) {
      if (Number.isNaN(outOfFold[t * 3])) continue;
      rows.push(t);
      fold.push(f.index);
    }
  }
  const used = new Set(fold);
  return {
    model,
    timeMs: Float64Array.from(rows, (t) => time[t]),
    fold: Int32Array.from(fold),
    pShort: Float64Array.from(rows, (t) => outOfFold[t * 3]),
    pNeutral: Float64Array.from(rows, (t) => outOfFold[t * 3 + 1]),
    pLong: Float64Array.from(rows, (t) => outOfFold[t * 3 + 2]),
    folds: spans.filter((s) => used.has(s.fold)),
    ...(symbol ? { symbol: rows.map((t) => symbol[t]) } : {}),
  };
}

/**
 * Phase 3 end to end on a features file: (nested) hyperparameter search,
 * walk-forward evaluation of the three GBDTs, the LSTM and the baselines,
 * the stacked ensemble (or its best member when the stack does not beat it),
 * SHAP and its stability across folds, the out-of-fold predictions, the HTML
 * report, and the run directory. The CLI, the daily retrain and workers all
 * call this one function.
 */
export async function trainModelRun(dataset: TrainingDataset, options: TrainRunOptions, onProgress: (event: TrainProgress) => void = () => {}): Promise<TrainedRun> {
  const started = Date.now();
  const stageSeconds: Record<string, number> = {};
  let stage = '';
  let stageStart = started;
  const enter = (next: string, group = next) => {
    const now = Date.now();
    if (stage) stageSeconds[stage] = (stageSeconds[stage] ?? 0) + (now - stageStart) / 1000;
    stage = group;
    stageStart = now;
    onProgress({ stage: next, elapsedMs: now - started });
  };
  const runId = options.runId ?? new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId.startsWith('.')) {
    throw new OitraderError(`run id "${runId}" may only hold letters, digits, . _ - and must not start with a dot`, { hint: 'choose a plain name such as sol-2026-03', exitCode: 2 });
  }
  const { manifest } = dataset;
  const horizon = manifest.labels.horizon;
  const rows = dataset.time.length;
  const data = evalDataOf(dataset);
  // Folds are cut in bars: the rows of one symbol, the common time grid of a pooled dataset.
  const bars = data.timeIndex ? data.timeIndex[rows - 1] + 1 : rows;
  const trainSize = Math.max(horizon + 1, Math.floor(bars * options.trainShare));
  const foldSpec: WalkForwardOptions = { folds: options.folds, mode: 'expanding', trainSize, horizon, embargo: options.embargo };
  const folds = foldsOf(data, foldSpec);
  const symbols = data.series ? dataset.manifest.symbols! : [manifest.symbol];
  let specs: BaseModelSpec[] = DEFAULT_BASE_MODELS.map((s) => ({ ...s, params: { ...s.params, seed: options.seed, ...(options.trees ? { nEstimators: options.trees } : {}) } }));
  let searchEvaluations = 0;
  const searchNotes: string[] = [];
  if ((options.searchTrials ?? 0) > 0) {
    // Nested: the search sees only the first training block minus the rows
    // whose labels reach into the first test window, with its own inner
    // walk-forward, so no reported test window helped choose the parameters.
    const innerBars = trainSize - horizon;
    const innerRows = data.timeIndex ? rowsBeforeBar(data.timeIndex, innerBars) : innerBars;
    const scope: TrialScope = { rows: innerRows, folds: { folds: 2, mode: 'expanding', trainSize: Math.max(horizon + 1, Math.floor(innerBars * 0.5)), horizon, embargo: options.embargo } };
    const inner = leadingRows(data, innerRows);
    const innerFolds = foldsOf(inner, scope.folds);
    const runner = options.trialRunner?.(scope);
    const searched: BaseModelSpec[] = [];
    for (const spec of specs) {
      const policy = spec.params.growPolicy ?? 'depthwise';
      enter(`search ${policy}: ${options.searchTrials} trials on the first training block`, 'search');
      const logFile = join(options.modelsDir, 'search', `${symbols.join('+')}-${manifest.timeframe}-${policy}-rows${innerRows}-seed${options.seed}.jsonl`);
      const search = await searchWithRunner(inner, innerFolds, { policy, trials: options.searchTrials!, minTrees: 20, eta: 3, rungs: 2, seed: options.seed, logFile }, runner);
      searchEvaluations += search.records.length;
      searchNotes.push(`search ${policy}: ${search.records.length} evaluations (${search.resumed} reused from ${logFile}), best inner walk-forward log-loss ${search.best.logLoss.toFixed(4)}`);
      searched.push({ ...spec, params: search.best.params });
    }
    specs = searched;
  }
  const foldShap = new Map<string, string[][]>();
  let baselines: ModelEvaluation[] = [];
  const runner = options.fitRunner?.({ rows, folds: foldSpec });
  enter(`model fits: ${specs.length} GBDTs${options.lstm === false ? '' : ' and the LSTM'}, ${options.folds} walk-forward folds and a final model each${runner ? ' (on the workers)' : ''}`, 'model fits');
  let stack: StackingResult;
  try {
    stack = await trainStackedEnsemble(data, folds, specs, {
      lstm: options.lstm === false ? undefined : { seed: options.seed, ...(typeof options.lstm === 'object' ? options.lstm : {}) },
      runner,
      onStage: (s) => enter(s, s.startsWith('stacking') ? 'stacking' : 'model fits'),
      alongside: () => {
        enter('baselines (walk-forward, this thread)', 'baselines');
        baselines = evaluateWalkForward(data, folds, [logisticModel(), majorityBaseline(), persistenceBaseline()]);
        enter('waiting for the model fits', 'model fits');
      },
      onFoldShap: (model, _fold, shap) => {
        const list = foldShap.get(model) ?? [];
        list.push(topFeatures(shap, dataset.names, TOP).map((t) => t.feature));
        foldShap.set(model, list);
      },
    });
  } finally {
    await runner?.close();
  }
  const table: ModelRow[] = [...stack.bases, ...baselines].map((e) => ({ name: e.name, report: e.overall }));
  const ensembleName = stack.ensemble.use === 'meta' ? 'stacked ensemble, calibrated (folds 2+)' : `stacked ensemble → ${stack.choice.use} (folds 2+)`;
  if (stack.ensembleReport) table.push({ name: ensembleName, report: stack.ensembleReport });
  const calibration = calibrationSummary(data, stack, baselines);
  const perSymbol = perSymbolSummary(data, symbols, stack, baselines);
  const verdict = verdicts(calibration, stack.choice.use, stack.choice.reason);

  enter('SHAP', 'shap');
  // SHAP of the final base models on the most recent rows: which features drive the signal now.
  const recent = Math.min(SHAP_ROWS, rows);
  const recentRows = matrixFromColumns(dataset.columns, dataset.names, rows - recent, rows);
  const shapTop = stack.ensemble.bases.map((model, i) => ({ model: stack.ensemble.baseNames[i], top: topFeatures(model.shapSummary(recentRows), dataset.names, 15) }));
  const stability: FeatureStability[] = [...foldShap].map(([model, perFold]) => {
    const pairs: number[] = [];
    for (let a = 0; a < perFold.length; a++) for (let b = a + 1; b < perFold.length; b++) pairs.push(jaccard(perFold[a], perFold[b]));
    return { model, perFold, overlap: pairs.length > 0 ? pairs.reduce((x, y) => x + y, 0) / pairs.length : Number.NaN };
  });
  const groups = new Map((manifest.features ?? []).map((f) => [f.name, f.group]));
  const warnings = calendarWarnings(shapTop, stability, (feature) => groups.get(feature) === 'time');

  enter('save', 'save');
  const spans = foldSpans(folds, dataset.time, horizon, data.timeIndex);
  const rowSymbols = data.series ? dataset.symbol : undefined;
  // The ensemble's fold f used the meta-model trained on earlier folds' out-of-fold rows, all before test window f.
  const ensembleSpans = spans.map((s, i) => ({ ...s, knownUntilMs: i === 0 ? s.knownUntilMs : dataset.time[folds[i].test[0] - 1] }));
  const predictions = [
    toOutOfFold('ensemble', stack.ensembleOutOfFold, folds, dataset.time, ensembleSpans, rowSymbols),
    ...stack.bases.map((b) => toOutOfFold(b.name, b.outOfFold, folds, dataset.time, spans, rowSymbols)),
  ];
  const runManifest: RunManifest = {
    format: 'oitrader-model-run',
    version: 1,
    runId,
    createdAt: new Date().toISOString(),
    featureSetVersion: manifest.featureSetVersion,
    features: dataset.names,
    symbol: manifest.symbol,
    ...(data.series ? { symbols } : {}),
    timeframe: manifest.timeframe,
    dataSpan: { from: manifest.span.rowsFrom, to: manifest.span.rowsTo, rows },
    labels: { horizon, threshold: manifest.labels.threshold },
    validation: { folds: options.folds, mode: 'expanding', trainSize, embargo: options.embargo },
    seed: options.seed,
    codeVersion: options.codeVersion ?? 'unknown',
    metrics: {
      ...Object.fromEntries(table.map(({ name, report }) => [name, report])),
      ensemble: stack.ensembleReport,
      ensembleChoice: stack.choice,
      verdict,
      // Before → after calibration on the comparison rows (folds 2+), with the baselines on the same rows.
      calibration,
      ...(perSymbol.length > 0 ? { perSymbol } : {}),
      warnings,
      shapTop,
      featureStability: stability,
      // Configurations tried before choosing: the number of trials a Deflated Sharpe Ratio must account for.
      searchEvaluations,
      baseParams: Object.fromEntries(specs.map((s) => [s.name, s.params])),
      outOfFoldPredictions: { file: PREDICTIONS_FILE, models: predictions.map((p) => p.model), rows: predictions[0].timeMs.length, folds: ensembleSpans },
    },
  };
  const html = renderTrainingReport({
    runId,
    title: `oitrader training run ${runId}: ${manifest.symbol} ${manifest.timeframe}`,
    setup: `${rows} rows${data.series ? ` (${symbols.join(', ')} pooled, folds split by time across them)` : ''} × ${dataset.names.length} features, ${manifest.span.rowsFrom} .. ${manifest.span.rowsTo}; ${options.folds} expanding walk-forward folds, first training block ${trainSize} bars, purge ${horizon}, embargo ${options.embargo}, balanced class weights for the base models and the meta-model; calibrations fitted on earlier folds' out-of-fold rows only; ${searchEvaluations > 0 ? `GBDT hyperparameters from a nested random search with successive halving (${searchEvaluations} evaluations, first training block only)` : 'default GBDT hyperparameters'}`,
    verdict,
    warnings,
    models: [
      ...[...stack.bases, ...baselines].map((e) => ({ name: e.name, overall: e.overall, folds: e.folds })),
      ...(stack.ensembleReport ? [{ name: ensembleName, overall: stack.ensembleReport, folds: [] }] : []),
    ],
    calibration,
    reliability: [
      ...stack.calibrations.flatMap((c) => (c.calibrated ? [{ name: `${c.name} (calibrated)`, report: c.calibrated }] : [])),
      ...stack.calibrations.slice(-1).flatMap((c) => (c.raw ? [{ name: `${c.name} (raw)`, report: c.raw, dashed: true }] : [])),
      ...(stack.priorReport ? [{ name: 'training prior', report: stack.priorReport, dashed: true }] : []),
    ],
    perSymbol,
    shap: shapTop,
  });
  const dir = saveRun(options.modelsDir, runManifest, stack.ensemble, { 'report.html': html, [PREDICTIONS_FILE]: encodeOutOfFoldPredictions(predictions) });
  stack.ensemble.dispose();
  enter('done', 'done');
  return { runId, dir, manifest: runManifest, table, ensembleChoice: stack.choice.reason, verdict, calibration, perSymbol, warnings, shapTop, stability, searchEvaluations, searchNotes, stageSeconds, fitSeconds: stack.fitSeconds };
}
