/**
 * The LSTM recurrence as WebAssembly SIMD kernels (f32x4), written in
 * lstm-kernels.wat beside this file (wasm-kernels.ts assembles it): the
 * matrix product, the gates' cell update, its backward step and row sums.
 * For each window i of a
 * block: a_i = p_i + h_i·U, where p_i is the (precomputed) input projection
 * of the bar the window reads at this step, h_i its hidden state and U the
 * recurrent kernel (units × gates, row-major). Eight f32x4 accumulators hold
 * 32 gate columns while the units are swept, so each loaded h value feeds 32
 * multiply-adds. Scalar JavaScript managed ~0.7 G multiply-adds/s here,
 * below what 20,000 rows/s needs (32 steps × 32 units × 128 gates per row);
 * with the product in SIMD, Math.tanh (2 per unit and step) took most of
 * the rest (real set, 21,900 rows: 5,600 → 15,000 → 38,000 rows/s).
 */

import { kernelModule, WebAssembly, type WasmMemory } from '../wasm-kernels.ts';

/** Memory the kernel can work in, of at least `bytes` bytes. */
export function kernelMemory(bytes: number): WasmMemory {
  return new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
}

/** Exported function: gemm(n, units, gatesBytes, u, idx, h, a) — byte addresses; idx[i] is window i's p row address. */
export interface GemmKernel {
  gemm(n: number, units: number, gatesBytes: number, u: number, idx: number, h: number, a: number): void;
  /**
   * The cell update for n windows from their pre-activations a (Keras' gate
   * order i, f, c, o; hard-sigmoid gates, tanh): c = f·c + i·tanh(a_c),
   * h = o·tanh(c), in place in h and c (n × units each).
   */
  gates(n: number, units: number, gatesBytes: number, a: number, h: number, c: number): void;
  /**
   * One step of backpropagation through the cell update, for n windows:
   * from the step's pre-activations a, the cell states before (cPrev) and
   * after (c), the loss gradient on the hidden state dh and on the cell
   * state dc (in place: on return, the gradient on cPrev), writes the
   * gradient on the pre-activations to da (n × gates). Hard-sigmoid
   * derivative 0.2 where 0 ≤ 0.2·x + 0.5 ≤ 1, as tfjs' clipByValue gradient.
   */
  gatesBackward(n: number, units: number, gatesBytes: number, a: number, cPrev: number, c: number, dh: number, dc: number, da: number): void;
  /** For each of n rows of src (gatesBytes each): adds it into the row at idx[r] + delta (rows may repeat: they sum). */
  addRows(n: number, gatesBytes: number, idx: number, delta: number, src: number): void;
}

/** gemm's f32x4 accumulators (acc0..acc7 in lstm-kernels.wat). */
const ACCUMULATORS = 8;

/** Gate columns one pass of the kernel covers: the network's 4·units must be a multiple (units a multiple of 8). */
export const SIMD_GATE_COLUMNS = 4 * ACCUMULATORS;

const lstmKernels = kernelModule(new URL('./lstm-kernels.wat', import.meta.url));

/** The kernel bound to `memory`, or undefined where WebAssembly SIMD is unavailable. */
export function gemmKernel(memory: WasmMemory): GemmKernel | undefined {
  const compiled = lstmKernels();
  if (!compiled) return undefined;
  return new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as GemmKernel;
}
