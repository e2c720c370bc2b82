/**
 * The GBDT fit's inner loops as WebAssembly kernels (written in
 * kernels.wat beside this file; wasm-kernels.ts assembles it), on data in one shared
 * WebAssembly memory (`HistogramArena`) that both threads of a fit see:
 * histogram building (`build`), parent − child and partial merges
 * (`combine`, f64x2) and split search (`pair`). Each gives exactly the
 * numbers histogram.ts's JavaScript gives (kernels.test.ts): the same
 * float64 operations in the same order. Measured here against that
 * JavaScript: build 0.66 vs 1.06 ns per (row, feature) addition (no bounds
 * checks), search 2.2 vs 3.7 ns per (feature, bin).
 *
 * Split search, the SIMD kernel (f64x2): two features at once,
 * one per lane, swept bin by bin exactly as histogram.ts's `searchSplits`
 * sweeps one — the same float64 operations in the same order, so the split
 * found is the same to the last bit (split-kernel.test.ts). Leaf-wise trees
 * search every new leaf (about twice the nodes of a depth-wise tree of the
 * same size), so the search is where their fit time went: scalar
 * JavaScript spent ~4.3 ns per (feature, bin); the kernel ~1.5 ns.
 *
 * The kernel reads histograms in place, so they live in a shared
 * WebAssembly memory (`HistogramArena`) that both threads of a fit see.
 */
import { growMemory, kernelModule, WebAssembly, type WasmMemory } from '../wasm-kernels.ts';

/** Float64 slots of a thread's scratch block (inputs, then the kernel's per-lane results). */
export const SCRATCH_DOUBLES = 32;
export const SCRATCH_BYTES = SCRATCH_DOUBLES * 8;

// The scratch block's layout (float64 slots) is listed at the top of kernels.wat.

/** The kernels' module; undefined where this runtime lacks WebAssembly SIMD or shared memory, or when OITRADER_GBDT_KERNELS=0 (the same fits in JavaScript, for comparison). */
export const gbdtKernelModule = kernelModule(new URL('./kernels.wat', import.meta.url), 'OITRADER_GBDT_KERNELS');

/** What a thread needs to run the kernels: its instance's functions (byte addresses for pointers) and its own scratch block. */
export interface GbdtKernel {
  pair(histA: number, histB: number, scratch: number, lastBin: number, missing: number): void;
  pairCounted(histA: number, histB: number, scratch: number, lastBin: number, missing: number, countA: number, countB: number): void;
  build(hist: number, bins: number, stride: number, order: number, count: number, packed: number, words: number): void;
  buildCounted(hist: number, bins: number, stride: number, order: number, count: number, packed: number, words: number, counts: number): void;
  combine(into: number, from: number, bytes: number, subtract: number): void;
  combineCounts(into: number, from: number, bytes: number, subtract: number): void;
  partition(order: number, count: number, column: number, bin: number, defaultLeft: number, grad: number, hess: number, packed: number, scratch: number, out: number): void;
  scratch: Float64Array;
  scratchByte: number;
}

export function gbdtKernel(module: object, memory: WasmMemory, scratchByte: number): GbdtKernel {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as Omit<GbdtKernel, 'scratch' | 'scratchByte'>;
  return { ...exports, scratch: new Float64Array(memory.buffer, scratchByte, SCRATCH_DOUBLES), scratchByte };
}

/** Idle arenas kept for the next fits (one fit at a time per thread; two leave room for a nested one). */
const KEPT_ARENAS = 2;
/** Arenas grown past this are not kept (a shared memory never shrinks): the many small fits of a search reuse theirs, a large fit returns its memory. */
const KEPT_ARENA_BYTES = 32 * 1024 * 1024;
const idleArenas: HistogramArena[] = [];

/** Largest arena: 1 GiB of histograms (3,700 of 140 features); past it, histograms are ordinary memory searched in JavaScript. */
const MAX_PAGES = 16384;

/**
 * One fit's histograms in a shared WebAssembly memory, with a scratch block
 * per thread at its start. Allocation only grows (the fit's histogram pool
 * recycles buffers); views made before a growth stay valid (shared memory
 * is never moved).
 */
export class HistogramArena {
  readonly memory: WasmMemory;
  readonly module: object;
  readonly #start: number;
  #next: number;

  constructor(module: object, threads: number) {
    this.module = module;
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    this.#start = threads * SCRATCH_BYTES;
    this.#next = this.#start;
  }

  /**
   * An arena for a fit: a finished fit's, emptied, when there is one. Each
   * shared memory reserves address space for its maximum; a search that
   * made one per fit would leave V8 waiting on the garbage collector to
   * free hundreds of them.
   */
  static acquire(module: object): HistogramArena {
    return idleArenas.pop() ?? new HistogramArena(module, 2);
  }

  /** Back to the idle arenas, all-zero again (only the bytes a fit used are cleared). Nothing may use its views afterwards. */
  release(): void {
    new Uint8Array(this.memory.buffer, 0, this.#next).fill(0);
    this.#next = this.#start;
    // Only two-thread arenas of a modest size are kept: a large fit's memory goes back with its arena.
    const keep = this.#start === 2 * SCRATCH_BYTES && this.memory.buffer.byteLength <= KEPT_ARENA_BYTES;
    if (keep && idleArenas.length < KEPT_ARENAS && !idleArenas.includes(this)) idleArenas.push(this);
  }

  /** Byte address of thread t's scratch block. */
  scratchByte(thread: number): number {
    return thread * SCRATCH_BYTES;
  }

  /** An all-zero histogram (and row counts) in the arena, for the kernels; undefined when the arena is full. */
  histogram(size: number, counts: boolean): { sum: Float64Array; count: Int32Array | undefined; inKernelMemory: true } | undefined {
    const sum = this.allocateBytes(size * 8);
    const count = counts ? this.allocateBytes(size * 4) : 0;
    if (sum === undefined || count === undefined) return undefined;
    return { sum: new Float64Array(this.memory.buffer, sum, size), count: counts ? new Int32Array(this.memory.buffer, count, size) : undefined, inKernelMemory: true };
  }

  /** The address of `bytes` zero bytes in the arena (64-byte aligned); undefined when the arena is full. */
  allocateBytes(bytes: number): number | undefined {
    const start = Math.ceil(this.#next / 64) * 64;
    const end = start + bytes;
    // Past the largest arena, or pages the system would not commit: the caller falls back to ordinary memory.
    if (!growMemory(this.memory, end, MAX_PAGES)) return undefined;
    this.#next = end;
    return start;
  }
}

/** A fit's data in kernel memory: the bins, packed gradients and row order the kernels read, beside the histograms. */
export interface KernelFitMemory {
  arena: HistogramArena;
  /** The main thread's kernel (scratch block 0; the worker thread uses block 1). */
  kernel: GbdtKernel;
  rowBins: Uint8Array;
  /** Column-wise bins, one per feature (for partitioning). */
  columns: Uint8Array[];
  packed: Float64Array;
  grad: Float64Array;
  hess: Float64Array;
  order: Uint32Array;
  /** A node's right rows during a partition. */
  scratch: Uint32Array;
}

/** Kernel memory for a fit of `rows` rows with these bins; undefined where the runtime has no kernels or the data does not fit the arena. */
export function kernelFitMemory(rowBins: Uint8Array, columns: Uint8Array[], rows: number): KernelFitMemory | undefined {
  const module = gbdtKernelModule();
  if (!module) return undefined;
  const arena = HistogramArena.acquire(module);
  const at = {
    rowBins: arena.allocateBytes(rowBins.length),
    columns: arena.allocateBytes(columns.length * rows),
    packed: arena.allocateBytes(rows * 8),
    grad: arena.allocateBytes(rows * 8),
    hess: arena.allocateBytes(rows * 8),
    order: arena.allocateBytes(rows * 4),
    scratch: arena.allocateBytes(rows * 4),
  };
  if (Object.values(at).some((address) => address === undefined)) {
    arena.release();
    return undefined;
  }
  const buffer = arena.memory.buffer;
  const binsView = new Uint8Array(buffer, at.rowBins, rowBins.length);
  binsView.set(rowBins);
  const columnViews = columns.map((column, f) => {
    const view = new Uint8Array(buffer, (at.columns as number) + f * rows, rows);
    view.set(column);
    return view;
  });
  const f64 = (address: number | undefined) => new Float64Array(buffer, address, rows);
  const u32 = (address: number | undefined) => new Uint32Array(buffer, address, rows);
  return { arena, kernel: gbdtKernel(module, arena.memory, arena.scratchByte(0)), rowBins: binsView, columns: columnViews, packed: f64(at.packed), grad: f64(at.grad), hess: f64(at.hess), order: u32(at.order), scratch: u32(at.scratch) };
}
