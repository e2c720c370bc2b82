import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matrix, seededRandom } from '../gbdt/matrix.ts';
import { LstmClassifier } from './lstm-classifier.ts';
import { LstmTrainingThread } from './lstm-thread.ts';

/** Synthetic table (not market data): the label at t is the sign class of feature 0 two rows earlier. */
function table(rows: number) {
  const random = seededRandom(11);
  const data = Float32Array.from({ length: rows * 5 }, () => random() * 2 - 1);
  const y = Float64Array.from({ length: rows }, (_, t) => (t < 2 ? 1 : data[(t - 2) * 5] > 0.3 ? 2 : data[(t - 2) * 5] < -0.3 ? 0 : 1));
  return { x: matrix(data, rows, 5), y };
}

const options = { lookback: 6, topFeatures: 5, units: 8, epochs: 3, batchSize: 32, seed: 4 };

describe('LSTM training thread', () => {
  const { x, y } = table(600);
  const rows = (from: number, to: number) => Uint32Array.from({ length: to - from }, (_, i) => from + i);

  it('saves byte for byte the model the same fit on the main thread saves, fits answered in the order asked', async () => {
    const thread = new LstmTrainingThread(x, y);
    try {
      const weights = { 0: 1.2, 1: 0.7, 2: 1.1 };
      const [first, second] = await Promise.all([thread.fit({ trainRows: rows(0, 300), options }), thread.fit({ trainRows: rows(0, 500), classWeight: weights, options })]);
      for (const [fit, trainRows, classWeight] of [[first, rows(0, 300), undefined], [second, rows(0, 500), weights]] as const) {
        const local = await new LstmClassifier(options).fit(x, y, trainRows, classWeight);
        try {
          assert.deepEqual(fit.json, await local.toJSON());
        } finally {
          local.dispose();
        }
        assert.ok(fit.seconds > 0);
      }
      assert.notEqual(first.json.weights, second.json.weights);
    } finally {
      await thread.close();
    }
  });

  it('reports a fit that fails with its reason, and keeps serving the next one', async () => {
    const thread = new LstmTrainingThread(x, y);
    try {
      await assert.rejects(thread.fit({ trainRows: rows(0, 20), options }), /LSTM training failed: LSTM needs at least 50 training rows/);
      assert.equal((await thread.fit({ trainRows: rows(0, 200), options })).json.format, 'oitrader-lstm');
    } finally {
      await thread.close();
    }
  });

  it('rejects what is queued when the thread is stopped', async () => {
    const thread = new LstmTrainingThread(x, y);
    const pending = thread.fit({ trainRows: rows(0, 500), options: { ...options, epochs: 50 } });
    await thread.close();
    await assert.rejects(pending, /LSTM training thread exited/);
  });
});
