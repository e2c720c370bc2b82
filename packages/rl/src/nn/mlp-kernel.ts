import { OitraderError } from '@oitrader/core';
import { growMemory, kernelModule, webAssembly, type WasmMemory } from '@oitrader/ml';

interface Exports {
  forward(x: number, w: number, bias: number, y: number, batch: number, nIn: number, nOut: number): void;
  backward(x: number, w: number, dy: number, dx: number, g: number, gBias: number, batch: number, nIn: number, nOut: number, needDx: number): void;
  adam(params: number, grads: number, m: number, v: number, n: number, lr: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, epsilon: number): void;
}

const mlpModule = kernelModule(new URL('./mlp.wat', import.meta.url), 'OITRADER_RL_KERNELS');

/**
 * mlp.wat's kernels on a memory of their own (one per network or optimiser):
 * the caller copies its Float32Arrays in and out around each call (a network's
 * parameters are ~25 KB: microseconds against the milliseconds of the
 * products), so the arrays it hands out never move when the memory grows.
 * Undefined where the runtime lacks WebAssembly SIMD, or with
 * OITRADER_RL_KERNELS=0 (the same numbers in JavaScript, for comparison).
 */
export class MlpKernel {
  readonly #memory: WasmMemory;
  readonly exports: Exports;

  private constructor(module: object) {
    this.#memory = new webAssembly.Memory({ initial: 1 });
    this.exports = new webAssembly.Instance(module, { env: { memory: this.#memory } }).exports as Exports;
  }

  static create(): MlpKernel | undefined {
    const module = mlpModule();
    return module ? new MlpKernel(module) : undefined;
  }

  /** At least `bytes` bytes of memory (views made before a growth are detached: make them after). */
  reserve(bytes: number): void {
    if (!growMemory(this.#memory, bytes)) throw new OitraderError(`the RL network's kernel memory cannot grow to ${bytes} bytes`, { hint: 'set OITRADER_RL_KERNELS=0 to train with the JavaScript loops' });
  }

  /** A float32 view of `length` values at byte `at`. */
  f32(at: number, length: number): Float32Array {
    return new Float32Array(this.#memory.buffer, at, length);
  }
}

/** Byte offsets of consecutive float32 arrays of the given lengths, each 16-byte aligned; the last entry is the end. */
export function layout(lengths: readonly number[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const n of lengths) {
    out.push(at);
    at += Math.ceil((n * 4) / 16) * 16;
  }
  out.push(at);
  return out;
}
