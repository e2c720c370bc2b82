import { OitraderError } from '@oitrader/core';

/**
 * Integer gradients, as LightGBM 4's quantised training: each row's gradient
 * and hessian are rounded stochastically (unbiased: E[q·scale] = value) to
 * integers and packed into one float64, `g·shift + h` with 0 ≤ h < shift.
 * Sums of packed values are exact integer sums of both parts as long as they
 * stay below 2^53, so a histogram bin costs one addition per row and feature
 * instead of two, is a third of the size (cache), parent − child is exact,
 * and the sum does not depend on the order of the rows (the same bytes on 1
 * and 2 threads). The bit widths are chosen from the row count so no sum can
 * overflow: 40,000 rows get 10-bit gradients and 11-bit hessians.
 */
export interface Quantisation {
  /** Multiplier of the gradient part (a power of two above any hessian sum). */
  shift: number;
  gradScale: number;
  hessScale: number;
  gradLevels: number;
  hessLevels: number;
}

/** Row counts above this leave too few bits per part (fewer than 4 bits for the gradient). */
export const MAX_QUANTISED_ROWS = 4_000_000;

export function quantisation(rows: number): Quantisation {
  if (rows > MAX_QUANTISED_ROWS) throw new OitraderError(`GBDT training on ${rows} rows: at most ${MAX_QUANTISED_ROWS} are supported`, { hint: 'subsample the rows (subsample < 1 does not help here: pass fewer rows)' });
  const rowBits = Math.ceil(Math.log2(rows + 1));
  // |Σ g|·shift < rows·2^gradBits·2^(rowBits + hessBits) ≤ 2^53.
  const budget = 53 - 2 * rowBits;
  const gradBits = Math.min(15, Math.floor(budget / 2));
  const hessBits = Math.min(15, budget - gradBits);
  return { shift: 2 ** (rowBits + hessBits), gradScale: 0, hessScale: 0, gradLevels: 2 ** gradBits - 1, hessLevels: 2 ** hessBits - 1 };
}

/**
 * Fills `packed` with each row's quantised (gradient, hessian) and sets the
 * scales of `q` (this tree's largest |gradient| and hessian map to the top
 * level). `random` drives the stochastic rounding (seeded: deterministic).
 */
export function quantiseGradients(grad: Float64Array, hess: Float64Array, packed: Float64Array, q: Quantisation, random: () => number): void {
  const n = grad.length;
  let gMax = 0;
  let hMax = 0;
  for (let i = 0; i < n; i++) {
    const g = Math.abs(grad[i]);
    if (g > gMax) gMax = g;
    if (hess[i] > hMax) hMax = hess[i];
  }
  q.gradScale = gMax > 0 ? gMax / q.gradLevels : 1;
  q.hessScale = hMax > 0 ? hMax / q.hessLevels : 1;
  const gInv = 1 / q.gradScale;
  const hInv = 1 / q.hessScale;
  const shift = q.shift;
  for (let i = 0; i < n; i++) {
    const g = Math.min(q.gradLevels, Math.max(-q.gradLevels, Math.floor(grad[i] * gInv + random())));
    const h = Math.min(q.hessLevels, Math.floor(hess[i] * hInv + random()));
    packed[i] = g * shift + h;
  }
}

/** Gradient part of a packed sum, in gradient units. */
export function packedGrad(sum: number, q: Quantisation): number {
  return Math.floor(sum / q.shift) * q.gradScale;
}

/** Hessian part of a packed sum, in hessian units. */
export function packedHess(sum: number, q: Quantisation): number {
  return (sum - Math.floor(sum / q.shift) * q.shift) * q.hessScale;
}
