import { OitraderError } from '@oitrader/core';
import { GradientBoostedTrees, type GbdtModelJson, type GbdtParams } from '../gbdt/gbdt.ts';
import type { Matrix } from '../gbdt/matrix.ts';
import { applyCalibrator, checkCalibrator, type Calibrator } from '../calibration/calibrator.ts';
import { evaluateWalkForward, type EvalData } from '../evaluation/walk-forward-eval.ts';
import { LogisticRegression } from '../linear/logistic-regression.ts';
import { LstmClassifier, type LstmJson, type LstmOptions } from '../lstm/lstm-classifier.ts';
import { FitEta } from '../pipeline/fit-eta.ts';
import { decodeProba, inProcessFitRunner, type ModelFitJob, type ModelFitResult, type ModelFitRunner } from '../pipeline/model-fits.ts';
import type { Fold } from '../validation/walk-forward.ts';
import { stackAndCalibrate, type EnsembleCalibration, type StackEstimate } from './calibrated-stack.ts';
import type { EnsembleUse } from './ensemble-choice.ts';
import { metaFeatures } from './stack-walk-forward.ts';

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

const LSTM_NAME = 'LSTM';

/** What ensemble.json is written as; version 1 (no calibration) still loads. */
const FORMAT_VERSION = 2;

/** Every model's probabilities for the same rows (what `oitrader predict` reports side by side). */
export interface EnsemblePredictions {
  members: Array<{ name: string; raw: Float64Array; calibrated: Float64Array }>;
  stack: { raw: Float64Array; calibrated: Float64Array };
  prior: Float64Array;
  /** What predictSignalProba returns. */
  ensemble: Float64Array;
}

/**
 * A stacked ensemble: GBDT base models, optionally an LSTM, and a
 * multinomial logistic meta-model trained on the base models' OUT-OF-FOLD
 * probabilities (never on their in-sample predictions, which are
 * over-confident by construction), each with a calibration fitted on
 * out-of-fold rows.
 */
export class StackedEnsemble {
  readonly numClass: number;
  readonly baseNames: string[];
  readonly bases: GradientBoostedTrees[];
  readonly meta: LogisticRegression;
  readonly lstm: LstmClassifier | undefined;
  /**
   * What predictSignalProba returns: the meta-model's stack, or — when the
   * stack did not beat it out of sample — one member (index into baseNames),
   * or the training prior when no model beat the prior.
   */
  readonly use: EnsembleUse;
  /** Undefined for a run saved before calibration existed: its probabilities are returned as they were then. */
  readonly calibration: EnsembleCalibration | undefined;
  /** The LSTM's saved form, captured once after training so toJSON stays synchronous. */
  readonly #lstmJson: LstmJson | undefined;

  constructor(numClass: number, baseNames: string[], bases: GradientBoostedTrees[], meta: LogisticRegression, lstm?: { model: LstmClassifier; json: LstmJson }, use: EnsembleUse = 'meta', calibration?: EnsembleCalibration) {
    if (use === 'prior' ? !calibration : use !== 'meta' && !(Number.isInteger(use) && use >= 0 && use < baseNames.length)) throw new OitraderError(`ensemble: member ${use} does not exist`);
    if (calibration && (calibration.members.length !== baseNames.length || calibration.prior.length !== numClass)) throw new OitraderError(`ensemble: ${calibration.members.length} member calibrations and ${calibration.prior.length} prior classes for ${baseNames.length} members and ${numClass} classes`);
    this.use = use;
    this.numClass = numClass;
    this.baseNames = baseNames;
    this.bases = bases;
    this.meta = meta;
    this.lstm = lstm?.model;
    this.calibration = calibration;
    this.#lstmJson = lstm?.json;
  }

  /** Bars of history a row needs before it gets a probability (the LSTM's lookback − 1; 0 without an LSTM). */
  get historyRows(): number {
    return this.lstm ? this.lstm.options.lookback - 1 : 0;
  }

  /**
   * The guide's call: calibrated class probabilities (0 SHORT, 1 NEUTRAL,
   * 2 LONG) per row of a time-ordered table of one symbol. With an LSTM
   * member the first `historyRows` rows have no sequence and come back NaN.
   */
  async predictSignalProba(x: Matrix): Promise<Float64Array> {
    if (this.use === 'prior') return this.#prior(x.rows);
    if (this.use !== 'meta') return this.#calibrate(this.calibration?.members[this.use], await this.#member(this.use, x));
    const members = await Promise.all(this.baseNames.map((_, m) => this.#member(m, x)));
    return this.#calibrate(this.calibration?.stack, this.#stack(members, x.rows));
  }

  /** Every member (raw and calibrated), the stack (raw and calibrated), the prior and the ensemble's answer, for the same rows. */
  async predictAll(x: Matrix): Promise<EnsemblePredictions> {
    const raw = await Promise.all(this.baseNames.map((_, m) => this.#member(m, x)));
    const members = raw.map((p, m) => ({ name: this.baseNames[m], raw: p, calibrated: this.#calibrate(this.calibration?.members[m], p) }));
    const stackRaw = this.#stack(raw, x.rows);
    const stack = { raw: stackRaw, calibrated: this.#calibrate(this.calibration?.stack, stackRaw) };
    const prior = this.calibration ? this.#prior(x.rows) : new Float64Array(x.rows * this.numClass).fill(Number.NaN);
    const ensemble = this.use === 'prior' ? prior : this.use === 'meta' ? stack.calibrated : members[this.use].calibrated;
    return { members, stack, prior, ensemble };
  }

  /**
   * The probabilities of the model an RL agent observed in training: 'ensemble' (what predictSignalProba
   * answers) or a member by name, raw — as the run's out-of-fold predictions file stores members.
   */
  async predictObserved(model: string, x: Matrix): Promise<Float64Array> {
    if (model === 'ensemble') return this.predictSignalProba(x);
    const m = this.baseNames.indexOf(model);
    if (m < 0) throw new OitraderError(`the run has no model "${model}" (it has ensemble, ${this.baseNames.join(', ')})`, { hint: 'retrain the agent on one of them (oitrader rl train --ml-model <name>)', exitCode: 2 });
    return this.#member(m, x);
  }

  /** Member m's raw probabilities (the LSTM: NaN for the first historyRows rows). */
  async #member(m: number, x: Matrix): Promise<Float64Array> {
    if (m < this.bases.length) return this.bases[m].predictProba(x);
    const from = Math.min(this.historyRows, x.rows);
    const out = new Float64Array(x.rows * this.numClass).fill(Number.NaN);
    if (x.rows > from) out.set(await this.lstm!.predictProba(x, Array.from({ length: x.rows - from }, (_, i) => from + i)), from * this.numClass);
    return out;
  }

  /** The meta-model on the members' raw probabilities; NaN on rows a member has none for. */
  #stack(members: Float64Array[], rows: number): Float64Array {
    const k = this.numClass;
    const from = this.lstm ? Math.min(this.historyRows, rows) : 0;
    const out = new Float64Array(rows * k).fill(Number.NaN);
    if (rows > from) out.set(this.meta.predictProba(metaFeatures(members.map((p) => p.subarray(from * k)), rows - from, k)), from * k);
    return out;
  }

  #calibrate(calibrator: Calibrator | undefined, proba: Float64Array): Float64Array {
    return calibrator ? applyCalibrator(calibrator, proba, this.numClass) : proba;
  }

  #prior(rows: number): Float64Array {
    const out = new Float64Array(rows * this.numClass);
    for (let r = 0; r < rows; r++) out.set(this.calibration!.prior, r * this.numClass);
    return out;
  }

  toJSON() {
    return { format: 'oitrader-stacked-ensemble', version: FORMAT_VERSION, numClass: this.numClass, baseNames: this.baseNames, bases: this.bases.map((b) => b.toJSON()), meta: this.meta.toJSON(), lstm: this.#lstmJson, use: this.use, calibration: this.calibration };
  }

  /**
   * Reads ensemble.json. Version 1 (saved before calibration) still loads and
   * answers uncalibrated probabilities, as it did (`calibration` is
   * undefined; `oitrader predict` says so); a damaged calibration is refused.
   */
  static async fromJSON(json: ReturnType<StackedEnsemble['toJSON']>): Promise<StackedEnsemble> {
    if (json?.format !== 'oitrader-stacked-ensemble' || !(json.version === 1 || json.version === FORMAT_VERSION)) throw new OitraderError(`not an oitrader stacked ensemble (version 1 or ${FORMAT_VERSION})`, { hint: 'a newer oitrader wrote it, or the file is damaged: train the run again' });
    const members = json.bases.length + (json.lstm ? 1 : 0);
    if (members !== json.baseNames.length) throw new OitraderError('ensemble file: base model names and models differ in number');
    const calibration = json.calibration === undefined ? undefined : checkCalibration(json.calibration, json.numClass, members);
    const lstm = json.lstm ? { model: await LstmClassifier.fromJSON(json.lstm), json: json.lstm } : undefined;
    return new StackedEnsemble(json.numClass, json.baseNames, json.bases.map((b: GbdtModelJson) => GradientBoostedTrees.fromJSON(b)), LogisticRegression.fromJSON(json.meta), lstm, json.use ?? 'meta', calibration);
  }

  dispose(): void {
    this.lstm?.dispose();
  }
}

function checkCalibration(value: EnsembleCalibration, k: number, members: number): EnsembleCalibration {
  const where = 'ensemble file';
  if (!Array.isArray(value?.members) || value.members.length !== members) throw new OitraderError(`${where}: ${Array.isArray(value?.members) ? value.members.length : 'no'} member calibrations for ${members} members`, { hint: 'the model file is damaged: train the run again' });
  const prior = value.prior;
  if (!Array.isArray(prior) || prior.length !== k || !prior.every((p) => typeof p === 'number' && p >= 0) || Math.abs(prior.reduce((a, b) => a + b, 0) - 1) > 1e-9) {
    throw new OitraderError(`${where}: the training prior is not ${k} shares summing to 1`, { hint: 'the model file is damaged: train the run again' });
  }
  return { members: value.members.map((c, m) => checkCalibrator(c, k, `${where}, member ${m}`)), stack: checkCalibrator(value.stack, k, `${where}, stack`), prior };
}

export interface StackingResult extends StackEstimate {
  ensemble: StackedEnsemble;
  /** Seconds of fitting per member (all folds and the final model), where the fits ran. */
  fitSeconds: Record<string, number>;
}

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
    options.onStage?.('stacking: the meta-model and the calibrations on the out-of-fold probabilities');
    const { meta, calibration, use, ...estimate } = stackAndCalibrate(data, folds, bases);
    return { ensemble: new StackedEnsemble(data.numClass, members, finalBases, meta, lstm, use, calibration), ...estimate, fitSeconds };
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

