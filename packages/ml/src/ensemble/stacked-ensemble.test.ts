import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildFeatureDataset, FEATURE_SET_VERSION } from '@oitrader/features';
import { realSampleFrame } from '../../../features/src/testing/frames.ts';
import { applyCalibrator } from '../calibration/calibrator.ts';
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
      const { stack: { calibrated: proba } } = await stacked.ensemble.predictAll(data.x);
      for (let r = 0; r < 15; r++) assert.ok(Number.isNaN(proba[r * 3]), `row ${r} has fewer than 16 bars of history`);
      for (let r = 15; r < data.x.rows; r++) assert.ok(Math.abs(proba[r * 3] + proba[r * 3 + 1] + proba[r * 3 + 2] - 1) < 1e-6);
      const answer = await stacked.ensemble.predictSignalProba(data.x);
      const json = JSON.parse(JSON.stringify(stacked.ensemble));
      assert.equal(json.lstm.format, 'oitrader-lstm');
      const loaded = await StackedEnsemble.fromJSON(json);
      assert.deepEqual(await loaded.predictSignalProba(data.x), answer);
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

  it('a run trained with the calendar features is refused where they are not built (the default since issue 26)', async () => {
    saveRun(dir, manifest('with-calendar', { features: [...names, 'weekday_sin'] }), result.ensemble);
    assert.ok(!names.includes('weekday_sin'), 'a default features build holds no calendar feature');
    await assert.rejects(() => loadRun(join(dir, 'with-calendar'), { featureSetVersion: FEATURE_SET_VERSION, features: names }), /needs 1 features the current data does not provide: weekday_sin/);
  });

  it('a damaged run says what is wrong', async () => {
    saveRun(dir, manifest('damaged'), result.ensemble);
    writeFileSync(join(dir, 'damaged', 'ensemble.json'), '{"format":');
    await assert.rejects(() => loadRun(join(dir, 'damaged'), { featureSetVersion: FEATURE_SET_VERSION, features: names }), /cannot read .*ensemble\.json/);
  });
});

describe('the ensemble earns its place', () => {
  it('answers with the calibrated stack only when it beats the training prior and every calibrated member on the same out-of-fold rows', () => {
    const { choice } = result;
    assert.equal(choice.members.length, 3);
    const best = Math.min(...choice.members.map((m) => m.logLoss));
    const use = result.ensemble.use;
    if (use === 'meta') assert.ok(choice.metaLogLoss <= best && choice.metaLogLoss < choice.priorLogLoss, `the stack (${choice.metaLogLoss}) is used although a member (${best}) or the prior (${choice.priorLogLoss}) is better`);
    else if (use === 'prior') assert.ok(best >= choice.priorLogLoss && !(choice.metaLogLoss < choice.priorLogLoss), 'the prior answers only when nothing beats it');
    else {
      assert.equal(choice.members[use].logLoss, best, 'the fallback is the best member');
      assert.ok(best < choice.priorLogLoss, 'a member answers only when it beats the prior');
    }
    assert.equal(result.ensembleReport!.rows, result.comparisonRows.length, 'the ensemble is scored on the rows every candidate was compared on');
  });

  it('an ensemble that falls back to a member predicts exactly that member (calibrated), also after save → load', async () => {
    const e = result.ensemble;
    const fallback = new StackedEnsemble(e.numClass, e.baseNames, e.bases, e.meta, undefined, 2, e.calibration);
    const member = applyCalibrator(e.calibration!.members[2], e.bases[2].predictProba(data.x), 3);
    assert.deepEqual(Array.from(await fallback.predictSignalProba(data.x)), Array.from(member));
    const reloaded = await StackedEnsemble.fromJSON(JSON.parse(JSON.stringify(fallback)));
    assert.equal(reloaded.use, 2);
    assert.deepEqual(Array.from(await reloaded.predictSignalProba(data.x)), Array.from(member));
    assert.throws(() => new StackedEnsemble(e.numClass, e.baseNames, e.bases, e.meta, undefined, 7), /member 7 does not exist/);
  });

  it('an ensemble that falls back to the prior answers the training labels\' class shares on every row', async () => {
    const e = result.ensemble;
    const prior = new StackedEnsemble(e.numClass, e.baseNames, e.bases, e.meta, undefined, 'prior', e.calibration);
    const shares = [0, 1, 2].map((c) => data.y.filter((y) => y === c).length / data.y.length);
    const proba = await prior.predictSignalProba(data.x);
    for (let r = 0; r < data.x.rows; r += 97) for (let c = 0; c < 3; c++) assert.ok(Math.abs(proba[r * 3 + c] - shares[c]) < 1e-12, `row ${r} class ${c}: ${proba[r * 3 + c]} is not the prior ${shares[c]}`);
    assert.throws(() => new StackedEnsemble(e.numClass, e.baseNames, e.bases, e.meta, undefined, 'prior'), /member prior does not exist/, 'without a stored prior there is nothing to answer');
  });
});

describe('calibrated ensemble files', () => {
  it('predictSignalProba applies the stored calibration of what answers; predictAll shows every member raw and calibrated', async () => {
    const e = result.ensemble;
    const all = await e.predictAll(data.x);
    assert.deepEqual(Array.from(await e.predictSignalProba(data.x)), Array.from(all.ensemble));
    all.members.forEach((m, i) => assert.deepEqual(Array.from(m.calibrated), Array.from(applyCalibrator(e.calibration!.members[i], m.raw, 3)), `${m.name}: calibrated ≠ its calibration applied to its raw probabilities`));
    assert.deepEqual(Array.from(all.stack.calibrated), Array.from(applyCalibrator(e.calibration!.stack, all.stack.raw, 3)));
  });

  it('a run saved before calibration (ensemble.json version 1) still loads and answers its uncalibrated probabilities', async () => {
    const json = JSON.parse(JSON.stringify(result.ensemble));
    const old = { ...json, version: 1, use: 'meta', calibration: undefined };
    const loaded = await StackedEnsemble.fromJSON(old);
    assert.equal(loaded.calibration, undefined);
    const raw = await loaded.predictAll(data.x);
    assert.deepEqual(Array.from(await loaded.predictSignalProba(data.x)), Array.from(raw.stack.raw), 'an old run answers what it answered before');
  });

  it('a damaged calibration is refused with the file named, never applied', async () => {
    const json = JSON.parse(JSON.stringify(result.ensemble));
    await assert.rejects(() => StackedEnsemble.fromJSON({ ...json, calibration: { ...json.calibration, stack: { kind: 'temperature', temperature: -1 } } }), /ensemble file, stack: calibration temperature -1 is not a positive number/);
    await assert.rejects(() => StackedEnsemble.fromJSON({ ...json, calibration: { ...json.calibration, prior: [0.5, 0.5, 0.5] } }), /training prior is not 3 shares summing to 1/);
    await assert.rejects(() => StackedEnsemble.fromJSON({ ...json, version: 9 }), /version 1 or 2/);
  });
});
