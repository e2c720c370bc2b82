import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertOutOfSample, outOfFoldModels, readOutOfFoldPredictions, writeOutOfFoldPredictions, type OutOfFoldPredictions } from './predictions.ts';

const BAR = 300_000;
const T0 = Date.UTC(2026, 0, 1);

function sample(model: string): OutOfFoldPredictions {
  // Fold 0 trained on bars 0..9 (labels looked to bar 11) and predicts bars 12..15.
  const timeMs = Float64Array.from({ length: 4 }, (_, i) => T0 + (12 + i) * BAR);
  return {
    model,
    timeMs,
    fold: new Int32Array(4),
    pShort: Float64Array.of(0.2, 0.3, 0.1, 0.5),
    pNeutral: Float64Array.of(0.5, 0.3, 0.1, 0.25),
    pLong: Float64Array.of(0.3, 0.4, 0.8, 0.25),
    folds: [{ fold: 0, trainStartMs: T0, trainEndMs: T0 + 9 * BAR, knownUntilMs: T0 + 11 * BAR, testStartMs: T0 + 12 * BAR, testEndMs: T0 + 15 * BAR }],
  };
}

test('out-of-fold predictions survive a write and read in the run directory, per model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oof-'));
  try {
    writeOutOfFoldPredictions(dir, [sample('ensemble'), sample('LSTM')]);
    assert.deepEqual((await outOfFoldModels(dir)).sort(), ['LSTM', 'ensemble']);
    const back = await readOutOfFoldPredictions(dir, 'LSTM');
    assert.deepEqual(Array.from(back.timeMs), Array.from(sample('x').timeMs));
    assert.deepEqual(Array.from(back.pLong), [0.3, 0.4, 0.8, 0.25]);
    assert.equal(back.folds[0].knownUntilMs, T0 + 11 * BAR);
    await assert.rejects(readOutOfFoldPredictions(dir, 'nope'), /no predictions of model "nope"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a prediction for a bar its model trained on is refused as in sample', () => {
  const p = sample('ensemble');
  assertOutOfSample(p, p.timeMs);
  // Same bars, but claimed by a model whose training saw up to bar 13.
  const leaky = { ...p, folds: [{ ...p.folds[0], knownUntilMs: T0 + 13 * BAR }] };
  assert.throws(() => assertOutOfSample(leaky, p.timeMs), /in sample/);
  assert.throws(() => assertOutOfSample(p, [T0 + 5 * BAR]), /no out-of-fold ensemble prediction/);
});
