import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildFeatureDataset, FEATURE_SET_VERSION } from '@oitrader/features';
import { realSampleFrame } from '../../../features/src/testing/frames.ts';
import { matrixFromColumns } from '../gbdt/matrix.ts';
import { listRuns, loadRun, saveRun, type RunManifest } from '../registry/model-registry.ts';
import { walkForwardFolds } from '../validation/walk-forward.ts';
import { StackedEnsemble, trainStackedEnsemble, type BaseModelSpec } from './stacked-ensemble.ts';

const dataset = buildFeatureDataset(realSampleFrame());
const names = dataset.table.names;
const data = {
  x: matrixFromColumns(dataset.table.columns, names, dataset.start, dataset.end),
  y: dataset.labels.slice(dataset.start, dataset.end),
  forwardReturn: dataset.forwardReturn.slice(dataset.start, dataset.end),
  numClass: 3,
  horizon: 48,
};
const folds = walkForwardFolds(data.x.rows, { folds: 3, mode: 'expanding', trainSize: 200, horizon: 48, embargo: 12 });
const small: BaseModelSpec[] = [
  { name: 'depth-wise', params: { growPolicy: 'depthwise', maxDepth: 3, nEstimators: 20 } },
  { name: 'leaf-wise', params: { growPolicy: 'leafwise', numLeaves: 7, maxDepth: 0, nEstimators: 20 } },
  { name: 'oblivious', params: { growPolicy: 'oblivious', maxDepth: 3, nEstimators: 20 } },
];
const result = trainStackedEnsemble(data, folds, small);

function manifest(runId: string, overrides: Partial<RunManifest> = {}): RunManifest {
  return {
    format: 'oitrader-model-run',
    version: 1,
    runId,
    createdAt: '2026-11-24T00:00:00Z',
    featureSetVersion: FEATURE_SET_VERSION,
    features: names,
    symbol: 'XRPUSDT',
    timeframe: '5m',
    dataSpan: { from: dataset.manifest.span.rowsFrom, to: dataset.manifest.span.rowsTo, rows: data.x.rows },
    labels: { horizon: 48, threshold: 0.005 },
    validation: { folds: 3, mode: 'expanding', trainSize: 200, embargo: 12 },
    seed: 0,
    codeVersion: 'test',
    metrics: {},
    ...overrides,
  };
}

describe('stacked ensemble', () => {
  it('is trained on out-of-fold probabilities and evaluated out of sample fold by fold', () => {
    assert.equal(result.bases.length, 3);
    assert.ok(result.ensembleReport, 'the ensemble gets its own out-of-sample report');
    const expectedRows = folds.slice(1).reduce((s, f) => s + f.test[1] - f.test[0], 0);
    assert.equal(result.ensembleReport!.rows, expectedRows, 'only folds after the first can be scored: fold k\'s meta-model learns from earlier folds');
  });

  it('the same seed gives the same ensemble and the same out-of-sample metrics (with subsampling on)', () => {
    const seeded = small.map((s) => ({ ...s, params: { ...s.params, subsample: 0.8, colsampleBytree: 0.7, seed: 7 } }));
    const a = trainStackedEnsemble(data, folds, seeded);
    const b = trainStackedEnsemble(data, folds, seeded);
    assert.equal(JSON.stringify(a.ensemble), JSON.stringify(b.ensemble));
    assert.deepEqual(a.ensembleReport, b.ensembleReport);
    assert.deepEqual(a.bases.map((x) => x.overall), b.bases.map((x) => x.overall));
  });

  it('predictSignalProba gives one probability triple per row', () => {
    const proba = result.ensemble.predictSignalProba(data.x);
    for (let r = 0; r < data.x.rows; r++) {
      const sum = proba[r * 3] + proba[r * 3 + 1] + proba[r * 3 + 2];
      assert.ok(Math.abs(sum - 1) < 1e-9);
    }
  });

  it('save → load gives the same predictions for the ensemble and every base model', () => {
    const loaded = StackedEnsemble.fromJSON(JSON.parse(JSON.stringify(result.ensemble)));
    assert.deepEqual(loaded.predictSignalProba(data.x), result.ensemble.predictSignalProba(data.x));
    loaded.bases.forEach((b, i) => assert.deepEqual(b.predictProba(data.x), result.ensemble.bases[i].predictProba(data.x)));
  });
});

describe('model registry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oitrader-models-'));

  it('writes a run atomically and loads it back when the feature set matches', () => {
    saveRun(dir, manifest('20261124-0001'), result.ensemble);
    assert.deepEqual(listRuns(dir), ['20261124-0001']);
    assert.ok(!readdirSync(dir).some((n) => n.includes('.tmp-')), 'no staging directory may remain');
    const run = loadRun(join(dir, '20261124-0001'), { featureSetVersion: FEATURE_SET_VERSION, features: names });
    assert.deepEqual(run.ensemble.predictSignalProba(data.x), result.ensemble.predictSignalProba(data.x));
    assert.throws(() => saveRun(dir, manifest('20261124-0001'), result.ensemble), /already exists/);
  });

  it('refuses a run trained on another feature-set version or on features the data lacks', () => {
    saveRun(dir, manifest('old-version', { featureSetVersion: '1999.1' }), result.ensemble);
    assert.throws(() => loadRun(join(dir, 'old-version'), { featureSetVersion: FEATURE_SET_VERSION, features: names }), /trained on feature set 1999\.1, this build computes/);
    assert.throws(() => loadRun(join(dir, '20261124-0001'), { featureSetVersion: FEATURE_SET_VERSION, features: names.slice(1) }), /needs 1 features the current data does not provide: ret_1/);
  });

  it('a damaged run says what is wrong', () => {
    saveRun(dir, manifest('damaged'), result.ensemble);
    writeFileSync(join(dir, 'damaged', 'ensemble.json'), '{"format":');
    assert.throws(() => loadRun(join(dir, 'damaged'), { featureSetVersion: FEATURE_SET_VERSION, features: names }), /cannot read .*ensemble\.json/);
  });
});
