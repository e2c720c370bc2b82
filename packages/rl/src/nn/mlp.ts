import { seededRandom } from '@oitrader/ml';
import { layout, MlpKernel } from './mlp-kernel.ts';

/**
 * A dense tanh MLP on Float32Array with hand-written backward pass.
 *
 * Why not TensorFlow.js: PPO's update is thousands of tiny minibatches
 * (64 rows × 64 units); tfjs-wasm pays a per-op dispatch and tensor-allocation
 * cost that dominates at this size (bench/rl.ts measures both on the same
 * network, batch and epochs and prints the ratio; docs/benchmarks.md has the
 * figures). A plain loop over typed arrays has no such overhead.
 *
 * Layout: one flat parameter vector; layer l's weights are [in × out]
 * row-major (W[i·out + o]) followed by its bias [out]. Hidden layers are
 * tanh, the last layer linear.
 */
export class Mlp {
  readonly sizes: readonly number[];
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly #offsets: number[];
  /** Activations of every layer for the last forward batch (layer 0 = the input). */
  #acts: Float32Array[] = [];
  #deltas: Float32Array[] = [];
  #batch = 0;
  /** mlp.wat's kernels (the same float32 values as the loops below), and where parameters, gradients, activations and deltas sit in their memory. */
  readonly #kernel = MlpKernel.create();
  #at: { params: number; grads: number; acts: number[]; deltas: number[] } | undefined;
  /** Whether the last forward pass ran in the kernel (its activations are there for the backward pass). */
  #inKernel = false;

  constructor(sizes: readonly number[], seed: number, outputGain = 1) {
    if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`bad MLP layer sizes ${sizes.join('-')}`);
    this.sizes = [...sizes];
    this.#offsets = [];
    let total = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      this.#offsets.push(total);
      total += sizes[l] * sizes[l + 1] + sizes[l + 1];
    }
    this.params = new Float32Array(total);
    this.grads = new Float32Array(total);
    const random = seededRandom(seed);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    for (let l = 0; l + 1 < sizes.length; l++) {
      // Scaled normal init (≈ the orthogonal init of SB3 in scale): gain √2 for
      // hidden layers, `outputGain` for the last (0.01 for policy logits = near-uniform start).
      const last = l + 2 === sizes.length;
      const gain = last ? outputGain : Math.SQRT2;
      const std = gain / Math.sqrt(sizes[l]);
      const off = this.#offsets[l];
      for (let k = 0; k < sizes[l] * sizes[l + 1]; k++) this.params[off + k] = gaussian() * std;
    }
  }

  get inputSize(): number {
    return this.sizes[0];
  }

  get outputSize(): number {
    return this.sizes[this.sizes.length - 1];
  }

  #ensure(batch: number): void {
    if (this.#batch >= batch) return;
    this.#acts = this.sizes.map((s) => new Float32Array(s * batch));
    this.#deltas = this.sizes.map((s) => new Float32Array(s * batch));
    this.#batch = batch;
    if (this.#kernel) {
      const n = this.sizes.length;
      const at = layout([this.params.length, this.grads.length, ...this.sizes.map((s) => s * batch), ...this.sizes.map((s) => s * batch)]);
      this.#kernel.reserve(at[at.length - 1]);
      this.#at = { params: at[0], grads: at[1], acts: at.slice(2, 2 + n), deltas: at.slice(2 + n, 2 + 2 * n) };
    }
  }

  /** Forward pass over `batch` rows of `input` (row-major); the returned view is valid until the next call. */
  forward(input: Float32Array, batch: number): Float32Array {
    this.#ensure(batch);
    // Even one row is faster in the kernel, parameters copied in included (3.4 vs 11.3 µs for the 24-64-64-6 policy).
    this.#inKernel = this.#kernel !== undefined;
    if (this.#inKernel) return this.#forwardKernel(input, batch);
    const p = this.params;
    this.#acts[0].set(input.subarray(0, batch * this.sizes[0]));
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      const nIn = this.sizes[l];
      const nOut = this.sizes[l + 1];
      const x = this.#acts[l];
      const y = this.#acts[l + 1];
      const w = this.#offsets[l];
      const bias = w + nIn * nOut;
      const hidden = l + 2 < this.sizes.length;
      for (let b = 0; b < batch; b++) {
        const yRow = b * nOut;
        for (let o = 0; o < nOut; o++) y[yRow + o] = p[bias + o];
        const xRow = b * nIn;
        for (let i = 0; i < nIn; i++) {
          const xi = x[xRow + i];
          if (xi === 0) continue;
          const wRow = w + i * nOut;
          for (let o = 0; o < nOut; o++) y[yRow + o] += xi * p[wRow + o];
        }
        if (hidden) for (let o = 0; o < nOut; o++) y[yRow + o] = Math.tanh(y[yRow + o]);
      }
    }
    return this.#acts[this.sizes.length - 1].subarray(0, batch * this.outputSize);
  }

  #forwardKernel(input: Float32Array, batch: number): Float32Array {
    const k = this.#kernel!;
    const at = this.#at!;
    const L = this.sizes.length - 1;
    k.f32(at.params, this.params.length).set(this.params);
    k.f32(at.acts[0], batch * this.sizes[0]).set(input.subarray(0, batch * this.sizes[0]));
    for (let l = 0; l < L; l++) {
      const [nIn, nOut] = [this.sizes[l], this.sizes[l + 1]];
      const w = at.params + this.#offsets[l] * 4;
      k.exports.forward(at.acts[l], w, w + nIn * nOut * 4, at.acts[l + 1], batch, nIn, nOut);
      if (l + 1 < L) {
        const y = k.f32(at.acts[l + 1], batch * nOut);
        for (let j = 0; j < y.length; j++) y[j] = Math.tanh(y[j]);
      }
    }
    const out = this.#acts[L].subarray(0, batch * this.outputSize);
    out.set(k.f32(at.acts[L], batch * this.outputSize));
    return out;
  }

  #backwardKernel(gradOutput: Float32Array, batch: number): void {
    const k = this.#kernel!;
    const at = this.#at!;
    const L = this.sizes.length - 1;
    k.f32(at.params, this.params.length).set(this.params);
    const grads = k.f32(at.grads, this.grads.length);
    grads.set(this.grads);
    k.f32(at.deltas[L], batch * this.outputSize).set(gradOutput.subarray(0, batch * this.outputSize));
    for (let l = L - 1; l >= 0; l--) {
      const [nIn, nOut] = [this.sizes[l], this.sizes[l + 1]];
      const w = this.#offsets[l] * 4;
      k.exports.backward(at.acts[l], at.params + w, at.deltas[l + 1], at.deltas[l], at.grads + w, at.grads + w + nIn * nOut * 4, batch, nIn, nOut, l > 0 ? 1 : 0);
    }
    this.grads.set(k.f32(at.grads, this.grads.length));
  }

  /** Adds d(loss)/d(params) for the last forward batch, given d(loss)/d(output). */
  backward(gradOutput: Float32Array, batch: number): void {
    if (this.#inKernel) {
      this.#backwardKernel(gradOutput, batch);
      return;
    }
    const p = this.params;
    const g = this.grads;
    const L = this.sizes.length - 1;
    this.#deltas[L].set(gradOutput.subarray(0, batch * this.outputSize));
    for (let l = L - 1; l >= 0; l--) {
      const nIn = this.sizes[l];
      const nOut = this.sizes[l + 1];
      const x = this.#acts[l];
      const dy = this.#deltas[l + 1];
      const dx = this.#deltas[l];
      const w = this.#offsets[l];
      const bias = w + nIn * nOut;
      const needDx = l > 0;
      for (let b = 0; b < batch; b++) {
        const yRow = b * nOut;
        const xRow = b * nIn;
        for (let o = 0; o < nOut; o++) g[bias + o] += dy[yRow + o];
        for (let i = 0; i < nIn; i++) {
          const xi = x[xRow + i];
          const wRow = w + i * nOut;
          let sum = 0;
          for (let o = 0; o < nOut; o++) {
            const d = dy[yRow + o];
            g[wRow + o] += xi * d;
            sum += p[wRow + o] * d;
          }
          // tanh'(z) = 1 − tanh(z)²; x here is that hidden layer's output.
          if (needDx) dx[xRow + i] = sum * (1 - xi * xi);
        }
      }
    }
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }
}

/** Adam (Kingma & Ba) over one flat parameter vector. */
export class Adam {
  readonly #m: Float32Array;
  readonly #v: Float32Array;
  #t = 0;
  learningRate: number;

  /** mlp.wat's `adam` (the same float32 values as the loop below): params and grads are copied in, m and v live in its memory. */
  readonly #kernel: { k: MlpKernel; params: number; grads: number; m: number; v: number } | undefined;

  constructor(size: number, learningRate: number, readonly beta1 = 0.9, readonly beta2 = 0.999, readonly epsilon = 1e-8) {
    const k = MlpKernel.create();
    if (k) {
      const at = layout([size, size, size, size]);
      k.reserve(at[4]);
      this.#kernel = { k, params: at[0], grads: at[1], m: at[2], v: at[3] };
      // The memory never grows after this, so these views stay valid.
      this.#m = k.f32(at[2], size);
      this.#v = k.f32(at[3], size);
    } else {
      this.#m = new Float32Array(size);
      this.#v = new Float32Array(size);
    }
    this.learningRate = learningRate;
  }

  step(params: Float32Array, grads: Float32Array): void {
    this.#t++;
    const { beta1, beta2, epsilon } = this;
    const lr = (this.learningRate * Math.sqrt(1 - beta2 ** this.#t)) / (1 - beta1 ** this.#t);
    const kernel = this.#kernel;
    if (kernel) {
      const n = params.length;
      kernel.k.f32(kernel.params, n).set(params);
      kernel.k.f32(kernel.grads, n).set(grads);
      kernel.k.exports.adam(kernel.params, kernel.grads, kernel.m, kernel.v, n, lr, beta1, 1 - beta1, beta2, 1 - beta2, epsilon);
      params.set(kernel.k.f32(kernel.params, n));
      return;
    }
    const m = this.#m;
    const v = this.#v;
    for (let k = 0; k < params.length; k++) {
      const gk = grads[k];
      m[k] = beta1 * m[k] + (1 - beta1) * gk;
      v[k] = beta2 * v[k] + (1 - beta2) * gk * gk;
      params[k] -= (lr * m[k]) / (Math.sqrt(v[k]) + epsilon);
    }
  }
}

/** Scales the gradients of several networks together so their joint L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipGradNorm(grads: readonly Float32Array[], maxNorm: number): number {
  let sq = 0;
  for (const g of grads) for (let k = 0; k < g.length; k++) sq += g[k] * g[k];
  const norm = Math.sqrt(sq);
  if (norm > maxNorm && norm > 0) {
    const scale = maxNorm / norm;
    for (const g of grads) for (let k = 0; k < g.length; k++) g[k] *= scale;
  }
  return norm;
}
