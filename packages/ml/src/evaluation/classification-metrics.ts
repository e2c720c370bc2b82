import { correlation } from '@oitrader/core';

/** Out-of-sample classification metrics for the 3-class signal (0 SHORT, 1 NEUTRAL, 2 LONG). */
export interface ClassificationReport {
  rows: number;
  accuracy: number;
  balancedAccuracy: number;
  macroF1: number;
  logLoss: number;
  /** Mean squared error of the probability vector against the one-hot label. */
  brier: number;
  /** On rows predicted LONG or SHORT: share whose realised forward return had that sign. */
  directionalAccuracy: number;
  directionalRows: number;
  /** confusion[actual][predicted]. */
  confusion: number[][];
  /** Confidence (max probability) bins: mean confidence vs accuracy. */
  reliability: Array<{ confidence: number; accuracy: number; rows: number }>;
  /** Expected calibration error over the reliability bins. */
  ece: number;
  /**
   * Per class (0 SHORT, 1 NEUTRAL, 2 LONG): the reliability diagram of that
   * class's probability — mean predicted probability vs observed frequency of
   * the class in each of `bins` equal-width bins — and its ECE.
   */
  classCalibration: Array<{ ece: number; bins: Array<{ predicted: number; observed: number; rows: number }> }>;
  /** Pearson correlation of the lean p_long − p_short with the realised forward return (NaN without returns, 0 for a constant lean). */
  leanCorrelation: number;
}

/** Per-class reliability: P(class) binned by the predicted probability of that class. */
function classCalibration(proba: Float64Array, labels: ArrayLike<number>, k: number, bins: number): ClassificationReport['classCalibration'] {
  const n = labels.length;
  return Array.from({ length: k }, (_, c) => {
    const sums = Array.from({ length: bins }, () => ({ predicted: 0, observed: 0, rows: 0 }));
    for (let i = 0; i < n; i++) {
      const p = proba[i * k + c];
      const b = sums[Math.min(bins - 1, Math.floor(p * bins))];
      b.predicted += p;
      b.observed += labels[i] === c ? 1 : 0;
      b.rows++;
    }
    const filled = sums.filter((b) => b.rows > 0).map((b) => ({ predicted: b.predicted / b.rows, observed: b.observed / b.rows, rows: b.rows }));
    return { ece: filled.reduce((s, b) => s + (b.rows / n) * Math.abs(b.observed - b.predicted), 0), bins: filled };
  });
}

/** Pearson correlation of p_long − p_short with the forward return. */
function leanCorrelation(proba: Float64Array, forwardReturn: ArrayLike<number>, k: number): number {
  const lean = Float64Array.from({ length: forwardReturn.length }, (_, i) => proba[i * k + LONG] - proba[i * k + SHORT]);
  return correlation(lean, Float64Array.from(forwardReturn));
}

export const SHORT = 0;
export const LONG = 2;

export function classificationReport(proba: Float64Array, labels: ArrayLike<number>, k: number, forwardReturn?: ArrayLike<number>, bins = 10): ClassificationReport {
  const n = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let loss = 0;
  let brier = 0;
  let directional = 0;
  let directionalRows = 0;
  const binSums = Array.from({ length: bins }, () => ({ confidence: 0, correct: 0, rows: 0 }));
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[i * k + c] > proba[i * k + best]) best = c;
    confusion[y][best]++;
    loss -= Math.log(Math.max(proba[i * k + y], 1e-15));
    for (let c = 0; c < k; c++) brier += (proba[i * k + c] - (c === y ? 1 : 0)) ** 2;
    if (forwardReturn && (best === LONG || best === SHORT) && k === 3) {
      directionalRows++;
      if ((best === LONG && forwardReturn[i] > 0) || (best === SHORT && forwardReturn[i] < 0)) directional++;
    }
    const confidence = proba[i * k + best];
    const b = Math.min(bins - 1, Math.floor(confidence * bins));
    binSums[b].confidence += confidence;
    binSums[b].correct += best === y ? 1 : 0;
    binSums[b].rows++;
  }
  const correct = confusion.reduce((s, row, c) => s + row[c], 0);
  const recalls: number[] = [];
  const f1s: number[] = [];
  for (let c = 0; c < k; c++) {
    const actual = confusion[c].reduce((s, v) => s + v, 0);
    const predicted = confusion.reduce((s, row) => s + row[c], 0);
    const tp = confusion[c][c];
    if (actual > 0) recalls.push(tp / actual);
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = actual > 0 ? tp / actual : 0;
    if (actual > 0 || predicted > 0) f1s.push(precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0);
  }
  const reliability = binSums.filter((b) => b.rows > 0).map((b) => ({ confidence: b.confidence / b.rows, accuracy: b.correct / b.rows, rows: b.rows }));
  return {
    rows: n,
    accuracy: correct / n,
    balancedAccuracy: recalls.reduce((s, v) => s + v, 0) / Math.max(1, recalls.length),
    macroF1: f1s.reduce((s, v) => s + v, 0) / Math.max(1, f1s.length),
    logLoss: loss / n,
    brier: brier / n,
    directionalAccuracy: directionalRows > 0 ? directional / directionalRows : Number.NaN,
    directionalRows,
    confusion,
    reliability,
    ece: reliability.reduce((s, b) => s + (b.rows / n) * Math.abs(b.accuracy - b.confidence), 0),
    classCalibration: classCalibration(proba, labels, k, bins),
    leanCorrelation: forwardReturn && k === 3 ? leanCorrelation(proba, forwardReturn, k) : Number.NaN,
  };
}
