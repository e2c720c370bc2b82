/**
 * bench/training: LSTM training throughput (samples/s) on TensorFlow.js's
 * WASM backend against its plain CPU backend (the reference), and the fit
 * time of the three GBDT base models inside the walk-forward pipeline on the
 * bundled sample's Phase 2 features.
 *   npm run bench:training
 */
import * as tf from '@tensorflow/tfjs';
import { buildFeatureDataset } from '../packages/features/src/index.ts';
import { realSampleFrame } from '../packages/features/src/testing/frames.ts';
import { DEFAULT_BASE_MODELS, evaluateWalkForward, gbdtModel, matrixFromColumns, walkForwardFolds } from '../packages/ml/src/index.ts';
import { tensorflow } from '../packages/ml/src/lstm/tf.ts';

const SAMPLES = 2000;
const LOOKBACK = 32;
const FEATURES = 16;

async function lstmSamplesPerSecond(backend: 'wasm' | 'cpu'): Promise<number> {
  if (backend === 'wasm') await tensorflow();
  else await tf.setBackend('cpu');
  const model = tf.sequential();
  model.add(tf.layers.lstm({ units: 32, inputShape: [LOOKBACK, FEATURES], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), recurrentInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
  const x = tf.randomNormal([SAMPLES, LOOKBACK, FEATURES], 0, 1, 'float32', 5);
  const y = tf.randomUniform([SAMPLES], 0, 3, 'int32', 6).cast('float32');
  await model.fit(x, y, { epochs: 1, batchSize: 64, shuffle: false, verbose: 0 }); // warm-up
  const started = performance.now();
  await model.fit(x, y, { epochs: 2, batchSize: 64, shuffle: false, verbose: 0 });
  const rate = (2 * SAMPLES) / ((performance.now() - started) / 1000);
  tf.dispose([x, y]);
  model.dispose();
  return rate;
}

const wasm = await lstmSamplesPerSecond('wasm');
const cpu = await lstmSamplesPerSecond('cpu');
console.log(`bench/training: node ${process.version}`);
console.log(`LSTM(32) training, ${LOOKBACK} steps × ${FEATURES} features, batch 64:`);
console.log(`  tfjs WASM backend (ours):      ${Math.round(wasm).toLocaleString('en-US').padStart(8)} samples/s`);
console.log(`  tfjs CPU backend (reference):  ${Math.round(cpu).toLocaleString('en-US').padStart(8)} samples/s   ratio ${(wasm / cpu).toFixed(1)}x`);

const d = buildFeatureDataset(realSampleFrame());
const data = { x: matrixFromColumns(d.table.columns, d.table.names, d.start, d.end), y: d.labels.slice(d.start, d.end), forwardReturn: d.forwardReturn.slice(d.start, d.end), numClass: 3, horizon: 48 };
const folds = walkForwardFolds(data.x.rows, { folds: 3, mode: 'expanding', trainSize: 204, horizon: 48, embargo: 12 });
console.log(`GBDT base models inside walk-forward (${data.x.rows} rows × ${d.table.names.length} features, 3 folds):`);
for (const spec of DEFAULT_BASE_MODELS) {
  const started = performance.now();
  evaluateWalkForward(data, folds, [gbdtModel(spec.name, spec.params)]);
  console.log(`  ${spec.name.padEnd(28)} ${((performance.now() - started) / 1000).toFixed(2)} s for 3 fits + predictions`);
}
