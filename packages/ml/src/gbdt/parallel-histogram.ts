import { OitraderError } from '@oitrader/core';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import {
  accumulateLevelGains,
  buildHistogram,
  buildHistogramFeatures,
  combineHistograms,
  HIST_BINS,
  LEVEL_RESULT,
  searchLevelSplits,
  searchSplits,
  SPLIT_RESULT,
  splitCandidate,
  type Histogram,
  type NodeTask,
  type SplitCandidate,
  type SplitParams,
} from './histogram.ts';
import type { Quantisation } from './quantise.ts';
import { SCRATCH_DOUBLES, type GbdtKernel, type HistogramArena, type KernelFitMemory } from './kernels.ts';

/** Below this many rows a node's histogram is built on one thread: handing off costs more than it saves. */
export const MIN_PARALLEL_ROWS = 2048;
/** Rows per claimed piece of work: small enough that a thread preempted mid-chunk holds the other up briefly. */
const CHUNK_ROWS = 512;
/** Features per claimed piece of split search, subtraction or merging. */
const CHUNK_FEATURES = 8;
/** Nodes per split-search task (a deeper level is searched in several). */
const MAX_NODES = 256;

// control[0]: state. control[1]: job. control[2..3]: start, count (rows). control[4]: next chunk
// to claim (Atomics.add). control[5]: chunks the worker did. control[6]: feature count.
// control[7]: chunks. control[8]: nodes. control[9..10]: histogram ids (into, from). control[11]: sign.
// control[13]: 1 when the worker failed within the task (its chunks are not to be trusted).
// nodeInfo per node of a search: first row, rows, flags (1: build, 2: search), id to subtract (−1: none).
const IDLE = 0;
const TASK = 1;
const RUNNING = 2;
const DONE = 3;
const CLOSED = 4;
const EXIT = 5;

const BUILD = 0;
const COMBINE = 1;
const SEARCH = 2;
const LEVEL = 3;

/** Histogram id of the worker's own partial histogram. */
const PARTIAL = 0;

// Plain JavaScript so the worker needs no TypeScript loader: the kernels are
// histogram.ts's own functions, by their source (tsx wraps named inner
// functions in __name, hence the stand-in; the kernels have none today).
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { control, numbers, rowBins, packed, order, features: sharedFeatures, binCounts, nodeIds, nodeSums, nodeCounts, nodeInfo, results, port, numFeatures, params, kernelModule, kernelMemory, scratchByte } = workerData;
const __name = (f) => f;
// Without its kernel instance this thread runs the same functions in JavaScript: the same sums and splits.
let kernel;
try {
  kernel = kernelModule ? { ...new WebAssembly.Instance(kernelModule, { env: { memory: kernelMemory } }).exports, scratch: new Float64Array(kernelMemory.buffer, scratchByte, ${SCRATCH_DOUBLES}), scratchByte } : undefined;
} catch {
  kernel = undefined;
}
const inKernelMemory = (...hists) => (kernel && hists.every((h) => h.inKernelMemory) ? kernel : undefined);
const BINS = ${HIST_BINS}, CHUNK_ROWS = ${CHUNK_ROWS}, CHUNK_FEATURES = ${CHUNK_FEATURES}, SPLIT_RESULT = ${SPLIT_RESULT}, LEVEL_RESULT = ${LEVEL_RESULT};
${buildHistogram.toString()}
${buildHistogramFeatures.toString()}
${combineHistograms.toString()}
${searchSplits.toString()}
${searchLevelSplits.toString()}
${accumulateLevelGains.toString()}
const histograms = new Map();
const histogram = (id) => {
  while (!histograms.has(id)) {
    const message = receiveMessageOnPort(port);
    if (message) histograms.set(message.message.id, message.message.hist);
    else Atomics.wait(control, 15, 0, 1);
  }
  return histograms.get(id);
};
const levelSums = new Float64Array(2 * BINS + 2);
const levelValid = new Int32Array(2 * BINS + 2);
const q = { shift: 0, gradScale: 0, hessScale: 0 };
const hists = [];
const histCounts = [];
const inKernel = [];
const minus = [];
for (;;) {
  const state = Atomics.load(control, 0);
  if (state === ${EXIT}) break;
  if (state !== ${TASK}) { Atomics.wait(control, 0, state); continue; }
  // Too late if the main thread already took every chunk and closed the task.
  if (Atomics.compareExchange(control, 0, ${TASK}, ${RUNNING}) !== ${TASK}) continue;
  const job = control[1], start = control[2], count = control[3], nFeatures = control[6], chunks = control[7], nodes = control[8];
  // The task's features are the first nFeatures of the shared array (its length is every feature's count).
  const features = sharedFeatures.subarray(0, nFeatures);
  q.shift = numbers[0]; q.gradScale = numbers[1]; q.hessScale = numbers[2];
  const partial = histogram(${PARTIAL});
  const into = job === ${COMBINE} ? histogram(control[9]) : undefined;
  const from = job === ${COMBINE} ? histogram(control[10]) : undefined;
  if (job === ${SEARCH} || job === ${LEVEL}) {
    hists.length = 0; histCounts.length = 0; inKernel.length = 0; minus.length = 0;
    for (let n = 0; n < nodes; n++) { const h = histogram(nodeIds[n]); hists.push(h.sum); histCounts.push(h.count); inKernel.push(h.inKernelMemory); }
    if (job === ${SEARCH}) for (let n = 0; n < nodes; n++) minus.push(nodeInfo[n * 4 + 3] >= 0 ? histogram(nodeInfo[n * 4 + 3]) : undefined);
  }
  let done = 0;
  try {
  for (;;) {
    const c = Atomics.add(control, 4, 1);
    if (c >= chunks) break;
    if (job === ${BUILD}) {
      if (done === 0) {
        for (let k = 0; k < nFeatures; k++) partial.sum.fill(0, features[k] * BINS, (features[k] + 1) * BINS);
        if (partial.count) for (let k = 0; k < nFeatures; k++) partial.count.fill(0, features[k] * BINS, (features[k] + 1) * BINS);
      }
      const first = start + c * CHUNK_ROWS, n = Math.min(start + count, first + CHUNK_ROWS) - first;
      buildHistogram(partial, rowBins, numFeatures, features, order.subarray(first, first + n), n, packed, kernel);
    } else {
      const k0 = c * CHUNK_FEATURES, k1 = Math.min(nFeatures, k0 + CHUNK_FEATURES);
      if (job === ${COMBINE}) combineHistograms(into.sum, into.count, from.sum, from.count, features, k0, k1, control[11], inKernelMemory(into, from));
      else if (job === ${SEARCH}) {
        for (let n = 0; n < nodes; n++) if (nodeInfo[n * 4 + 2] & 1) buildHistogramFeatures(hists[n], histCounts[n], rowBins, numFeatures, features, k0, k1, order, nodeInfo[n * 4], nodeInfo[n * 4 + 1], packed, inKernel[n] ? kernel : undefined);
        for (let n = 0; n < nodes; n++) if (minus[n]) combineHistograms(hists[n], histCounts[n], minus[n].sum, minus[n].count, features, k0, k1, -1, inKernel[n] && minus[n].inKernelMemory ? kernel : undefined);
        for (let n = 0; n < nodes; n++) if (nodeInfo[n * 4 + 2] & 2) searchSplits(hists[n], histCounts[n], features, k0, k1, binCounts, nodeSums[n], nodeCounts[n], params, q, results, (n * chunks + c) * SPLIT_RESULT, inKernel[n] ? kernel : undefined);
      }
      else searchLevelSplits(hists, histCounts, nodeSums, nodeCounts, nodes, features, k0, k1, binCounts, params, q, levelSums, levelValid, results, c * LEVEL_RESULT);
    }
    done++;
  }
  } catch {
    // A chunk left undone: the main thread must not use this task's result.
    control[13] = 1;
  }
  control[5] = done;
  Atomics.store(control, 0, ${DONE});
  Atomics.notify(control, 0);
}
`;

const shared = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));

/** A histogram in shared memory, known to the worker by its id. */
export interface SharedHistogram extends Histogram {
  id: number;
}

/**
 * Does the heavy parts of growing a tree on both cores: histograms of large
 * nodes (rows cut into chunks), and parent − child subtraction and split
 * search (features cut into chunks). Both threads claim chunks from a shared
 * counter: this thread never waits for the worker to start (on a loaded
 * machine it may not be scheduled for a while; a fixed half per thread then
 * left this one idle, measured slower than one thread), only for a chunk the
 * worker has already begun. Histogram sums are exact integers (quantise.ts)
 * and split results are merged in feature order keeping the first best, so
 * whoever did which chunk, the model is the same bytes as on one thread.
 * Memory is shared, not copied.
 */
export class ParallelHistogramBuilder {
  readonly rowBins: Uint8Array;
  readonly packed: Float64Array;
  readonly order: Uint32Array;
  readonly #numFeatures: number;
  readonly #counts: boolean;
  readonly #params: SplitParams;
  readonly #control = new Int32Array(shared(16 * 4));
  readonly #numbers = new Float64Array(shared(4 * 8));
  readonly #features: Int32Array;
  readonly #binCounts: Int32Array;
  readonly #nodeIds = new Int32Array(shared(MAX_NODES * 4));
  readonly #nodeSums = new Float64Array(shared(MAX_NODES * 8));
  readonly #nodeCounts = new Float64Array(shared(MAX_NODES * 8));
  readonly #nodeInfo = new Int32Array(shared(MAX_NODES * 4 * 4));
  readonly #results: Float64Array;
  readonly #partial: SharedHistogram;
  readonly #port: MessagePort;
  readonly #worker: Worker;
  readonly #levelSums = new Float64Array(2 * HIST_BINS + 2);
  readonly #levelValid = new Int32Array(2 * HIST_BINS + 2);
  readonly #arena: HistogramArena | undefined;
  readonly #kernel: GbdtKernel | undefined;
  #nextId = PARTIAL;

  /** With kernel memory, the data and histograms live in it and the kernels do the work on both threads (the worker instantiates its own). */
  constructor(rowBins: Uint8Array, rows: number, numFeatures: number, counts: boolean, binCounts: Int32Array, params: SplitParams, memory?: KernelFitMemory) {
    this.#arena = memory?.arena;
    this.#kernel = memory?.kernel;
    if (memory) {
      this.rowBins = memory.rowBins;
      this.packed = memory.packed;
      this.order = memory.order;
    } else {
      this.rowBins = new Uint8Array(shared(rowBins.length));
      this.rowBins.set(rowBins);
      this.packed = new Float64Array(shared(rows * 8));
      this.order = new Uint32Array(shared(rows * 4));
    }
    this.#numFeatures = numFeatures;
    this.#counts = counts;
    this.#params = { lambda: params.lambda, gamma: params.gamma, minChildWeight: params.minChildWeight, minDataInLeaf: params.minDataInLeaf };
    this.#features = new Int32Array(shared(numFeatures * 4));
    this.#binCounts = new Int32Array(shared(binCounts.length * 4));
    this.#binCounts.set(binCounts);
    this.#results = new Float64Array(shared(MAX_NODES * Math.ceil(numFeatures / CHUNK_FEATURES) * SPLIT_RESULT * 8));
    const channel = new MessageChannel();
    this.#port = channel.port1;
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        control: this.#control,
        numbers: this.#numbers,
        rowBins: this.rowBins,
        packed: this.packed,
        order: this.order,
        features: this.#features,
        binCounts: this.#binCounts,
        nodeIds: this.#nodeIds,
        nodeSums: this.#nodeSums,
        nodeCounts: this.#nodeCounts,
        nodeInfo: this.#nodeInfo,
        results: this.#results,
        port: channel.port2,
        numFeatures,
        params: this.#params,
        kernelModule: memory?.arena.module,
        kernelMemory: memory?.arena.memory,
        scratchByte: memory?.arena.scratchByte(1) ?? 0,
      },
      transferList: [channel.port2],
    });
    // A worker that dies before taking a task leaves every chunk to this thread (the same model);
    // one that fails within a task says so through control[13]. Without a listener its error event
    // would end the process.
    this.#worker.on('error', () => undefined);
    this.#worker.unref();
    this.#port.unref();
    this.#partial = this.newHistogram();
  }

  /** An all-zero histogram the worker can read and write. */
  newHistogram(): SharedHistogram {
    const size = this.#numFeatures * HIST_BINS;
    const inArena = this.#kernel ? this.#arena?.histogram(size, this.#counts) : undefined;
    const hist = { id: this.#nextId++, ...(inArena ?? { sum: new Float64Array(shared(size * 8)), count: this.#counts ? new Int32Array(shared(size * 4)) : undefined, inKernelMemory: false }) };
    this.#port.postMessage({ id: hist.id, hist: { sum: hist.sum, count: hist.count, inKernelMemory: hist.inKernelMemory } });
    return hist;
  }

  /** Same contract as buildHistogram over `order[start, start + count)`. */
  build(hist: Histogram, features: Int32Array, start: number, count: number): void {
    if (count < MIN_PARALLEL_ROWS) {
      buildHistogram(hist, this.rowBins, this.#numFeatures, features, this.order.subarray(start, start + count), count, this.packed, this.#kernel);
      return;
    }
    this.#control[2] = start;
    this.#control[3] = count;
    const workerChunks = this.#run(BUILD, features, Math.ceil(count / CHUNK_ROWS), (c) => {
      const from = start + c * CHUNK_ROWS;
      const n = Math.min(start + count, from + CHUNK_ROWS) - from;
      buildHistogram(hist, this.rowBins, this.#numFeatures, features, this.order.subarray(from, from + n), n, this.packed, this.#kernel);
    });
    if (workerChunks > 0) this.combine(hist as SharedHistogram, this.#partial, features, 1);
  }

  /** into ± from (sign 1 or −1) for the features. */
  combine(into: SharedHistogram, from: SharedHistogram, features: Int32Array, sign: number): void {
    this.#control[9] = into.id;
    this.#control[10] = from.id;
    this.#control[11] = sign;
    this.#run(COMBINE, features, Math.ceil(features.length / CHUNK_FEATURES), (c) => {
      const k0 = c * CHUNK_FEATURES;
      combineHistograms(into.sum, into.count, from.sum, from.count, features, k0, Math.min(features.length, k0 + CHUNK_FEATURES), sign, into.inKernelMemory && from.inKernelMemory ? this.#kernel : undefined);
    });
  }

  /**
   * Runs the tasks (histograms to build, siblings to subtract, nodes to
   * search; see NodeTask) as one job cut by features, so a small node's
   * histogram, its sibling's subtraction and both searches cost one hand-off
   * to the worker. Returns each task's best split (undefined when not searched).
   */
  searchNodes(tasks: NodeTask[], features: Int32Array, q: Quantisation): Array<SplitCandidate | undefined> {
    const out: Array<SplitCandidate | undefined> = [];
    const chunks = Math.ceil(features.length / CHUNK_FEATURES);
    const results = this.#results;
    const info = this.#nodeInfo;
    for (let first = 0; first < tasks.length; first += MAX_NODES) {
      const nodes = Math.min(MAX_NODES, tasks.length - first);
      const group = tasks.slice(first, first + nodes);
      for (let n = 0; n < nodes; n++) {
        const task = group[n];
        this.#nodeIds[n] = (task.hist as SharedHistogram).id;
        this.#nodeSums[n] = task.sum;
        this.#nodeCounts[n] = task.count;
        info[n * 4] = task.start;
        info[n * 4 + 1] = task.count;
        info[n * 4 + 2] = (task.build ? 1 : 0) | (task.search ? 2 : 0);
        info[n * 4 + 3] = task.minus ? (task.minus as SharedHistogram).id : -1;
      }
      this.#control[8] = nodes;
      this.#run(SEARCH, features, chunks, (c) => {
        const k0 = c * CHUNK_FEATURES;
        const k1 = Math.min(features.length, k0 + CHUNK_FEATURES);
        const kernel = this.#kernel;
        for (const task of group) if (task.build) buildHistogramFeatures(task.hist.sum, task.hist.count, this.rowBins, this.#numFeatures, features, k0, k1, this.order, task.start, task.count, this.packed, task.hist.inKernelMemory ? kernel : undefined);
        for (const task of group) if (task.minus) combineHistograms(task.hist.sum, task.hist.count, task.minus.sum, task.minus.count, features, k0, k1, -1, task.hist.inKernelMemory && task.minus.inKernelMemory ? kernel : undefined);
        for (let n = 0; n < nodes; n++) {
          const task = group[n];
          if (task.search) searchSplits(task.hist.sum, task.hist.count, features, k0, k1, this.#binCounts, task.sum, task.count, this.#params, q, results, (n * chunks + c) * SPLIT_RESULT, task.hist.inKernelMemory ? kernel : undefined);
        }
      }, q);
      for (let n = 0; n < nodes; n++) out.push(group[n].search ? splitCandidate(results.subarray(n * chunks * SPLIT_RESULT), chunks, group[n], this.#params, q) : undefined);
    }
    return out;
  }

  /** The split shared by a level (oblivious trees), or undefined when the level has more nodes than one task takes. */
  levelSplit(hists: SharedHistogram[], totals: Array<{ sum: number; count: number }>, features: Int32Array, q: Quantisation): { found: boolean; gain: number; feature: number; bin: number; defaultLeft: boolean } | undefined {
    if (hists.length > MAX_NODES) return undefined;
    const nodes = hists.length;
    const sums: Float64Array[] = [];
    const counts: Array<Int32Array | undefined> = [];
    for (let n = 0; n < nodes; n++) {
      this.#nodeIds[n] = hists[n].id;
      this.#nodeSums[n] = totals[n].sum;
      this.#nodeCounts[n] = totals[n].count;
      sums.push(hists[n].sum);
      counts.push(hists[n].count);
    }
    this.#control[8] = nodes;
    const chunks = Math.ceil(features.length / CHUNK_FEATURES);
    const results = this.#results;
    this.#run(LEVEL, features, chunks, (c) => {
      const k0 = c * CHUNK_FEATURES;
      searchLevelSplits(sums, counts, this.#nodeSums, this.#nodeCounts, nodes, features, k0, Math.min(features.length, k0 + CHUNK_FEATURES), this.#binCounts, this.#params, q, this.#levelSums, this.#levelValid, results, c * LEVEL_RESULT);
    }, q);
    let best = -1;
    for (let c = 0; c < chunks; c++) {
      const at = c * LEVEL_RESULT;
      if (results[at] === 1 && (best < 0 || results[at + 1] > results[best + 1])) best = at;
    }
    if (best < 0) return { found: false, gain: 0, feature: 0, bin: 0, defaultLeft: false };
    return { found: true, gain: results[best + 1], feature: results[best + 2], bin: results[best + 3], defaultLeft: results[best + 4] === 1 };
  }

  /** Runs a job's chunks on both threads; returns how many the worker did. */
  #run(job: number, features: Int32Array, chunks: number, chunk: (c: number) => void, q?: Quantisation): number {
    const control = this.#control;
    this.#features.set(features);
    if (q) {
      this.#numbers[0] = q.shift;
      this.#numbers[1] = q.gradScale;
      this.#numbers[2] = q.hessScale;
    }
    control[1] = job;
    control[5] = 0;
    control[13] = 0;
    control[6] = features.length;
    control[7] = chunks;
    Atomics.store(control, 4, 0);
    Atomics.store(control, 0, TASK);
    Atomics.notify(control, 0);
    for (;;) {
      const c = Atomics.add(control, 4, 1);
      if (c >= chunks) break;
      chunk(c);
    }
    // Every chunk is claimed. Close the task unless the worker took it; if it did, wait for its chunks.
    let workerChunks = 0;
    if (Atomics.compareExchange(control, 0, TASK, CLOSED) !== TASK) {
      for (let state = Atomics.load(control, 0); state !== DONE; state = Atomics.load(control, 0)) Atomics.wait(control, 0, state, 1000);
      workerChunks = control[5];
      if (control[13] !== 0) throw new OitraderError('the GBDT worker thread failed in the middle of a fit', { hint: 'fit with nThreads: 1 to use one thread' });
    }
    Atomics.store(control, 0, IDLE);
    return workerChunks;
  }

  close(): void {
    Atomics.store(this.#control, 0, EXIT);
    Atomics.notify(this.#control, 0);
    this.#port.close();
    void this.#worker.terminate();
  }
}
