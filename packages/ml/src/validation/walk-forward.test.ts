import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeOrderedSplit, walkForwardFolds } from './walk-forward.ts';

describe('walk-forward validation', () => {
  it('purging removes exactly the training rows whose label window overlaps the test window', () => {
    const horizon = 48;
    const folds = walkForwardFolds(2000, { folds: 4, mode: 'expanding', trainSize: 1000, horizon, embargo: 0 });
    for (const fold of folds) {
      const [testStart] = fold.test;
      const trainSet = new Set(fold.train);
      for (let t = 0; t < testStart; t++) {
        const overlaps = t + horizon >= testStart;
        assert.equal(trainSet.has(t), !overlaps, `row ${t}, test starts at ${testStart}: ${overlaps ? 'must be purged' : 'must be kept'}`);
      }
      assert.deepEqual(fold.purged, [testStart - horizon, testStart]);
      assert.ok(fold.train.every((t) => t < testStart), 'never train on the test window or after it');
    }
  });

  it('the embargo keeps rows right after an earlier test window out of later training', () => {
    const folds = walkForwardFolds(2000, { folds: 4, mode: 'expanding', trainSize: 1000, horizon: 10, embargo: 20 });
    const last = folds[3];
    for (const end of [1250, 1500]) for (let t = end; t < end + 20; t++) assert.ok(!last.train.includes(t), `row ${t} is inside an embargo`);
    assert.ok(last.train.includes(1270));
    assert.equal(last.embargoed, 40, 'two earlier windows (ending 1250 and 1500) lie inside its training span; the third ends where it is purged');
  });

  it('rolling windows train on the most recent block only; test windows tile the rest', () => {
    const folds = walkForwardFolds(1600, { folds: 3, mode: 'rolling', trainSize: 400, horizon: 5, embargo: 0 });
    assert.deepEqual(folds.map((f) => f.test), [[400, 800], [800, 1200], [1200, 1600]]);
    assert.equal(folds[2].train[0], 800);
    assert.equal(folds[2].train.length, 400 - 5);
  });

  it('the 60/20/20 holdout split is time-ordered and purged', () => {
    assert.deepEqual(timeOrderedSplit(1000, 48), { train: [0, 552], validation: [600, 752], test: [800, 1000] });
    assert.throws(() => timeOrderedSplit(100, 48), /too few/);
  });
});
