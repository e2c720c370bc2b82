import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_FEATURES, buildFeatureDataset, checkLookahead, FeatureEngineer, type FeatureSpec } from '@oitrader/features';
import { realSampleFrame } from '../../../features/src/testing/frames.ts';
import { matrixFromColumns } from '../gbdt/matrix.ts';
import { walkForwardFolds } from '../validation/walk-forward.ts';
import { evaluateWalkForward, gbdtModel, logisticModel, majorityBaseline, persistenceBaseline, type EvalData } from './walk-forward-eval.ts';

const HORIZON = 48;
const frame = realSampleFrame();
const dataset = buildFeatureDataset(frame, { horizon: HORIZON, threshold: 0.005 });
const { start, end } = dataset;

function evalData(extra?: Float64Array): EvalData {
  const names = [...dataset.table.names];
  const columns: Record<string, ArrayLike<number>> = { ...dataset.table.columns };
  if (extra) {
    names.push('planted');
    columns.planted = extra;
  }
  return {
    x: matrixFromColumns(columns, names, start, end),
    y: dataset.labels.slice(start, end),
    forwardReturn: dataset.forwardReturn.slice(start, end),
    numClass: 3,
    horizon: HORIZON,
  };
}

const folds = walkForwardFolds(end - start, { folds: 3, mode: 'expanding', trainSize: 200, horizon: HORIZON, embargo: 12 });
const fast = { nEstimators: 30, maxDepth: 3, learningRate: 0.1 };

describe('walk-forward evaluation on the real sample', () => {
  it('reports every model and baseline out of sample, per fold and overall', () => {
    const results = evaluateWalkForward(evalData(), folds, [gbdtModel('GBDT depth-wise', fast), logisticModel(), majorityBaseline(), persistenceBaseline()]);
    assert.deepEqual(results.map((r) => r.name), ['GBDT depth-wise', 'logistic regression', 'majority class', 'label persistence']);
    for (const r of results) {
      assert.equal(r.folds.length, 3);
      assert.equal(r.overall.rows, folds.reduce((s, f) => s + f.test[1] - f.test[0], 0));
      assert.ok(r.overall.logLoss > 0 && Number.isFinite(r.overall.logLoss), `${r.name} log-loss ${r.overall.logLoss}`);
      // Out-of-fold probabilities exist only inside test windows (the stacking input).
      assert.ok(Number.isNaN(r.outOfFold[0]));
      assert.ok(Number.isFinite(r.outOfFold[folds[0].test[0] * 3]));
    }
  });

  it('a planted feature equal to the future label makes the walk-forward score jump', () => {
    const clean = evaluateWalkForward(evalData(), folds, [gbdtModel('GBDT', fast)])[0].overall.accuracy;
    const leaked = evaluateWalkForward(evalData(dataset.labels), folds, [gbdtModel('GBDT', fast)])[0].overall.accuracy;
    assert.ok(leaked > 0.95, `with the leak: ${leaked}`);
    assert.ok(leaked - clean > 0.3, `clean ${clean} vs leaked ${leaked}: the validation must expose a leak, not hide it`);
  });

  it('and the Phase 2 look-ahead check flags that feature before it ever reaches training', () => {
    const futureLabel: FeatureSpec = {
      name: 'future_label',
      group: 'price',
      description: 'the 48-bar forward-return class (deliberately leaky)',
      warmup: 0,
      sources: ['close'],
      compute: (x) => {
        const c = x.col('close');
        return c.map((v, i) => (i + HORIZON < c.length ? (c[i + HORIZON] / v - 1 > 0.005 ? 2 : c[i + HORIZON] / v - 1 < -0.005 ? 0 : 1) : Number.NaN));
      },
    };
    const report = checkLookahead(new FeatureEngineer({ specs: [...ALL_FEATURES.slice(30, 35), futureLabel] }), frame, { cuts: 6 });
    assert.deepEqual(report.offenders.map((o) => o.feature), ['future_label']);
  });
});
