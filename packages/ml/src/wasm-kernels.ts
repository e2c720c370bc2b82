import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

/**
 * The SIMD kernels are written as WebAssembly text (`.wat` files beside the
 * code that calls them) and assembled when this module loads by wabt's
 * wat2wasm (the WebAssembly Binary Toolkit compiled to JavaScript): a reader
 * sees loops and named locals, and nothing is built ahead of time.
 * Assembling a kernel file takes a few milliseconds (docs/gbdt.md).
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

/**
 * A loader of a `.wat` file's module, compiled once on first use: undefined
 * where the runtime cannot run it or it does not compile (the caller's
 * JavaScript loops run instead; wasm-kernels.test.ts fails if a kernel file
 * does not compile here), or when the environment variable `switchName` is
 * "0" (the same numbers in JavaScript, for comparison).
 */
export function kernelModule(file: URL, switchName?: string): () => object | undefined {
  let compiled: object | null | undefined;
  return () => {
    if (switchName !== undefined && process.env[switchName] === '0') return undefined;
    if (compiled === undefined) {
      try {
        compiled = compileWat(file);
      } catch {
        compiled = null;
      }
    }
    return compiled ?? undefined;
  };
}

/**
 * Grows `memory` to at least `bytes` bytes; false when that would pass
 * `maxPages` or the system refuses the pages (the caller falls back to
 * ordinary memory or JavaScript). Views of a non-shared memory made before a
 * growth are detached: make them after.
 */
export function growMemory(memory: WasmMemory, bytes: number, maxPages = 65536): boolean {
  const have = memory.buffer.byteLength / PAGE_BYTES;
  const pages = Math.ceil(bytes / PAGE_BYTES);
  if (pages <= have) return true;
  if (pages > maxPages) return false;
  try {
    memory.grow(pages - have);
    return true;
  } catch {
    return false;
  }
}
