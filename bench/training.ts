/**
 * bench/training: LSTM training throughput (samples/s) on TensorFlow.js's
 * WASM backend against its plain CPU backend (the reference), and the fit
 * time of the three GBDT base models inside the walk-forward pipeline on the
 * bundled sample's Phase 2 features; and the stacked ensemble's prediction
 * speed on the real SOLUSDT 5m + OI set (bench/real-solusdt.ts): rows/s over
 * the last 21,900 rows, per member, and the single-row latency the bot pays
 * each candle (goals, issue 17: >= 20,000 rows/s and < 20 ms); and
 * `oitrader train` with its defaults on that set, per stage (goal < 3 min).
 *   npm run bench:training
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { buildFeatureDataset } from '../packages/features/src/index.ts';
import { realSampleFrame } from '../packages/features/src/testing/frames.ts';
import { DEFAULT_BASE_MODELS, evaluateWalkForward, gbdtModel, GradientBoostedTrees, LogisticRegression, LstmClassifier, matrix, matrixFromColumns, StackedEnsemble, walkForwardFolds } from '../packages/ml/src/index.ts';
import { realSolusdt } from './real-solusdt.ts';
import { tensorflow } from '../packages/ml/src/lstm/tf.ts';
import { trainTimeOnRealSet } from './train-time.ts';

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

/**
 * Prediction speed only: the members have the shapes `oitrader train` gives
 * them (default base models, default LSTM), but are fitted quickly (the
 * LSTM for one epoch, the meta-model on in-sample probabilities), since
 * weights do not change the work a prediction does.
 */
async function ensemblePrediction(): Promise<void> {
  // The CPU-backend reference above switched tfjs away from WASM; predict as the product does.
  await tf.setBackend('wasm');
  const set = await realSolusdt();
  const k = 3;
  const trainRows = set.x.rows - 21_900;
  const train = matrix(set.x.data.subarray(0, trainRows * set.x.cols), trainRows, set.x.cols);
  const yTrain = set.y.subarray(0, trainRows);
  const bases = DEFAULT_BASE_MODELS.map((spec) => new GradientBoostedTrees({ ...spec.params, objective: 'multiclass' }).fit(train, yTrain));
  const lstm = await new LstmClassifier({ epochs: 1 }).fit(set.x, set.y, Uint32Array.from({ length: trainRows }, (_, i) => i));
  const logs = (probas: Float64Array[], rows: number) => matrix(Float32Array.from({ length: rows * probas.length * k }, (_, i) => Math.log(Math.max(probas[Math.floor(i / k) % probas.length][Math.floor(i / (k * probas.length)) * k + (i % k)], 1e-6))), rows, probas.length * k);
  const metaRows = Uint32Array.from({ length: trainRows - 31 }, (_, i) => 31 + i);
  const metaX = logs([...bases.map((b) => b.predictProba(train).subarray(31 * k)), await lstm.predictProba(set.x, metaRows)], metaRows.length);
  const meta = new LogisticRegression({ l2: 1e-2 }).fit(metaX, yTrain.subarray(31));
  const ensemble = new StackedEnsemble(k, [...DEFAULT_BASE_MODELS.map((s) => s.name), 'LSTM'], bases, meta, { model: lstm, json: await lstm.toJSON() });
  const x = matrix(set.x.data.subarray((trainRows - 31) * set.x.cols), set.x.rows - trainRows + 31, set.x.cols);
  const rows = x.rows - 31;
  await ensemble.predictSignalProba(x); // warm-up (JIT, tfjs kernels)
  console.log(`\nEnsemble prediction, ${set.name}, ${rows.toLocaleString('en-US')} rows (load average ${loadavg()[0].toFixed(1)} on 2 cores):`);
  const time = async (label: string, work: () => unknown, goal?: number) => {
    const started = performance.now();
    await work();
    const s = (performance.now() - started) / 1000;
    const rate = rows / s;
    console.log(`  ${label.padEnd(44)} ${s.toFixed(2).padStart(6)} s   ${Math.round(rate).toLocaleString('en-US').padStart(9)} rows/s${goal ? `   ${(rate / goal).toFixed(2)}x the goal (${goal.toLocaleString('en-US')})` : ''}`);
  };
  const lstmRows = Uint32Array.from({ length: rows }, (_, i) => 31 + i);
  for (const [i, b] of bases.entries()) await time(DEFAULT_BASE_MODELS[i].name, () => b.predictProba(x));
  await time('LSTM (forward pass, WebAssembly SIMD)', () => lstm.predictProba(x, lstmRows));
  await time('LSTM through tfjs layers (reference)', () => lstm.networkProba(x, lstmRows));
  await time('ensemble predictSignalProba', () => ensemble.predictSignalProba(x), 20_000);
  const window = matrix(x.data.subarray(0, 32 * x.cols), 32, x.cols);
  const latencies: number[] = [];
  for (let r = 0; r < 20; r++) {
    const started = performance.now();
    await ensemble.predictSignalProba(window);
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  console.log(`  single row (32-bar window), median of 20      ${latencies[10].toFixed(1).padStart(6)} ms   ${(latencies[10] / 20).toFixed(2)}x the goal (< 20 ms); worst ${latencies[19].toFixed(1)} ms`);
  ensemble.dispose();
}

await ensemblePrediction();
await trainTimeOnRealSet();
