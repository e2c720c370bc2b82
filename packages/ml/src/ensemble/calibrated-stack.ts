import type { CalibrationKind, Calibrator } from '../calibration/calibrator.ts';
import { calibrateWalkForward, chooseCalibrator, rowsKnownBefore, sampleOf, type CalibrationChoice, type CalibrationSample } from '../calibration/walk-forward-calibration.ts';
import type { ClassificationReport } from '../evaluation/classification-metrics.ts';
import { classPrior, range, reportOnRows, type EvalData, type ModelEvaluation } from '../evaluation/walk-forward-eval.ts';
import type { LogisticRegression } from '../linear/logistic-regression.ts';
import type { Fold } from '../validation/walk-forward.ts';
import { chooseEnsemble, type EnsembleChoice, type EnsembleUse } from './ensemble-choice.ts';
import { fitMeta, splitFirstBlock, stackOutOfSample } from './stack-walk-forward.ts';

/** The name the stack goes by in reports. */
export const STACK_NAME = 'stacked meta-model';

/** The calibrations a trained ensemble applies (stored in ensemble.json). */
export interface EnsembleCalibration {
  /** One per member, in the ensemble's `baseNames` order. */
  members: Calibrator[];
  /** Applied to the meta-model's output. */
  stack: Calibrator;
  /** Class shares of the training labels: what the ensemble answers when `use` is 'prior'. */
  prior: number[];
}

/** One model's calibration and what it did out of fold. */
export interface CalibrationRecord {
  name: string;
  /** What the saved model applies: chosen and fitted on every out-of-fold row, with each kind's nested log-loss. */
  final: CalibrationChoice;
  /** The calibration each fold's rows were scored with: chosen and fitted on earlier folds' rows only. */
  perFold: Array<{ fold: number; kind: CalibrationKind; rows: number }>;
  /** On the comparison rows, before and after calibration. */
  raw: ClassificationReport | undefined;
  calibrated: ClassificationReport | undefined;
  /** Calibrated out-of-fold probabilities (rows × classes over the dataset; NaN where none). */
  outOfFold: Float64Array;
}

export interface CalibratedStack {
  /** The final meta-model: trained on every out-of-fold row. */
  meta: LogisticRegression;
  calibration: EnsembleCalibration;
  use: EnsembleUse;
  bases: ModelEvaluation[];
  /**
   * The out-of-fold rows every candidate is compared on: from the second fold
   * on (the first has no earlier rows to learn a meta-model or a calibration from).
   */
  comparisonRows: number[];
  /** Each member's calibration, then the stack's (STACK_NAME). */
  calibrations: CalibrationRecord[];
  /** Each fold's training prior, on its test rows. */
  priorOutOfFold: Float64Array;
  priorReport: ClassificationReport | undefined;
  /** The ensemble as it answers (calibrated stack, member or prior) on the comparison rows. */
  ensembleReport: ClassificationReport | undefined;
  ensembleOutOfFold: Float64Array;
  choice: Omit<EnsembleChoice, 'use'> & {
    /** Name of what answers: STACK_NAME, a member's name, or 'training prior'. */
    use: string;
    /** The calibrated stack's log-loss on the comparison rows (the raw stack's in `rawMetaLogLoss`). */
    metaLogLoss: number;
    rawMetaLogLoss: number;
    priorLogLoss: number;
    /** Each member's calibrated log-loss on the comparison rows. */
    members: Array<{ name: string; logLoss: number }>;
  };
}

/** What the walk-forward estimate found (everything but the fitted parts). */
export type StackEstimate = Omit<CalibratedStack, 'meta' | 'calibration' | 'use'>;

/**
 * The ensemble's out-of-fold rows before the comparison rows (the first fold:
 * the stack's meta-model has no earlier out-of-fold rows to learn from): the
 * equal-weight mean of the members' probabilities, whatever the ensemble
 * answers later — that choice is made on later folds' labels, and a
 * combination learned from nothing keeps these rows out of sample. So the RL
 * agent and ml-signal get predictions from the first test fold on; the
 * comparison and the report stay on the comparison rows.
 */
function fillFirstFold(ensemble: Float64Array, rows: number[], members: Float64Array[], k: number): void {
  for (const t of rows) {
    if (!Number.isNaN(ensemble[t * k]) || members.some((m) => Number.isNaN(m[t * k]))) continue;
    for (let c = 0; c < k; c++) ensemble[t * k + c] = members.reduce((sum, m) => sum + m[t * k + c], 0) / members.length;
  }
}

/** Rows of the folds' test windows, grouped by fold (time-ordered). */
function blocksOf(folds: Fold[], rows: number[]): number[][] {
  return folds.map((f) => rows.filter((t) => t >= f.test[0] && t < f.test[1])).filter((b) => b.length > 0);
}

/**
 * The stack and every calibration, fitted on out-of-fold rows only, and the
 * choice of what the ensemble answers:
 * - the meta-model walks forward over the folds (fold k's learns from earlier folds' rows);
 * - each member's calibration for fold k is chosen and fitted on its
 *   out-of-fold rows known before fold k; the stack's on the stack's own
 *   out-of-sample predictions of those rows (a meta-model trained on their
 *   earlier part predicting the later part);
 * - the calibrated stack, members and the training prior are compared on the
 *   same rows (chooseEnsemble);
 * - the saved calibrations are chosen and fitted the same way on every out-of-fold row.
 */
export function stackAndCalibrate(data: EvalData, folds: Fold[], bases: ModelEvaluation[]): CalibratedStack {
  const k = data.numClass;
  const memberOof = bases.map((b) => b.outOfFold);
  const allRows = folds.flatMap((f) => Array.from(range(...f.test)));
  const stackSample = (rows: number[]): CalibrationSample => {
    const proba = stackOutOfSample(data, memberOof, splitFirstBlock(blocksOf(folds, rows)));
    return sampleOf(data, proba, rows.filter((t) => !Number.isNaN(proba[t * k])));
  };
  const before = (fold: Fold) => rowsKnownBefore(data, folds, fold, memberOof[0]);

  const stackRaw = stackOutOfSample(data, memberOof, blocksOf(folds, allRows));
  const memberCalibrated = bases.map((b) => calibrateWalkForward(data, folds, b.outOfFold, (fold) => sampleOf(data, b.outOfFold, before(fold))));
  const stackCalibrated = calibrateWalkForward(data, folds, stackRaw, (fold) => stackSample(before(fold)));
  const priorOutOfFold = new Float64Array(data.x.rows * k).fill(Number.NaN);
  for (const fold of folds) {
    const prior = classPrior(data, fold.train);
    for (let t = fold.test[0]; t < fold.test[1]; t++) priorOutOfFold.set(prior, t * k);
  }

  const has = (oof: Float64Array, t: number) => !Number.isNaN(oof[t * k]);
  const memberRows = allRows.filter((t) => memberCalibrated.every((c) => has(c.outOfFold, t)));
  const stackRows = memberRows.filter((t) => has(stackCalibrated.outOfFold, t));
  const comparisonRows = stackRows.length > 0 ? stackRows : memberRows;
  const report = (oof: Float64Array) => (comparisonRows.length > 0 ? reportOnRows(data, oof, comparisonRows) : undefined);

  const calibrations: CalibrationRecord[] = [
    ...bases.map((b, m) => ({ name: b.name, final: chooseCalibrator(sampleOf(data, b.outOfFold, allRows), data.horizon, k), perFold: memberCalibrated[m].folds, raw: report(b.outOfFold), calibrated: report(memberCalibrated[m].outOfFold), outOfFold: memberCalibrated[m].outOfFold })),
    { name: STACK_NAME, final: chooseCalibrator(stackSample(allRows), data.horizon, k), perFold: stackCalibrated.folds, raw: stackRows.length > 0 ? report(stackRaw) : undefined, calibrated: stackRows.length > 0 ? report(stackCalibrated.outOfFold) : undefined, outOfFold: stackCalibrated.outOfFold },
  ];
  const stackRecord = calibrations[bases.length];
  const members = calibrations.slice(0, bases.length).map((r) => ({ name: r.name, logLoss: r.calibrated?.logLoss ?? Number.NaN }));
  const priorReport = report(priorOutOfFold);
  const decided = chooseEnsemble(stackRecord.calibrated?.logLoss ?? Number.NaN, members, priorReport?.logLoss ?? Number.NaN);
  const source = decided.use === 'prior' ? priorOutOfFold : decided.use === 'meta' ? stackCalibrated.outOfFold : memberCalibrated[decided.use].outOfFold;
  const ensembleOutOfFold = new Float64Array(data.x.rows * k).fill(Number.NaN);
  for (const t of comparisonRows) ensembleOutOfFold.set(source.subarray(t * k, (t + 1) * k), t * k);
  const ensembleReport = report(ensembleOutOfFold);
  fillFirstFold(ensembleOutOfFold, allRows.filter((t) => t < comparisonRows[0]), memberCalibrated.map((c) => c.outOfFold), k);

  return {
    meta: fitMeta(data, memberOof, allRows),
    calibration: { members: calibrations.slice(0, bases.length).map((r) => r.final.calibrator), stack: stackRecord.final.calibrator, prior: Array.from(classPrior(data, range(0, data.x.rows))) },
    use: decided.use,
    bases,
    comparisonRows,
    calibrations,
    priorOutOfFold,
    priorReport,
    ensembleReport,
    ensembleOutOfFold,
    choice: {
      ...decided,
      use: decided.use === 'prior' ? 'training prior' : decided.use === 'meta' ? STACK_NAME : bases[decided.use].name,
      metaLogLoss: stackRecord.calibrated?.logLoss ?? Number.NaN,
      rawMetaLogLoss: stackRecord.raw?.logLoss ?? Number.NaN,
      priorLogLoss: priorReport?.logLoss ?? Number.NaN,
      members,
    },
  };
}
