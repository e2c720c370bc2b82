import { OitraderError } from '@oitrader/core';
import { GradientBoostedTrees, type GbdtModelJson, type GbdtParams } from '../gbdt/gbdt.ts';
import type { Matrix } from '../gbdt/matrix.ts';
import { classificationReport, type ClassificationReport } from '../evaluation/classification-metrics.ts';
import { balancedWeights, evaluateWalkForward, evaluateWalkForwardAsync, gbdtModel, lstmClassWeights, lstmModel, rowsOf, type EvalData, type ModelEvaluation } from '../evaluation/walk-forward-eval.ts';
import { LogisticRegression } from '../linear/logistic-regression.ts';
import { LstmClassifier, type LstmJson, type LstmOptions } from '../lstm/lstm-classifier.ts';
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
  /** The LSTM's saved form, captured once after training so toJSON stays synchronous. */
  readonly #lstmJson: LstmJson | undefined;

  constructor(numClass: number, baseNames: string[], bases: GradientBoostedTrees[], meta: LogisticRegression, lstm?: { model: LstmClassifier; json: LstmJson }) {
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
    const probas = this.bases.map((b) => b.predictProba(x));
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
    return { format: 'oitrader-stacked-ensemble', version: 1, numClass: this.numClass, baseNames: this.baseNames, bases: this.bases.map((b) => b.toJSON()), meta: this.meta.toJSON(), lstm: this.#lstmJson };
  }

  static async fromJSON(json: ReturnType<StackedEnsemble['toJSON']>): Promise<StackedEnsemble> {
    if (json?.format !== 'oitrader-stacked-ensemble' || json.version !== 1) throw new OitraderError('not an oitrader stacked ensemble (version 1)');
    const members = json.bases.length + (json.lstm ? 1 : 0);
    if (members !== json.baseNames.length) throw new OitraderError('ensemble file: base model names and models differ in number');
    const lstm = json.lstm ? { model: await LstmClassifier.fromJSON(json.lstm), json: json.lstm } : undefined;
    return new StackedEnsemble(json.numClass, json.baseNames, json.bases.map((b: GbdtModelJson) => GradientBoostedTrees.fromJSON(b)), LogisticRegression.fromJSON(json.meta), lstm);
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
}

/**
 * Trains the stack. Base models run walk-forward to produce out-of-fold
 * probabilities; the final meta-model learns from all of them, and the final
 * base models from every labelled row (no test window follows them).
 */
export async function trainStackedEnsemble(data: EvalData, folds: Fold[], specs: BaseModelSpec[] = DEFAULT_BASE_MODELS, options: { lstm?: Partial<LstmOptions> } = {}): Promise<StackingResult> {
  const k = data.numClass;
  const bases = evaluateWalkForward(data, folds, specs.map((s) => gbdtModel(s.name, s.params)));
  if (options.lstm) bases.push(...(await evaluateWalkForwardAsync(data, folds, [lstmModel(options.lstm)])));
  const oofRows: number[] = [];
  for (const fold of folds) for (let t = fold.test[0]; t < fold.test[1]; t++) oofRows.push(t);
  const oof = (rows: number[]) => metaFeatures(bases.map((b) => Float64Array.from(rows.flatMap((t) => Array.from(b.outOfFold.subarray(t * k, (t + 1) * k))))), rows.length, k);
  const labels = (rows: number[]) => Float64Array.from(rows, (t) => data.y[t]);

  // Honest estimate: walk forward over the folds' out-of-fold rows.
  const pooledProba: number[] = [];
  const pooledRows: number[] = [];
  for (let f = 1; f < folds.length; f++) {
    const trainRows = oofRows.filter((t) => t < folds[f].test[0] - data.horizon);
    const testRows = oofRows.filter((t) => t >= folds[f].test[0] && t < folds[f].test[1]);
    if (trainRows.length === 0 || testRows.length === 0) continue;
    const y = labels(trainRows);
    const meta = new LogisticRegression({ l2: 1e-2 }).fit(oof(trainRows), y, balancedWeights(y, k));
    pooledProba.push(...meta.predictProba(oof(testRows)));
    pooledRows.push(...testRows);
  }
  const ensembleReport =
    pooledRows.length > 0
      ? classificationReport(Float64Array.from(pooledProba), labels(pooledRows), k, Float64Array.from(pooledRows, (t) => data.forwardReturn[t]))
      : undefined;

  const allY = labels(oofRows);
  const meta = new LogisticRegression({ l2: 1e-2 }).fit(oof(oofRows), allY, balancedWeights(allY, k));
  const finalRows = Uint32Array.from({ length: data.x.rows }, (_, i) => i);
  const finalY = Float64Array.from(finalRows, (t) => data.y[t]);
  const finalBases = specs.map((s) => new GradientBoostedTrees({ ...s.params, objective: 'multiclass' }).fit(rowsOf(data.x, finalRows), finalY, { sampleWeight: balancedWeights(finalY, k) }));
  let lstm: { model: LstmClassifier; json: LstmJson } | undefined;
  if (options.lstm) {
    const model = await new LstmClassifier(options.lstm).fit(data.x, data.y, finalRows, lstmClassWeights(finalY, k));
    lstm = { model, json: await model.toJSON() };
  }
  const names = [...specs.map((s) => s.name), ...(lstm ? [LSTM_NAME] : [])];
  return { ensemble: new StackedEnsemble(k, names, finalBases, meta, lstm), bases, ensembleReport };
}
