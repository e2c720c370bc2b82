import { GradientBoostedTrees, type GbdtParams } from '../gbdt/gbdt.ts';
import type { Matrix } from '../gbdt/matrix.ts';
import { LogisticRegression } from '../linear/logistic-regression.ts';
import type { Fold } from '../validation/walk-forward.ts';
import { classificationReport, type ClassificationReport } from './classification-metrics.ts';

/** A labelled, time-ordered dataset (Phase 2's Parquet rows). */
export interface EvalData {
  x: Matrix;
  y: Float64Array;
  forwardReturn: Float64Array;
  numClass: number;
  /** Label horizon in bars (rows, for one symbol). */
  horizon: number;
  /**
   * A pooled dataset (several symbols): each row's bar on the pool's common
   * time grid (rows are ordered by time, then symbol). Absent for one symbol,
   * where the bar is the row.
   */
  timeIndex?: Int32Array;
  /** A pooled dataset: each row's symbol (index into the dataset's symbol list). */
  series?: Int32Array;
}

/** Row t's bar: its index on the common time grid (the row itself for one symbol). */
export function barOf(data: Pick<EvalData, 'timeIndex'>, t: number): number {
  return data.timeIndex ? data.timeIndex[t] : t;
}

/** Something that, given a fold, predicts class probabilities for its test rows (test rows × classes). */
export interface FoldModel {
  name: string;
  predictFold(fold: Fold, data: EvalData): Float64Array;
}

export interface ModelEvaluation {
  name: string;
  folds: ClassificationReport[];
  /** All test windows together (out of sample). */
  overall: ClassificationReport;
  /** Out-of-fold probabilities, rows × classes; NaN outside the test windows. */
  outOfFold: Float64Array;
}

export function rowsOf(x: Matrix, rows: ArrayLike<number>): Matrix {
  const data = new Float32Array(rows.length * x.cols);
  for (let i = 0; i < rows.length; i++) data.set(x.data.subarray(rows[i] * x.cols, (rows[i] + 1) * x.cols), i * x.cols);
  return { data, rows: rows.length, cols: x.cols };
}

/** Row indices start … end − 1. */
export const range = (start: number, end: number) => Uint32Array.from({ length: end - start }, (_, i) => start + i);

/** Balanced class weights, n / (K · n_c), from the training labels only. */
export function balancedWeights(labels: ArrayLike<number>, numClass: number): Float64Array {
  const counts = new Array<number>(numClass).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return Float64Array.from(labels, (c) => labels.length / (numClass * Math.max(1, counts[c])));
}

/** A multiclass GBDT fitted on `rows` with balanced class weights, as every fit of the pipeline is. */
export function fitGbdt(data: EvalData, rows: ArrayLike<number>, params: Partial<GbdtParams>): GradientBoostedTrees {
  const y = Float64Array.from(rows, (t) => data.y[t]);
  return new GradientBoostedTrees({ ...params, objective: 'multiclass' }).fit(rowsOf(data.x, rows), y, { sampleWeight: balancedWeights(y, data.numClass) });
}

/** The probabilities of a fold's model on the fold's test rows, padded to every class. */
export function foldTestProba(data: EvalData, fold: Fold, model: GradientBoostedTrees, test = rowsOf(data.x, range(...fold.test))): Float64Array {
  return padClasses(model.predictProba(test), model.numClass, data.numClass);
}

export function gbdtModel(name: string, params: Partial<GbdtParams>): FoldModel {
  return { name, predictFold: (fold, data) => foldTestProba(data, fold, fitGbdt(data, fold.train, params)) };
}

export function logisticModel(): FoldModel {
  return {
    name: 'logistic regression',
    predictFold(fold, data) {
      const y = Float64Array.from(fold.train, (t) => data.y[t]);
      const model = new LogisticRegression().fit(rowsOf(data.x, fold.train), y, balancedWeights(y, data.numClass));
      return padClasses(model.predictProba(rowsOf(data.x, range(...fold.test))), model.numClass, data.numClass);
    },
  };
}

/** Class shares of the labels at `rows`: the training prior. */
export function classPrior(data: Pick<EvalData, 'y' | 'numClass'>, rows: ArrayLike<number>): Float64Array {
  const prior = new Float64Array(data.numClass);
  for (let i = 0; i < rows.length; i++) prior[data.y[rows[i]]]++;
  return prior.map((c) => c / rows.length);
}

/**
 * Predicts the training class frequencies (the training prior) for every row:
 * the baseline every probability must beat on log-loss; its arg-max is the
 * majority class.
 */
export function majorityBaseline(): FoldModel {
  return {
    name: 'majority class',
    predictFold(fold, data) {
      const prior = classPrior(data, fold.train);
      const [start, end] = fold.test;
      const out = new Float64Array((end - start) * data.numClass);
      for (let i = 0; i < end - start; i++) out.set(prior, i * data.numClass);
      return out;
    },
  };
}

/**
 * Persistence: at row t the newest label already known is row t − horizon's
 * (its horizon ends at t); predict that class (probability 0.7, the rest
 * spread evenly). Using label t − 1 would be look-ahead.
 */
export function persistenceBaseline(): FoldModel {
  return {
    name: 'label persistence',
    predictFold: (fold, data) => persistenceProba(data, range(...fold.test)),
  };
}

/** Label persistence at `rows`: probability 0.7 on the newest label known at each row (NEUTRAL when none is), the rest spread evenly. */
export function persistenceProba(data: Pick<EvalData, 'y' | 'numClass' | 'horizon' | 'timeIndex' | 'series'>, rows: ArrayLike<number>): Float64Array {
  const k = data.numClass;
  const known = knownLabelRow(data);
  const out = new Float64Array(rows.length * k).fill(0.3 / (k - 1));
  for (let i = 0; i < rows.length; i++) {
    const row = known(rows[i]);
    out[i * k + (row >= 0 ? data.y[row] : 1)] = 0.7;
  }
  return out;
}

/**
 * The row holding the newest label already known at row t: the same symbol's
 * latest row at least `horizon` bars earlier (its label window ends by t);
 * -1 when there is none. One symbol: row t − horizon.
 */
export function knownLabelRow(data: Pick<EvalData, 'horizon' | 'timeIndex' | 'series'>): (t: number) => number {
  const { timeIndex, series, horizon } = data;
  if (!timeIndex || !series) return (t) => t - horizon;
  const rowsOf = new Map<number, number[]>();
  for (let t = 0; t < series.length; t++) {
    const list = rowsOf.get(series[t]) ?? [];
    list.push(t);
    rowsOf.set(series[t], list);
  }
  return (t) => {
    const rows = rowsOf.get(series[t])!;
    const latest = timeIndex[t] - horizon;
    let lo = 0;
    let hi = rows.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (timeIndex[rows[mid]] <= latest) {
        found = rows[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

function padClasses(proba: Float64Array, have: number, want: number): Float64Array {
  if (have === want) return proba;
  const rows = proba.length / have;
  const out = new Float64Array(rows * want);
  for (let r = 0; r < rows; r++) for (let c = 0; c < have; c++) out[r * want + c] = proba[r * have + c];
  return out;
}

/** The out-of-sample report of out-of-fold probabilities (rows × classes over the dataset) on `rows`. */
export function reportOnRows(data: EvalData, outOfFold: Float64Array, rows: ArrayLike<number>): ClassificationReport {
  const k = data.numClass;
  const proba = new Float64Array(rows.length * k);
  for (let i = 0; i < rows.length; i++) proba.set(outOfFold.subarray(rows[i] * k, (rows[i] + 1) * k), i * k);
  return classificationReport(proba, Float64Array.from(rows, (t) => data.y[t]), k, Float64Array.from(rows, (t) => data.forwardReturn[t]));
}

/** Runs every model over every fold: per-fold and overall out-of-sample reports, and out-of-fold probabilities (the stacking input). */
export function evaluateWalkForward(data: EvalData, folds: Fold[], models: FoldModel[]): ModelEvaluation[] {
  const k = data.numClass;
  return models.map((model) => {
    const outOfFold = new Float64Array(data.x.rows * k).fill(Number.NaN);
    const reports: ClassificationReport[] = [];
    const testRows: number[] = [];
    for (const fold of folds) {
      const proba = model.predictFold(fold, data);
      const [start, end] = fold.test;
      outOfFold.set(proba, start * k);
      reports.push(classificationReport(proba, data.y.subarray(start, end), k, data.forwardReturn.subarray(start, end)));
      for (let t = start; t < end; t++) testRows.push(t);
    }
    return { name: model.name, folds: reports, overall: reportOnRows(data, outOfFold, testRows), outOfFold };
  });
}

/** Balanced class weights in the per-class form tf.js's fit takes. */
export function lstmClassWeights(labels: ArrayLike<number>, numClass: number): Record<number, number> {
  const weights = balancedWeights(labels, numClass);
  const byClass: Record<number, number> = {};
  for (let i = 0; i < labels.length; i++) byClass[labels[i]] = weights[i];
  return byClass;
}
