import { createLogger, type Logger } from '@oitrader/core';
import type { SqlExecutor } from '../store/sql-executor.ts';

/** One unit of work for the database: an upsert, a log entry, a health row. */
export interface WriteJob {
  /** Rows it carries, for the bound. */
  rows: number;
  label: string;
  run(sql: SqlExecutor): Promise<void>;
  /** Called with the wall time the job committed. */
  onStored?: (storedAtMs: number) => void;
  /** Called if the bound forces this job out: the owner rewinds its cursor so a backfill fetches the rows again. */
  onDropped?: () => void;
}

export interface WriteQueueOptions {
  /** Rows held in memory while the database is unreachable; beyond it the oldest jobs are dropped, counted and logged. */
  maxRows?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  log?: Logger;
  /** Called once the queue has caught up after failures or drops, with their counts. */
  onRecovered?: (outage: { failures: number; droppedRows: number; droppedJobs: number }) => void;
}

export interface WriteQueueStats {
  pendingJobs: number;
  pendingRows: number;
  writtenJobs: number;
  droppedJobs: number;
  droppedRows: number;
  failures: number;
}

/**
 * The collector's only path to the database. Writes happen one job at a time,
 * in arrival order, as soon as they arrive (no batching delay: latency is the
 * goal). When the database fails the job stays at the head and is retried with
 * backoff while new jobs queue behind it, up to `maxRows`; past that the
 * oldest are dropped — never silently: counted, logged now, handed to the
 * job's `onDropped`, and reported to `onRecovered` once the queue has caught
 * up, so the caller can backfill what was lost from REST.
 */
export class WriteQueue {
  readonly #sql: SqlExecutor;
  readonly #maxRows: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #log: Logger;
  readonly #onRecovered: WriteQueueOptions['onRecovered'];
  readonly #jobs: WriteJob[] = [];
  #pendingRows = 0;
  #running: Promise<void> | undefined;
  #outage = { failures: 0, droppedRows: 0, droppedJobs: 0 };
  #idle: Array<() => void> = [];
  #closed = false;
  #wakeRetry: (() => void) | undefined;
  #roomWaiters: Array<() => void> = [];
  readonly stats: WriteQueueStats = { pendingJobs: 0, pendingRows: 0, writtenJobs: 0, droppedJobs: 0, droppedRows: 0, failures: 0 };
  lastError: string | undefined;

  constructor(sql: SqlExecutor, options: WriteQueueOptions = {}) {
    this.#sql = sql;
    this.#maxRows = options.maxRows ?? 100_000;
    this.#retryBaseMs = options.retryBaseMs ?? 250;
    this.#retryMaxMs = options.retryMaxMs ?? 10_000;
    this.#log = options.log ?? createLogger('write-queue');
    this.#onRecovered = options.onRecovered;
  }

  push(job: WriteJob): void {
    if (this.#closed) {
      // After shutdown nothing can be written; the store's cursor did not move, so the next start refetches it.
      job.onDropped?.();
      this.stats.droppedJobs++;
      this.stats.droppedRows += job.rows;
      return;
    }
    this.#jobs.push(job);
    this.#pendingRows += job.rows;
    // Drop the oldest job, except the head while its write is in flight.
    while (this.#pendingRows > this.#maxRows && this.#jobs.length > 1) {
      const dropped = this.#jobs.splice(this.#running ? 1 : 0, 1)[0];
      this.#pendingRows -= dropped.rows;
      dropped.onDropped?.();
      this.stats.droppedJobs++;
      this.stats.droppedRows += dropped.rows;
      this.#outage.droppedJobs++;
      this.#outage.droppedRows += dropped.rows;
      this.#log.warn('write buffer full: dropped the oldest job', { job: dropped.label, rows: dropped.rows, droppedRowsTotal: this.stats.droppedRows, maxRows: this.#maxRows });
    }
    this.#sync();
    this.#running ??= this.#drain();
  }

  /**
   * Resolves once `rows` more fit under the bound. Backfills wait here (there
   * is no point fetching faster than the database writes, and no reason to
   * drop what can be fetched later); only the live stream, which cannot wait,
   * pushes straight in.
   */
  async waitForRoom(rows: number): Promise<void> {
    while (this.#pendingRows > 0 && this.#pendingRows + rows > this.#maxRows) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
  }

  /** Resolves when every queued job is written, or after `timeoutMs` (returns the jobs still pending). */
  async flush(timeoutMs = 10_000): Promise<number> {
    if (this.#jobs.length === 0) return 0;
    await Promise.race([new Promise<void>((resolve) => this.#idle.push(resolve)), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    return this.#jobs.length;
  }

  /**
   * Shutdown: stop retrying (a closed pool would be retried forever, keeping the
   * process alive) and return how many jobs could not be written. Call after
   * `flush()` has had its chance.
   */
  close(): number {
    this.#closed = true;
    this.#wakeRetry?.();
    return this.#jobs.length;
  }

  async #drain(): Promise<void> {
    let delay = this.#retryBaseMs;
    while (this.#jobs.length > 0 && !this.#closed) {
      const job = this.#jobs[0];
      try {
        await job.run(this.#sql);
      } catch (error) {
        this.stats.failures++;
        this.#outage.failures++;
        this.lastError = (error as Error).message;
        if (this.#outage.failures === 1) this.#log.error('database write failed; holding writes in memory and retrying', { job: job.label, error: this.lastError });
        if (this.#closed) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.#wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wakeRetry = undefined;
        delay = Math.min(this.#retryMaxMs, delay * 2);
        continue;
      }
      delay = this.#retryBaseMs;
      this.#jobs.shift();
      this.#pendingRows -= job.rows;
      this.stats.writtenJobs++;
      this.#sync();
      for (const resolve of this.#roomWaiters.splice(0)) resolve();
      job.onStored?.(Date.now());
    }
    this.#running = undefined;
    // Caught up: report the outage (or the overflow) once, so the caller can re-fetch what was dropped.
    if (this.#outage.failures > 0 || this.#outage.droppedJobs > 0) {
      const outage = this.#outage;
      this.#outage = { failures: 0, droppedRows: 0, droppedJobs: 0 };
      this.#log.info('database writes caught up', outage);
      this.#onRecovered?.(outage);
    }
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  #sync(): void {
    this.stats.pendingJobs = this.#jobs.length;
    this.stats.pendingRows = this.#pendingRows;
  }
}
