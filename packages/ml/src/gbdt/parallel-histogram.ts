import { Worker } from 'node:worker_threads';
import { addHistogram, buildHistogram, HIST_BINS, type Histogram } from './histogram.ts';

/** Below this many rows a node's histogram is built on one thread: handing off costs more than it saves. */
const MIN_PARALLEL_ROWS = 2048;
const IDLE = 0;
const TASK = 1;
const DONE = 2;
const EXIT = 3;

// Plain JavaScript so the worker needs no TypeScript loader. It mirrors buildHistogram.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { control, rowBins, packed, order, features, partialSum, partialCount, numFeatures } = workerData;
const BINS = ${HIST_BINS};
for (;;) {
  Atomics.wait(control, 0, ${IDLE});
  const state = Atomics.load(control, 0);
  if (state === ${EXIT}) break;
  if (state !== ${TASK}) continue;
  const start = control[1], count = control[2], nFeatures = control[3];
  for (let k = 0; k < nFeatures; k++) partialSum.fill(0, features[k] * BINS, (features[k] + 1) * BINS);
  if (partialCount) for (let k = 0; k < nFeatures; k++) partialCount.fill(0, features[k] * BINS, (features[k] + 1) * BINS);
  for (let i = start; i < start + count; i++) {
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
  Atomics.store(control, 0, ${DONE});
  Atomics.notify(control, 0);
}
`;

const shared = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));

/**
 * Builds histograms on both cores: a worker thread accumulates the second
 * half of a large node's rows into its own buffer while this thread does the
 * first half, then the halves are added. Histogram sums are exact integers
 * (quantise.ts), so the result is the same bytes as on one thread. Memory is
 * shared, not copied.
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
    const half = count >>> 1;
    this.#features.set(features);
    this.#control[1] = start + half;
    this.#control[2] = count - half;
    this.#control[3] = features.length;
    Atomics.store(this.#control, 0, TASK);
    Atomics.notify(this.#control, 0);
    buildHistogram(hist, this.rowBins, this.#numFeatures, features, this.order.subarray(start, start + half), half, this.packed);
    while (Atomics.load(this.#control, 0) !== DONE) Atomics.wait(this.#control, 0, TASK, 1000);
    Atomics.store(this.#control, 0, IDLE);
    addHistogram(hist, this.#partial, features);
  }

  close(): void {
    Atomics.store(this.#control, 0, EXIT);
    Atomics.notify(this.#control, 0);
    void this.#worker.terminate();
  }
}
