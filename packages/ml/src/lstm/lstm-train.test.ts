import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matrix, seededRandom } from '../gbdt/matrix.ts';
import { forwardWeights, LstmClassifier, lstmNetwork, DEFAULT_LSTM } from './lstm-classifier.ts';
import type { LstmWeights } from './lstm-forward.ts';
import { copyWeights, lossAndGradient, LstmTrainer, type Batch } from './lstm-train.ts';
import { tensorflow } from './tf.ts';

const PARTS = ['kernel', 'recurrent', 'bias', 'dense', 'denseBias'] as const;

function randomWeights(inputs: number, units: number, classes: number, scale: number, seed: number): LstmWeights {
  const random = seededRandom(seed);
  const draw = (n: number) => Float64Array.from({ length: n }, () => (random() * 2 - 1) * scale);
  return { inputs, units, classes, kernel: draw(inputs * 4 * units), recurrent: draw(units * 4 * units), bias: draw(4 * units), dense: draw(units * classes), denseBias: draw(classes) };
}

/** Synthetic bars × inputs and labels (not market data). */
function randomSet(bars: number, inputs: number, seed: number) {
  const random = seededRandom(seed);
  const z = Float64Array.from({ length: bars * inputs }, () => (random() * 2 - 1) * 1.5);
  const labels = Float64Array.from({ length: bars }, () => Math.floor(random() * 3));
  return { z, labels };
}

describe('LSTM training (backpropagation through time + Adam)', () => {
  for (const clipped of [false, true]) it(`has analytic gradients equal to finite differences, with saturated hard-sigmoid gates and class weights${clipped ? ', where the loss clips a probability below 1e-7' : ''}`, () => {
    const lookback = 4;
    const w = randomWeights(3, 2, 3, 1.6, 21);
    // Class 0 far below 1e-7: its windows' loss is the constant −log(1e-7), and no window's gradient flows through p_0.
    if (clipped) w.denseBias[0] = -30;
    const { z, labels } = randomSet(12, 3, 22);
    const classWeight = [0.5, 1, 2.5];
    const rows = [3, 4, 7, 11, 9];
    assert.ok(rows.some((t) => labels[t] === 0) && rows.some((t) => labels[t] !== 0), 'the batch must hold class 0 and other classes');
    const batch: Batch = { rows, labels, sampleWeight: Float64Array.from(labels, (c) => classWeight[c]) };
    const grad = copyWeights(w);
    lossAndGradient(w, z, lookback, batch, grad);
    // The check must see the clipped branch of the hard sigmoid, or it proves nothing about it.
    let saturated = 0;
    for (const t of rows) for (let s = 0; s < lookback; s++) for (let g = 0; g < 8; g++) {
      let a = w.bias[g];
      for (let k = 0; k < 3; k++) a += z[(t - lookback + 1 + s) * 3 + k] * w.kernel[k * 8 + g];
      if (Math.abs(a) > 2.5) saturated++;
    }
    assert.ok(saturated > 5, `only ${saturated} gate inputs beyond ±2.5 from the input term alone`);
    const scratch = copyWeights(w);
    let checked = 0;
    for (const part of PARTS) {
      for (let j = 0; j < w[part].length; j++) {
        const h = 1e-6;
        const at = (delta: number) => {
          const v = copyWeights(w);
          v[part][j] += delta;
          return lossAndGradient(v, z, lookback, batch, scratch);
        };
        const numeric = (at(h) - at(-h)) / (2 * h);
        const analytic = grad[part][j];
        assert.ok(Math.abs(numeric - analytic) <= 1e-6 + 1e-5 * Math.abs(numeric), `${part}[${j}]: backpropagation gives ${analytic}, finite differences ${numeric}`);
        checked++;
      }
    }
    assert.equal(checked, 3 * 8 + 2 * 8 + 8 + 2 * 3 + 3);
  });

  it('computes in float32 WebAssembly the gradient the float64 reference computes, at the shape train uses', () => {
    const { lookback, units, batchSize } = DEFAULT_LSTM;
    const inputs = 16;
    const w = randomWeights(inputs, units, 3, 0.3, 31);
    const { z, labels } = randomSet(400, inputs, 32);
    // Scattered rows too: bars shared by some windows and not others.
    for (const rows of [Int32Array.from({ length: batchSize }, (_, i) => 100 + i), Int32Array.from({ length: 37 }, (_, i) => 40 + ((i * 97) % 350))]) {
      const batch: Batch = { rows, labels, sampleWeight: Float64Array.from(labels, (c) => [1.2, 0.7, 1][c]) };
      const fast = new LstmTrainer(w, z, { lookback, batchSize, learningRate: 1e-3 }).gradient(batch);
      const reference = new LstmTrainer(w, z, { lookback, batchSize, learningRate: 1e-3, simd: false }).gradient(batch);
      assert.ok(Math.abs(fast.loss - reference.loss) < 1e-5, `loss ${fast.loss} in float32, ${reference.loss} in float64`);
      for (const part of PARTS) {
        const scale = Math.max(...reference.grad[part].map(Math.abs));
        for (let j = 0; j < w[part].length; j++) assert.ok(Math.abs(fast.grad[part][j] - reference.grad[part][j]) <= 1e-4 * scale, `${part}[${j}]: float32 ${fast.grad[part][j]}, float64 ${reference.grad[part][j]} (largest ${scale})`);
      }
    }
  });

  for (const shape of [{ units: 32, inputs: 16, lookback: 32, batchSize: 64, simd: true }, { units: 8, inputs: 5, lookback: 6, batchSize: 16, simd: true }, { units: 8, inputs: 5, lookback: 6, batchSize: 16, simd: false }]) {
    it(`takes the Adam steps tfjs's model.fit takes from the same weights (${shape.units} units, ${shape.simd ? 'float32 SIMD' : 'float64 reference'})`, async () => {
      const tf = await tensorflow();
      const options = { ...DEFAULT_LSTM, ...shape, learningRate: 0.01, seed: 7 };
      const model = lstmNetwork(tf, options, shape.inputs, 3);
      const initial = forwardWeights(model)!;
      const { z, labels } = randomSet(shape.lookback + 3 * shape.batchSize + 10, shape.inputs, 41);
      // Three batches, the last one short, ending at rows with full windows.
      const rows = Int32Array.from({ length: 3 * shape.batchSize - 5 }, (_, i) => shape.lookback - 1 + i);
      const classWeight = { 0: 1.5, 1: 0.6, 2: 1.1 };
      const xs = new Float32Array(rows.length * shape.lookback * shape.inputs);
      rows.forEach((t, i) => xs.set(z.subarray((t - shape.lookback + 1) * shape.inputs, (t + 1) * shape.inputs), i * shape.lookback * shape.inputs));
      const x = tf.tensor3d(xs, [rows.length, shape.lookback, shape.inputs]);
      const y = tf.tensor1d(Float32Array.from(rows, (t) => labels[t]));
      await model.fit(x, y, { epochs: 2, batchSize: shape.batchSize, shuffle: false, verbose: 0, classWeight });
      const expected = forwardWeights(model)!;
      tf.dispose([x, y]);
      model.dispose();
      const trainer = new LstmTrainer(initial, z, { lookback: shape.lookback, batchSize: shape.batchSize, learningRate: 0.01, simd: shape.simd });
      const sampleWeight = Float64Array.from(labels, (c) => classWeight[c as 0 | 1 | 2]);
      for (let epoch = 0; epoch < 2; epoch++) trainer.epoch(rows, labels, sampleWeight);
      let worst = 0;
      for (const part of PARTS) {
        for (let j = 0; j < initial[part].length; j++) {
          const moved = Math.abs(expected[part][j] - initial[part][j]);
          assert.ok(moved > 0 || part === 'bias', `tfjs did not move ${part}[${j}]`);
          const error = Math.abs(trainer.weights[part][j] - expected[part][j]) / Math.max(Math.abs(expected[part][j]), 1e-2);
          worst = Math.max(worst, error);
          assert.ok(error < 1e-4, `${part}[${j}] after 6 steps: ours ${trainer.weights[part][j]}, tfjs ${expected[part][j]} (from ${initial[part][j]})`);
        }
      }
      console.log(`# worst relative difference from tfjs after 6 Adam steps: ${worst.toExponential(2)}`);
    });
  }

  it('gives byte-identical weights for the same seed and data', async () => {
    const random = seededRandom(51);
    const rowsN = 700;
    const data = Float32Array.from({ length: rowsN * 6 }, () => random() * 2 - 1);
    const labels = Float64Array.from({ length: rowsN }, (_, t) => (t > 2 && data[(t - 2) * 6] > 0.2 ? 2 : t > 2 && data[(t - 2) * 6] < -0.2 ? 0 : 1));
    const train = Uint32Array.from({ length: 600 }, (_, i) => i);
    const fit = async () => {
      const model = await new LstmClassifier({ lookback: 12, topFeatures: 6, units: 16, epochs: 3, batchSize: 32 }).fit(matrix(data, rowsN, 6), labels, train, { 0: 1.3, 1: 0.8, 2: 1.2 });
      const json = await model.toJSON();
      model.dispose();
      return json.weights;
    };
    const [a, b] = [await fit(), await fit()];
    assert.equal(a, b, 'a second fit from the same seed changed the saved weights');
  });
});
