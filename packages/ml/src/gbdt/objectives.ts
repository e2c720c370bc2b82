/** Objectives: gradients/hessians of the loss w.r.t. the margin, the link, and the evaluation loss. */
export type ObjectiveName = 'multiclass' | 'binary' | 'regression';

const EPS = 1e-16;

/** Softmax of one row's K margins into `out`. */
export function softmax(margins: Float64Array, offset: number, k: number, out: Float64Array, outOffset: number): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < k; c++) max = Math.max(max, margins[offset + c]);
  let sum = 0;
  for (let c = 0; c < k; c++) sum += out[outOffset + c] = Math.exp(margins[offset + c] - max);
  for (let c = 0; c < k; c++) out[outOffset + c] /= sum;
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Fills grad/hess for class `c` (multiclass: p_c − 1[y=c], 2·p(1−p) as XGBoost;
 * binary: p − y, p(1−p); regression: ŷ − y, 1), times the sample weight.
 */
export function gradients(objective: ObjectiveName, margins: Float64Array, k: number, y: Float64Array, weight: Float64Array | undefined, c: number, grad: Float64Array, hess: Float64Array, probs: Float64Array): void {
  const n = y.length;
  if (objective === 'multiclass') {
    if (c === 0) for (let i = 0; i < n; i++) softmax(margins, i * k, k, probs, i * k);
    for (let i = 0; i < n; i++) {
      const p = probs[i * k + c];
      const w = weight ? weight[i] : 1;
      grad[i] = (p - (y[i] === c ? 1 : 0)) * w;
      hess[i] = Math.max(2 * p * (1 - p), EPS) * w;
    }
  } else if (objective === 'binary') {
    for (let i = 0; i < n; i++) {
      const p = sigmoid(margins[i]);
      const w = weight ? weight[i] : 1;
      grad[i] = (p - y[i]) * w;
      hess[i] = Math.max(p * (1 - p), EPS) * w;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const w = weight ? weight[i] : 1;
      grad[i] = (margins[i] - y[i]) * w;
      hess[i] = w;
    }
  }
}

/** Evaluation loss: multi/binary log-loss, or RMSE; weighted mean. */
export function evalLoss(objective: ObjectiveName, margins: Float64Array, k: number, y: Float64Array, weight?: Float64Array): number {
  const n = y.length;
  let total = 0;
  let wsum = 0;
  const probs = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const w = weight ? weight[i] : 1;
    let loss: number;
    if (objective === 'multiclass') {
      softmax(margins, i * k, k, probs, 0);
      loss = -Math.log(Math.max(probs[y[i]], 1e-15));
    } else if (objective === 'binary') {
      const p = Math.min(Math.max(sigmoid(margins[i]), 1e-15), 1 - 1e-15);
      loss = -(y[i] * Math.log(p) + (1 - y[i]) * Math.log(1 - p));
    } else {
      loss = (margins[i] - y[i]) ** 2;
    }
    total += w * loss;
    wsum += w;
  }
  const mean = total / wsum;
  return objective === 'regression' ? Math.sqrt(mean) : mean;
}
