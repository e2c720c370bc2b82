import { Worker } from 'node:worker_threads';
import { buildHistogram, HIST_BINS, STRIDE, type Histogram } from './histogram.ts';

/** Below this many rows a node's histogram is built on one thread: handing off costs more than it saves. */
const MIN_PARALLEL_ROWS = 2048;
const IDLE = 0;
const TASK = 1;
const DONE = 2;
const EXIT = 3;

// Plain JavaScript so the worker needs no TypeScript loader. It mirrors buildHistogram.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { control, rowBins, grad, hess, order, features, partial, numFeatures } = workerData;
const BINS = ${HIST_BINS}, STRIDE = ${STRIDE};
for (;;) {
  Atomics.wait(control, 0, ${IDLE});
  const state = Atomics.load(control, 0);
  if (state === ${EXIT}) break;
  if (state !== ${TASK}) continue;
  const start = control[1], count = control[2], nFeatures = control[3];
  for (let k = 0; k < nFeatures; k++) partial.fill(0, features[k] * BINS * STRIDE, (features[k] + 1) * BINS * STRIDE);
  for (let i = start; i < start + count; i++) {
    const r = order[i], g = grad[r], h = hess[r], base = r * numFeatures;
    for (let k = 0; k < nFeatures; k++) {
      const f = features[k];
      const at = (f * BINS + rowBins[base + f]) * STRIDE;
      partial[at] += g; partial[at + 1] += h; partial[at + 2] += 1;
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
 * first half, then the halves are added. The split point depends only on the
 * row count, so results are deterministic. Memory is shared, not copied.
 */
export class ParallelHistogramBuilder {
  readonly rowBins: Uint8Array;
  readonly grad: Float64Array;
  readonly hess: Float64Array;
  readonly order: Uint32Array;
  readonly #numFeatures: number;
  readonly #control = new Int32Array(shared(16 * 4));
  readonly #features: Int32Array;
  readonly #partial: Float64Array;
  readonly #worker: Worker;

  constructor(rowBins: Uint8Array, rows: number, numFeatures: number) {
    this.rowBins = new Uint8Array(shared(rowBins.length));
    this.rowBins.set(rowBins);
    this.grad = new Float64Array(shared(rows * 8));
    this.hess = new Float64Array(shared(rows * 8));
    this.order = new Uint32Array(shared(rows * 4));
    this.#numFeatures = numFeatures;
    this.#features = new Int32Array(shared(numFeatures * 4));
    this.#partial = new Float64Array(shared(numFeatures * HIST_BINS * STRIDE * 8));
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { control: this.#control, rowBins: this.rowBins, grad: this.grad, hess: this.hess, order: this.order, features: this.#features, partial: this.#partial, numFeatures },
    });
    this.#worker.unref();
  }

  /** Same contract as buildHistogram over `order[start, start + count)`. */
  build(hist: Histogram, features: Int32Array, start: number, count: number): void {
    if (count < MIN_PARALLEL_ROWS) {
      buildHistogram(hist, this.rowBins, this.#numFeatures, features, this.order.subarray(start, start + count), count, this.grad, this.hess);
      return;
    }
    const half = count >>> 1;
    this.#features.set(features);
    this.#control[1] = start + half;
    this.#control[2] = count - half;
    this.#control[3] = features.length;
    Atomics.store(this.#control, 0, TASK);
    Atomics.notify(this.#control, 0);
    buildHistogram(hist, this.rowBins, this.#numFeatures, features, this.order.subarray(start, start + half), half, this.grad, this.hess);
    while (Atomics.load(this.#control, 0) !== DONE) Atomics.wait(this.#control, 0, TASK, 1000);
    Atomics.store(this.#control, 0, IDLE);
    const partial = this.#partial;
    for (let k = 0; k < features.length; k++) {
      const from = features[k] * HIST_BINS * STRIDE;
      const to = from + HIST_BINS * STRIDE;
      for (let i = from; i < to; i++) hist[i] += partial[i];
    }
  }

  close(): void {
    Atomics.store(this.#control, 0, EXIT);
    Atomics.notify(this.#control, 0);
    void this.#worker.terminate();
  }
}
