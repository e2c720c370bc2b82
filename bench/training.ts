/**
 * bench/training: LSTM training throughput (samples/s) of our hand-written
 * trainer (lstm-train.ts) against TensorFlow.js's model.fit on its WASM
 * backend (the reference it replaced), and the fit time of the three GBDT
 * base models inside the walk-forward pipeline on the bundled sample's
 * Phase 2 features; and the stacked ensemble's prediction speed on the real
 * SOLUSDT 5m + OI set (bench/real-solusdt.ts): rows/s over the last 21,900
 * rows, per member, and the single-row latency the bot pays each candle
 * (goals, issue 17: >= 20,000 rows/s and < 20 ms); and `oitrader train`
 * with its defaults on that set, per stage (goal < 3 min).
 *   npm run bench:training
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { buildFeatureDataset } from '../packages/features/src/index.ts';
import { realSampleFrame } from '../packages/features/src/testing/frames.ts';
import { DEFAULT_BASE_MODELS, DEFAULT_LSTM, evaluateWalkForward, forwardWeights, gbdtModel, GradientBoostedTrees, LogisticRegression, LstmClassifier, lstmNetwork, matrix, matrixFromColumns, seededRandom, StackedEnsemble, walkForwardFolds } from '../packages/ml/src/index.ts';
import { LstmTrainer } from '../packages/ml/src/lstm/lstm-train.ts';
import { realSolusdt } from './real-solusdt.ts';
import { tensorflow } from '../packages/ml/src/lstm/tf.ts';
import { trainTimeOnRealSet } from './train-time.ts';

const SAMPLES = 2000;
const LOOKBACK = DEFAULT_LSTM.lookback;
const FEATURES = DEFAULT_LSTM.topFeatures;

/**
 * The default network's training on SAMPLES windows sliding over
 * SAMPLES + LOOKBACK − 1 bars of random inputs (as fit trains: one window
 * per row), one warm-up epoch, then `epochs` timed ones.
 */
async function lstmSamplesPerSecond(trainer: 'ours' | 'tfjs', epochs: number): Promise<number> {
  await tensorflow();
  const random = seededRandom(5);
  const bars = SAMPLES + LOOKBACK - 1;
  const z = Float64Array.from({ length: bars * FEATURES }, () => random() * 2 - 1);
  const labels = Float64Array.from({ length: bars }, () => Math.floor(random() * 3));
  const rows = Int32Array.from({ length: SAMPLES }, (_, i) => LOOKBACK - 1 + i);
  const model = lstmNetwork(tf, DEFAULT_LSTM, FEATURES, 3);
  try {
    if (trainer === 'ours') {
      const ours = new LstmTrainer(forwardWeights(model)!, z, { lookback: LOOKBACK, batchSize: DEFAULT_LSTM.batchSize, learningRate: DEFAULT_LSTM.learningRate });
      ours.epoch(rows, labels);
      const started = performance.now();
      for (let e = 0; e < epochs; e++) ours.epoch(rows, labels);
      return (epochs * SAMPLES) / ((performance.now() - started) / 1000);
    }
    const windows = new Float32Array(SAMPLES * LOOKBACK * FEATURES);
    rows.forEach((t, i) => windows.set(z.subarray((t - LOOKBACK + 1) * FEATURES, (t + 1) * FEATURES), i * LOOKBACK * FEATURES));
    const x = tf.tensor3d(windows, [SAMPLES, LOOKBACK, FEATURES]);
    const y = tf.tensor1d(Float32Array.from(rows, (t) => labels[t]));
    const fit = { batchSize: DEFAULT_LSTM.batchSize, shuffle: false, verbose: 0 as const };
    await model.fit(x, y, { ...fit, epochs: 1 });
    const started = performance.now();
    await model.fit(x, y, { ...fit, epochs });
    const rate = (epochs * SAMPLES) / ((performance.now() - started) / 1000);
    tf.dispose([x, y]);
    return rate;
  } finally {
    model.dispose();
  }
}

const reference = await lstmSamplesPerSecond('tfjs', 2);
const ours = await lstmSamplesPerSecond('ours', 5);
console.log(`bench/training: node ${process.version}`);
console.log(`LSTM(${DEFAULT_LSTM.units}) training, ${LOOKBACK} steps × ${FEATURES} features, batch ${DEFAULT_LSTM.batchSize} (load average ${loadavg()[0].toFixed(1)} on 2 cores):`);
console.log(`  ours (BPTT + Adam, WebAssembly SIMD):   ${Math.round(ours).toLocaleString('en-US').padStart(8)} samples/s   ${(ours / reference).toFixed(1)}x the reference`);
console.log(`  tfjs model.fit, WASM backend (reference): ${Math.round(reference).toLocaleString('en-US').padStart(6)} samples/s`);

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
