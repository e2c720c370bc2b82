import { OitraderError } from '@oitrader/core';
import { GradientBoostedTrees, type GbdtModelJson, type GbdtParams } from '../gbdt/gbdt.ts';
import type { Matrix } from '../gbdt/matrix.ts';
import { classificationReport, type ClassificationReport } from '../evaluation/classification-metrics.ts';
import { balancedWeights, evaluateWalkForward, type EvalData, type ModelEvaluation } from '../evaluation/walk-forward-eval.ts';
import { LogisticRegression } from '../linear/logistic-regression.ts';
import { LstmClassifier, type LstmJson, type LstmOptions } from '../lstm/lstm-classifier.ts';
import { FitEta } from '../pipeline/fit-eta.ts';
import { decodeProba, inProcessFitRunner, type ModelFitJob, type ModelFitResult, type ModelFitRunner } from '../pipeline/model-fits.ts';
import type { Fold } from '../validation/walk-forward.ts';

export interface BaseModelSpec {
  name: string;
  params: Partial<GbdtParams>;
}

/** The guide's three classifiers as our three growth policies. */
export const DEFAULT_BASE_MODELS: BaseModelSpec[] = [
  { name: 'xgboost-style (depth-wise)', params: { growPolicy: 'depthwise', maxDepth: 4, nEstimators: 100, learningRate: 0.05 } },
  { name: 'lightgbm-style (leaf-wise)', params: { growPolicy: 'leafwise', numLeaves: 15, maxDepth: 0, minDataInLeaf: 20, nEstimators: 100, learningRate: 0.05 } },
  { name: 'catboost-style (oblivious)', params: { growPolicy: 'oblivious', maxDepth: 4, nEstimators: 100, learningRate: 0.05 } },
];

/** Meta-model input: each base model's class probabilities, as logs (the meta-model is linear in them). */
function metaFeatures(probas: Float64Array[], rows: number, k: number): Matrix {
  const cols = probas.length * k;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let m = 0; m < probas.length; m++) for (let c = 0; c < k; c++) data[r * cols + m * k + c] = Math.log(Math.max(probas[m][r * k + c], 1e-6));
  return { data, rows, cols };
}

const LSTM_NAME = 'LSTM';

/**
 * A stacked ensemble: GBDT base models, optionally an LSTM, and a
 * multinomial logistic meta-model trained on the base models' OUT-OF-FOLD
 * probabilities (never on their in-sample predictions, which are
 * over-confident by construction).
 */
export class StackedEnsemble {
  readonly numClass: number;
  readonly baseNames: string[];
  readonly bases: GradientBoostedTrees[];
  readonly meta: LogisticRegression;
  readonly lstm: LstmClassifier | undefined;
  /**
   * What predictSignalProba returns: the meta-model's stack, or — when the stack
   * scored worse out of sample than its best member — that member alone
   * (index into baseNames).
   */
  readonly use: 'meta' | number;
  /** The LSTM's saved form, captured once after training so toJSON stays synchronous. */
  readonly #lstmJson: LstmJson | undefined;

  constructor(numClass: number, baseNames: string[], bases: GradientBoostedTrees[], meta: LogisticRegression, lstm?: { model: LstmClassifier; json: LstmJson }, use: 'meta' | number = 'meta') {
    if (use !== 'meta' && !(Number.isInteger(use) && use >= 0 && use < baseNames.length)) throw new OitraderError(`ensemble: member ${use} does not exist`);
    this.use = use;
    this.numClass = numClass;
    this.baseNames = baseNames;
    this.bases = bases;
    this.meta = meta;
    this.lstm = lstm?.model;
    this.#lstmJson = lstm?.json;
  }

  /** Bars of history a row needs before it gets a probability (the LSTM's lookback − 1; 0 without an LSTM). */
  get historyRows(): number {
    return this.lstm ? this.lstm.options.lookback - 1 : 0;
  }

  /**
   * The guide's call: class probabilities (0 SHORT, 1 NEUTRAL, 2 LONG) per
   * row of a time-ordered table. With an LSTM member the first
   * `historyRows` rows have no sequence and come back NaN.
   */
  async predictSignalProba(x: Matrix): Promise<Float64Array> {
    if (this.use !== 'meta' && this.use < this.bases.length) return this.bases[this.use].predictProba(x);
    const probas = this.use === 'meta' ? this.bases.map((b) => b.predictProba(x)) : [];
    if (this.use !== 'meta' && this.lstm) {
      const from = Math.min(this.historyRows, x.rows);
      const out = new Float64Array(x.rows * this.numClass).fill(Number.NaN);
      if (x.rows > from) out.set(await this.lstm.predictProba(x, Array.from({ length: x.rows - from }, (_, i) => from + i)), from * this.numClass);
      return out;
    }
    if (!this.lstm) return this.meta.predictProba(metaFeatures(probas, x.rows, this.numClass));
    const k = this.numClass;
    const from = Math.min(this.historyRows, x.rows);
    const rows = Array.from({ length: x.rows - from }, (_, i) => from + i);
    const out = new Float64Array(x.rows * k).fill(Number.NaN);
    if (rows.length === 0) return out;
    const sequenceProba = await this.lstm.predictProba(x, rows);
    const tail = probas.map((p) => p.subarray(from * k));
    out.set(this.meta.predictProba(metaFeatures([...tail, sequenceProba], rows.length, k)), from * k);
    return out;
  }

  toJSON() {
    return { format: 'oitrader-stacked-ensemble', version: 1, numClass: this.numClass, baseNames: this.baseNames, bases: this.bases.map((b) => b.toJSON()), meta: this.meta.toJSON(), lstm: this.#lstmJson, use: this.use };
  }

  static async fromJSON(json: ReturnType<StackedEnsemble['toJSON']>): Promise<StackedEnsemble> {
    if (json?.format !== 'oitrader-stacked-ensemble' || json.version !== 1) throw new OitraderError('not an oitrader stacked ensemble (version 1)');
    const members = json.bases.length + (json.lstm ? 1 : 0);
    if (members !== json.baseNames.length) throw new OitraderError('ensemble file: base model names and models differ in number');
    const lstm = json.lstm ? { model: await LstmClassifier.fromJSON(json.lstm), json: json.lstm } : undefined;
    return new StackedEnsemble(json.numClass, json.baseNames, json.bases.map((b: GbdtModelJson) => GradientBoostedTrees.fromJSON(b)), LogisticRegression.fromJSON(json.meta), lstm, json.use ?? 'meta');
  }

  dispose(): void {
    this.lstm?.dispose();
  }
}

export interface StackingResult {
  ensemble: StackedEnsemble;
  /** Each base model's walk-forward evaluation (its out-of-fold probabilities feed the meta-model). */
  bases: ModelEvaluation[];
  /** The ensemble's own out-of-sample report: fold k's meta-model is trained on the out-of-fold rows of folds before k only. */
  ensembleReport: ClassificationReport | undefined;
  /** The ensemble's out-of-fold probabilities (rows × classes, NaN where it has none: the first fold). */
  ensembleOutOfFold: Float64Array;
  /** The stacked meta-model's own walk-forward report on the same rows, and each member's, that decided `ensemble.use`. */
  choice: { use: string; metaLogLoss: number; members: Array<{ name: string; logLoss: number }>; reason: string };
  /** Seconds of fitting per member (all folds and the final model), where the fits ran. */
  fitSeconds: Record<string, number>;
}

/**
 * Meta-model regularisation. Measured on the real SOLUSDT sample's out-of-fold
 * rows (docs/phase-3-training.md): with L2 = 0.01 the stack overfitted the
 * earlier folds and lost to every member; L2 = 1–10 with balanced class
 * weights beat every member and the uniform forecast on both later folds.
 * Unweighted meta-models did worse: the class mix shifts between folds (the
 * training folds' prior scored worse than uniform), and balancing keeps the
 * stack from betting on the old mix.
 */
const META_L2 = 10;

/**
 * Trains the stack. Base models run walk-forward to produce out-of-fold
 * probabilities; the final meta-model learns from all of them, and the final
 * base models from every labelled row (no test window follows them).
 */
export interface StackingOptions {
  lstm?: Partial<LstmOptions>;
  /** Where the fits run (default: this process, the LSTM on its own thread). */
  runner?: ModelFitRunner;
  /** Called with every GBDT fold model's mean |SHAP| per feature on the fold's first FOLD_SHAP_ROWS test rows. */
  onFoldShap?: (model: string, fold: Fold, meanAbsShap: Float64Array) => void;
  /** Called as each stage starts. */
  onStage?: (stage: string) => void;
  /** Work for this thread while the fits run (the pipeline's baselines). */
  alongside?: () => void;
}

export async function trainStackedEnsemble(data: EvalData, folds: Fold[], specs: BaseModelSpec[] = DEFAULT_BASE_MODELS, options: StackingOptions = {}): Promise<StackingResult> {
  const runner = options.runner ?? inProcessFitRunner(data, folds);
  try {
    // The LSTM's fits are asked for first: in this process they start on their own thread and run under everything else.
    const jobs: ModelFitJob[] = [
      ...(options.lstm ? [...folds.map((f) => f.index), 'final' as const].map((fold): ModelFitJob => ({ kind: 'lstm', name: LSTM_NAME, options: options.lstm!, fold })) : []),
      ...specs.flatMap((s) => [...folds.map((f) => f.index), 'final' as const].map((fold): ModelFitJob => ({ kind: 'gbdt', name: s.name, params: s.params, fold }))),
    ];
    const fitSeconds: Record<string, number> = {};
    const eta = new FitEta(jobs, (job) => (job.fold === 'final' ? data.x.rows : folds.find((f) => f.index === job.fold)!.train.length));
    let finished = 0;
    const pending = jobs.map((job) =>
      handled(
        runner.fit(job).then((result) => {
          fitSeconds[job.name] = (fitSeconds[job.name] ?? 0) + result.seconds;
          const left = eta.finished(job, result.seconds);
          const progress = `fit ${++finished}/${jobs.length}${left === undefined ? '' : `, about ${duration(left)} left`}`;
          options.onStage?.(`${job.name}: ${job.fold === 'final' ? 'final model on every labelled row' : `fold ${job.fold + 1}/${folds.length}`} fitted in ${result.seconds.toFixed(1)} s (${progress})`);
          return result;
        }),
      ),
    );
    options.alongside?.();
    const results = new Map<ModelFitJob, ModelFitResult>();
    for (const [i, job] of jobs.entries()) results.set(job, await pending[i]);
    const foldResult = (name: string, fold: Fold) => results.get(jobs.find((j) => j.name === name && j.fold === fold.index)!)!;
    const finalResult = (name: string) => results.get(jobs.find((j) => j.name === name && j.fold === 'final')!)!;
    for (const s of specs) for (const fold of folds) options.onFoldShap?.(s.name, fold, Float64Array.from(foldResult(s.name, fold).shap!));
    const members = [...specs.map((s) => s.name), ...(options.lstm ? [LSTM_NAME] : [])];
    const bases = evaluateWalkForward(data, folds, members.map((name) => ({ name, predictFold: (fold) => decodeProba(foldResult(name, fold).proba!) })));
    const finalBases = specs.map((s) => GradientBoostedTrees.fromJSON(finalResult(s.name).model));
    const lstmJson = options.lstm ? (finalResult(LSTM_NAME).model as LstmJson) : undefined;
    const lstm = lstmJson ? { model: await LstmClassifier.fromJSON(lstmJson), json: lstmJson } : undefined;
    options.onStage?.('stacking: the meta-model on the out-of-fold probabilities');
    return { ...stack(data, folds, specs, bases, finalBases, lstm), fitSeconds };
  } finally {
    if (!options.runner) await runner.close();
  }
}

/** 95 s → "1 min 35 s". */
function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A promise whose rejection is handled now and still thrown where it is awaited (results are awaited in order, a later one may fail first). */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The meta-model's walk-forward estimate, the choice between stack and best member, and the final ensemble. */
function stack(data: EvalData, folds: Fold[], specs: BaseModelSpec[], bases: ModelEvaluation[], finalBases: GradientBoostedTrees[], lstm: { model: LstmClassifier; json: LstmJson } | undefined): Omit<StackingResult, 'fitSeconds'> {
  const k = data.numClass;
  const oofRows: number[] = [];
  for (const fold of folds) for (let t = fold.test[0]; t < fold.test[1]; t++) oofRows.push(t);
  const oof = (rows: number[]) => metaFeatures(bases.map((b) => Float64Array.from(rows.flatMap((t) => Array.from(b.outOfFold.subarray(t * k, (t + 1) * k))))), rows.length, k);
  const labels = (rows: number[]) => Float64Array.from(rows, (t) => data.y[t]);

  // Honest estimate: walk forward over the folds' out-of-fold rows.
  const pooledRows: number[] = [];
  const metaOutOfFold = new Float64Array(data.x.rows * k).fill(Number.NaN);
  for (let f = 1; f < folds.length; f++) {
    const trainRows = oofRows.filter((t) => t < folds[f].test[0] - data.horizon);
    const testRows = oofRows.filter((t) => t >= folds[f].test[0] && t < folds[f].test[1]);
    if (trainRows.length === 0 || testRows.length === 0) continue;
    const y = labels(trainRows);
    const meta = new LogisticRegression({ l2: META_L2 }).fit(oof(trainRows), y, balancedWeights(y, k));
    const proba = meta.predictProba(oof(testRows));
    testRows.forEach((t, i) => metaOutOfFold.set(proba.subarray(i * k, (i + 1) * k), t * k));
    pooledRows.push(...testRows);
  }
  const reportOn = (outOfFold: Float64Array) =>
    classificationReport(Float64Array.from(pooledRows.flatMap((t) => Array.from(outOfFold.subarray(t * k, (t + 1) * k)))), labels(pooledRows), k, Float64Array.from(pooledRows, (t) => data.forwardReturn[t]));
  const metaReport = pooledRows.length > 0 ? reportOn(metaOutOfFold) : undefined;
  const memberLoss = bases.map((b) => ({ name: b.name, logLoss: pooledRows.length > 0 ? reportOn(b.outOfFold).logLoss : Number.NaN }));
  const best = memberLoss.reduce((a, b, i) => (b.logLoss < memberLoss[a].logLoss ? i : a), 0);
  // The stack must earn its place: on the same out-of-fold rows it has to beat its best member, else that member is the ensemble.
  const fallback = metaReport !== undefined && memberLoss[best].logLoss < metaReport.logLoss;
  const use: 'meta' | number = fallback ? best : 'meta';
  const ensembleOutOfFold = fallback ? bases[best].outOfFold.slice() : metaOutOfFold;
  if (fallback) for (const t of oofRows) if (t < (folds[1]?.test[0] ?? Infinity)) ensembleOutOfFold.fill(Number.NaN, t * k, (t + 1) * k);
  const ensembleReport = metaReport && (fallback ? reportOn(ensembleOutOfFold) : metaReport);
  const choice = {
    use: fallback ? bases[best].name : 'stacked meta-model',
    metaLogLoss: metaReport?.logLoss ?? Number.NaN,
    members: memberLoss,
    reason: metaReport === undefined
      ? 'one fold only: no out-of-sample estimate of the stack'
      : fallback
        ? `the stack's walk-forward log-loss ${metaReport.logLoss.toFixed(4)} is worse than its best member's (${bases[best].name}, ${memberLoss[best].logLoss.toFixed(4)}): the ensemble is that member`
        : `the stack's walk-forward log-loss ${metaReport.logLoss.toFixed(4)} beats every member (best ${bases[best].name}, ${memberLoss[best].logLoss.toFixed(4)})`,
  };

  const allY = labels(oofRows);
  const meta = new LogisticRegression({ l2: META_L2 }).fit(oof(oofRows), allY, balancedWeights(allY, k));
  const names = [...specs.map((s) => s.name), ...(lstm ? [LSTM_NAME] : [])];
  return { ensemble: new StackedEnsemble(k, names, finalBases, meta, lstm, use), bases, ensembleReport, ensembleOutOfFold, choice };
}
