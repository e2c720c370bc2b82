import { OitraderError } from '@oitrader/core';
import { binFeatures } from './binning.ts';
import { growTree, type GrowPolicy } from './grow.ts';
import type { Histogram } from './histogram.ts';
import { ParallelHistogramBuilder } from './parallel-histogram.ts';
import { kernelFitMemory, type KernelFitMemory } from './kernels.ts';
import { seededRandom, type Matrix } from './matrix.ts';
import { quantisation, quantiseGradients } from './quantise.ts';
import { evalLoss, gradients, sigmoid, softmax, type ObjectiveName } from './objectives.ts';
import { compileForest, forestMargins, type Forest } from './forest.ts';
import { ForestKernel } from './forest-kernel.ts';
import { leafIndex, type Tree } from './tree.ts';
import { treeShap } from './tree-shap.ts';

/**
 * Histogram gradient boosting, ours because no maintained gradient-boosting
 * trainer exists for TypeScript (only toy packages and scorers). Parameter
 * names follow XGBoost; docs/gbdt.md maps them to LightGBM and CatBoost.
 */
export interface GbdtParams {
  objective: ObjectiveName;
  growPolicy: GrowPolicy;
  nEstimators: number;
  learningRate: number;
  /** depthwise/oblivious: tree depth; leafwise: optional cap (0 = none). */
  maxDepth: number;
  /** leafwise: maximum leaves per tree. */
  numLeaves: number;
  /** L2 regularisation on leaf values. */
  lambda: number;
  /** Minimum loss reduction to split. */
  gamma: number;
  minChildWeight: number;
  minDataInLeaf: number;
  /** Row subsampling per round. */
  subsample: number;
  /** Feature subsampling per tree. */
  colsampleBytree: number;
  maxBins: number;
  /** Stop when the eval loss has not improved for this many rounds (0 = never). */
  earlyStoppingRounds: number;
  seed: number;
  /** 2 = build large histograms on both cores (a worker thread); 1 = this thread only. The same model bytes either way (histogram sums are exact integers). */
  nThreads: number;
}

export const DEFAULT_PARAMS: GbdtParams = {
  objective: 'multiclass',
  growPolicy: 'depthwise',
  nEstimators: 100,
  learningRate: 0.1,
  maxDepth: 6,
  numLeaves: 31,
  lambda: 1,
  gamma: 0,
  minChildWeight: 1,
  minDataInLeaf: 1,
  subsample: 1,
  colsampleBytree: 1,
  maxBins: 255,
  earlyStoppingRounds: 0,
  seed: 0,
  nThreads: 2,
};

export interface FitOptions {
  eval?: [Matrix, ArrayLike<number>];
  sampleWeight?: ArrayLike<number>;
  evalWeight?: ArrayLike<number>;
  featureNames?: string[];
}

export interface GbdtModelJson {
  format: 'oitrader-gbdt';
  version: 1;
  params: GbdtParams;
  numFeatures: number;
  numClass: number;
  baseScore: number[];
  featureNames: string[] | null;
  bestIteration: number;
  evalHistory: number[];
  trees: Array<{ left: number[]; right: number[]; feature: number[]; threshold: number[]; defaultLeft: number[]; value: number[]; cover: number[]; gain: number[] }>;
}

export class GradientBoostedTrees {
  readonly params: GbdtParams;
  trees: Tree[] = [];
  /** Margin per class before any tree. */
  baseScore: Float64Array = new Float64Array(1);
  numClass = 1;
  numFeatures = 0;
  featureNames: string[] | undefined;
  bestIteration = -1;
  evalHistory: number[] = [];

  constructor(params: Partial<GbdtParams> = {}) {
    this.params = { ...DEFAULT_PARAMS, ...params };
    const p = this.params;
    if (!(p.learningRate > 0) || !(p.nEstimators >= 1) || !(p.subsample > 0 && p.subsample <= 1) || !(p.colsampleBytree > 0 && p.colsampleBytree <= 1) || !(p.maxBins >= 2 && p.maxBins <= 255)) {
      throw new OitraderError('invalid GBDT parameters', { hint: 'learningRate > 0, nEstimators >= 1, subsample and colsampleBytree in (0, 1], maxBins in [2, 255]' });
    }
  }

  /** Trees per boosting round: one per class for multiclass, else one. */
  get treesPerRound(): number {
    return this.params.objective === 'multiclass' ? this.numClass : 1;
  }

  fit(x: Matrix, labels: ArrayLike<number>, options: FitOptions = {}): this {
    const p = this.params;
    const y = this.#checkLabels(labels, x.rows, 'training');
    this.numFeatures = x.cols;
    this.featureNames = options.featureNames;
    if (options.featureNames && options.featureNames.length !== x.cols) throw new OitraderError(`${options.featureNames.length} feature names for ${x.cols} columns`);
    const weight = options.sampleWeight ? this.#checkWeights(options.sampleWeight, x.rows) : undefined;
    const k = this.treesPerRound;
    this.baseScore = this.#initialScore(y, weight);
    const { cuts, columns: bins, rowBins } = binFeatures(x, p.maxBins);
    const binCounts = Int32Array.from(cuts, (c) => c.length + 1);
    let evalSet: { x: Matrix; y: Float64Array; weight?: Float64Array; margins: Float64Array } | undefined;
    if (options.eval) {
      const [ex, ey] = options.eval;
      if (ex.cols !== x.cols) throw new OitraderError(`eval set has ${ex.cols} features, training has ${x.cols}`);
      evalSet = { x: ex, y: this.#checkLabels(ey, ex.rows, 'eval'), weight: options.evalWeight ? this.#checkWeights(options.evalWeight, ex.rows) : undefined, margins: new Float64Array(ex.rows * k) };
      for (let i = 0; i < ex.rows; i++) for (let c = 0; c < k; c++) evalSet.margins[i * k + c] = this.baseScore[c];
    }
    const random = seededRandom(p.seed);
    // The WebAssembly kernels' memory (kernels.ts); without it (no WebAssembly SIMD here), the same fit in JavaScript.
    const memory = kernelFitMemory(rowBins, bins, x.rows);
    const parallel = p.nThreads >= 2 && x.rows >= 4096 ? new ParallelHistogramBuilder(rowBins, x.rows, x.cols, p.minDataInLeaf > 1, binCounts, p, memory) : undefined;
    try {
      this.#boost(x, y, weight, evalSet, memory?.columns ?? bins, memory?.rowBins ?? rowBins, cuts, binCounts, random, parallel, memory);
    } finally {
      parallel?.close();
      memory?.arena.release();
    }
    return this;
  }

  #boost(
    x: Matrix,
    y: Float64Array,
    weight: Float64Array | undefined,
    evalSet: { x: Matrix; y: Float64Array; weight?: Float64Array; margins: Float64Array } | undefined,
    bins: Uint8Array[],
    rowBins: Uint8Array,
    cuts: Float32Array[],
    binCounts: Int32Array,
    random: () => number,
    parallel: ParallelHistogramBuilder | undefined,
    memory: KernelFitMemory | undefined,
  ): void {
    const p = this.params;
    const k = this.treesPerRound;
    const margins = new Float64Array(x.rows * k);
    for (let i = 0; i < x.rows; i++) for (let c = 0; c < k; c++) margins[i * k + c] = this.baseScore[c];
    const grad = memory?.grad ?? new Float64Array(x.rows);
    const hess = memory?.hess ?? new Float64Array(x.rows);
    const packed = parallel?.packed ?? memory?.packed ?? new Float64Array(x.rows);
    const q = quantisation(x.rows);
    // Stochastic rounding has its own stream so row and feature sampling stay as they were.
    const roundingRandom = seededRandom((p.seed ^ 0x5bd1e995) >>> 0);
    const probs = new Float64Array(x.rows * k);
    const order = parallel?.order ?? memory?.order ?? new Uint32Array(x.rows);
    const pool: Histogram[] = [];
    const allFeatures = Int32Array.from({ length: x.cols }, (_, i) => i);
    this.trees = [];
    this.evalHistory = [];
    let bestLoss = Number.POSITIVE_INFINITY;
    this.bestIteration = -1;
    for (let round = 0; round < p.nEstimators; round++) {
      const sampled = new Uint32Array(x.rows);
      let count = 0;
      for (let i = 0; i < x.rows; i++) if (p.subsample >= 1 || random() < p.subsample) sampled[count++] = i;
      for (let c = 0; c < k; c++) {
        // Growing reorders `order`; each tree starts from the sampled rows in row order (sequential reads at the root).
        order.set(sampled.subarray(0, count));
        gradients(p.objective, margins, k, y, weight, c, grad, hess, probs);
        quantiseGradients(grad, hess, packed, q, roundingRandom);
        const features = p.colsampleBytree >= 1 ? allFeatures : sampleFeatures(x.cols, p.colsampleBytree, random);
        // With every row in the tree, its leaves' row ranges update the margins (no second walk down the tree).
        const everyRow = count === x.rows;
        const tree = growTree({ bins, rowBins, cuts, binCounts, grad, hess, packed, quantisation: q, counts: p.minDataInLeaf > 1, parallel, pool, arena: memory?.arena, kernel: memory?.kernel, scratch: memory?.scratch }, { ...p, policy: p.growPolicy }, order, count, features, everyRow ? (v, start, n) => {
          for (let i = start; i < start + n; i++) margins[order[i] * k + c] += v;
        } : undefined);
        this.trees.push(tree);
        if (!everyRow) for (let i = 0; i < x.rows; i++) margins[i * k + c] += tree.value[leafIndex(tree, x.data, i * x.cols)];
        if (evalSet) for (let i = 0; i < evalSet.x.rows; i++) evalSet.margins[i * k + c] += tree.value[leafIndex(tree, evalSet.x.data, i * x.cols)];
      }
      if (evalSet) {
        const loss = evalLoss(p.objective, evalSet.margins, k, evalSet.y, evalSet.weight);
        this.evalHistory.push(loss);
        if (loss < bestLoss - 1e-12) {
          bestLoss = loss;
          this.bestIteration = round;
        } else if (p.earlyStoppingRounds > 0 && round - this.bestIteration >= p.earlyStoppingRounds) {
          break;
        }
      }
    }
    if (evalSet && p.earlyStoppingRounds > 0) this.trees = this.trees.slice(0, (this.bestIteration + 1) * k);
    if (!evalSet) this.bestIteration = this.trees.length / k - 1;
  }

  #compiled: { trees: Tree[]; count: number; forest: Forest } | undefined;

  /** The trees flattened for prediction, rebuilt when `trees` changes. */
  #forest(): Forest {
    const c = this.#compiled;
    if (c && c.trees === this.trees && c.count === this.trees.length) return c.forest;
    const forest = compileForest(this.trees, this.treesPerRound);
    this.#compiled = { trees: this.trees, count: this.trees.length, forest };
    return forest;
  }

  /** Raw margins, rows × treesPerRound (before softmax/sigmoid). */
  predictMargin(x: Matrix): Float64Array {
    this.#checkInput(x);
    const k = this.treesPerRound;
    const out = new Float64Array(x.rows * k);
    for (let i = 0; i < x.rows; i++) for (let c = 0; c < k; c++) out[i * k + c] = this.baseScore[c];
    const forest = this.#forest();
    // The WebAssembly kernel on both cores where available (the same margins to the last bit), else JavaScript.
    if (!ForestKernel.get()?.margins(forest, x.data, x.rows, x.cols, out, k)) forestMargins(forest, x.data, x.rows, x.cols, out, k);
    return out;
  }

  /** Class probabilities, rows × numClass (binary: [P(0), P(1)]). */
  predictProba(x: Matrix): Float64Array {
    const margins = this.predictMargin(x);
    if (this.params.objective === 'regression') throw new OitraderError('predictProba needs a classification objective; use predict');
    if (this.params.objective === 'binary') {
      const out = new Float64Array(x.rows * 2);
      for (let i = 0; i < x.rows; i++) {
        const p = sigmoid(margins[i]);
        out[i * 2] = 1 - p;
        out[i * 2 + 1] = p;
      }
      return out;
    }
    const out = new Float64Array(margins.length);
    for (let i = 0; i < x.rows; i++) softmax(margins, i * this.numClass, this.numClass, out, i * this.numClass);
    return out;
  }

  /** Class index (classification) or value (regression) per row. */
  predict(x: Matrix): Float64Array {
    if (this.params.objective === 'regression') return this.predictMargin(x);
    const proba = this.predictProba(x);
    const k = this.params.objective === 'binary' ? 2 : this.numClass;
    const out = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (proba[i * k + c] > proba[i * k + best]) best = c;
      out[i] = best;
    }
    return out;
  }

  /** Per feature: total split gain ('gain'), number of splits ('split') or hessian cover ('cover'). */
  featureImportance(kind: 'gain' | 'split' | 'cover' = 'gain'): Float64Array {
    const out = new Float64Array(this.numFeatures);
    for (const tree of this.trees) {
      for (let n = 0; n < tree.left.length; n++) {
        if (tree.left[n] === -1) continue;
        out[tree.feature[n]] += kind === 'gain' ? tree.gain[n] : kind === 'split' ? 1 : tree.cover[n];
      }
    }
    return out;
  }

  /**
   * Exact path-dependent TreeSHAP contributions to the margin: rows ×
   * treesPerRound × (numFeatures + 1), the last entry being the expected
   * value; each row's contributions sum to its margin.
   */
  shap(x: Matrix): Float64Array {
    this.#checkInput(x);
    const k = this.treesPerRound;
    const width = this.numFeatures + 1;
    const out = new Float64Array(x.rows * k * width);
    const phi = new Float64Array(width);
    for (let i = 0; i < x.rows; i++) {
      for (let c = 0; c < k; c++) out[(i * k + c) * width + this.numFeatures] = this.baseScore[c];
      this.trees.forEach((tree, t) => {
        phi.fill(0);
        treeShap(tree, x.data, i * x.cols, phi, this.numFeatures);
        const base = (i * k + (t % k)) * width;
        for (let f = 0; f < width; f++) out[base + f] += phi[f];
      });
    }
    return out;
  }

  /** Mean |SHAP| per feature over the rows (summed over classes). */
  shapSummary(x: Matrix): Float64Array {
    const values = this.shap(x);
    const k = this.treesPerRound;
    const width = this.numFeatures + 1;
    const out = new Float64Array(this.numFeatures);
    for (let i = 0; i < x.rows; i++) for (let c = 0; c < k; c++) for (let f = 0; f < this.numFeatures; f++) out[f] += Math.abs(values[(i * k + c) * width + f]) / x.rows;
    return out;
  }

  toJSON(): GbdtModelJson {
    return {
      format: 'oitrader-gbdt',
      version: 1,
      params: this.params,
      numFeatures: this.numFeatures,
      numClass: this.numClass,
      baseScore: Array.from(this.baseScore),
      featureNames: this.featureNames ?? null,
      bestIteration: this.bestIteration,
      evalHistory: this.evalHistory,
      trees: this.trees.map((t) => ({
        left: Array.from(t.left),
        right: Array.from(t.right),
        feature: Array.from(t.feature),
        threshold: Array.from(t.threshold),
        defaultLeft: Array.from(t.defaultLeft),
        value: Array.from(t.value),
        cover: Array.from(t.cover),
        gain: Array.from(t.gain),
      })),
    };
  }

  static fromJSON(json: unknown): GradientBoostedTrees {
    const m = json as GbdtModelJson;
    if (m === null || typeof m !== 'object' || m.format !== 'oitrader-gbdt') throw new OitraderError('not an oitrader GBDT model (format field missing or wrong)');
    if (m.version !== 1) throw new OitraderError(`GBDT model version ${String(m.version)} is not supported by this build (expects 1)`);
    const model = new GradientBoostedTrees(m.params);
    model.numFeatures = m.numFeatures;
    model.numClass = m.numClass;
    model.baseScore = Float64Array.from(m.baseScore);
    model.featureNames = m.featureNames ?? undefined;
    model.bestIteration = m.bestIteration;
    model.evalHistory = m.evalHistory ?? [];
    if (model.baseScore.length !== model.treesPerRound) throw new OitraderError(`model has ${model.baseScore.length} base scores for ${model.treesPerRound} trees per round`);
    model.trees = m.trees.map((t, i) => validateTree(t, i, m.numFeatures));
    if (model.trees.length % model.treesPerRound !== 0) throw new OitraderError(`model has ${model.trees.length} trees, not a multiple of ${model.treesPerRound} per round`);
    return model;
  }

  #initialScore(y: Float64Array, weight?: Float64Array): Float64Array {
    const p = this.params;
    if (p.objective === 'multiclass') return new Float64Array(this.numClass);
    let s = 0;
    let w = 0;
    for (let i = 0; i < y.length; i++) {
      const wi = weight ? weight[i] : 1;
      s += y[i] * wi;
      w += wi;
    }
    const mean = s / w;
    // Start from the prior: the mean for regression, its log-odds for binary.
    return Float64Array.of(p.objective === 'binary' ? Math.log(Math.min(Math.max(mean, 1e-6), 1 - 1e-6) / (1 - Math.min(Math.max(mean, 1e-6), 1 - 1e-6))) : mean);
  }

  #checkLabels(labels: ArrayLike<number>, rows: number, what: string): Float64Array {
    if (labels.length !== rows) throw new OitraderError(`${what} labels: ${labels.length} values for ${rows} rows`);
    const y = Float64Array.from(labels);
    const objective = this.params.objective;
    let max = 0;
    for (let i = 0; i < y.length; i++) {
      const v = y[i];
      if (!Number.isFinite(v)) throw new OitraderError(`${what} label at row ${i} is ${v}`, { hint: 'drop unlabeled rows before fitting (never fill them)' });
      if (objective !== 'regression' && (!Number.isInteger(v) || v < 0)) throw new OitraderError(`${what} label at row ${i} is ${v}; classes must be 0, 1, 2, …`);
      if (objective === 'binary' && v > 1) throw new OitraderError(`${what} label at row ${i} is ${v}; binary labels are 0 or 1`);
      max = Math.max(max, v);
    }
    if (objective === 'multiclass') {
      if (what === 'training') this.numClass = Math.max(2, max + 1);
      else if (max >= this.numClass) throw new OitraderError(`${what} label ${max} is a class the training labels never had (classes 0..${this.numClass - 1})`);
    }
    return y;
  }

  #checkWeights(weights: ArrayLike<number>, rows: number): Float64Array {
    if (weights.length !== rows) throw new OitraderError(`${weights.length} sample weights for ${rows} rows`);
    const w = Float64Array.from(weights);
    for (let i = 0; i < w.length; i++) if (!(w[i] >= 0) || !Number.isFinite(w[i])) throw new OitraderError(`sample weight at row ${i} is ${w[i]}; weights must be finite and >= 0`);
    return w;
  }

  #checkInput(x: Matrix): void {
    if (this.trees.length === 0 && this.bestIteration === -1) throw new OitraderError('the model is not trained');
    if (x.cols !== this.numFeatures) throw new OitraderError(`input has ${x.cols} features, the model was trained on ${this.numFeatures}`);
  }
}

function sampleFeatures(count: number, fraction: number, random: () => number): Int32Array {
  const keep = Math.max(1, Math.round(count * fraction));
  const all = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return Int32Array.from(all.slice(0, keep).sort((a, b) => a - b));
}

function validateTree(t: GbdtModelJson['trees'][number], index: number, numFeatures: number): Tree {
  const n = t.left?.length ?? 0;
  const fields = ['right', 'feature', 'threshold', 'defaultLeft', 'value', 'cover', 'gain'] as const;
  if (n === 0) throw new OitraderError(`tree ${index} has no nodes`);
  for (const f of fields) if (!Array.isArray(t[f]) || t[f].length !== n) throw new OitraderError(`tree ${index}: field "${f}" must have ${n} entries`);
  const hasParent = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const isLeaf = t.left[i] === -1;
    if (isLeaf !== (t.right[i] === -1)) throw new OitraderError(`tree ${index} node ${i}: a node needs both children or none`);
    if (!isLeaf) {
      if (!(t.left[i] > i && t.left[i] < n && t.right[i] > i && t.right[i] < n)) throw new OitraderError(`tree ${index} node ${i}: child index out of range (children must come after their parent)`);
      if (!(t.feature[i] >= 0 && t.feature[i] < numFeatures)) throw new OitraderError(`tree ${index} node ${i}: feature ${t.feature[i]} is outside the model's ${numFeatures} features`);
      for (const child of [t.left[i], t.right[i]]) {
        if (hasParent[child]) throw new OitraderError(`tree ${index} node ${child} is the child of two splits: not a tree`);
        hasParent[child] = 1;
      }
    }
  }
  return {
    left: Int32Array.from(t.left),
    right: Int32Array.from(t.right),
    feature: Int32Array.from(t.feature),
    threshold: Float32Array.from(t.threshold),
    defaultLeft: Uint8Array.from(t.defaultLeft),
    value: Float64Array.from(t.value),
    cover: Float64Array.from(t.cover),
    gain: Float64Array.from(t.gain),
  };
}
