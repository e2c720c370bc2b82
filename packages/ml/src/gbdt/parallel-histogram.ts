import { Worker } from 'node:worker_threads';
import { addHistogram, buildHistogram, HIST_BINS, type Histogram } from './histogram.ts';

/** Below this many rows a node's histogram is built on one thread: handing off costs more than it saves. */
const MIN_PARALLEL_ROWS = 2048;
/** Rows per claimed piece of work: small enough that a thread preempted mid-chunk holds the other up briefly. */
const CHUNK_ROWS = 512;

// control[0]: state. control[1..3]: start, count, feature count of the task.
// control[4]: next chunk to claim (Atomics.add). control[5]: chunks the worker did.
const IDLE = 0;
const TASK = 1;
const RUNNING = 2;
const DONE = 3;
const CLOSED = 4;
const EXIT = 5;

// Plain JavaScript so the worker needs no TypeScript loader. It mirrors buildHistogram.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { control, rowBins, packed, order, features, partialSum, partialCount, numFeatures } = workerData;
const BINS = ${HIST_BINS}, CHUNK = ${CHUNK_ROWS};
for (;;) {
  const state = Atomics.load(control, 0);
  if (state === ${EXIT}) break;
  if (state !== ${TASK}) { Atomics.wait(control, 0, state); continue; }
  // Too late if the main thread already took every chunk and closed the task.
  if (Atomics.compareExchange(control, 0, ${TASK}, ${RUNNING}) !== ${TASK}) continue;
  const start = control[1], count = control[2], nFeatures = control[3];
  const chunks = Math.ceil(count / CHUNK);
  let done = 0;
  for (;;) {
    const c = Atomics.add(control, 4, 1);
    if (c >= chunks) break;
    if (done === 0) {
      for (let k = 0; k < nFeatures; k++) partialSum.fill(0, features[k] * BINS, (features[k] + 1) * BINS);
      if (partialCount) for (let k = 0; k < nFeatures; k++) partialCount.fill(0, features[k] * BINS, (features[k] + 1) * BINS);
    }
    done++;
    const from = start + c * CHUNK, to = Math.min(start + count, from + CHUNK);
    for (let i = from; i < to; i++) {
      const r = order[i], v = packed[r], base = r * numFeatures;
      for (let k = 0; k < nFeatures; k++) {
        const f = features[k];
        partialSum[(f << 8) | rowBins[base + f]] += v;
      }
      if (partialCount) for (let k = 0; k < nFeatures; k++) {
        const f = features[k];
        partialCount[(f << 8) | rowBins[base + f]]++;
      }
    }
  }
  control[5] = done;
  Atomics.store(control, 0, ${DONE});
  Atomics.notify(control, 0);
}
`;

const shared = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));

/**
 * Builds histograms on both cores. A large node's rows are cut into chunks
 * that both threads claim from a shared counter: this thread never waits for
 * the worker to start (on a loaded machine it may not be scheduled for a
 * while; a fixed half per thread then left this one idle, measured slower
 * than one thread), only for a chunk the worker has already begun. The
 * worker sums into its own buffer, added at the end. Histogram sums are
 * exact integers (quantise.ts), so whoever did which chunk, the result is the
 * same bytes as on one thread. Memory is shared, not copied.
 */
export class ParallelHistogramBuilder {
  readonly rowBins: Uint8Array;
  readonly packed: Float64Array;
  readonly order: Uint32Array;
  readonly #numFeatures: number;
  readonly #control = new Int32Array(shared(16 * 4));
  readonly #features: Int32Array;
  readonly #partial: Histogram;
  readonly #worker: Worker;

  constructor(rowBins: Uint8Array, rows: number, numFeatures: number, counts: boolean) {
    this.rowBins = new Uint8Array(shared(rowBins.length));
    this.rowBins.set(rowBins);
    this.packed = new Float64Array(shared(rows * 8));
    this.order = new Uint32Array(shared(rows * 4));
    this.#numFeatures = numFeatures;
    this.#features = new Int32Array(shared(numFeatures * 4));
    const size = numFeatures * HIST_BINS;
    this.#partial = { sum: new Float64Array(shared(size * 8)), count: counts ? new Int32Array(shared(size * 4)) : undefined };
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { control: this.#control, rowBins: this.rowBins, packed: this.packed, order: this.order, features: this.#features, partialSum: this.#partial.sum, partialCount: this.#partial.count, numFeatures },
    });
    this.#worker.unref();
  }

  /** Same contract as buildHistogram over `order[start, start + count)`. */
  build(hist: Histogram, features: Int32Array, start: number, count: number): void {
    if (count < MIN_PARALLEL_ROWS) {
      buildHistogram(hist, this.rowBins, this.#numFeatures, features, this.order.subarray(start, start + count), count, this.packed);
      return;
    }
    const control = this.#control;
    this.#features.set(features);
    control[1] = start;
    control[2] = count;
    control[3] = features.length;
    control[5] = 0;
    Atomics.store(control, 4, 0);
    Atomics.store(control, 0, TASK);
    Atomics.notify(control, 0);
    const chunks = Math.ceil(count / CHUNK_ROWS);
    for (;;) {
      const c = Atomics.add(control, 4, 1);
      if (c >= chunks) break;
      const from = start + c * CHUNK_ROWS;
      const n = Math.min(start + count, from + CHUNK_ROWS) - from;
      buildHistogram(hist, this.rowBins, this.#numFeatures, features, this.order.subarray(from, from + n), n, this.packed);
    }
    // Every chunk is claimed. Close the task unless the worker took it; if it did, wait for its chunks.
    if (Atomics.compareExchange(control, 0, TASK, CLOSED) !== TASK) {
      for (let state = Atomics.load(control, 0); state !== DONE; state = Atomics.load(control, 0)) Atomics.wait(control, 0, state, 1000);
      if (control[5] > 0) addHistogram(hist, this.#partial, features);
    }
    Atomics.store(control, 0, IDLE);
  }

  close(): void {
    Atomics.store(this.#control, 0, EXIT);
    Atomics.notify(this.#control, 0);
    void this.#worker.terminate();
  }
}
