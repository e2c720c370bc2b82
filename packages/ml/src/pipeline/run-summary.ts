import type { ClassificationReport } from '../evaluation/classification-metrics.ts';
import { reportOnRows, type EvalData, type ModelEvaluation } from '../evaluation/walk-forward-eval.ts';
import type { StackEstimate } from '../ensemble/calibrated-stack.ts';

/** The figures of one model on the comparison rows: before and after its calibration. */
export interface CalibrationRow {
  name: string;
  /** The saved model's calibration (`—` for a baseline, which is not calibrated). */
  kind: string;
  /** Each kind's nested log-loss when the saved calibration was chosen. */
  innerLogLoss: Record<string, number>;
  /** The calibration each fold was scored with (fitted on earlier folds). */
  perFold: string[];
  raw: Figures;
  calibrated: Figures;
}

export interface Figures {
  logLoss: number;
  accuracy: number;
  ece: number;
  /** ECE of each class's probability: SHORT, NEUTRAL, LONG. */
  classEce: number[];
  leanCorrelation: number;
}

/** Before → after calibration, and the baselines, on the rows every model was compared on. */
export interface CalibrationSummary {
  rows: number;
  models: CalibrationRow[];
  /** The ensemble as it answers. */
  ensemble: Figures | undefined;
  baselines: Array<{ name: string } & Figures>;
}

export function figuresOf(r: ClassificationReport): Figures {
  return { logLoss: r.logLoss, accuracy: r.accuracy, ece: r.ece, classEce: r.classCalibration.map((c) => c.ece), leanCorrelation: r.leanCorrelation };
}

const NONE: Figures = { logLoss: Number.NaN, accuracy: Number.NaN, ece: Number.NaN, classEce: [], leanCorrelation: Number.NaN };

export function calibrationSummary(data: EvalData, stack: StackEstimate, baselines: ModelEvaluation[]): CalibrationSummary {
  const rows = stack.comparisonRows;
  return {
    rows: rows.length,
    models: stack.calibrations.map((c) => ({
      name: c.name,
      kind: c.final.calibrator.kind,
      innerLogLoss: c.final.innerLogLoss as Record<string, number>,
      perFold: c.perFold.map((f) => `fold ${f.fold + 1}: ${f.kind} (${f.rows} earlier rows)`),
      raw: c.raw ? figuresOf(c.raw) : NONE,
      calibrated: c.calibrated ? figuresOf(c.calibrated) : NONE,
    })),
    ensemble: stack.ensembleReport && figuresOf(stack.ensembleReport),
    baselines: rows.length === 0 ? [] : baselines.map((b) => ({ name: b.name, ...figuresOf(reportOnRows(data, b.outOfFold, rows)) })),
  };
}

/** Per symbol of a pooled dataset: every calibrated model, the ensemble and the baselines on that symbol's comparison rows. */
export interface SymbolSummary {
  symbol: string;
  rows: number;
  models: Array<{ name: string } & Figures>;
}

export function perSymbolSummary(data: EvalData, symbols: string[], stack: StackEstimate, baselines: ModelEvaluation[]): SymbolSummary[] {
  if (!data.series || symbols.length < 2) return [];
  const series = data.series;
  const sources = [
    ...stack.calibrations.map((c) => ({ name: `${c.name} (calibrated)`, oof: c.outOfFold })),
    { name: 'ensemble', oof: stack.ensembleOutOfFold },
    ...baselines.map((b) => ({ name: b.name, oof: b.outOfFold })),
  ];
  return symbols.map((symbol, s) => {
    const rows = stack.comparisonRows.filter((t) => series[t] === s);
    return { symbol, rows: rows.length, models: rows.length === 0 ? [] : sources.map((m) => ({ name: m.name, ...figuresOf(reportOnRows(data, m.oof, rows)) })) };
  });
}

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '—');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');

/**
 * Plain statements about the ensemble against the baselines a trader would
 * take for free: the training prior (log-loss) and the majority class
 * (accuracy), on the same out-of-fold rows.
 */
export function verdicts(summary: CalibrationSummary, answer: string, reason: string): string[] {
  const prior = summary.baselines.find((b) => b.name === 'majority class');
  const e = summary.ensemble;
  if (!e || !prior) return [`ENSEMBLE: no out-of-fold estimate — ${reason}`];
  const lines = [
    answer === 'training prior'
      ? `ENSEMBLE = TRAINING PRIOR: no model beat the prior's out-of-fold log-loss ${f4(prior.logLoss)} on ${summary.rows} rows; the ensemble answers the prior (no edge)`
      : e.logLoss < prior.logLoss
        ? `ENSEMBLE (${answer}) beats the training prior out of fold: log-loss ${f4(e.logLoss)} vs ${f4(prior.logLoss)} on ${summary.rows} rows`
        : `ENSEMBLE (${answer}) is BELOW the training prior out of fold: log-loss ${f4(e.logLoss)} vs the prior's ${f4(prior.logLoss)} on ${summary.rows} rows`,
    e.accuracy >= prior.accuracy
      ? `accuracy ${f3(e.accuracy)} vs the majority class's ${f3(prior.accuracy)}`
      : `accuracy ${f3(e.accuracy)} is BELOW the majority class's ${f3(prior.accuracy)}`,
  ];
  return [`${lines[0]}; ${lines[1]}.`, reason];
}

/**
 * Calendar features (hour, weekday, session) that lead a model's SHAP: on a
 * few months of data such a lead is usually chance (a handful of weekdays).
 */
export function calendarWarnings(shapTop: Array<{ model: string; top: Array<{ feature: string }> }>, perFoldTops: Array<{ model: string; perFold: string[][] }>, isCalendar: (feature: string) => boolean): string[] {
  const warnings: string[] = [];
  for (const s of shapTop) {
    const lead = s.top[0]?.feature;
    if (lead && isCalendar(lead)) warnings.push(`WARNING: the calendar feature ${lead} leads the SHAP ranking of ${s.model} (final model, newest rows): on a few months a weekday or hour effect is most likely chance — rebuild the features without --calendar and compare`);
  }
  for (const s of perFoldTops) {
    const folds = s.perFold.map((top, i) => ({ fold: i + 1, lead: top[0] })).filter((f) => f.lead && isCalendar(f.lead));
    if (folds.length > 0) warnings.push(`WARNING: a calendar feature leads the SHAP ranking of ${s.model} in fold ${folds.map((f) => `${f.fold} (${f.lead})`).join(', ')}`);
  }
  return warnings;
}
