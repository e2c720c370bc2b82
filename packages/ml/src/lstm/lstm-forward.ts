/**
 * Inference-only forward pass of the classifier's network (one Keras/tfjs
 * LSTM layer, tanh cell activation, hard-sigmoid gates, then a softmax
 * dense layer) on plain typed arrays. tfjs runs every step of every batch as
 * a dozen tensor ops; here the work is two things:
 * - the input projection x_t·W + b of each BAR, computed once and shared by
 *   the `lookback` overlapping windows that contain that bar (tfjs computes
 *   it once per window and step: lookback times over);
 * - the recurrence h·U per window and step, by a WebAssembly SIMD kernel
 *   (lstm-simd.ts) over blocks of windows, in float32 as tfjs computes it,
 *   and the gates and cell update by a second one (a rational tanh).
 * The output layer runs in JavaScript. Equal to tfjs's output within 1e-5
 * (lstm-classifier.test.ts).
 */
import { gemmKernel, kernelMemory, SIMD_GATE_COLUMNS, type GemmKernel } from './lstm-simd.ts';

export interface LstmWeights {
  inputs: number;
  units: number;
  classes: number;
  /** inputs × 4·units, gate blocks i, f, c, o (Keras' order). */
  kernel: Float64Array;
  /** units × 4·units. */
  recurrent: Float64Array;
  /** 4·units. */
  bias: Float64Array;
  /** units × classes. */
  dense: Float64Array;
  denseBias: Float64Array;
}

/** Windows run together through the recurrence (their states stay in cache: 256 × units floats). */
const BLOCK = 256;

/** tfjs' hardSigmoid: clip(0.2·x + 0.5, 0, 1). */
export function hardSigmoid(x: number): number {
  const y = 0.2 * x + 0.5;
  return y <= 0 ? 0 : y >= 1 ? 1 : y;
}

/** The hard sigmoid's derivative as tfjs' clipByValue gradient gives it: 0.2 where 0 ≤ 0.2·x + 0.5 ≤ 1 (ends included). */
export function hardSigmoidSlope(x: number): number {
  const y = 0.2 * x + 0.5;
  return y >= 0 && y <= 1 ? 0.2 : 0;
}

/** The kernel's contract in plain JavaScript (where WebAssembly SIMD is missing, or the units are not a multiple of 8). */
export function scalarKernel(memory: { buffer: ArrayBuffer }): GemmKernel {
  const f = new Float32Array(memory.buffer);
  const idx = new Int32Array(memory.buffer);
  return {
    gemm(n, units, gatesBytes, u, idxAt, h, a) {
      const gates = gatesBytes / 4;
      for (let i = 0; i < n; i++) {
        const p = idx[idxAt / 4 + i] / 4;
        const hi = h / 4 + i * units;
        const ai = a / 4 + i * gates;
        for (let g = 0; g < gates; g++) {
          let acc = f[p + g];
          for (let j = 0; j < units; j++) acc += f[hi + j] * f[u / 4 + j * gates + g];
          f[ai + g] = acc;
        }
      }
    },
    gates(n, units, gatesBytes, a, h, c) {
      const gates = gatesBytes / 4;
      for (let r = 0; r < n; r++) {
        const ar = a / 4 + r * gates;
        const hr = r * units;
        for (let u = 0; u < units; u++) {
          const cell = hardSigmoid(f[ar + units + u]) * f[c / 4 + hr + u] + hardSigmoid(f[ar + u]) * Math.tanh(f[ar + 2 * units + u]);
          f[c / 4 + hr + u] = cell;
          f[h / 4 + hr + u] = hardSigmoid(f[ar + 3 * units + u]) * Math.tanh(cell);
        }
      }
    },
    gatesBackward(n, units, gatesBytes, a, cPrev, c, dh, dc, da) {
      const gates = gatesBytes / 4;
      for (let r = 0; r < n; r++) {
        const ar = a / 4 + r * gates;
        const dr = da / 4 + r * gates;
        const hr = r * units;
        for (let u = 0; u < units; u++) {
          const tc = Math.tanh(f[c / 4 + hr + u]);
          const g = Math.tanh(f[ar + 2 * units + u]);
          const dhu = f[dh / 4 + hr + u];
          const dcs = f[dc / 4 + hr + u] + dhu * hardSigmoid(f[ar + 3 * units + u]) * (1 - tc * tc);
          f[dr + 3 * units + u] = dhu * tc * hardSigmoidSlope(f[ar + 3 * units + u]);
          f[dr + 2 * units + u] = dcs * hardSigmoid(f[ar + u]) * (1 - g * g);
          f[dr + u] = dcs * g * hardSigmoidSlope(f[ar + u]);
          f[dr + units + u] = dcs * f[cPrev / 4 + hr + u] * hardSigmoidSlope(f[ar + units + u]);
          f[dc / 4 + hr + u] = dcs * hardSigmoid(f[ar + units + u]);
        }
      }
    },
    addRows(n, gatesBytes, idxAt, delta, src) {
      const gates = gatesBytes / 4;
      for (let r = 0; r < n; r++) {
        const to = (idx[idxAt / 4 + r] + delta) / 4;
        for (let g = 0; g < gates; g++) f[to + g] += f[src / 4 + r * gates + g];
      }
    },
  };
}

export interface ForwardOptions {
  /** Use the WebAssembly SIMD kernel where it can run (default true; false: the scalar one, for tests). */
  simd?: boolean;
}

/**
 * Class probabilities for the windows ending at `rows` of z (bars × inputs,
 * row-major, already projected and standardised); each row needs
 * `lookback − 1` earlier bars in z. Writes rows.length × classes into out.
 */
export function lstmForward(w: LstmWeights, z: Float64Array, rows: ArrayLike<number>, lookback: number, out: Float64Array, options: ForwardOptions = {}): void {
  const { inputs, units, classes, kernel, recurrent, bias, dense, denseBias } = w;
  const gates = 4 * units;
  if (rows.length === 0) return;
  let first = rows[0];
  let last = rows[0];
  for (let i = 1; i < rows.length; i++) {
    first = Math.min(first, rows[i]);
    last = Math.max(last, rows[i]);
  }
  const from = first - lookback + 1;
  const bars = last - from + 1;
  // One float32 memory: U, the block's p-row addresses, h, a, then p (every bar some window reads).
  const U = 0;
  const IDX = U + units * gates * 4;
  const H = IDX + BLOCK * 4;
  const A = H + BLOCK * units * 4;
  const C = A + BLOCK * gates * 4;
  const P = C + BLOCK * units * 4;
  const bytes = P + bars * gates * 4;
  const useSimd = options.simd !== false && gates % SIMD_GATE_COLUMNS === 0;
  const memory = kernelMemory(bytes);
  const gemm = (useSimd && gemmKernel(memory)) || scalarKernel(memory);
  const f = new Float32Array(memory.buffer);
  const idx = new Int32Array(memory.buffer);
  for (let j = 0; j < units * gates; j++) f[U / 4 + j] = recurrent[j];
  // p[b] = z_b·W + bias, once per bar: the lookback windows that hold bar b share it.
  const row = new Float64Array(gates);
  for (let b = 0; b < bars; b++) {
    row.set(bias);
    const zb = (from + b) * inputs;
    for (let k = 0; k < inputs; k++) {
      const v = z[zb + k];
      if (v === 0) continue;
      const kk = k * gates;
      for (let g = 0; g < gates; g++) row[g] += v * kernel[kk + g];
    }
    f.set(row, P / 4 + b * gates);
  }
  const logits = new Float64Array(classes);
  const h0 = H / 4;
  for (let start = 0; start < rows.length; start += BLOCK) {
    const n = Math.min(BLOCK, rows.length - start);
    f.fill(0, h0, h0 + n * units);
    f.fill(0, C / 4, C / 4 + n * units);
    for (let s = 0; s < lookback; s++) {
      for (let i = 0; i < n; i++) idx[IDX / 4 + i] = P + (rows[start + i] - lookback + 1 + s - from) * gates * 4;
      gemm.gemm(n, units, gates * 4, U, IDX, H, A);
      gemm.gates(n, units, gates * 4, A, H, C);
    }
    for (let r = 0; r < n; r++) {
      const hr = h0 + r * units;
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < classes; k++) {
        let acc = denseBias[k];
        for (let u = 0; u < units; u++) acc += f[hr + u] * dense[u * classes + k];
        logits[k] = acc;
        max = Math.max(max, acc);
      }
      let sum = 0;
      for (let k = 0; k < classes; k++) sum += logits[k] = Math.exp(logits[k] - max);
      const o = (start + r) * classes;
      for (let k = 0; k < classes; k++) out[o + k] = logits[k] / sum;
    }
  }
}
