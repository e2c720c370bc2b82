import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFeatureDataset } from '@oitrader/features';
import { realSampleFrame } from '../../../features/src/testing/frames.ts';
import { evaluateWalkForward } from '../evaluation/walk-forward-eval.ts';
import { decodeProba, runLstmFit } from '../pipeline/model-fits.ts';
import { matrix, matrixFromColumns, seededRandom } from '../gbdt/matrix.ts';
import { walkForwardFolds } from '../validation/walk-forward.ts';
import { LstmClassifier } from './lstm-classifier.ts';

/** Synthetic table (not market data): the label at t is the sign class of feature 0 three rows EARLIER. */
function laggedPattern(rows: number) {
  const random = seededRandom(5);
  const data = new Float32Array(rows * 4);
  for (let i = 0; i < data.length; i++) data[i] = random() * 2 - 1;
  const y = new Float64Array(rows);
  for (let t = 0; t < rows; t++) {
    const v = t >= 3 ? data[(t - 3) * 4] : 0;
    y[t] = v > 0.33 ? 2 : v < -0.33 ? 0 : 1;
  }
  return { x: matrix(data, rows, 4), y };
}

const options = { lookback: 8, topFeatures: 4, units: 16, epochs: 40, batchSize: 32, learningRate: 0.01, patience: 8, seed: 3 };

describe('LSTM classifier', () => {
  const { x, y } = laggedPattern(1400);
  const train = Uint32Array.from({ length: 1000 }, (_, i) => i);
  const test = Uint32Array.from({ length: 390 }, (_, i) => 1010 + i);

  it('learns a pattern that only earlier bars reveal, deterministically, and survives save → load', async () => {
    const a = await new LstmClassifier(options).fit(x, y, train);
    const proba = await a.predictProba(x, test);
    let correct = 0;
    test.forEach((t, i) => {
      const p = proba.subarray(i * 3, i * 3 + 3);
      if (p.indexOf(Math.max(...p)) === y[t]) correct++;
    });
    assert.ok(correct / test.length > 0.8, `accuracy ${correct / test.length} on a pattern 3 bars back`);
    const b = await new LstmClassifier(options).fit(x, y, train);
    assert.deepEqual(await b.predictProba(x, test), proba, 'the same seed must give the same model');
    const loaded = await LstmClassifier.fromJSON(JSON.parse(JSON.stringify(await a.toJSON())));
    assert.deepEqual(await loaded.predictProba(x, test), proba);
    a.dispose();
    b.dispose();
    loaded.dispose();
  });

  it('gives each row the same probabilities whether it is predicted alone or among 1,300 rows (chunk boundaries change nothing)', async () => {
    const model = await new LstmClassifier({ ...options, epochs: 2 }).fit(x, y, train);
    const rows = Uint32Array.from({ length: 1300 }, (_, i) => 8 + i);
    const all = await model.predictProba(x, rows);
    assert.equal(all.length, rows.length * 3, 'one probability triple per requested row');
    for (const i of [0, 1023, 1024, 1299]) {
      const alone = await model.predictProba(x, [rows[i]]);
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(alone[c] - all[i * 3 + c]) < 1e-6, `row ${rows[i]} class ${c}: ${alone[c]} alone vs ${all[i * 3 + c]} in a batch — a signal must not depend on its neighbours`);
    }
    model.dispose();
  });

  it('predicts what tfjs computes from the same weights, within 1e-5, for any order of rows and after save → load', async () => {
    const model = await new LstmClassifier({ ...options, epochs: 3 }).fit(x, y, train);
    const rows = [7, 8, 9, 1399, 500, 12, 12, ...Array.from({ length: 200 }, (_, i) => 1000 + 2 * i)];
    const assertClose = (fast: Float64Array, reference: Float64Array, what: string) => {
      assert.equal(fast.length, reference.length);
      for (let i = 0; i < fast.length; i++) assert.ok(Math.abs(fast[i] - reference[i]) < 1e-5, `${what}: row ${rows[Math.floor(i / 3)]} class ${i % 3} is ${fast[i]}, tfjs says ${reference[i]} — the signal would not be the trained network's`);
    };
    assertClose(await model.predictProba(x, rows), await model.networkProba(x, rows), 'forward pass');
    const loaded = await LstmClassifier.fromJSON(JSON.parse(JSON.stringify(await model.toJSON())));
    assertClose(await loaded.predictProba(x, rows), await model.networkProba(x, rows), 'loaded model');
    model.dispose();
    loaded.dispose();
  });

  it('matches tfjs at the shape train gives it (32 bars × 16 features, 32 units) on standardised inputs with missing values', async () => {
    const random = seededRandom(9);
    const rowsN = 600;
    const data = new Float32Array(rowsN * 24);
    for (let i = 0; i < data.length; i++) data[i] = random() < 0.02 ? Number.NaN : (random() * 2 - 1) * (1 + (i % 24));
    const labels = Float64Array.from({ length: rowsN }, (_, t) => (data[t * 24] > 0.3 ? 2 : data[t * 24] < -0.3 ? 0 : 1));
    const wide = matrix(data, rowsN, 24);
    const model = await new LstmClassifier({ epochs: 2, seed: 4 }).fit(wide, labels, Uint32Array.from({ length: 400 }, (_, i) => i));
    const rows = Array.from({ length: rowsN - 31 }, (_, i) => 31 + i);
    const fast = await model.predictProba(wide, rows);
    const reference = await model.networkProba(wide, rows);
    let worst = 0;
    for (let i = 0; i < fast.length; i++) worst = Math.max(worst, Math.abs(fast[i] - reference[i]));
    assert.ok(worst < 1e-5, `largest difference from tfjs ${worst}`);
    model.dispose();
  });

  it('refuses rows without a full lookback window instead of padding with invented values', async () => {
    const model = await new LstmClassifier({ ...options, epochs: 1 }).fit(x, y, train);
    await assert.rejects(model.predictProba(x, [3]), /fewer than 8 bars of history/);
    model.dispose();
  });

  it('runs walk-forward on the real sample next to the other models', async () => {
    const d = buildFeatureDataset(realSampleFrame());
    const data = { x: matrixFromColumns(d.table.columns, d.table.names, d.start, d.end), y: d.labels.slice(d.start, d.end), forwardReturn: d.forwardReturn.slice(d.start, d.end), numClass: 3, horizon: 48 };
    const folds = walkForwardFolds(data.x.rows, { folds: 3, mode: 'expanding', trainSize: 200, horizon: 48, embargo: 12 });
    const proba = new Map<number, Float64Array>();
    for (const fold of folds) proba.set(fold.index, decodeProba((await runLstmFit(data, folds, { kind: 'lstm', name: 'LSTM', options: { lookback: 16, epochs: 5 }, fold: fold.index })).proba!));
    const [result] = evaluateWalkForward(data, folds, [{ name: 'LSTM', predictFold: (fold) => proba.get(fold.index)! }]);
    assert.equal(result.overall.rows, folds.reduce((s, f) => s + f.test[1] - f.test[0], 0));
    assert.ok(Number.isFinite(result.overall.logLoss));
  });
});
