import type { EvalData } from '../evaluation/walk-forward-eval.ts';
import { seededRandom } from '../gbdt/matrix.ts';

/**
 * SYNTHETIC 3-class rows whose true class probabilities are softmax(z) for
 * random scores z, and a model that reports softmax(z · sharpness): over-
 * confident for sharpness > 1. Labels are drawn from the true probabilities.
 */
export function overconfidentRows(rows: number, sharpness: number, seed: number): { proba: Float64Array; labels: Float64Array; truth: Float64Array } {
  const random = seededRandom(seed);
  const k = 3;
  const proba = new Float64Array(rows * k);
  const truth = new Float64Array(rows * k);
  const labels = new Float64Array(rows);
  const softmax = (z: number[], s: number) => {
    const e = z.map((v) => Math.exp(v * s));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  };
  for (let r = 0; r < rows; r++) {
    const z = [0, 1, 2].map(() => (random() - 0.5) * 2);
    const p = softmax(z, 1);
    truth.set(p, r * k);
    proba.set(softmax(z, sharpness), r * k);
    const u = random();
    labels[r] = u < p[0] ? 0 : u < p[0] + p[1] ? 1 : 2;
  }
  return { proba, labels, truth };
}

/** EvalData around synthetic labels (the matrix is a placeholder: calibration reads only labels and rows). */
export function syntheticEvalData(labels: Float64Array, horizon: number): EvalData {
  return { x: { data: new Float32Array(labels.length), rows: labels.length, cols: 1 }, y: labels, forwardReturn: Float64Array.from(labels, (y) => y - 1), numClass: 3, horizon };
}
