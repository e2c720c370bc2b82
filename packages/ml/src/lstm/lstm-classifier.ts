import { OitraderError } from '@oitrader/core';
import type * as TF from '@tensorflow/tfjs';
import { GradientBoostedTrees } from '../gbdt/gbdt.ts';
import type { Matrix } from '../gbdt/matrix.ts';
import { StandardScaler } from '../linear/standard-scaler.ts';
import { lstmForward, type LstmWeights } from './lstm-forward.ts';
import { copyWeights, LstmTrainer } from './lstm-train.ts';
import { tensorflow } from './tf.ts';

export interface LstmOptions {
  /** Bars per input sequence. */
  lookback: number;
  /** Use the this-many most important features (GBDT gain on the training rows). */
  topFeatures: number;
  units: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Last share of the training rows held out (in time order) for early stopping. */
  validationShare: number;
  patience: number;
  seed: number;
  /** Train on at most this many of the most recent training rows (0 = all): bounds fit time on long histories. */
  maxTrainRows?: number;
}

/** Rows per network call when predicting (one batch; ~2 MB of input at 32 × 16). */
const PREDICT_CHUNK = 1024;

export const DEFAULT_LSTM: LstmOptions = { lookback: 32, topFeatures: 16, units: 32, epochs: 30, batchSize: 64, learningRate: 1e-3, validationShare: 0.15, patience: 4, seed: 0 };

/** The saved form: options, chosen features, scaler and the network (topology + base64 float32 weights). */
export interface LstmJson {
  format: 'oitrader-lstm';
  version: 1;
  options: LstmOptions;
  features: number[];
  mean: number[];
  scale: number[];
  topology: object;
  weightSpecs: TF.io.WeightsManifestEntry[];
  weights: string;
}

/**
 * An LSTM over the last `lookback` bars of the most important features,
 * predicting class probabilities. Rows are a time-ordered table; the
 * sequence for row t is rows t − lookback + 1 … t (never later rows).
 */
export class LstmClassifier {
  readonly options: LstmOptions;
  features: number[] = [];
  scaler = new StandardScaler();
  numClass = 3;
  #model: TF.LayersModel | undefined;
  /** The network's weights for the plain-array forward pass (undefined: a layout it does not cover; tfjs predicts). */
  #weights: LstmWeights | undefined;

  constructor(options: Partial<LstmOptions> = {}) {
    this.options = { ...DEFAULT_LSTM, ...options };
  }

  /** Row indices that have a full lookback window (t >= lookback − 1). */
  #sequences(tf: typeof TF, z: Float64Array, cols: number, rows: ArrayLike<number>): TF.Tensor3D {
    const { lookback } = this.options;
    const k = this.features.length;
    const buffer = new Float32Array(rows.length * lookback * k);
    for (let i = 0; i < rows.length; i++) {
      for (let s = 0; s < lookback; s++) {
        const t = rows[i] - lookback + 1 + s;
        for (let f = 0; f < k; f++) buffer[(i * lookback + s) * k + f] = z[t * cols + f];
      }
    }
    return tf.tensor3d(buffer, [rows.length, lookback, k]);
  }

  /** Selected, standardised columns of x (rows × topFeatures). */
  #project(x: Matrix): Float64Array {
    const k = this.features.length;
    const data = new Float32Array(x.rows * k);
    for (let r = 0; r < x.rows; r++) for (let f = 0; f < k; f++) data[r * k + f] = x.data[r * x.cols + this.features[f]];
    return this.scaler.transform({ data, rows: x.rows, cols: k });
  }

  /** Fits on `trainRows` of the time-ordered table x (labels indexed like x's rows). */
  async fit(x: Matrix, labels: ArrayLike<number>, trainRows: ArrayLike<number>, classWeight?: Record<number, number>): Promise<this> {
    const tf = await tensorflow();
    const o = this.options;
    const eligible = Array.from(trainRows).filter((t) => t >= o.lookback - 1);
    const rows = o.maxTrainRows ? eligible.slice(-o.maxTrainRows) : eligible;
    if (rows.length < 50) throw new OitraderError(`LSTM needs at least 50 training rows with ${o.lookback} bars of history, got ${rows.length}`);
    // Feature choice and scaling use the training rows only.
    const trainMatrix = { data: new Float32Array(rows.length * x.cols), rows: rows.length, cols: x.cols };
    rows.forEach((t, i) => trainMatrix.data.set(x.data.subarray(t * x.cols, (t + 1) * x.cols), i * x.cols));
    const y = Float64Array.from(rows, (t) => labels[t]);
    const importance = new GradientBoostedTrees({ objective: 'multiclass', nEstimators: 20, maxDepth: 3, seed: o.seed, nThreads: 1 }).fit(trainMatrix, y).featureImportance('gain');
    this.features = [...importance.keys()].sort((a, b) => importance[b] - importance[a] || a - b).slice(0, Math.min(o.topFeatures, x.cols));
    this.scaler = new StandardScaler().fit({ data: Float32Array.from(rows.flatMap((t) => this.features.map((f) => x.data[t * x.cols + f]))), rows: rows.length, cols: this.features.length });
    const z = this.#project(x);
    const cut = Math.floor(rows.length * (1 - o.validationShare));
    const fitRows = rows.slice(0, cut);
    const validRows = rows.slice(cut);
    const model = lstmNetwork(tf, o, this.features.length, this.numClass);
    const initial = forwardWeights(model)!;
    let sampleWeight: Float64Array | undefined;
    if (classWeight) {
      sampleWeight = new Float64Array(labels.length);
      for (const t of fitRows) {
        const weight = classWeight[labels[t]];
        if (weight === undefined) throw new OitraderError(`classWeight has no weight for class ${labels[t]}, which the training rows contain`);
        sampleWeight[t] = weight;
      }
    }
    const trainer = new LstmTrainer(initial, z, { lookback: o.lookback, batchSize: o.batchSize, learningRate: o.learningRate });
    const probs = new Float64Array(validRows.length * this.numClass);
    let best = Number.POSITIVE_INFINITY;
    let bestWeights: LstmWeights | undefined;
    let sinceBest = 0;
    for (let epoch = 0; epoch < o.epochs && sinceBest < o.patience; epoch++) {
      trainer.epoch(fitRows, labels, sampleWeight);
      lstmForward(trainer.weights, z, validRows, o.lookback, probs);
      let loss = 0;
      validRows.forEach((t, i) => (loss -= Math.log(Math.max(probs[i * this.numClass + labels[t]], 1e-15))));
      loss /= validRows.length;
      if (loss < best - 1e-6) {
        best = loss;
        sinceBest = 0;
        bestWeights = copyWeights(trainer.weights);
      } else sinceBest++;
    }
    const trained = bestWeights ?? trainer.weights;
    const shapes = model.getWeights().map((w) => w.shape);
    const tensors = [trained.kernel, trained.recurrent, trained.bias, trained.dense, trained.denseBias].map((a, i) => tf.tensor(Float32Array.from(a), shapes[i]));
    model.setWeights(tensors);
    tf.dispose(tensors);
    this.#model?.dispose();
    this.#model = model;
    this.#weights = forwardWeights(model);
    return this;
  }

  #checkRows(rows: ArrayLike<number>): void {
    if (!this.#model) throw new OitraderError('the LSTM is not trained');
    for (let i = 0; i < rows.length; i++) if (rows[i] < this.options.lookback - 1) throw new OitraderError(`row ${rows[i]} has fewer than ${this.options.lookback} bars of history`);
  }

  /**
   * Probabilities for `rows` of the time-ordered table x (each needs `lookback`
   * earlier rows in x), by the plain-array forward pass (lstm-forward.ts):
   * each bar's input projection is shared by the windows that hold it, and
   * no tensor is made (bench/training: ~6,500 rows/s through tfjs).
   */
  async predictProba(x: Matrix, rows: ArrayLike<number>): Promise<Float64Array> {
    this.#checkRows(rows);
    if (!this.#weights) return this.networkProba(x, rows);
    const out = new Float64Array(rows.length * this.numClass);
    lstmForward(this.#weights, this.#project(x), rows, this.options.lookback, out);
    return out;
  }

  /**
   * The same probabilities through tfjs's own layers (what the network was
   * trained with): the reference the forward pass is tested against. Rows go
   * through in chunks of PREDICT_CHUNK, each one batch: tfjs's `predict` runs
   * 32-row batches inside one tidy scope, which measured superlinear (2,000
   * rows 0.85 s, 8,000 rows 9.3 s).
   */
  async networkProba(x: Matrix, rows: ArrayLike<number>): Promise<Float64Array> {
    this.#checkRows(rows);
    const model = this.#model!;
    const tf = await tensorflow();
    const z = this.#project(x);
    const out = new Float64Array(rows.length * this.numClass);
    const chunkRows = new Int32Array(PREDICT_CHUNK);
    for (let start = 0; start < rows.length; start += PREDICT_CHUNK) {
      const n = Math.min(PREDICT_CHUNK, rows.length - start);
      for (let i = 0; i < n; i++) chunkRows[i] = rows[start + i];
      const xs = this.#sequences(tf, z, this.features.length, chunkRows.subarray(0, n));
      try {
        const probs = tf.tidy(() => (model.predictOnBatch(xs) as TF.Tensor).dataSync());
        out.set(probs, start * this.numClass);
      } finally {
        xs.dispose();
      }
    }
    return out;
  }

  async toJSON(): Promise<LstmJson> {
    if (!this.#model) throw new OitraderError('the LSTM is not trained');
    const tf = await tensorflow();
    let saved: TF.io.ModelArtifacts | undefined;
    await this.#model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }));
    const weights = Buffer.from(saved!.weightData as ArrayBuffer).toString('base64');
    return { format: 'oitrader-lstm' as const, version: 1 as const, options: this.options, features: this.features, mean: Array.from(this.scaler.mean), scale: Array.from(this.scaler.scale), topology: saved!.modelTopology as object, weightSpecs: saved!.weightSpecs ?? [], weights };
  }

  static async fromJSON(json: LstmJson): Promise<LstmClassifier> {
    if (json?.format !== 'oitrader-lstm' || json.version !== 1) throw new OitraderError('not an oitrader LSTM model (version 1)');
    const tf = await tensorflow();
    const model = new LstmClassifier(json.options);
    model.features = json.features;
    model.scaler.mean = Float64Array.from(json.mean);
    model.scaler.scale = Float64Array.from(json.scale);
    const bytes = Buffer.from(json.weights, 'base64');
    model.#model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.topology, weightSpecs: json.weightSpecs, weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }));
    model.#weights = forwardWeights(model.#model);
    return model;
  }

  dispose(): void {
    this.#model?.dispose();
    this.#model = undefined;
    this.#weights = undefined;
  }
}

/**
 * The network `fit` trains, as tfjs layers: an LSTM (tfjs defaults: tanh,
 * hard-sigmoid gates, unit forget bias) with seeded Glorot-uniform kernels,
 * then a softmax dense layer, compiled as tfjs would train it (Adam, sparse
 * categorical cross-entropy). Its initial weights are where training starts,
 * and it carries the trained weights for saving and for networkProba.
 */
export function lstmNetwork(tf: typeof TF, o: LstmOptions, inputs: number, classes: number): TF.Sequential {
  // Fixed names: tfjs numbers unnamed layers per process, and the saved model must not depend on what ran before it.
  const model = tf.sequential({ name: 'oitrader_lstm' });
  model.add(tf.layers.lstm({ name: 'lstm', units: o.units, inputShape: [o.lookback, inputs], kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 1 }), recurrentInitializer: tf.initializers.glorotUniform({ seed: o.seed + 2 }) }));
  model.add(tf.layers.dense({ name: 'probabilities', units: classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 3 }) }));
  model.compile({ optimizer: tf.train.adam(o.learningRate), loss: 'sparseCategoricalCrossentropy' });
  return model;
}

/**
 * The weights of the network `fit` builds (LSTM with tanh and hard-sigmoid
 * gates, bias, no dropout; dense softmax) as lstmForward reads them;
 * undefined for any other layout, which then predicts through tfjs.
 */
export function forwardWeights(model: TF.LayersModel): LstmWeights | undefined {
  const [lstm, dense] = model.layers;
  if (model.layers.length !== 2 || lstm.getClassName() !== 'LSTM' || dense.getClassName() !== 'Dense') return undefined;
  const l = lstm.getConfig();
  const d = dense.getConfig();
  const plain = l.activation === 'tanh' && l.recurrentActivation === 'hardSigmoid' && l.useBias === true && !l.dropout && !l.recurrentDropout && !l.returnSequences && !l.goBackwards && !l.stateful;
  if (!plain || d.activation !== 'softmax' || d.useBias !== true) return undefined;
  const [kernel, recurrent, bias] = lstm.getWeights().map((t) => Float64Array.from(t.dataSync()));
  const [denseKernel, denseBias] = dense.getWeights().map((t) => Float64Array.from(t.dataSync()));
  const units = l.units as number;
  return { inputs: kernel.length / (4 * units), units, classes: denseBias.length, kernel, recurrent, bias, dense: denseKernel, denseBias };
}
