import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

/**
 * The SIMD kernels are written as WebAssembly text (`.wat` files beside the
 * code that calls them) and assembled when this module loads by wabt's
 * wat2wasm (the WebAssembly Binary Toolkit compiled to JavaScript): a reader
 * sees loops and named locals, and nothing is built ahead of time.
 * Assembling both kernel files takes a few milliseconds (docs/gbdt.md).
 * Why .wat and not AssemblyScript: the kernels are exact transcriptions of
 * JavaScript loops whose float64 operations must happen in the same order
 * (models must be the same bytes with and without kernels); in .wat every
 * instruction is the one written, while AssemblyScript's compiler chooses
 * them (measured on `combine`, docs/gbdt.md).
 */

/** The little of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
export interface WasmMemory {
  /** A SharedArrayBuffer for a shared memory. */
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
export const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const PAGE_BYTES = 65536;

const wabt = await wabtInit();
/** SIMD, shared memory (the GBDT's two threads) and memory.copy. */
const FEATURES = { simd: true, threads: true, bulk_memory: true };

/**
 * The module of a `.wat` file, compiled, or null where this runtime cannot
 * run it (no SIMD, no shared memory): the callers then use their JavaScript
 * loops. A file that does not assemble is a bug in this repository, so it throws.
 */
export function compileWat(file: URL): object | null {
  const path = fileURLToPath(file);
  const parsed = wabt.parseWat(path, readFileSync(path, 'utf8'), FEATURES);
  try {
    parsed.resolveNames();
    (parsed.validate as (features: typeof FEATURES) => void)(FEATURES);
    const { buffer } = parsed.toBinary({});
    return WebAssembly.validate(buffer) ? new WebAssembly.Module(buffer) : null;
  } finally {
    parsed.destroy();
  }
}
