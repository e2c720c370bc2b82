import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildPooledFeatureDataset, FEATURES_FILE, MANIFEST_FILE, readFeatureDataset, writeFeatureRows } from '@oitrader/features';
import { realOpenInterestFrame } from '../../../features/src/testing/frames.ts';
import { assertOutOfSample, readOutOfFoldPredictions } from '../registry/predictions.ts';
import { evalDataOf } from './train-model-run.ts';
import { lstmView } from './model-fits.ts';
import { trainModelRun } from './train-model-run.ts';

const root = mkdtempSync(join(tmpdir(), 'oitrader-pooled-run-'));
const features = join(root, 'features');
writeFeatureRows(buildPooledFeatureDataset([realOpenInterestFrame('SOLUSDT', 12), realOpenInterestFrame('BTCUSDT', 12)]), join(features, FEATURES_FILE), join(features, MANIFEST_FILE));
const dataset = await readFeatureDataset(join(features, FEATURES_FILE), join(features, MANIFEST_FILE));
const run = await trainModelRun(dataset, { modelsDir: join(root, 'models'), runId: 'pool', folds: 3, trainShare: 0.4, embargo: 12, seed: 0, trees: 10, lstm: { lookback: 8, epochs: 1, units: 4, topFeatures: 4 } });

describe('one model trained on a pool of symbols (real SOLUSDT + BTCUSDT, 12 days)', () => {
  it('keeps one out-of-fold row per (symbol, time), and a pooled run\'s predictions are read per symbol', async () => {
    const all = await readOutOfFoldPredictions(run.dir, 'xgboost-style (depth-wise)', '*');
    const keys = Array.from(all.timeMs, (t, i) => `${all.symbol![i]}@${t}`);
    assert.equal(new Set(keys).size, keys.length, 'a (symbol, time) has two out-of-fold rows');
    assert.deepEqual([...new Set(all.symbol)].sort(), ['BTCUSDT', 'SOLUSDT']);
    await assert.rejects(() => readOutOfFoldPredictions(run.dir), /pooled run over SOLUSDT, BTCUSDT: its predictions are per symbol/);
    for (const symbol of ['SOLUSDT', 'BTCUSDT']) {
      const mine = await readOutOfFoldPredictions(run.dir, 'ensemble', symbol);
      assert.ok(mine.timeMs.length > 100);
      assertOutOfSample(mine, mine.timeMs);
    }
  });

  it('splits the folds by time: both symbols\' test windows are the same bars', async () => {
    const all = await readOutOfFoldPredictions(run.dir, 'LSTM', '*');
    for (const fold of all.folds) {
      const times = (symbol: string) => all.timeMs.filter((t, i) => all.symbol![i] === symbol && all.fold[i] === fold.fold);
      const [sol, btc] = [times('SOLUSDT'), times('BTCUSDT')];
      assert.deepEqual(btc, sol, `fold ${fold.fold + 1}: the symbols were tested on different bars`);
      assert.ok(sol[0] === fold.testStartMs && sol.at(-1) === fold.testEndMs);
    }
  });

  it('records the pool and reports every model per symbol', () => {
    const manifest = JSON.parse(readFileSync(join(run.dir, 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest.symbols, ['SOLUSDT', 'BTCUSDT']);
    assert.equal(manifest.symbol, 'SOLUSDT,BTCUSDT');
    assert.deepEqual(run.perSymbol.map((s) => s.symbol), ['SOLUSDT', 'BTCUSDT']);
    for (const s of run.perSymbol) assert.ok(s.models.some((m) => m.name === 'ensemble') && s.models.some((m) => m.name === 'majority class'), `${s.symbol} lacks the ensemble or the prior`);
    assert.equal(run.perSymbol.reduce((a, s) => a + s.rows, 0), run.calibration.rows, 'the symbols\' rows make up the comparison rows');
  });

  it('the LSTM\'s sequences read only their own symbol\'s earlier rows', () => {
    const data = evalDataOf(dataset);
    const view = lstmView(data);
    const lookback = 8;
    let checked = 0;
    for (let t = 0; t < data.x.rows; t += 211) {
      if (!view.hasSequence(t, lookback)) continue;
      const v = view.toView(t);
      // The view's rows v − lookback + 1 … v must be row t's symbol, at strictly increasing earlier times.
      const window = Array.from({ length: lookback }, (_, s) => v - lookback + 1 + s);
      const original = window.map((w) => Array.from({ length: data.x.rows }, (_, r) => r).find((r) => view.toView(r) === w)!);
      assert.ok(original.every((r) => data.series![r] === data.series![t]), `row ${t}'s sequence mixes symbols`);
      assert.ok(original.every((r, i) => i === 0 || dataset.time[r] > dataset.time[original[i - 1]]), `row ${t}'s sequence is not in time order`);
      assert.equal(original.at(-1), t);
      checked++;
    }
    assert.ok(checked > 10);
  });
});
