import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatUtc, OitraderError, silentLogger, type Frame, type Logger } from '@oitrader/core';
import { buildFeatureDataset, checkLookahead, datasetEngineer, FEATURES_FILE, FeatureEngineer, MANIFEST_FILE, readFeatureDataset, writeFeatureDataset, type CheckReport, type LabelOptions } from '@oitrader/features';
import { classificationReport, listRuns, readOutOfFoldPredictions, trainModelRun, type OutOfFoldPredictions, type TrainRunOptions } from '@oitrader/ml';
import type { SqlExecutor } from '@oitrader/data';
import { activeRun, promoteRun } from './champion-registry.ts';

export interface RetrainOptions {
  modelsDir: string;
  labels: LabelOptions;
  /** Passed to the one training pipeline, trainModelRun (folds, embargo, trees, LSTM…). */
  training: Omit<TrainRunOptions, 'modelsDir' | 'runId'>;
  /** Name of the challenger run (default: retrain-<UTC time of the newest candle>). */
  runId?: string;
  /** models.promote_margin: the challenger's log loss must be lower than the champion's by at least this much. */
  margin: number;
  /** The comparison window: the newest rows out of sample for both runs (default 576, two days of 5m). */
  windowRows?: number;
  engineer?: FeatureEngineer;
  /** Cut points of the look-ahead check on the new data (default 12). */
  lookaheadCuts?: number;
  log?: Logger;
  clock?: () => number;
}

export interface ModelScore {
  runId: string;
  logLoss: number;
  accuracy: number;
}

export interface RetrainResult {
  /** Undefined when the look-ahead check failed: a leaking feature set is not worth training. */
  challenger: ModelScore | undefined;
  champion: ModelScore | undefined;
  /** The same rows for both: out of sample for each run (their out-of-fold predictions), the newest both have. */
  window: { fromMs: number; toMs: number; rows: number } | undefined;
  lookahead: { passed: boolean; offenders: string[] };
  promoted: boolean;
  /** One line a trader can read: why it was promoted or kept out. */
  reason: string;
}

/**
 * The daily retrain: rebuild the features on the latest data, train a
 * challenger with the one pipeline (trainModelRun), score it and the champion
 * on the same newest window that is out of sample for both, and promote it
 * only when its log loss is lower by `margin` and the look-ahead check on the
 * new data passes. Every run is kept; only ACTIVE and the promotion history change.
 */
export async function retrainChallenger(frame: Frame, options: RetrainOptions): Promise<RetrainResult> {
  const log = options.log ?? silentLogger;
  // The dataset default (no calendar features: docs/phase-2-features.md), as `oitrader features build`.
  const engineer = options.engineer ?? datasetEngineer();
  const runId = options.runId ?? `retrain-${formatUtc(frame.time[frame.length - 1]).replace(/[-:]/g, '').replace(/\..*$/, '').replace(' ', 'T')}`;
  if (listRuns(options.modelsDir).includes(runId)) throw new OitraderError(`model run ${runId} exists already in ${options.modelsDir}`, { hint: 'give --run-id another name (every run is kept)', exitCode: 2 });
  const check: CheckReport = checkLookahead(engineer, frame, { cuts: options.lookaheadCuts ?? 12 });
  const lookahead = { passed: check.offenders.length === 0, offenders: check.offenders.map((o) => o.feature) };
  if (!lookahead.passed) {
    const reason = `${runId} not trained: the look-ahead check found features that read the future (${lookahead.offenders.join(', ')}); the champion stays`;
    log.warn(`retrain: ${reason}`);
    return { challenger: undefined, champion: undefined, window: undefined, lookahead, promoted: false, reason };
  }
  // The challenger's features go through the same file contract as `oitrader train` (and are kept beside the run).
  const featuresDir = join(options.modelsDir, 'features', runId);
  mkdirSync(featuresDir, { recursive: true });
  writeFeatureDataset(buildFeatureDataset(frame, options.labels, engineer), join(featuresDir, FEATURES_FILE), join(featuresDir, MANIFEST_FILE));
  const dataset = await readFeatureDataset(join(featuresDir, FEATURES_FILE), join(featuresDir, MANIFEST_FILE));
  log.info(`retrain: training challenger ${runId} on ${dataset.time.length} rows to ${formatUtc(dataset.time[dataset.time.length - 1])}`);
  const run = await trainModelRun(dataset, { ...options.training, modelsDir: options.modelsDir, runId }, (p) => log.debug(`retrain: ${p.stage}`));
  const championId = activeRun(options.modelsDir);
  const labelAt = new Map<number, number>();
  for (let i = 0; i < dataset.time.length; i++) labelAt.set(dataset.time[i], dataset.labels[i]);
  const challengerOof = await readOutOfFoldPredictions(run.dir);
  const nowMs = (options.clock ?? Date.now)();
  if (championId === undefined) {
    const score = scoreOn(run.runId, challengerOof, newest(challengerOof.timeMs, labelAt, options.windowRows ?? 576), labelAt);
    const reason = `first champion: ${run.runId} (log loss ${score.logLoss.toFixed(4)} on its newest ${options.windowRows ?? 576} out-of-sample rows)`;
    promoteRun(options.modelsDir, run.runId, reason, nowMs);
    log.info(`retrain: ${reason}`);
    return { challenger: score, champion: undefined, window: undefined, lookahead, promoted: true, reason };
  }
  const championOof = await readOutOfFoldPredictions(join(options.modelsDir, championId));
  const championTimes = new Set(championOof.timeMs);
  const common = Float64Array.from(challengerOof.timeMs).filter((t) => championTimes.has(t));
  const rows = newest(common, labelAt, options.windowRows ?? 576);
  if (rows.length === 0) {
    const reason = `${run.runId} kept out: it and the champion ${championId} have no out-of-sample rows in common to compare on`;
    log.warn(`retrain: ${reason}`);
    return { challenger: scoreOn(run.runId, challengerOof, newest(challengerOof.timeMs, labelAt, options.windowRows ?? 576), labelAt), champion: undefined, window: undefined, lookahead, promoted: false, reason };
  }
  const challenger = scoreOn(run.runId, challengerOof, rows, labelAt);
  const champion = scoreOn(championId, championOof, rows, labelAt);
  const window = { fromMs: rows[0], toMs: rows[rows.length - 1], rows: rows.length };
  const gain = champion.logLoss - challenger.logLoss;
  const span = `${window.rows} rows ${formatUtc(window.fromMs)} → ${formatUtc(window.toMs)}`;
  const promoted = gain >= options.margin;
  const reason = promoted
    ? `${run.runId} promoted: log loss ${challenger.logLoss.toFixed(4)} vs champion ${championId} ${champion.logLoss.toFixed(4)} on ${span} (better by ${gain.toFixed(4)} ≥ margin ${options.margin})`
    : `${run.runId} kept out: log loss ${challenger.logLoss.toFixed(4)} vs champion ${championId} ${champion.logLoss.toFixed(4)} on ${span} (gain ${gain.toFixed(4)} < margin ${options.margin})`;
  if (promoted) promoteRun(options.modelsDir, run.runId, reason, nowMs);
  log.info(`retrain: ${reason}`);
  return { challenger, champion, window, lookahead, promoted, reason };
}

/** The newest `count` of `times` that have a label, ascending. */
function newest(times: ArrayLike<number>, labelAt: Map<number, number>, count: number): number[] {
  const labelled = Array.from(times).filter((t) => labelAt.has(t) && Number.isFinite(labelAt.get(t)));
  labelled.sort((a, b) => a - b);
  return labelled.slice(-count);
}

function scoreOn(runId: string, oof: OutOfFoldPredictions, rows: number[], labelAt: Map<number, number>): ModelScore {
  const index = new Map<number, number>();
  for (let i = 0; i < oof.timeMs.length; i++) index.set(oof.timeMs[i], i);
  const proba = new Float64Array(rows.length * 3);
  const labels = new Int32Array(rows.length);
  rows.forEach((t, r) => {
    const i = index.get(t);
    if (i === undefined) throw new OitraderError(`run ${runId} has no out-of-fold prediction at ${formatUtc(t)}`);
    proba[r * 3] = oof.pShort[i];
    proba[r * 3 + 1] = oof.pNeutral[i];
    proba[r * 3 + 2] = oof.pLong[i];
    labels[r] = labelAt.get(t)!;
  });
  const report = classificationReport(proba, labels, 3);
  return { runId, logLoss: report.logLoss, accuracy: report.accuracy };
}

/**
 * Open time of the newest stored candle of a series, or undefined. (BotStore.latestClosedCandle
 * in this build passes an untyped difference of parameters, which PGlite refuses.)
 */
export async function newestStoredCandle(sql: SqlExecutor, symbol: string, timeframe: string): Promise<number | undefined> {
  const rows = await sql.query<{ t: number | null }>('SELECT (extract(epoch FROM max(time)) * 1000)::float8 AS t FROM ohlcv WHERE symbol = $1 AND timeframe = $2', [symbol, timeframe]);
  const t = rows[0]?.t;
  return t === null || t === undefined ? undefined : Number(t);
}
