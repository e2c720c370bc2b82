import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classificationReport } from '../evaluation/classification-metrics.ts';
import { applyCalibrator, CALIBRATED_FLOOR, checkCalibrator, fitCalibrator, meanLogLoss } from './calibrator.ts';
import { overconfidentRows } from './testing.ts';

const fit = overconfidentRows(6000, 2, 1);
const fresh = overconfidentRows(6000, 2, 2);

describe('temperature scaling', () => {
  it('recovers the temperature of a model that is twice too sharp, and lowers the log-loss on fresh rows', () => {
    const calibrator = fitCalibrator('temperature', fit.proba, fit.labels, 3);
    assert.equal(calibrator.kind, 'temperature');
    const t = calibrator.kind === 'temperature' ? calibrator.temperature : Number.NaN;
    assert.ok(Math.abs(t - 2) < 0.2, `fitted temperature ${t}, the model is sharpened by 2`);
    const before = meanLogLoss(fresh.proba, fresh.labels, 3);
    const after = meanLogLoss(applyCalibrator(calibrator, fresh.proba, 3), fresh.labels, 3);
    assert.ok(after < before - 0.02, `log-loss on fresh rows ${before} → ${after}: calibration should help an over-confident model`);
  });

  it('keeps the ranking of the classes in every row (it only flattens or sharpens)', () => {
    const calibrated = applyCalibrator(fitCalibrator('temperature', fit.proba, fit.labels, 3), fresh.proba, 3);
    for (let r = 0; r < 500; r++) {
      const top = (p: Float64Array) => [0, 1, 2].reduce((a, c) => (p[r * 3 + c] > p[r * 3 + a] ? c : a), 0);
      assert.equal(top(calibrated), top(fresh.proba), `row ${r}: the predicted class changed`);
    }
  });
});

describe('per-class isotonic calibration', () => {
  it('lowers the expected calibration error of every class on fresh rows', () => {
    const calibrated = applyCalibrator(fitCalibrator('isotonic', fit.proba, fit.labels, 3), fresh.proba, 3);
    const before = classificationReport(fresh.proba, fresh.labels, 3).classCalibration;
    const after = classificationReport(calibrated, fresh.labels, 3).classCalibration;
    for (let c = 0; c < 3; c++) assert.ok(after[c].ece < before[c].ece, `class ${c}: ECE ${before[c].ece} → ${after[c].ece}`);
  });

  it('maps each class probability through a non-decreasing function and never answers 0 or 1', () => {
    const calibrator = fitCalibrator('isotonic', fit.proba, fit.labels, 3);
    assert.equal(calibrator.kind, 'isotonic');
    if (calibrator.kind !== 'isotonic') return;
    for (const map of calibrator.classes) {
      for (let i = 1; i < map.x.length; i++) assert.ok(map.x[i] > map.x[i - 1] && map.y[i] >= map.y[i - 1], 'knots must rise');
      assert.ok(map.y[0] >= CALIBRATED_FLOOR && map.y[map.y.length - 1] <= 1 - CALIBRATED_FLOOR);
    }
  });

  it('stays non-decreasing when many rows share a probability (tree leaves give few distinct values)', () => {
    const coarse = Float64Array.from(fit.proba, (p) => Math.round(p * 20) / 20);
    const calibrator = fitCalibrator('isotonic', coarse, fit.labels, 3);
    assert.doesNotThrow(() => checkCalibrator(JSON.parse(JSON.stringify(calibrator)), 3, 'saved'), 'a fitted map must pass the check it meets on load');
    if (calibrator.kind !== 'isotonic') return;
    for (const map of calibrator.classes) for (let i = 1; i < map.x.length; i++) assert.ok(map.y[i] >= map.y[i - 1], `knot ${i}: ${map.y[i - 1]} → ${map.y[i]}`);
  });
});

describe('every calibration', () => {
  for (const kind of ['none', 'temperature', 'isotonic'] as const) {
    it(`${kind}: rows sum to 1, and a row without probabilities (the LSTM's first rows) stays NaN`, () => {
      const proba = fresh.proba.slice(0, 300);
      proba.fill(Number.NaN, 0, 3);
      const calibrated = applyCalibrator(fitCalibrator(kind, fit.proba, fit.labels, 3), proba, 3);
      assert.ok([0, 1, 2].every((c) => Number.isNaN(calibrated[c])), 'a NaN row must stay NaN, never be invented');
      for (let r = 1; r < 100; r++) assert.ok(Math.abs(calibrated[r * 3] + calibrated[r * 3 + 1] + calibrated[r * 3 + 2] - 1) < 1e-12);
    });
  }

  it('the same rows give the same calibration bytes (deterministic)', () => {
    for (const kind of ['temperature', 'isotonic'] as const) assert.equal(JSON.stringify(fitCalibrator(kind, fit.proba, fit.labels, 3)), JSON.stringify(fitCalibrator(kind, fit.proba, fit.labels, 3)));
  });

  it('a damaged calibration read from a file is refused with what is wrong', () => {
    assert.throws(() => checkCalibrator({ kind: 'platt' }, 3, 'ensemble.json'), /ensemble\.json: calibration kind "platt" is unknown/);
    assert.throws(() => checkCalibrator({ kind: 'temperature', temperature: 0 }, 3, 'f'), /temperature 0 is not a positive number/);
    assert.throws(() => checkCalibrator({ kind: 'isotonic', classes: [{ x: [0.1, 0.5], y: [0.2, 0.1] }, { x: [0.1], y: [0.5] }, { x: [0.1], y: [0.5] }] }, 3, 'f'), /map of class 0 is not a non-decreasing list/);
    assert.throws(() => checkCalibrator({ kind: 'isotonic', classes: [] }, 3, 'f'), /has 0 class maps, expected 3/);
    assert.deepEqual(checkCalibrator({ kind: 'temperature', temperature: 1.5 }, 3, 'f'), { kind: 'temperature', temperature: 1.5 });
  });
});
