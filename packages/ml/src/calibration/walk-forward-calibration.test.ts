import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { walkForwardFolds } from '../validation/walk-forward.ts';
import { calibrateWalkForward, chooseCalibrator, rowsKnownBefore, sampleOf } from './walk-forward-calibration.ts';
import { overconfidentRows, syntheticEvalData } from './testing.ts';

const HORIZON = 12;
const rows = overconfidentRows(6000, 2, 3);
const folds = walkForwardFolds(6000, { folds: 3, mode: 'expanding', trainSize: 2400, horizon: HORIZON, embargo: 6 });
const data = syntheticEvalData(rows.labels, HORIZON);
const outOfFold = new Float64Array(rows.proba.length).fill(Number.NaN);
for (const f of folds) outOfFold.set(rows.proba.subarray(f.test[0] * 3, f.test[1] * 3), f.test[0] * 3);
const calibrate = (d: typeof data) => calibrateWalkForward(d, folds, outOfFold, (fold) => sampleOf(d, outOfFold, rowsKnownBefore(d, folds, fold, outOfFold)));

describe('calibration chosen by nested out-of-fold log-loss', () => {
  it('an over-confident model gets a calibration; a calibrated one keeps none or one that changes little', () => {
    const sample = sampleOf(data, rows.proba, Array.from({ length: 6000 }, (_, i) => i));
    const sharp = chooseCalibrator(sample, HORIZON, 3);
    assert.notEqual(sharp.calibrator.kind, 'none', `inner log-loss ${JSON.stringify(sharp.innerLogLoss)}`);
    assert.ok(sharp.innerLogLoss[sharp.calibrator.kind]! <= sharp.innerLogLoss.none!, 'the chosen kind scored best on the later third');
    const honest = chooseCalibrator(sampleOf(data, rows.truth, Array.from({ length: 6000 }, (_, i) => i)), HORIZON, 3);
    const gain = honest.innerLogLoss.none! - honest.innerLogLoss[honest.calibrator.kind]!;
    assert.ok(gain < 0.005, `true probabilities should gain nothing from calibration (gain ${gain})`);
  });

  it('too few rows: no calibration is fitted', () => {
    const few = sampleOf(data, rows.proba, Array.from({ length: 200 }, (_, i) => i));
    assert.deepEqual(chooseCalibrator(few, HORIZON, 3).calibrator, { kind: 'none' });
  });
});

describe('walk-forward calibration never learns from the rows it is scored on', () => {
  const base = calibrate(data);

  it('a fold\'s calibrated probabilities do not change when the labels of that fold and every later row change', () => {
    for (const fold of folds.slice(1)) {
      const y = data.y.slice();
      for (let t = fold.test[0]; t < y.length; t++) y[t] = (y[t] + 1) % 3;
      const shuffled = calibrate({ ...data, y });
      const [start, end] = fold.test;
      assert.deepEqual(Array.from(shuffled.outOfFold.subarray(start * 3, end * 3)), Array.from(base.outOfFold.subarray(start * 3, end * 3)), `fold ${fold.index + 1} used its own or later labels: look-ahead`);
    }
  });

  it('…but they do change when earlier labels change (the test can fail)', () => {
    const y = data.y.slice();
    for (let t = folds[0].test[0]; t < folds[0].test[1]; t++) y[t] = (y[t] + 1) % 3;
    const moved = calibrate({ ...data, y });
    const [start, end] = folds[1].test;
    assert.notDeepEqual(Array.from(moved.outOfFold.subarray(start * 3, end * 3)), Array.from(base.outOfFold.subarray(start * 3, end * 3)));
  });

  it('rows a calibration for a fold learns from have labels that ended before the fold opened (purged), for one symbol and for a pool', () => {
    for (const fold of folds) for (const t of rowsKnownBefore(data, folds, fold, outOfFold)) assert.ok(t + HORIZON < fold.test[0], `row ${t}'s label reaches fold ${fold.index + 1}'s test window`);
    // A pool of two symbols: every bar holds two rows.
    const timeIndex = Int32Array.from({ length: 6000 }, (_, i) => i >> 1);
    const pooled = { ...data, timeIndex, series: Int32Array.from({ length: 6000 }, (_, i) => i & 1) };
    for (const fold of folds) for (const t of rowsKnownBefore(pooled, folds, fold, outOfFold)) assert.ok(timeIndex[t] + HORIZON < timeIndex[fold.test[0]], `pooled row ${t} (bar ${timeIndex[t]}) reaches the fold opening at bar ${timeIndex[fold.test[0]]}`);
  });

  it('the first fold, with nothing earlier, keeps its raw probabilities; later folds record what chose their calibration', () => {
    assert.deepEqual(base.folds[0], { fold: 0, kind: 'none', rows: 0 });
    const [start, end] = folds[0].test;
    assert.deepEqual(Array.from(base.outOfFold.subarray(start * 3, end * 3)), Array.from(outOfFold.subarray(start * 3, end * 3)));
    assert.ok(base.folds[1].rows > 0 && base.folds[2].rows > base.folds[1].rows);
  });
});
