import { Worker } from 'node:worker_threads';
import { OitraderError } from '@oitrader/core';
import type { Matrix } from '../gbdt/matrix.ts';
import type { LstmJson, LstmOptions } from './lstm-classifier.ts';

/** A fit the thread runs: rows of the shared table, the class weights, the options. */
export interface LstmFitJob {
  trainRows: ArrayLike<number>;
  classWeight?: Record<number, number>;
  options: Partial<LstmOptions>;
}

/** A finished fit: the model's saved form and the seconds the thread spent on it. */
export interface LstmFit {
  json: LstmJson;
  seconds: number;
}

interface Pending {
  resolve: (fit: LstmFit) => void;
  reject: (error: Error) => void;
}

/**
 * LSTM fits on a worker thread, so the LSTM trains while the main thread
 * fits the GBDT members and baselines: the GBDT keeps ~1.3 of the 2 cores
 * busy and the LSTM (one thread) the rest. The table and labels go to the
 * thread once; fits run one after another in the order they were asked for,
 * each answering with the trained model's saved form (LstmClassifier.toJSON),
 * which is byte for byte what the same fit on the main thread saves.
 */
export class LstmTrainingThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #failure: Error | undefined;

  constructor(x: Matrix, labels: ArrayLike<number>) {
    this.#worker = new Worker(new URL('./lstm-thread-entry.mjs', import.meta.url), {
      workerData: { data: x.data, rows: x.rows, cols: x.cols, labels: Float64Array.from(labels) },
    });
    this.#worker.on('message', (message: { id: number; json?: LstmJson; seconds: number; error?: string }) => {
      const job = this.#pending.get(message.id);
      if (!job) return;
      this.#pending.delete(message.id);
      if (message.json) job.resolve({ json: message.json, seconds: message.seconds });
      else job.reject(new OitraderError(`LSTM training failed: ${message.error}`));
    });
    const fail = (error: Error) => {
      this.#failure ??= error;
      for (const job of this.#pending.values()) job.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', (error) => fail(new OitraderError(`the LSTM training thread failed: ${error.message}`)));
    this.#worker.on('exit', (code) => fail(new OitraderError(`the LSTM training thread exited (code ${code}) before its fits were done`)));
  }

  /** Queues a fit; resolves with the trained model's saved form. */
  fit(job: LstmFitJob): Promise<LstmFit> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#next++;
    const done = new Promise<LstmFit>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#worker.postMessage({ id, trainRows: Uint32Array.from(job.trainRows), classWeight: job.classWeight, options: job.options });
    return done;
  }

  /** Stops the thread; fits still queued are rejected. */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
