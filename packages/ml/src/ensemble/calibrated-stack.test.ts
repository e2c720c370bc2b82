import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { overconfidentRows, syntheticEvalData } from '../calibration/testing.ts';
import { seededRandom } from '../gbdt/matrix.ts';
import type { ModelEvaluation } from '../evaluation/walk-forward-eval.ts';
import { walkForwardFolds } from '../validation/walk-forward.ts';
import { stackAndCalibrate, STACK_NAME } from './calibrated-stack.ts';

const HORIZON = 12;
const N = 6000;
const rows = overconfidentRows(N, 2, 5);
const data = syntheticEvalData(rows.labels, HORIZON);
const folds = walkForwardFolds(N, { folds: 3, mode: 'expanding', trainSize: 2400, horizon: HORIZON, embargo: 6 });

/** SYNTHETIC members: the over-confident model and a noisier copy, out of fold on every test window. */
function members(): ModelEvaluation[] {
  const random = seededRandom(9);
  const noisy = Float64Array.from(rows.proba, (p) => p * (0.6 + 0.8 * random()));
  for (let r = 0; r < N; r++) {
    const s = noisy[r * 3] + noisy[r * 3 + 1] + noisy[r * 3 + 2];
    for (let c = 0; c < 3; c++) noisy[r * 3 + c] /= s;
  }
  return [rows.proba, noisy].map((p, i) => {
    const outOfFold = new Float64Array(N * 3).fill(Number.NaN);
    for (const f of folds) outOfFold.set(p.subarray(f.test[0] * 3, f.test[1] * 3), f.test[0] * 3);
    return { name: `member ${i}`, folds: [], overall: undefined as never, outOfFold };
  });
}
const bases = members();
const result = stackAndCalibrate(data, folds, bases);

describe('the stack and its calibrations, out of fold', () => {
  it('are compared on the rows from the second fold on, with the training prior on the same rows', () => {
    assert.equal(result.comparisonRows[0], folds[1].test[0]);
    assert.equal(result.comparisonRows.length, N - folds[1].test[0]);
    assert.equal(result.priorReport!.rows, result.comparisonRows.length);
    assert.deepEqual(result.calibrations.map((c) => c.name), ['member 0', 'member 1', STACK_NAME]);
  });

  it('calibration lowers the log-loss of over-confident members out of fold', () => {
    for (const c of result.calibrations.slice(0, 2)) assert.ok(c.calibrated!.logLoss < c.raw!.logLoss, `${c.name}: ${c.raw!.logLoss} → ${c.calibrated!.logLoss}`);
  });

  it('no calibrated probability of fold k depends on a label of fold k or later (members and stack)', () => {
    for (const fold of folds.slice(1)) {
      const y = data.y.slice();
      for (let t = fold.test[0]; t < N; t++) y[t] = (y[t] + 2) % 3;
      const moved = stackAndCalibrate({ ...data, y }, folds, bases);
      const [start, end] = fold.test;
      moved.calibrations.forEach((c, i) =>
        assert.deepEqual(Array.from(c.outOfFold.subarray(start * 3, end * 3)), Array.from(result.calibrations[i].outOfFold.subarray(start * 3, end * 3)), `${c.name}, fold ${fold.index + 1}: its calibration saw the fold's own labels`),
      );
      assert.deepEqual(Array.from(moved.priorOutOfFold.subarray(start * 3, end * 3)), Array.from(result.priorOutOfFold.subarray(start * 3, end * 3)));
    }
  });

  it("the ensemble's first-fold predictions depend on no label of that fold or later (the stack's choice is made on later folds)", () => {
    const y = data.y.slice();
    for (let t = folds[0].test[0]; t < N; t++) y[t] = (y[t] + 1) % 3;
    const moved = stackAndCalibrate({ ...data, y }, folds, bases);
    const [start, end] = folds[0].test;
    assert.deepEqual(Array.from(moved.ensembleOutOfFold.subarray(start * 3, end * 3)), Array.from(result.ensembleOutOfFold.subarray(start * 3, end * 3)));
    assert.ok(!Number.isNaN(result.ensembleOutOfFold[start * 3]));
  });

  it('the saved calibrations are fitted on every out-of-fold row, the prior on every label', () => {
    assert.equal(result.calibrations[0].final.rows, N - folds[0].test[0]);
    const shares = [0, 1, 2].map((c) => rows.labels.filter((y) => y === c).length / N);
    result.calibration.prior.forEach((p, c) => assert.ok(Math.abs(p - shares[c]) < 1e-12));
  });

  it('the ensemble\'s out-of-fold probabilities are what it answers on the comparison rows, the members\' mean on the first fold', () => {
    const source = result.use === 'prior' ? result.priorOutOfFold : result.use === 'meta' ? result.calibrations[2].outOfFold : result.calibrations[result.use].outOfFold;
    for (const t of [result.comparisonRows[0], result.comparisonRows.at(-1)!]) assert.deepEqual(Array.from(result.ensembleOutOfFold.subarray(t * 3, t * 3 + 3)), Array.from(source.subarray(t * 3, t * 3 + 3)));
    // The first fold (no earlier rows for the meta-model): the members' equal-weight mean.
    const t0 = folds[0].test[0];
    const first = Array.from(result.ensembleOutOfFold.subarray(t0 * 3, t0 * 3 + 3));
    const expected = [0, 1, 2].map((c) => (result.calibrations[0].outOfFold[t0 * 3 + c] + result.calibrations[1].outOfFold[t0 * 3 + c]) / 2);
    first.forEach((p, c) => assert.ok(Math.abs(p - expected[c]) < 1e-12, `first fold: ${first} vs ${expected}`));
    assert.ok(Math.abs(first.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.ok(Number.isNaN(result.ensembleOutOfFold[(t0 - 1) * 3]), 'no prediction before the first test fold (those rows trained every model)');
  });
});
