import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calendarWarnings, verdicts, type CalibrationSummary, type Figures } from './run-summary.ts';

const figures = (logLoss: number, accuracy: number): Figures => ({ logLoss, accuracy, ece: 0.01, classEce: [0.01, 0.01, 0.01], leanCorrelation: 0 });
const summary = (ensemble: Figures): CalibrationSummary => ({ rows: 9934, models: [], ensemble, baselines: [{ name: 'majority class', ...figures(1.1466, 0.296) }] });

describe('the training summary says plainly where the ensemble stands', () => {
  it('an ensemble below the training prior is called so, even when the stack beat every member', () => {
    const [line] = verdicts(summary(figures(1.15, 0.28)), 'stacked meta-model', 'the stack beats every member');
    assert.match(line, /ENSEMBLE \(stacked meta-model\) is BELOW the training prior out of fold: log-loss 1\.1500 vs the prior's 1\.1466/);
    assert.match(line, /accuracy 0\.280 is BELOW the majority class's 0\.296/);
  });

  it('an ensemble that beats the prior says by how much, on how many rows', () => {
    assert.match(verdicts(summary(figures(1.0923, 0.375)), 'stacked meta-model', '')[0], /beats the training prior out of fold: log-loss 1\.0923 vs 1\.1466 on 9934 rows; accuracy 0\.375 vs the majority class's 0\.296/);
  });

  it('an ensemble that fell back to the prior says it has no edge', () => {
    assert.match(verdicts(summary(figures(1.1466, 0.296)), 'training prior', '')[0], /ENSEMBLE = TRAINING PRIOR: no model beat the prior/);
  });
});

describe('calendar features leading SHAP', () => {
  const isCalendar = (f: string) => f.startsWith('weekday') || f.startsWith('hour');

  it('are warned about, for the final models and for each fold', () => {
    const warnings = calendarWarnings([{ model: 'trees', top: [{ feature: 'weekday_sin' }, { feature: 'natr_14' }] }], [{ model: 'trees', perFold: [['natr_14'], ['hour_cos'], ['rv_288']] }], isCalendar);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /WARNING: the calendar feature weekday_sin leads the SHAP ranking of trees/);
    assert.match(warnings[1], /in fold 2 \(hour_cos\)/);
  });

  it('are not warned about when a market feature leads', () => {
    assert.deepEqual(calendarWarnings([{ model: 'trees', top: [{ feature: 'natr_14' }, { feature: 'weekday_sin' }] }], [], isCalendar), []);
  });
});
