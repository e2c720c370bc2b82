import { OitraderError } from '@oitrader/core';

/** How a model's class probabilities are recalibrated. */
export type CalibrationKind = 'none' | 'temperature' | 'isotonic';
export const CALIBRATION_KINDS: readonly CalibrationKind[] = ['none', 'temperature', 'isotonic'];

/**
 * A fitted calibration, as saved in ensemble.json.
 * - `temperature`: p'_c ∝ p_c^(1/T) (Guo et al. 2017; T > 1 flattens, T < 1 sharpens).
 * - `isotonic`: per class, a non-decreasing map p_c → P(y = c) fitted by
 *   pool-adjacent-violators on (x, y) knots, linear between knots, flat
 *   outside; the three results are renormalised to sum to 1 (Zadrozny & Elkan 2002).
 */
export type Calibrator =
  | { kind: 'none' }
  | { kind: 'temperature'; temperature: number }
  | { kind: 'isotonic'; classes: Array<{ x: number[]; y: number[] }> };

/** Calibrated probabilities never reach 0 or 1: one surprising row must not cost an infinite log-loss. */
export const CALIBRATED_FLOOR = 1e-3;
const LOG_FLOOR = 1e-12;

/** Row-wise: rows whose input holds a NaN stay NaN (e.g. the LSTM's first rows without a full sequence). */
export function applyCalibrator(calibrator: Calibrator, proba: Float64Array, k: number): Float64Array {
  if (calibrator.kind === 'none') return proba;
  const out = new Float64Array(proba.length);
  const rows = proba.length / k;
  const row = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    let finite = true;
    for (let c = 0; c < k; c++) {
      row[c] = proba[r * k + c];
      if (!Number.isFinite(row[c])) finite = false;
    }
    if (!finite) {
      out.fill(Number.NaN, r * k, (r + 1) * k);
      continue;
    }
    if (calibrator.kind === 'temperature') temperatureRow(row, calibrator.temperature);
    else isotonicRow(row, calibrator.classes);
    out.set(row, r * k);
  }
  return out;
}

function temperatureRow(row: Float64Array, temperature: number): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < row.length; c++) {
    row[c] = Math.log(Math.max(row[c], LOG_FLOOR)) / temperature;
    max = Math.max(max, row[c]);
  }
  let sum = 0;
  for (let c = 0; c < row.length; c++) sum += row[c] = Math.exp(row[c] - max);
  for (let c = 0; c < row.length; c++) row[c] /= sum;
}

function isotonicRow(row: Float64Array, classes: Array<{ x: number[]; y: number[] }>): void {
  let sum = 0;
  for (let c = 0; c < row.length; c++) sum += row[c] = interpolate(classes[c].x, classes[c].y, row[c]);
  for (let c = 0; c < row.length; c++) row[c] /= sum;
}

/** Piecewise-linear through the knots, flat beyond the first and last (binary search: knots can number thousands). */
function interpolate(x: number[], y: number[], v: number): number {
  if (v <= x[0]) return y[0];
  const last = x.length - 1;
  if (v >= x[last]) return y[last];
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= v) lo = mid;
    else hi = mid;
  }
  const span = x[hi] - x[lo];
  return span > 0 ? y[lo] + ((v - x[lo]) / span) * (y[hi] - y[lo]) : y[hi];
}

/** Mean negative log-likelihood of the labels under the probabilities (rows with a NaN are skipped). */
export function meanLogLoss(proba: Float64Array, labels: ArrayLike<number>, k: number): number {
  let loss = 0;
  let n = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = proba[i * k + labels[i]];
    if (Number.isNaN(p)) continue;
    loss -= Math.log(Math.max(p, 1e-15));
    n++;
  }
  return n > 0 ? loss / n : Number.NaN;
}

/** Fits one kind of calibration on (probabilities, labels) rows. */
export function fitCalibrator(kind: CalibrationKind, proba: Float64Array, labels: ArrayLike<number>, k: number): Calibrator {
  if (kind === 'none') return { kind };
  if (kind === 'temperature') return { kind, temperature: fitTemperature(proba, labels, k) };
  return { kind, classes: Array.from({ length: k }, (_, c) => fitIsotonic(proba, labels, k, c)) };
}

/**
 * The temperature minimising the log-loss. With s = 1/T the loss
 * −s·log p_y + log Σ p_c^s is convex in s, so a golden-section search over
 * log s in [−5, 5] finds its minimum (deterministic, no gradient needed).
 */
function fitTemperature(proba: Float64Array, labels: ArrayLike<number>, k: number): number {
  const logs = Float64Array.from(proba, (p) => Math.log(Math.max(p, LOG_FLOOR)));
  const loss = (s: number) => {
    let total = 0;
    for (let i = 0; i < labels.length; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < k; c++) max = Math.max(max, s * logs[i * k + c]);
      let sum = 0;
      for (let c = 0; c < k; c++) sum += Math.exp(s * logs[i * k + c] - max);
      total += max + Math.log(sum) - s * logs[i * k + labels[i]];
    }
    return total;
  };
  const ratio = (Math.sqrt(5) - 1) / 2;
  let a = -5;
  let b = 5;
  let c = b - ratio * (b - a);
  let d = a + ratio * (b - a);
  let fc = loss(Math.exp(c));
  let fd = loss(Math.exp(d));
  for (let i = 0; i < 60; i++) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - ratio * (b - a);
      fc = loss(Math.exp(c));
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + ratio * (b - a);
      fd = loss(Math.exp(d));
    }
  }
  return 1 / Math.exp((a + b) / 2);
}

/**
 * Pool-adjacent-violators of 1[y = c] on p_c: equal p_c values form one
 * block first (so the map is a function), then adjacent blocks whose means
 * decrease are merged. Knots: each block's mean p_c and mean outcome,
 * clipped to [CALIBRATED_FLOOR, 1 − CALIBRATED_FLOOR] (monotone, so the
 * map stays non-decreasing).
 */
function fitIsotonic(proba: Float64Array, labels: ArrayLike<number>, k: number, c: number): { x: number[]; y: number[] } {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => proba[i * k + c] - proba[j * k + c] || i - j);
  const sx: number[] = [];
  const sy: number[] = [];
  const w: number[] = [];
  for (let r = 0; r < n; r++) {
    const i = order[r];
    const x = proba[i * k + c];
    const y = labels[i] === c ? 1 : 0;
    const top = sx.length - 1;
    if (top >= 0 && proba[order[r - 1] * k + c] === x) {
      // A tie with the previous row joins its block (the map must be a function of p_c).
      sx[top] = (sx[top] * w[top] + x) / (w[top] + 1);
      sy[top] += y;
      w[top]++;
    } else {
      sx.push(x);
      sy.push(y);
      w.push(1);
    }
    while (sx.length > 1 && sy[sy.length - 2] / w[w.length - 2] >= sy[sy.length - 1] / w[w.length - 1]) {
      const yl = sy.pop()!;
      const wl = w.pop()!;
      const xl = sx.pop()!;
      const last = sx.length - 1;
      sx[last] = (sx[last] * w[last] + xl * wl) / (w[last] + wl);
      sy[last] += yl;
      w[last] += wl;
    }
  }
  return { x: sx, y: sy.map((s, b) => Math.min(1 - CALIBRATED_FLOOR, Math.max(CALIBRATED_FLOOR, s / w[b]))) };
}

/** A calibration read from a file, checked field by field (a damaged one is refused, never applied). */
export function checkCalibrator(value: unknown, k: number, where: string): Calibrator {
  const bad = (what: string) => new OitraderError(`${where}: calibration ${what}`, { hint: 'the model file is damaged: train the run again' });
  const v = value as Partial<Record<string, unknown>> | null;
  if (v?.kind === 'none') return { kind: 'none' };
  if (v?.kind === 'temperature') {
    if (typeof v.temperature !== 'number' || !(v.temperature > 0) || !Number.isFinite(v.temperature)) throw bad(`temperature ${String(v.temperature)} is not a positive number`);
    return { kind: 'temperature', temperature: v.temperature };
  }
  if (v?.kind === 'isotonic') {
    const classes = v.classes as Array<{ x: unknown; y: unknown }> | undefined;
    if (!Array.isArray(classes) || classes.length !== k) throw bad(`has ${Array.isArray(classes) ? classes.length : 'no'} class maps, expected ${k}`);
    classes.forEach((m, c) => {
      const ok = Array.isArray(m?.x) && Array.isArray(m.y) && m.x.length === m.y.length && m.x.length > 0
        && m.x.every((x, i) => typeof x === 'number' && Number.isFinite(x) && (i === 0 || x >= (m.x as number[])[i - 1]))
        && m.y.every((y, i) => typeof y === 'number' && y > 0 && y < 1 && (i === 0 || y >= (m.y as number[])[i - 1]));
      if (!ok) throw bad(`map of class ${c} is not a non-decreasing list of knots with values in (0, 1)`);
    });
    return { kind: 'isotonic', classes: classes as Array<{ x: number[]; y: number[] }> };
  }
  throw bad(`kind ${JSON.stringify(v?.kind)} is unknown (expected ${CALIBRATION_KINDS.join(', ')})`);
}
