import { Worker } from 'node:worker_threads';
import { growMemory, kernelModule, WebAssembly, type WasmMemory } from '../wasm-kernels.ts';
import { awaitWorkerTask, TASK_STATE } from '../worker-task.ts';
import { forestMargins, type Forest } from './forest.ts';

/** Below this many rows one thread predicts: handing half to the other costs more than it saves. */
export const MIN_PARALLEL_ROWS = 2048;
/** Largest memory the kernel grows to (1 GiB); a bigger batch is predicted in JavaScript. */
const MAX_PAGES = 16384;

const forestModule = kernelModule(new URL('./forest.wat', import.meta.url), 'OITRADER_GBDT_KERNELS');

// Control words at the start of the memory (int32): 0 state (idle, task, running, done), 1..2 row range of the
// worker's half, 3..11 the kernel's other arguments (the same for both halves), 13: 1 once the worker is ready,
// 14: 1 when the worker failed within the task.
const CONTROL_BYTES = 64;
const { IDLE, TASK, RUNNING, DONE } = TASK_STATE;

// Plain JavaScript so the worker needs no TypeScript loader: it runs the same kernel on the same memory. It claims a
// task (TASK → RUNNING) before touching it, so the caller can take back a task the worker never started.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory } = workerData;
const control = new Int32Array(memory.buffer, 0, 16);
const { margins } = new WebAssembly.Instance(module, { env: { memory } }).exports;
Atomics.store(control, 13, 1);
for (;;) {
  Atomics.wait(control, 0, ${IDLE});
  if (Atomics.compareExchange(control, 0, ${TASK}, ${RUNNING}) !== ${TASK}) {
    if (Atomics.load(control, 0) === ${DONE}) Atomics.wait(control, 0, ${DONE});
    continue;
  }
  try {
    const a = Array.from(control.subarray(3, 12));
    margins(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], control[1], control[2]);
    control[14] = 0;
  } catch {
    control[14] = 1;
  }
  Atomics.store(control, 0, ${DONE});
  Atomics.notify(control, 0);
}
`;

interface Loaded {
  forest: Forest;
  /** Row width the node records were written for (a node holds its feature's byte offset in a widened row). */
  cols: number;
  /** Byte addresses of the forest's arrays in the memory, and the first free byte after them. */
  roots: number;
  columns: number;
  shallow: number;
  end: number;
}

/**
 * forest.wat's prediction kernel on one shared WebAssembly memory, and a
 * worker thread running the same kernel on the other half of a large batch.
 * The forest is copied in once (kept while the same forest is predicted
 * again), the rows and base scores per call. Margins are the same to the last
 * bit as `forestMargins` (forest-kernel.test.ts): each row's sum is taken in
 * tree order by whichever thread has the row.
 */
export class ForestKernel {
  readonly #memory: WasmMemory;
  readonly #margins: (...args: number[]) => void;
  readonly #module: object;
  #loaded: Loaded | undefined;
  #worker: Worker | undefined;
  #workerFailed = false;
  /** Set when a worker took a task and never finished: it may still write into the memory, so nothing is read from it again. */
  #abandoned = false;

  private constructor(module: object) {
    this.#module = module;
    this.#memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    this.#margins = (new WebAssembly.Instance(module, { env: { memory: this.#memory } }).exports as { margins: (...args: number[]) => void }).margins;
  }

  static #shared: ForestKernel | undefined;

  /** The process's kernel, or undefined where WebAssembly SIMD/shared memory is unavailable or OITRADER_GBDT_KERNELS=0. */
  static get(): ForestKernel | undefined {
    const module = forestModule();
    if (!module) return undefined;
    ForestKernel.#shared ??= new ForestKernel(module);
    return ForestKernel.#shared;
  }

  /**
   * Adds every tree's leaf value to `out[row * k + column]` (out holds the base scores), as forestMargins;
   * false when the forest cannot be walked here or its parts do not fit the memory (the caller predicts it in
   * JavaScript; nothing was added). A large batch goes through the memory in parts (`partRows`: tests).
   */
  margins(forest: Forest, x: Float32Array, rows: number, cols: number, out: Float64Array, k: number, threads = 2, partRows = rowsPerPart(cols, k)): boolean {
    if (this.#abandoned) return false;
    const loaded = this.#load(forest, cols);
    if (!loaded) return false;
    const xAt = align(loaded.end);
    const part = Math.max(1, Math.min(rows, partRows));
    const wideAt = align(xAt + part * cols * 4);
    const outAt = align(wideAt + part * (2 * cols + 1) * 4);
    if (!this.#reserve(outAt + part * k * 8)) return false;
    // From here nothing refuses: each part is predicted by the kernel or, once its memory is abandoned, in JavaScript.
    for (let start = 0; start < rows; start += part) {
      const n = Math.min(part, rows - start);
      const xs = x.subarray(start * cols, (start + n) * cols);
      const outs = out.subarray(start * k, (start + n) * k);
      if (this.#abandoned) forestMargins(forest, xs, n, cols, outs, k);
      else this.#predictPart(forest, loaded, { xAt, wideAt, outAt }, xs, n, cols, outs, k, threads);
    }
    return true;
  }

  #predictPart(forest: Forest, loaded: Loaded, at: { xAt: number; wideAt: number; outAt: number }, x: Float32Array, rows: number, cols: number, out: Float64Array, k: number, threads: number): void {
    const { xAt, wideAt, outAt } = at;
    const buffer = this.#memory.buffer;
    new Float32Array(buffer, xAt, rows * cols).set(x.subarray(0, rows * cols));
    const outView = new Float64Array(buffer, outAt, rows * k);
    outView.set(out.subarray(0, rows * k));
    const args = [loaded.roots, loaded.columns, loaded.shallow, forest.roots.length, xAt, wideAt, cols, outAt, k];
    const worker = threads > 1 && rows >= MIN_PARALLEL_ROWS ? this.#readyWorker() : undefined;
    if (worker) {
      // The worker takes the later half; this thread the earlier one, then waits for the worker.
      const mid = Math.floor(rows / 2 / 64) * 64;
      const control = new Int32Array(buffer, 0, 16);
      control[1] = mid;
      control[2] = rows;
      control.set(args, 3);
      control[14] = 0;
      Atomics.store(control, 0, TASK);
      Atomics.notify(control, 0);
      const started = performance.now();
      this.#margins(...args, 0, mid);
      const outcome = awaitWorkerTask(control, Math.max(5000, 20 * (performance.now() - started)));
      if (outcome === 'taken-back') {
        // The worker never took the task (it is gone): this thread does its half; the worker is not used again.
        this.#retireWorker();
        this.#margins(...args, mid, rows);
      } else if (outcome === 'lost') {
        // The worker took the task and never finished: it may still write into this memory, so the memory is
        // abandoned (this kernel is off for the process) and the whole batch is predicted in JavaScript.
        this.#retireWorker();
        this.#abandoned = true;
        forestMargins(forest, x, rows, cols, out, k);
        return;
      }
      if (outcome === 'done' && control[14] === 1) {
        // The worker failed within its half (it wrote some of it): that half again from the base scores, here.
        this.#retireWorker();
        outView.subarray(mid * k).set(out.subarray(mid * k, rows * k));
        this.#margins(...args, mid, rows);
      }
      Atomics.store(control, 0, IDLE);
    } else {
      this.#margins(...args, 0, rows);
    }
    out.set(outView);
  }

  /** Starts the worker and resolves once it is ready (true), or false after `timeoutMs` (tests and benches use it). */
  async warmUp(timeoutMs = 5000): Promise<boolean> {
    const until = performance.now() + timeoutMs;
    while (!this.#readyWorker()) {
      if (this.#workerFailed || performance.now() > until) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }

  /** Writes the forest into the memory as the kernel's node records, unless it is already there for rows this wide. */
  #load(forest: Forest, cols: number): Loaded | undefined {
    if (this.#loaded?.forest === forest && this.#loaded.cols === cols) return this.#loaded;
    if (!walkable(forest)) return undefined;
    const n = forest.left.length;
    const t = forest.roots.length;
    const nodes = CONTROL_BYTES;
    const roots = align(nodes + n * 16);
    const columns = align(roots + t * 4);
    const shallow = align(columns + t * 4);
    const end = align(shallow + t * 4);
    if (!this.#reserve(end)) return undefined;
    const buffer = this.#memory.buffer;
    const ints = new Int32Array(buffer, nodes, n * 4);
    const floats = new Float32Array(buffer, nodes, n * 4);
    const doubles = new Float64Array(buffer, nodes, n * 2);
    const address = (node: number) => nodes + node * 16;
    for (let i = 0; i < n; i++) {
      if (forest.left[i] === -1) {
        // A leaf: its own left child, reading the always-NaN column (no value passes its test), then its value.
        ints[i * 4] = address(i);
        ints[i * 4 + 1] = 2 * cols * 4;
        doubles[i * 2 + 1] = forest.value[i];
      } else {
        // A split reads its feature from the copy of the row that sends missing values its way (+∞ right, −∞ left).
        ints[i * 4] = address(forest.left[i]);
        ints[i * 4 + 1] = (forest.missingRight[i] ? forest.feature[i] : cols + forest.feature[i]) * 4;
        floats[i * 4 + 2] = forest.threshold[i];
        ints[i * 4 + 3] = 0;
      }
    }
    const rootAddresses = new Int32Array(buffer, roots, t);
    for (let tree = 0; tree < t; tree++) rootAddresses[tree] = address(forest.roots[tree]);
    new Int32Array(buffer, columns, t).set(forest.column);
    const shallowest = new Int32Array(buffer, shallow, t);
    for (let tree = 0; tree < t; tree++) shallowest[tree] = shallowestLeaf(forest.left, forest.roots[tree]);
    this.#loaded = { forest, cols, roots, columns, shallow, end };
    return this.#loaded;
  }

  /** Past MAX_PAGES, or pages the system refuses: this batch is predicted in JavaScript. */
  #reserve(bytes: number): boolean {
    return growMemory(this.#memory, bytes, MAX_PAGES);
  }

  /** The worker once it has started and said so; until then (or if it never does) this thread predicts alone. */
  #readyWorker(): Worker | undefined {
    if (this.#workerFailed) return undefined;
    if (!this.#worker) {
      try {
        this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module: this.#module, memory: this.#memory } });
      } catch {
        this.#workerFailed = true;
        return undefined;
      }
      // A worker that dies (it should not) leaves the work to this thread.
      this.#worker.on('error', () => (this.#workerFailed = true));
      this.#worker.unref();
    }
    return Atomics.load(new Int32Array(this.#memory.buffer, 0, 16), 13) === 1 ? this.#worker : undefined;
  }

  #retireWorker(): void {
    this.#workerFailed = true;
    void this.#worker?.terminate();
  }
}

const align = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** Rows a part copies into the memory: ~256 MiB of rows, widened rows and margins (157,000 rows of 140 features). */
function rowsPerPart(cols: number, k: number): number {
  return Math.max(64, Math.floor((256 * 1024 * 1024) / (cols * 12 + 4 + k * 8)));
}

/**
 * The kernel sends a missing value right by reading it as +∞, left as −∞, which is exact for every split whose
 * threshold is a number above −∞ (thresholds between bins always are). A forest with a NaN or −∞ threshold is
 * predicted in JavaScript.
 */
function walkable(forest: Forest): boolean {
  for (let i = 0; i < forest.left.length; i++) {
    if (forest.left[i] !== -1 && !(forest.threshold[i] > Number.NEGATIVE_INFINITY)) return false;
  }
  return true;
}

/** Depth of the leaf nearest the root (0 for a tree that is one leaf): the kernel's walks need no test above it. */
function shallowestLeaf(left: Int32Array, root: number): number {
  let level = [root];
  for (let depth = 0; ; depth++) {
    if (level.some((node) => left[node] === -1)) return depth;
    level = level.flatMap((node) => [left[node], left[node] + 1]);
  }
}
