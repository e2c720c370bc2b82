import { barOf, type EvalData } from '../evaluation/walk-forward-eval.ts';
import type { Fold } from '../validation/walk-forward.ts';
import { applyCalibrator, CALIBRATION_KINDS, fitCalibrator, meanLogLoss, type CalibrationKind, type Calibrator } from './calibrator.ts';

/** Below this many rows no calibration is fitted (`none`): a map fitted on a few hundred rows overfits them. */
export const MIN_CALIBRATION_ROWS = 300;
/**
 * Per-class isotonic regression is a candidate only when its inner fit holds
 * at least this many rows (≈ 1,600 per class): it has a free value per block
 * and re-learns the sample's class mix, so on small samples it over-fits
 * (Niculescu-Mizil & Caruana 2005 found it worse than a one-parameter map
 * below ~1,000 rows). Set after isotonic maps fitted on one fold (≈ 3,300
 * rows) of the SOLUSDT sample raised the next fold's log-loss (1.11 → 1.16)
 * where temperature scaling lowered it (docs/phase-3-training.md).
 */
export const MIN_ISOTONIC_ROWS = 5000;
/** Share of a calibration sample (the earlier rows) that fits each kind while the later rest scores it. */
const INNER_FIT_SHARE = 2 / 3;

/** Time-ordered rows a calibration is fitted on: out-of-sample probabilities, their labels and bars. */
export interface CalibrationSample {
  /** rows × classes */
  proba: Float64Array;
  labels: Float64Array;
  /** Bar index of each row (non-decreasing): rows whose label reaches the scored part are purged. */
  bars: Float64Array;
}

export interface CalibrationChoice {
  calibrator: Calibrator;
  /** Each kind's log-loss on the later third of the sample when fitted on the earlier two thirds (empty below MIN_CALIBRATION_ROWS; no isotonic below MIN_ISOTONIC_ROWS). */
  innerLogLoss: Partial<Record<CalibrationKind, number>>;
  rows: number;
}

/**
 * Chooses the calibration by nested out-of-sample log-loss and fits it: every
 * kind is fitted on the earlier two thirds of the sample (minus rows whose
 * label window reaches the later third) and scored on the later third; the
 * best (ties → the simpler) is refitted on every row of the sample.
 */
export function chooseCalibrator(sample: CalibrationSample, horizon: number, k: number): CalibrationChoice {
  const n = sample.labels.length;
  if (n < MIN_CALIBRATION_ROWS) return { calibrator: { kind: 'none' }, innerLogLoss: {}, rows: n };
  const cut = Math.floor(n * INNER_FIT_SHARE);
  const fit: number[] = [];
  for (let i = 0; i < cut; i++) if (sample.bars[i] + horizon < sample.bars[cut]) fit.push(i);
  const fitSample = pick(sample, fit, k);
  const scored = pick(sample, Array.from({ length: n - cut }, (_, i) => cut + i), k);
  const innerLogLoss: Partial<Record<CalibrationKind, number>> = {};
  let best: CalibrationKind = 'none';
  for (const kind of CALIBRATION_KINDS) {
    if (kind === 'isotonic' && fit.length < MIN_ISOTONIC_ROWS) continue;
    const calibrator = fitCalibrator(kind, fitSample.proba, fitSample.labels, k);
    innerLogLoss[kind] = meanLogLoss(applyCalibrator(calibrator, scored.proba, k), scored.labels, k);
    if (innerLogLoss[kind]! < innerLogLoss[best]!) best = kind;
  }
  return { calibrator: fitCalibrator(best, sample.proba, sample.labels, k), innerLogLoss, rows: n };
}

/** The sample's rows `rows` (indices into it). */
function pick(sample: CalibrationSample, rows: number[], k: number): CalibrationSample {
  const proba = new Float64Array(rows.length * k);
  rows.forEach((r, i) => proba.set(sample.proba.subarray(r * k, (r + 1) * k), i * k));
  return { proba, labels: Float64Array.from(rows, (r) => sample.labels[r]), bars: Float64Array.from(rows, (r) => sample.bars[r]) };
}

/** A calibration sample from out-of-fold probabilities (rows × classes over the whole dataset) at `rows`. */
export function sampleOf(data: EvalData, outOfFold: Float64Array, rows: ArrayLike<number>): CalibrationSample {
  const k = data.numClass;
  const proba = new Float64Array(rows.length * k);
  for (let i = 0; i < rows.length; i++) proba.set(outOfFold.subarray(rows[i] * k, (rows[i] + 1) * k), i * k);
  return { proba, labels: Float64Array.from(rows, (t) => data.y[t]), bars: Float64Array.from(rows, (t) => barOf(data, t)) };
}

/**
 * Out-of-fold rows of the folds before `fold` whose labels were known before
 * its test window opened (bar + horizon before the window's first bar): the
 * only rows a calibration or meta-model applied to that fold may learn from.
 */
export function rowsKnownBefore(data: EvalData, folds: Fold[], fold: Fold, outOfFold: Float64Array): number[] {
  const opens = barOf(data, fold.test[0]);
  const rows: number[] = [];
  for (const earlier of folds) {
    if (earlier.test[0] >= fold.test[0]) continue;
    for (let t = earlier.test[0]; t < earlier.test[1]; t++) if (!Number.isNaN(outOfFold[t * data.numClass]) && barOf(data, t) + data.horizon < opens) rows.push(t);
  }
  return rows;
}

export interface WalkForwardCalibration {
  /** Calibrated out-of-fold probabilities; NaN where the raw ones are. A fold without earlier rows keeps its raw ones (calibration `none`). */
  outOfFold: Float64Array;
  /** The calibration each fold's rows got, and how many earlier rows chose and fitted it. */
  folds: Array<{ fold: number; kind: CalibrationKind; rows: number }>;
}

/**
 * Calibrates out-of-fold probabilities fold by fold: fold f's calibration is
 * chosen and fitted on `sampleBefore(f)` — built from rows known before fold
 * f's test window — and applied to fold f's rows. A fold's own rows (and any
 * later row) never shape the calibration it is scored with.
 */
export function calibrateWalkForward(data: EvalData, folds: Fold[], outOfFold: Float64Array, sampleBefore: (fold: Fold) => CalibrationSample): WalkForwardCalibration {
  const k = data.numClass;
  const out = new Float64Array(outOfFold.length).fill(Number.NaN);
  const chosen: WalkForwardCalibration['folds'] = [];
  for (const fold of folds) {
    // No earlier rows (the first fold): nothing to learn a calibration from, so none is applied.
    const sample = sampleBefore(fold) ?? { proba: new Float64Array(0), labels: new Float64Array(0), bars: new Float64Array(0) };
    const { calibrator } = chooseCalibrator(sample, data.horizon, k);
    const [start, end] = fold.test;
    out.set(applyCalibrator(calibrator, outOfFold.subarray(start * k, end * k), k), start * k);
    chosen.push({ fold: fold.index, kind: calibrator.kind, rows: sample.labels.length });
  }
  return { outOfFold: out, folds: chosen };
}
