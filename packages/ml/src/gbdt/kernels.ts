/**
 * The GBDT fit's inner loops as WebAssembly kernels, on data in one shared
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
import { ADD, BLOCK, br, brIf, ELSE, END, f64, F64, f64Load, f64Store, GE_U, get, i32, I32, i32Load, i32Store, IF, LOOP, moduleBytes, MUL, PAGE_BYTES, set, SHL, simd, tee, V128, v128Load, v128Store, vec, WebAssembly, type WasmMemory } from '../wasm-assembler.ts';

/** Float64 slots of a thread's scratch block (inputs, then the kernel's per-lane results). */
export const SCRATCH_DOUBLES = 32;
export const SCRATCH_BYTES = SCRATCH_DOUBLES * 8;

// Scratch layout, in float64 slots: scalars 0..10; lane pairs (feature A, feature B) from 12.
const TOTAL_G = 0;
const TOTAL_H = 1;
const LAMBDA = 2;
const MIN_CHILD = 3;
const GRAD_SCALE = 4;
const HESS_SCALE = 5;
const SHIFT = 6;
const INV_SHIFT = 7;
const START_SCORE = 8;
const SCREEN_ABOVE = 9;
const SCREEN_BELOW = 10;
const MIN_DATA = 11;
const TOTAL_N = 28;
const LAST_BIN = 12;
const MISSING_SUM = 14;
const MISSING_G = 16;
const MISSING_H = 18;
const OUT_SCORE = 20;
const OUT_BIN = 22;
const OUT_LEFT = 24;
const OUT_SUM = 26;
const MISSING_N = 30;

// f64x2 and v128 opcodes (WebAssembly SIMD).
const F64X2_SPLAT = simd(0x14);
const F64X2_REPLACE_LANE1 = [...simd(0x22), 1];
const F64X2_NE = simd(0x48);
const F64X2_LT = simd(0x49);
const F64X2_GT = simd(0x4a);
const F64X2_GE = simd(0x4c);
const V128_AND = simd(0x4e);
const V128_OR = simd(0x50);
const I32X4_SPLAT = simd(0x11);
const I32X4_REPLACE_LANE1 = [...simd(0x1c), 1];
const I32X4_ADD = simd(0xae);
const I32X4_SUB = simd(0xb1);
const F64X2_CONVERT_LOW_I32X4_S = simd(0xfe);
const V128_BITSELECT = simd(0x52);
const V128_ANY_TRUE = simd(0x53);
const F64X2_FLOOR = simd(0x75);
const F64X2_ADD = simd(0xf0);
const F64X2_SUB = simd(0xf1);
const F64X2_MUL = simd(0xf2);
const F64X2_DIV = simd(0xf3);

/**
 * pair(histA, histB, scratch, lastBin, missing): sweeps bins 1..lastBin−1
 * of two features' histograms (byte addresses of their 256 float64 sums)
 * with the node's totals and parameters from scratch; per lane, keeps the
 * best children score above START_SCORE (first best on ties), its bin,
 * whether missing values went left, and the packed sum going left.
 * `missing` = 0 skips the missing-left sweep (no lane has missing values).
 * `counted` (pairCounted(…, countA, countB)): with the features' row counts
 * (256 int32 each), a bin holds rows when its sum or count is non-zero, and
 * both children must keep MIN_DATA rows, as searchSplits's JavaScript sweep with counts.
 */
function pairBody(counted: boolean): number[] {
  const [histA, histB, scratch, lastBin, missing, countA, countB] = [0, 1, 2, 3, 4, 5, 6];
  let next = counted ? 7 : 5;
  const [off, end, countOff] = [next++, next++, next++];
  const firstV128 = next;
  const v128 = () => next++;
  const [totG, totH, lambda, minChild, gs, hs, shift, inv, above, below, one, zero] = Array.from({ length: 12 }, v128);
  const [lanes, ms, mg, mh, hasMissing] = Array.from({ length: 5 }, v128);
  const [sl, bin, best, screen, bestBin, bestLeft, bestSum] = Array.from({ length: 7 }, v128);
  const [v, nonEmpty, hi, gl, hl, lg, lh, rg, rh, a, c, pass, children, better] = Array.from({ length: 14 }, v128);
  const [minData, totalN, mn, n, nl] = Array.from({ length: 5 }, v128);
  const locals = vec([[3, I32], [next - firstV128, V128]]);
  const scalar = (slot: number) => [...get(scratch), ...f64Load(slot * 8), ...F64X2_SPLAT];
  const lane = (slot: number) => [...get(scratch), ...v128Load(slot * 8)];
  const op = (x: number, y: number, code: number[]) => [...get(x), ...get(y), ...code];
  // screen = best · (best > 0 ? 1 − 1e−9 : 1 + 1e−9), as searchSplits.
  const rescreen = [...get(above), ...get(below), ...op(best, zero, F64X2_GT), ...V128_BITSELECT, ...get(best), ...F64X2_MUL, ...set(screen)];
  /** One side's candidate (left gradient/hessian in lgx/lhx), kept where it passes and beats the lane's best. */
  const candidate = (lgx: number, lhx: number, mask: number[], left: number[], sum: number[]) => [
    ...op(totH, lhx, F64X2_SUB), ...set(rh),
    ...op(totG, lgx, F64X2_SUB), ...set(rg),
    ...op(lhx, lambda, F64X2_ADD), ...set(a),
    ...op(rh, lambda, F64X2_ADD), ...set(c),
    // (gl·gl)·c + (rg·rg)·a ≥ screen·(a·c), and both children heavy enough.
    ...op(lgx, lgx, F64X2_MUL), ...get(c), ...F64X2_MUL, ...op(rg, rg, F64X2_MUL), ...get(a), ...F64X2_MUL, ...F64X2_ADD,
    ...get(screen), ...op(a, c, F64X2_MUL), ...F64X2_MUL, ...F64X2_GE,
    ...mask, ...V128_AND,
    ...op(lhx, minChild, F64X2_GE), ...V128_AND,
    ...op(rh, minChild, F64X2_GE), ...V128_AND,
    ...set(pass),
    ...get(pass), ...V128_ANY_TRUE, ...IF,
    ...op(lgx, lgx, F64X2_MUL), ...get(a), ...F64X2_DIV, ...op(rg, rg, F64X2_MUL), ...get(c), ...F64X2_DIV, ...F64X2_ADD, ...set(children),
    ...op(children, best, F64X2_GT), ...get(pass), ...V128_AND, ...set(better),
    ...get(children), ...get(best), ...get(better), ...V128_BITSELECT, ...set(best),
    ...rescreen,
    ...get(bin), ...get(bestBin), ...get(better), ...V128_BITSELECT, ...set(bestBin),
    ...left, ...get(bestLeft), ...get(better), ...V128_BITSELECT, ...set(bestLeft),
    ...sum, ...get(bestSum), ...get(better), ...V128_BITSELECT, ...set(bestSum),
    END,
  ];
  const body = [
    ...scalar(TOTAL_G), ...set(totG), ...scalar(TOTAL_H), ...set(totH), ...scalar(LAMBDA), ...set(lambda), ...scalar(MIN_CHILD), ...set(minChild),
    ...scalar(GRAD_SCALE), ...set(gs), ...scalar(HESS_SCALE), ...set(hs), ...scalar(SHIFT), ...set(shift), ...scalar(INV_SHIFT), ...set(inv),
    ...scalar(SCREEN_ABOVE), ...set(above), ...scalar(SCREEN_BELOW), ...set(below),
    ...f64(1), ...F64X2_SPLAT, ...set(one), ...f64(0), ...F64X2_SPLAT, ...set(zero),
    ...lane(LAST_BIN), ...set(lanes), ...lane(MISSING_SUM), ...set(ms), ...lane(MISSING_G), ...set(mg), ...lane(MISSING_H), ...set(mh),
    // A lane has missing values when its missing bin has rows: by count when counted, else by a non-zero sum (as searchSplits).
    ...(counted
      ? [...scalar(MIN_DATA), ...set(minData), ...scalar(TOTAL_N), ...set(totalN), ...lane(MISSING_N), ...set(mn), ...op(mn, zero, F64X2_GT), ...set(hasMissing), ...get(zero), ...set(nl), ...i32(4), ...set(countOff)]
      : [...op(ms, zero, F64X2_NE), ...set(hasMissing)]),
    ...get(zero), ...set(sl), ...get(one), ...set(bin),
    ...scalar(START_SCORE), ...set(best), ...rescreen,
    ...get(zero), ...set(bestBin), ...get(zero), ...set(bestLeft), ...get(zero), ...set(bestSum),
    ...i32(8), ...set(off),
    ...get(lastBin), ...i32(3), SHL, ...set(end),
    ...BLOCK, ...LOOP,
    ...get(off), ...get(end), GE_U, ...brIf(1),
    ...get(histA), ...get(off), ADD, ...f64Load(0), ...F64X2_SPLAT,
    ...get(histB), ...get(off), ADD, ...f64Load(0), ...F64X2_REPLACE_LANE1, ...set(v),
    // A bin holds rows when its sum (or count) is non-zero (searchSplits skips the others), and exists below the lane's last bin.
    ...(counted
      ? [
          ...get(countA), ...get(countOff), ADD, ...i32Load(0), ...I32X4_SPLAT,
          ...get(countB), ...get(countOff), ADD, ...i32Load(0), ...I32X4_REPLACE_LANE1, ...F64X2_CONVERT_LOW_I32X4_S, ...set(n),
          ...op(v, zero, F64X2_NE), ...op(n, zero, F64X2_NE), ...V128_OR, ...op(bin, lanes, F64X2_LT), ...V128_AND, ...set(nonEmpty),
          ...op(nl, n, F64X2_ADD), ...set(nl),
        ]
      : [...op(v, zero, F64X2_NE), ...op(bin, lanes, F64X2_LT), ...V128_AND, ...set(nonEmpty)]),
    ...op(sl, v, F64X2_ADD), ...set(sl),
    ...op(sl, inv, F64X2_MUL), ...F64X2_FLOOR, ...set(hi),
    ...op(hi, gs, F64X2_MUL), ...set(gl),
    ...get(sl), ...op(hi, shift, F64X2_MUL), ...F64X2_SUB, ...get(hs), ...F64X2_MUL, ...set(hl),
    // Missing values right (counted: nl ≥ minData and totalN − nl ≥ minData).
    ...candidate(gl, hl, counted ? [...get(nonEmpty), ...op(nl, minData, F64X2_GE), ...V128_AND, ...op(totalN, nl, F64X2_SUB), ...get(minData), ...F64X2_GE, ...V128_AND] : get(nonEmpty), get(zero), get(sl)),
    // Missing values left, where the lane has any.
    ...get(missing), ...IF,
    ...op(gl, mg, F64X2_ADD), ...set(lg),
    ...op(hl, mh, F64X2_ADD), ...set(lh),
    // (counted: nl + mn ≥ minData and (totalN − nl) − mn ≥ minData).
    ...candidate(lg, lh, [
      ...op(nonEmpty, hasMissing, V128_AND),
      ...(counted ? [...op(nl, mn, F64X2_ADD), ...get(minData), ...F64X2_GE, ...V128_AND, ...op(totalN, nl, F64X2_SUB), ...get(mn), ...F64X2_SUB, ...get(minData), ...F64X2_GE, ...V128_AND] : []),
    ], get(one), op(sl, ms, F64X2_ADD)),
    END,
    ...op(bin, one, F64X2_ADD), ...set(bin),
    ...get(off), ...i32(8), ADD, ...set(off),
    ...(counted ? [...get(countOff), ...i32(4), ADD, ...set(countOff)] : []),
    ...br(0), END, END,
    ...get(scratch), ...get(best), ...v128Store(OUT_SCORE * 8),
    ...get(scratch), ...get(bestBin), ...v128Store(OUT_BIN * 8),
    ...get(scratch), ...get(bestLeft), ...v128Store(OUT_LEFT * 8),
    ...get(scratch), ...get(bestSum), ...v128Store(OUT_SUM * 8),
    END,
  ];
  return [...locals, ...body];
}

const AND = 0x71;
const SHR_U = 0x76;
const F64_ADD = 0xa0;

/**
 * build(hist, bins, stride, order, count, packed, words): for each of
 * `count` rows (row numbers from `order`), adds its packed value to `words`
 * × 4 features' histogram bins, reading four one-byte bins per 32-bit load
 * from the row's bins at `bins` + row × stride; feature k of the range
 * adds to hist + k × 2048 bytes. As buildHistogram's word loop.
 */
function buildBody(counted: boolean): number[] {
  const [hist, bins, stride, order, count, packed, words, counts] = [0, 1, 2, 3, 4, 5, 6, 7];
  const first = counted ? 8 : 7;
  const [i, row, at, w, o, x, a, oc] = Array.from({ length: 8 }, (_, k) => first + k);
  const v = first + 8;
  const binOf = (shift: number) => [...get(x), ...(shift ? [...i32(shift), SHR_U] : []), ...(shift < 24 ? [...i32(255), AND] : [])];
  const addAt = (shift: number, base: number) => [
    ...get(o), ...(base ? [...i32(base), ADD] : []), ...binOf(shift), ...i32(3), SHL, ADD, ...tee(a),
    ...get(a), ...f64Load(0), ...get(v), F64_ADD, ...f64Store(0),
    // The row count beside it: int32 bins, so half the byte offsets.
    ...(counted ? [...get(oc), ...(base ? [...i32(base >> 1), ADD] : []), ...binOf(shift), ...i32(2), SHL, ADD, ...tee(a), ...get(a), ...i32Load(0), ...i32(1), ADD, ...i32Store(0)] : []),
  ];
  const body = [
    ...i32(0), ...set(i),
    ...BLOCK, ...LOOP,
    ...get(i), ...get(count), GE_U, ...brIf(1),
    ...get(order), ...get(i), ...i32(2), SHL, ADD, ...i32Load(0), ...set(row),
    ...get(packed), ...get(row), ...i32(3), SHL, ADD, ...f64Load(0), ...set(v),
    ...get(bins), ...get(row), ...get(stride), MUL, ADD, ...set(at),
    ...get(hist), ...set(o),
    ...(counted ? [...get(counts), ...set(oc)] : []),
    ...i32(0), ...set(w),
    ...BLOCK, ...LOOP,
    ...get(w), ...get(words), GE_U, ...brIf(1),
    ...get(at), ...i32Load(0), ...set(x),
    ...addAt(0, 0), ...addAt(8, 2048), ...addAt(16, 4096), ...addAt(24, 6144),
    ...get(at), ...i32(4), ADD, ...set(at),
    ...get(o), ...i32(8192), ADD, ...set(o),
    ...(counted ? [...get(oc), ...i32(4096), ADD, ...set(oc)] : []),
    ...get(w), ...i32(1), ADD, ...set(w),
    ...br(0), END, END,
    ...get(i), ...i32(1), ADD, ...set(i),
    ...br(0), END, END,
    END,
  ];
  return [...vec([[8, I32], [1, F64]]), ...body];
}

/**
 * combine(into, from, bytes, subtract): into ± from over `bytes` bytes of
 * float64 (a multiple of 16), two at a time; combineCounts the same over
 * int32 row counts, four at a time.
 */
function combineBody(add: number[], sub: number[]): number[] {
  const [into, from, bytes, subtract] = [0, 1, 2, 3];
  const at = 4;
  const loop = (op: number[]) => [
    ...i32(0), ...set(at),
    ...BLOCK, ...LOOP,
    ...get(at), ...get(bytes), GE_U, ...brIf(1),
    ...get(into), ...get(at), ADD,
    ...get(into), ...get(at), ADD, ...v128Load(0), ...get(from), ...get(at), ADD, ...v128Load(0), ...op, ...v128Store(0),
    ...get(at), ...i32(16), ADD, ...set(at),
    ...br(0), END, END,
  ];
  const body = [...get(subtract), ...IF, ...loop(sub), ELSE, ...loop(add), END, END];
  return [...vec([[1, I32]]), ...body];
}

const I32_LE_U = 0x4d;
const I32_EQZ = 0x45;
const I32_SUB = 0x6b;
const I32_SHR_U = 0x76;
const SELECT = 0x1b;
const F64_MUL = 0xa2;
const F64_CONVERT_I32_U = 0xb8;
const i32Load8 = [0x2d, 0, 0];
const MEMORY_COPY = [0xfc, 0x0a, 0x00, 0x00];

/**
 * partition(order, count, column, bin, defaultLeft, grad, hess, packed,
 * scratch, out): grow.ts's partition of a node's rows (`count` row numbers
 * at `order`) by one feature's column of bins — rows with bin ≤ `bin` left,
 * missing (bin 0) rows to the default side — stable, left rows first, in
 * place (right rows through `scratch`); the left rows' gradient, hessian and
 * packed sums accumulated in the same order and with the same float64
 * operations as there. Writes the left count and the three sums to out[0..4).
 */
function partitionBody(): number[] {
  const [order, count, column, bin, defaultLeft, grad, hess, packed, scratch, out] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [at, end, l, r, row, b, m] = [10, 11, 12, 13, 14, 15, 16];
  const [g, h, sum, mf] = [17, 18, 19, 20];
  const addTimesM = (base: number, acc: number) => [...get(acc), ...get(base), ...get(row), ...i32(3), SHL, ADD, ...f64Load(0), ...get(mf), F64_MUL, F64_ADD, ...set(acc)];
  const body = [
    ...get(order), ...tee(at), ...tee(l), ...get(count), ...i32(2), SHL, ADD, ...set(end),
    ...get(scratch), ...set(r),
    ...BLOCK, ...LOOP,
    ...get(at), ...get(end), GE_U, ...brIf(1),
    ...get(at), ...i32Load(0), ...set(row),
    ...get(column), ...get(row), ADD, ...i32Load8, ...set(b),
    // m = missing ? defaultLeft : b ≤ bin
    ...get(defaultLeft), ...get(b), ...get(bin), I32_LE_U, ...get(b), I32_EQZ, SELECT, ...set(m),
    ...get(l), ...get(row), ...i32Store(0),
    ...get(r), ...get(row), ...i32Store(0),
    ...get(l), ...get(m), ...i32(2), SHL, ADD, ...set(l),
    ...get(r), ...i32(1), ...get(m), I32_SUB, ...i32(2), SHL, ADD, ...set(r),
    ...get(m), F64_CONVERT_I32_U, ...set(mf),
    ...addTimesM(grad, g), ...addTimesM(hess, h), ...addTimesM(packed, sum),
    ...get(at), ...i32(4), ADD, ...set(at),
    ...br(0), END, END,
    // The right rows after the left ones.
    ...get(l), ...get(scratch), ...get(r), ...get(scratch), I32_SUB, ...MEMORY_COPY,
    ...get(out), ...get(l), ...get(order), I32_SUB, ...i32(2), I32_SHR_U, F64_CONVERT_I32_U, ...f64Store(0),
    ...get(out), ...get(g), ...f64Store(8),
    ...get(out), ...get(h), ...f64Store(16),
    ...get(out), ...get(sum), ...f64Store(24),
    END,
  ];
  return [...vec([[7, I32], [4, F64]]), ...body];
}

/** The compiled kernel module, or null where this runtime lacks WebAssembly SIMD or shared memory. */
let compiled: object | null | undefined;

/** The kernels' module; undefined where unavailable or when OITRADER_GBDT_KERNELS=0 (the same fits in JavaScript, for comparison). */
export function gbdtKernelModule(): object | undefined {
  if (process.env.OITRADER_GBDT_KERNELS === '0') return undefined;
  if (compiled === undefined) {
    try {
      const bytes = moduleBytes([
        { name: 'pair', params: 5, code: pairBody(false) },
        { name: 'pairCounted', params: 7, code: pairBody(true) },
        { name: 'build', params: 7, code: buildBody(false) },
        { name: 'buildCounted', params: 8, code: buildBody(true) },
        { name: 'combine', params: 4, code: combineBody(F64X2_ADD, F64X2_SUB) },
        { name: 'combineCounts', params: 4, code: combineBody(I32X4_ADD, I32X4_SUB) },
        { name: 'partition', params: 10, code: partitionBody() },
      ], true);
      compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled ?? undefined;
}

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
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE_BYTES);
      if (have / PAGE_BYTES + pages > MAX_PAGES) return undefined;
      try {
        this.memory.grow(pages);
      } catch {
        // The system would not commit the pages: the caller falls back to ordinary memory.
        return undefined;
      }
    }
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
