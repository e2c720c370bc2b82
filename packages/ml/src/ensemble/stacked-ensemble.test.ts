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
const result = await trainStackedEnsemble(data, folds, small);

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

  it('the same seed gives the same ensemble and the same out-of-sample metrics (with subsampling on)', async () => {
    const seeded = small.map((s) => ({ ...s, params: { ...s.params, subsample: 0.8, colsampleBytree: 0.7, seed: 7 } }));
    const a = await trainStackedEnsemble(data, folds, seeded);
    const b = await trainStackedEnsemble(data, folds, seeded);
    assert.equal(JSON.stringify(a.ensemble), JSON.stringify(b.ensemble));
    assert.deepEqual(a.ensembleReport, b.ensembleReport);
    assert.deepEqual(a.bases.map((x) => x.overall), b.bases.map((x) => x.overall));
  });

  it('predictSignalProba gives one probability triple per row', async () => {
    const proba = await result.ensemble.predictSignalProba(data.x);
    for (let r = 0; r < data.x.rows; r++) {
      const sum = proba[r * 3] + proba[r * 3 + 1] + proba[r * 3 + 2];
      assert.ok(Math.abs(sum - 1) < 1e-9);
    }
  });

  it('save → load gives the same predictions for the ensemble and every base model', async () => {
    const loaded = await StackedEnsemble.fromJSON(JSON.parse(JSON.stringify(result.ensemble)));
    assert.deepEqual(await loaded.predictSignalProba(data.x), await result.ensemble.predictSignalProba(data.x));
    loaded.bases.forEach((b, i) => assert.deepEqual(b.predictProba(data.x), result.ensemble.bases[i].predictProba(data.x)));
  });
});

describe('stacked ensemble with the LSTM as a member', () => {
  const lstm = { lookback: 16, epochs: 3, units: 8, topFeatures: 8, seed: 3 };

  it('stacks the LSTM\'s out-of-fold probabilities, saves its weights in the run and reloads to the same predictions', async () => {
    const stacked = await trainStackedEnsemble(data, folds, small, { lstm });
    try {
      assert.deepEqual(stacked.ensemble.baseNames, [...small.map((s) => s.name), 'LSTM']);
      assert.equal(stacked.bases.length, 4, 'the LSTM is evaluated walk-forward like the trees');
      assert.equal(stacked.ensemble.meta.numFeatures, 4 * 3, 'the meta-model reads four models × three classes');
      const proba = await stacked.ensemble.predictSignalProba(data.x);
      for (let r = 0; r < 15; r++) assert.ok(Number.isNaN(proba[r * 3]), `row ${r} has fewer than 16 bars of history`);
      for (let r = 15; r < data.x.rows; r++) assert.ok(Math.abs(proba[r * 3] + proba[r * 3 + 1] + proba[r * 3 + 2] - 1) < 1e-6);
      const json = JSON.parse(JSON.stringify(stacked.ensemble));
      assert.equal(json.lstm.format, 'oitrader-lstm');
      const loaded = await StackedEnsemble.fromJSON(json);
      assert.deepEqual(await loaded.predictSignalProba(data.x), proba);
      loaded.dispose();
      const again = await trainStackedEnsemble(data, folds, small, { lstm });
      assert.deepEqual(again.ensembleReport, stacked.ensembleReport, 'same seed, same out-of-sample metrics');
      again.ensemble.dispose();
    } finally {
      stacked.ensemble.dispose();
    }
  });
});

describe('model registry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oitrader-models-'));

  it('writes a run atomically and loads it back when the feature set matches', async () => {
    saveRun(dir, manifest('20261124-0001'), result.ensemble);
    assert.deepEqual(listRuns(dir), ['20261124-0001']);
    assert.ok(!readdirSync(dir).some((n) => n.includes('.tmp-')), 'no staging directory may remain');
    const run = await loadRun(join(dir, '20261124-0001'), { featureSetVersion: FEATURE_SET_VERSION, features: names });
    assert.deepEqual(await run.ensemble.predictSignalProba(data.x), await result.ensemble.predictSignalProba(data.x));
    assert.throws(() => saveRun(dir, manifest('20261124-0001'), result.ensemble), /already exists/);
  });

  it('refuses a run trained on another feature-set version or on features the data lacks', async () => {
    saveRun(dir, manifest('old-version', { featureSetVersion: '1999.1' }), result.ensemble);
    await assert.rejects(() => loadRun(join(dir, 'old-version'), { featureSetVersion: FEATURE_SET_VERSION, features: names }), /trained on feature set 1999\.1, this build computes/);
    await assert.rejects(() => loadRun(join(dir, '20261124-0001'), { featureSetVersion: FEATURE_SET_VERSION, features: names.slice(1) }), /needs 1 features the current data does not provide: ret_1/);
  });

  it('a damaged run says what is wrong', async () => {
    saveRun(dir, manifest('damaged'), result.ensemble);
    writeFileSync(join(dir, 'damaged', 'ensemble.json'), '{"format":');
    await assert.rejects(() => loadRun(join(dir, 'damaged'), { featureSetVersion: FEATURE_SET_VERSION, features: names }), /cannot read .*ensemble\.json/);
  });
});

describe('the ensemble earns its place', () => {
  it('records the stack against every member on the same out-of-fold rows, and uses the better one', () => {
    const { choice } = result;
    assert.equal(choice.members.length, 3);
    const best = Math.min(...choice.members.map((m) => m.logLoss));
    if (result.ensemble.use === 'meta') assert.ok(choice.metaLogLoss <= best, `the stack (${choice.metaLogLoss}) is used although member log-loss ${best} is better`);
    else {
      assert.equal(choice.members[result.ensemble.use].logLoss, best, 'the fallback is the best member');
      assert.ok(choice.metaLogLoss > best);
    }
    assert.equal(result.ensembleReport!.logLoss <= Math.max(choice.metaLogLoss, best) + 1e-12, true);
  });

  it('an ensemble that falls back to a member predicts exactly that member, also after save → load', async () => {
    const e = result.ensemble;
    const fallback = new StackedEnsemble(e.numClass, e.baseNames, e.bases, e.meta, undefined, 2);
    const member = e.bases[2].predictProba(data.x);
    assert.deepEqual(Array.from(await fallback.predictSignalProba(data.x)), Array.from(member));
    const reloaded = await StackedEnsemble.fromJSON(JSON.parse(JSON.stringify(fallback)));
    assert.equal(reloaded.use, 2);
    assert.deepEqual(Array.from(await reloaded.predictSignalProba(data.x)), Array.from(member));
    assert.throws(() => new StackedEnsemble(e.numClass, e.baseNames, e.bases, e.meta, undefined, 7), /member 7 does not exist/);
  });
});
