/**
 * Training of the classifier's network (the layout lstm-forward.ts reads:
 * one Keras/tfjs LSTM layer with tanh and hard-sigmoid gates, then a softmax
 * dense layer) by backpropagation through time and Adam, hand-written on
 * typed arrays: tfjs's WASM backend trained it at ~1,100 samples/s, 80 % of
 * `oitrader train`'s 7 min 28 s on the real set. What tfjs's `model.fit`
 * does, reproduced (lstm-train.test.ts checks it against tfjs itself):
 * - loss: sparse categorical cross-entropy as tfjs-layers computes it
 *   (probabilities clipped to [1e-7, 1 − 1e-7], renormalised, clipped
 *   again; gradients stop where a clip binds), times the sample's class
 *   weight, averaged over the batch (weighted sum / batch size);
 * - Adam as tf.train.adam: β1 0.9, β2 0.999, ε 1e-7 (the float32 backend's
 *   epsilon), bias-corrected moments;
 * - batches in the given row order, the last one short, no shuffling.
 * The fast path works in float32 as tfjs does and reuses the inference
 * kernels (lstm-simd.ts): the input projection z·W + b once per distinct bar
 * of a batch (its windows overlap), the recurrence and gates per step, then
 * backward a SIMD kernel for the gates and the same matrix-product kernel for
 * dh = da·Uᵀ, dU = Σ hᵀ·da and dW = Σ zᵀ·dp. `lossAndGradient` is the plain
 * float64 reference the fast path is tested against (and the fallback where
 * WebAssembly SIMD is missing or the units are not a multiple of 8).
 */
import { hardSigmoid, hardSigmoidSlope, scalarKernel, type LstmWeights } from './lstm-forward.ts';
import { gemmKernel, kernelMemory, SIMD_GATE_COLUMNS, type GemmKernel } from './lstm-simd.ts';

/** tfjs-layers' epsilon() on a float32 backend: the loss's probability clip and Adam's ε. */
const EPSILON = 1e-7;
const BETA1 = 0.9;
const BETA2 = 0.999;

export interface TrainOptions {
  lookback: number;
  batchSize: number;
  learningRate: number;
  /** Use the float32 WebAssembly SIMD path where it can run (default true; false: the float64 reference, for tests). */
  simd?: boolean;
}

/** A batch of windows: the rows they end at, with labels and sample weights indexed like z's rows (undefined weights: 1). */
export interface Batch {
  rows: ArrayLike<number>;
  labels: ArrayLike<number>;
  sampleWeight?: ArrayLike<number>;
}

export function copyWeights(w: LstmWeights): LstmWeights {
  return { ...w, kernel: w.kernel.slice(), recurrent: w.recurrent.slice(), bias: w.bias.slice(), dense: w.dense.slice(), denseBias: w.denseBias.slice() };
}

function zeroWeights(w: LstmWeights): LstmWeights {
  const zero = (a: Float64Array) => new Float64Array(a.length);
  return { ...w, kernel: zero(w.kernel), recurrent: zero(w.recurrent), bias: zero(w.bias), dense: zero(w.dense), denseBias: zero(w.denseBias) };
}

const parts = (w: LstmWeights) => [w.kernel, w.recurrent, w.bias, w.dense, w.denseBias];

/**
 * The dense softmax head and its loss for one window from its last hidden
 * state h (at hAt): adds scale·∂loss/∂(dense, denseBias) into grad, writes
 * scale·∂loss/∂h to dh (at dhAt) and returns the window's unweighted loss.
 */
function headBackward(w: LstmWeights, h: ArrayLike<number>, hAt: number, label: number, scale: number, grad: LstmWeights, dh: { [i: number]: number }, dhAt: number, p: Float64Array, dp: Float64Array): number {
  const { units, classes, dense, denseBias } = w;
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < classes; k++) {
    let acc = denseBias[k];
    for (let u = 0; u < units; u++) acc += h[hAt + u] * dense[u * classes + k];
    p[k] = acc;
    max = Math.max(max, acc);
  }
  let sum = 0;
  for (let k = 0; k < classes; k++) sum += p[k] = Math.exp(p[k] - max);
  for (let k = 0; k < classes; k++) p[k] /= sum;
  const clip = (v: number) => Math.min(Math.max(v, EPSILON), 1 - EPSILON);
  let total = 0;
  for (let k = 0; k < classes; k++) total += clip(p[k]);
  const q = clip(p[label]);
  const r = q / total;
  const loss = -Math.log(clip(r));
  // ∂loss/∂p through both clips and the renormalisation, then through the softmax.
  const open = r >= EPSILON && r <= 1 - EPSILON;
  let dot = 0;
  for (let k = 0; k < classes; k++) {
    const inside = p[k] >= EPSILON && p[k] <= 1 - EPSILON;
    dp[k] = open && inside ? (k === label ? -1 / q : 0) + 1 / total : 0;
    dot += dp[k] * p[k];
  }
  for (let u = 0; u < units; u++) dh[dhAt + u] = 0;
  for (let k = 0; k < classes; k++) {
    const dz = scale * p[k] * (dp[k] - dot);
    grad.denseBias[k] += dz;
    for (let u = 0; u < units; u++) {
      grad.dense[u * classes + k] += dz * h[hAt + u];
      dh[dhAt + u] += dz * dense[u * classes + k];
    }
  }
  return loss;
}

/**
 * The batch's loss (class-weighted, mean over its windows) and its gradient
 * into grad, in float64, one window at a time: the reference the float32
 * path is checked against, and the finite-difference test's subject.
 */
export function lossAndGradient(w: LstmWeights, z: Float64Array, lookback: number, batch: Batch, grad: LstmWeights): number {
  const { inputs, units, kernel, recurrent, bias } = w;
  const gates = 4 * units;
  const { rows, labels, sampleWeight } = batch;
  for (const g of parts(grad)) g.fill(0);
  const hs = new Float64Array((lookback + 1) * units);
  const cs = new Float64Array((lookback + 1) * units);
  const as = new Float64Array(lookback * gates);
  const dh = new Float64Array(units);
  const dc = new Float64Array(units);
  const da = new Float64Array(gates);
  const p = new Float64Array(w.classes);
  const dp = new Float64Array(w.classes);
  let loss = 0;
  for (let i = 0; i < rows.length; i++) {
    const from = rows[i] - lookback + 1;
    for (let s = 0; s < lookback; s++) {
      const a = as.subarray(s * gates, (s + 1) * gates);
      a.set(bias);
      for (let k = 0; k < inputs; k++) for (let g = 0; g < gates; g++) a[g] += z[(from + s) * inputs + k] * kernel[k * gates + g];
      for (let j = 0; j < units; j++) for (let g = 0; g < gates; g++) a[g] += hs[s * units + j] * recurrent[j * gates + g];
      for (let u = 0; u < units; u++) {
        const c = hardSigmoid(a[units + u]) * cs[s * units + u] + hardSigmoid(a[u]) * Math.tanh(a[2 * units + u]);
        cs[(s + 1) * units + u] = c;
        hs[(s + 1) * units + u] = hardSigmoid(a[3 * units + u]) * Math.tanh(c);
      }
    }
    const weight = sampleWeight ? sampleWeight[rows[i]] : 1;
    loss += weight * headBackward(w, hs, lookback * units, labels[rows[i]], weight / rows.length, grad, dh, 0, p, dp);
    dc.fill(0);
    for (let s = lookback - 1; s >= 0; s--) {
      const a = as.subarray(s * gates, (s + 1) * gates);
      for (let u = 0; u < units; u++) {
        const tc = Math.tanh(cs[(s + 1) * units + u]);
        const g = Math.tanh(a[2 * units + u]);
        const dcs = dc[u] + dh[u] * hardSigmoid(a[3 * units + u]) * (1 - tc * tc);
        da[3 * units + u] = dh[u] * tc * hardSigmoidSlope(a[3 * units + u]);
        da[2 * units + u] = dcs * hardSigmoid(a[u]) * (1 - g * g);
        da[u] = dcs * g * hardSigmoidSlope(a[u]);
        da[units + u] = dcs * cs[s * units + u] * hardSigmoidSlope(a[units + u]);
        dc[u] = dcs * hardSigmoid(a[units + u]);
      }
      for (let g = 0; g < gates; g++) grad.bias[g] += da[g];
      for (let k = 0; k < inputs; k++) for (let g = 0; g < gates; g++) grad.kernel[k * gates + g] += z[(from + s) * inputs + k] * da[g];
      for (let j = 0; j < units; j++) {
        let acc = 0;
        for (let g = 0; g < gates; g++) {
          grad.recurrent[j * gates + g] += hs[s * units + j] * da[g];
          acc += da[g] * recurrent[j * gates + g];
        }
        dh[j] = acc;
      }
    }
  }
  return loss / rows.length;
}

/** Byte addresses (or, in `create`, float counts) of the regions of SimdGradient's memory. */
type Layout = Record<'u' | 'ut' | 'w' | 'bias' | 'zero' | 'idxZero' | 'idxBias' | 'idxDu' | 'idx' | 'z' | 'zt' | 'p' | 'h' | 'c' | 'a' | 'da' | 'dh' | 'dc' | 'ht' | 'du' | 'dp' | 'dw', number>;

/**
 * The float32 gradient of one batch at a time in WebAssembly memory, laid
 * out once for the largest batch. Per batch: the distinct bars its windows
 * read get one projection row each (a batch of 64 consecutive rows reads
 * 95 bars, not 64 × 32).
 */
class SimdGradient {
  readonly #inputs: number;
  readonly #units: number;
  readonly #lookback: number;
  readonly #f: Float32Array;
  readonly #idx: Int32Array;
  readonly #kernel: GemmKernel;
  /** dh = da·Uᵀ is units wide: the SIMD product needs a multiple of SIMD_GATE_COLUMNS, else the scalar one runs it. */
  readonly #dhKernel: GemmKernel;
  readonly #at: Layout;
  readonly #stamp: Int32Array;
  readonly #slotOf: Int32Array;
  readonly #barOf: Int32Array;
  #stampNow = 0;
  readonly #p: Float64Array;
  readonly #dp: Float64Array;

  constructor(kernel: GemmKernel, memory: { buffer: ArrayBuffer }, at: Layout, inputs: number, units: number, lookback: number, maxBatch: number, bars: number, classes: number) {
    this.#kernel = kernel;
    this.#dhKernel = units % SIMD_GATE_COLUMNS === 0 ? kernel : scalarKernel(memory);
    this.#f = new Float32Array(memory.buffer);
    this.#idx = new Int32Array(memory.buffer);
    this.#at = at;
    this.#inputs = inputs;
    this.#units = units;
    this.#lookback = lookback;
    this.#stamp = new Int32Array(bars);
    this.#slotOf = new Int32Array(bars);
    this.#barOf = new Int32Array(maxBatch * lookback);
    this.#p = new Float64Array(classes);
    this.#dp = new Float64Array(classes);
  }

  /** Undefined where WebAssembly SIMD is missing or the units are not a multiple of 8. */
  static create(w: LstmWeights, lookback: number, maxBatch: number, bars: number): SimdGradient | undefined {
    const { inputs, units } = w;
    const gates = 4 * units;
    if (gates % SIMD_GATE_COLUMNS !== 0) return undefined;
    const windows = maxBatch * lookback;
    const sizes: Layout = { u: units * gates, ut: gates * units, w: inputs * gates, bias: gates, zero: gates, idxZero: Math.max(maxBatch, units, inputs), idxBias: windows, idxDu: units, idx: windows, z: windows * inputs, zt: inputs * windows, p: windows * gates, h: (lookback + 1) * maxBatch * units, c: (lookback + 1) * maxBatch * units, a: windows * gates, da: windows * gates, dh: maxBatch * units, dc: maxBatch * units, ht: units * maxBatch, du: units * gates, dp: windows * gates, dw: inputs * gates };
    const at = { ...sizes };
    let top = 0;
    for (const [key, floats] of Object.entries(sizes) as [keyof Layout, number][]) {
      at[key] = top;
      top += Math.ceil(floats / 4) * 16;
    }
    const memory = kernelMemory(top);
    const kernel = gemmKernel(memory);
    if (!kernel) return undefined;
    const g = new SimdGradient(kernel, memory, at, inputs, units, lookback, maxBatch, bars, w.classes);
    g.#idx.fill(at.zero, at.idxZero / 4, at.idxZero / 4 + sizes.idxZero);
    g.#idx.fill(at.bias, at.idxBias / 4, at.idxBias / 4 + sizes.idxBias);
    for (let j = 0; j < units; j++) g.#idx[at.idxDu / 4 + j] = at.du + j * gates * 4;
    return g;
  }

  /** Same contract as lossAndGradient, in float32. */
  lossAndGradient(w: LstmWeights, z: Float64Array, batch: Batch, grad: LstmWeights): number {
    const inputs = this.#inputs;
    const units = this.#units;
    const lookback = this.#lookback;
    const gates = 4 * units;
    const f = this.#f;
    const idx = this.#idx;
    const at = this.#at;
    const k = this.#kernel;
    const { rows, labels, sampleWeight } = batch;
    const n = rows.length;
    f.set(w.recurrent, at.u / 4);
    for (let j = 0; j < units; j++) for (let g = 0; g < gates; g++) f[at.ut / 4 + g * units + j] = w.recurrent[j * gates + g];
    f.set(w.kernel, at.w / 4);
    f.set(w.bias, at.bias / 4);
    // The distinct bars the windows read, each with a projection row p = z·W + b.
    const stamp = ++this.#stampNow;
    let bars = 0;
    for (let i = 0; i < n; i++) {
      for (let s = 0; s < lookback; s++) {
        const bar = rows[i] - lookback + 1 + s;
        if (this.#stamp[bar] !== stamp) {
          this.#stamp[bar] = stamp;
          this.#slotOf[bar] = bars;
          this.#barOf[bars++] = bar;
        }
        idx[at.idx / 4 + s * n + i] = at.p + this.#slotOf[bar] * gates * 4;
      }
    }
    for (let b = 0; b < bars; b++) {
      const from = this.#barOf[b] * inputs;
      for (let q = 0; q < inputs; q++) {
        const v = z[from + q];
        f[at.z / 4 + b * inputs + q] = v;
        f[at.zt / 4 + q * bars + b] = v;
      }
    }
    k.gemm(bars, inputs, gates * 4, at.w, at.idxBias, at.z, at.p);
    // Forward: slot s of h and c holds the state before step s (slot 0: zeros).
    const hRow = n * units * 4;
    const aRow = n * gates * 4;
    f.fill(0, at.h / 4, at.h / 4 + n * units);
    f.fill(0, at.c / 4, at.c / 4 + n * units);
    for (let s = 0; s < lookback; s++) {
      k.gemm(n, units, gates * 4, at.u, at.idx + s * n * 4, at.h + s * hRow, at.a + s * aRow);
      f.copyWithin((at.c + (s + 1) * hRow) / 4, (at.c + s * hRow) / 4, (at.c + (s + 1) * hRow) / 4);
      k.gates(n, units, gates * 4, at.a + s * aRow, at.h + (s + 1) * hRow, at.c + (s + 1) * hRow);
    }
    grad.dense.fill(0);
    grad.denseBias.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const weight = sampleWeight ? sampleWeight[rows[i]] : 1;
      loss += weight * headBackward(w, f, (at.h + lookback * hRow) / 4 + i * units, labels[rows[i]], weight / n, grad, f, at.dh / 4 + i * units, this.#p, this.#dp);
    }
    f.fill(0, at.dc / 4, at.dc / 4 + n * units);
    f.fill(0, at.du / 4, at.du / 4 + units * gates);
    for (let s = lookback - 1; s >= 0; s--) {
      k.gatesBackward(n, units, gates * 4, at.a + s * aRow, at.c + s * hRow, at.c + (s + 1) * hRow, at.dh, at.dc, at.da + s * aRow);
      if (s === 0) break; // h before step 0 is zero: no dU, and no dh to carry further
      this.#dhKernel.gemm(n, gates, units * 4, at.ut, at.idxZero, at.da + s * aRow, at.dh);
      // dU += h_(s−1)ᵀ·da_s, while da_s is in cache (the product wants hᵀ: units × n).
      for (let i = 0; i < n; i++) {
        const from = (at.h + s * hRow) / 4 + i * units;
        for (let j = 0; j < units; j++) f[at.ht / 4 + j * n + i] = f[from + j];
      }
      k.gemm(units, n, gates * 4, at.da + s * aRow, at.idxDu, at.ht, at.du);
    }
    // dW = Σ_bars zᵀ·dp, dp being the sum of da over the (window, step)s that read the bar.
    const dp = at.dp / 4;
    f.fill(0, dp, dp + bars * gates);
    k.addRows(lookback * n, gates * 4, at.idx, at.dp - at.p, at.da);
    k.gemm(inputs, bars, gates * 4, at.dp, at.idxZero, at.zt, at.dw);
    grad.bias.fill(0);
    for (let b = 0; b < bars; b++) for (let g = 0; g < gates; g++) grad.bias[g] += f[dp + b * gates + g];
    grad.kernel.set(f.subarray(at.dw / 4, at.dw / 4 + inputs * gates));
    grad.recurrent.set(f.subarray(at.du / 4, at.du / 4 + units * gates));
    return loss / n;
  }
}

/**
 * Adam over the network's weights, one batch per step, from `initial`
 * (copied). z holds every bar the windows read (bars × inputs, projected
 * and standardised, as lstmForward takes it).
 */
export class LstmTrainer {
  readonly weights: LstmWeights;
  readonly #options: TrainOptions;
  readonly #z: Float64Array;
  readonly #grad: LstmWeights;
  readonly #m: Float64Array[];
  readonly #v: Float64Array[];
  #beta1Power = 1;
  #beta2Power = 1;
  readonly #simd: SimdGradient | undefined;

  constructor(initial: LstmWeights, z: Float64Array, options: TrainOptions) {
    this.weights = copyWeights(initial);
    this.#options = options;
    this.#z = z;
    this.#grad = zeroWeights(initial);
    this.#m = parts(initial).map((a) => new Float64Array(a.length));
    this.#v = parts(initial).map((a) => new Float64Array(a.length));
    this.#simd = options.simd === false ? undefined : SimdGradient.create(initial, options.lookback, options.batchSize, z.length / initial.inputs);
  }

  /** The gradient the next step would take on `batch` (into a fresh copy), and the batch's loss. */
  gradient(batch: Batch): { loss: number; grad: LstmWeights } {
    const loss = this.#lossAndGradient(batch);
    return { loss, grad: copyWeights(this.#grad) };
  }

  #lossAndGradient(batch: Batch): number {
    if (batch.rows.length > this.#options.batchSize) throw new RangeError(`batch of ${batch.rows.length} rows exceeds batchSize ${this.#options.batchSize}`);
    return this.#simd ? this.#simd.lossAndGradient(this.weights, this.#z, batch, this.#grad) : lossAndGradient(this.weights, this.#z, this.#options.lookback, batch, this.#grad);
  }

  /** One Adam step on one batch; returns the batch's loss before the step. */
  step(batch: Batch): number {
    const loss = this.#lossAndGradient(batch);
    const lr = this.#options.learningRate;
    this.#beta1Power *= BETA1;
    this.#beta2Power *= BETA2;
    const weights = parts(this.weights);
    const grads = parts(this.#grad);
    for (let part = 0; part < weights.length; part++) {
      const [w, g, m, v] = [weights[part], grads[part], this.#m[part], this.#v[part]];
      for (let j = 0; j < w.length; j++) {
        m[j] = BETA1 * m[j] + (1 - BETA1) * g[j];
        v[j] = BETA2 * v[j] + (1 - BETA2) * g[j] * g[j];
        w[j] -= (lr * (m[j] / (1 - this.#beta1Power))) / (Math.sqrt(v[j] / (1 - this.#beta2Power)) + EPSILON);
      }
    }
    return loss;
  }

  /** One pass over `rows` in order, batchSize windows per step; returns the mean of the batches' losses. */
  epoch(rows: ArrayLike<number>, labels: ArrayLike<number>, sampleWeight?: ArrayLike<number>): number {
    const all = Int32Array.from(rows);
    const { batchSize } = this.#options;
    let loss = 0;
    let batches = 0;
    for (let start = 0; start < all.length; start += batchSize, batches++) loss += this.step({ rows: all.subarray(start, start + batchSize), labels, sampleWeight });
    return loss / batches;
  }
}
