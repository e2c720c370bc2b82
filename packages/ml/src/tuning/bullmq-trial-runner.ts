import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { OitraderError } from '@oitrader/core';
import { evalDataOf, foldsOf, leadingRows, type TrainingDataset, type TrialScope } from '../pipeline/train-model-run.ts';
import { evaluateTrial, type TrialJob, type TrialRecord, type TrialRunner } from './hyperparameter-search.ts';

/** The BullMQ queue the search's trials go through (under the configured key prefix). */
export const TRIAL_QUEUE = 'search-trials';

export interface QueueConnection {
  /** redis://[:password@]host:port[/db] (config `queue.redis_url` / REDIS_URL). */
  redisUrl: string;
  /** Redis key prefix (config `queue.prefix`); tests use a fresh one per run. */
  prefix: string;
}

/**
 * What a worker loads for a trial: a features file on the shared disk (the same path on
 * every machine) and the slice the search sees. Only this reference travels through
 * Redis, never the rows.
 */
export interface TrialDatasetRef extends TrialScope {
  parquetPath: string;
  manifestPath: string;
}

/** The data of one BullMQ job. */
export interface TrialJobData {
  searchId: string;
  dataset: TrialDatasetRef;
  job: TrialJob;
}

export interface BullmqTrialRunner extends TrialRunner {
  readonly searchId: string;
  close(): Promise<void>;
}

export interface BullmqRunnerOptions {
  /** Tries per job; a try ends when its worker throws or dies (stalled lock). Default 3. */
  attempts?: number;
  /** One-line notices for the user (e.g. no worker connected yet). */
  onNotice?: (line: string) => void;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The search id: a digest of the features file (its manifest and size/mtime) and the
 * slice, so a rerun on the same file finds its finished jobs again, and a rebuilt file
 * never gets the old file's results.
 */
export function trialSearchId(dataset: TrialDatasetRef): string {
  let manifest: string;
  let parquet: { size: number; mtimeMs: number };
  try {
    manifest = readFileSync(dataset.manifestPath, 'utf8');
    parquet = statSync(dataset.parquetPath);
  } catch (error) {
    throw new OitraderError(`cannot read the features file for the search: ${(error as Error).message}`, { hint: 'rebuild it with `oitrader features build`' });
  }
  return sha(JSON.stringify({ manifest, size: parquet.size, mtimeMs: parquet.mtimeMs, rows: dataset.rows, folds: dataset.folds })).slice(0, 16);
}

/**
 * BullMQ job id: one job per (search, policy, trial, rung), plus a digest of the
 * parameters, so adding the same evaluation twice (a rerun, a resumed search) reuses
 * the job and its result instead of running it again.
 */
export function trialJobId(searchId: string, job: TrialJob): string {
  return `${searchId}-${job.policy}-t${job.trial}-r${job.rung}-${sha(JSON.stringify(job.params)).slice(0, 8)}`;
}

/** host:port of a Redis URL without its credentials (for messages: the password is a secret). */
export function redisLabel(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    return `${url.hostname}:${url.port || '6379'}`;
  } catch {
    throw new OitraderError('queue.redis_url is not a URL', { hint: 'write it as redis://host:6379 (or leave it empty to train in-process)', exitCode: 2 });
  }
}

/** A queue this process adds jobs to and waits on (the search's trials, the training run's fits). */
export interface JobQueue<D, R> {
  /** Adds the job (or finds it again by id) and resolves with its result; `failed` words the error when every try failed. */
  submit(jobId: string, name: string, data: D, failed: (reason: string) => OitraderError): Promise<R>;
  close(): Promise<void>;
}

/**
 * BullMQ's Queue and QueueEvents for one queue name. A job id names the work,
 * so adding the same work twice (a rerun, a resumed run) reuses the job and its
 * result; a job that failed in an earlier run (kept for its reason) runs again.
 */
export function jobQueue<D, R>(connection: QueueConnection, queueName: string, options: BullmqRunnerOptions = {}): JobQueue<D, R> {
  const label = redisLabel(connection.redisUrl);
  const opts = { connection: { url: connection.redisUrl, maxRetriesPerRequest: null }, prefix: connection.prefix };
  const queue = new Queue<D, R>(queueName, opts);
  const events = new QueueEvents(queueName, opts);
  const attempts = options.attempts ?? 3;
  let checked: Promise<void> | undefined;
  const checkWorkers = async () => {
    await events.waitUntilReady();
    if ((await queue.getWorkersCount()) === 0) options.onNotice?.(`no worker is connected to Redis at ${label} (prefix ${connection.prefix}) yet: the work waits; start one with \`oitrader worker\``);
  };
  // Waiters by job id, settled by the queue's events. Written here instead of BullMQ's
  // Job.waitUntilFinished, whose async executor rejects unhandled when the queue closes
  // while it is still checking the job (a stopped run closes with jobs in flight).
  const waiters = new Map<string, Array<{ resolve(value: R): void; reject(reason: Error): void }>>();
  const settle = (jobId: string, outcome: { value: R } | { error: Error }) => {
    for (const w of waiters.get(jobId) ?? []) {
      if ('value' in outcome) w.resolve(outcome.value);
      else w.reject(outcome.error);
    }
    waiters.delete(jobId);
  };
  events.on('completed', ({ jobId, returnvalue }) => settle(jobId, { value: returnvalue as R }));
  events.on('failed', ({ jobId, failedReason }) => settle(jobId, { error: new Error(failedReason) }));
  let closed = false;
  return {
    async submit(jobId, name, data, failed) {
      let waiter: { resolve(value: R): void; reject(reason: Error): void } | undefined;
      try {
        await (checked ??= checkWorkers());
        if (closed) throw new Error('the queue was closed');
        const finished = new Promise<R>((resolve, reject) => {
          waiter = { resolve, reject };
          waiters.set(jobId, [...(waiters.get(jobId) ?? []), waiter]);
        });
        finished.catch(() => undefined);
        // BullMQ derives the name's type from the data type, which a generic D leaves open.
        const queued = await queue.add(name as never, data as never, { jobId, attempts, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } });
        // Finished before the listener could hear it (a rerun finds its job done, or failed earlier and retried now).
        const state = await queued.getState();
        if (state === 'failed') {
          // Every try again, not only the ones left; another submit of the same id may have retried it already.
          await queued.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }).catch(async (error: unknown) => {
            if ((await queued.getState()) === 'failed') throw error;
          });
        } else if (state === 'completed') {
          const done = await queue.getJob(jobId);
          if (!done) throw new Error('the finished job was removed from Redis before its result was read: run again');
          settle(jobId, { value: done.returnvalue as R });
        }
        return await finished;
      } catch (error) {
        // This submit's waiter goes; the others for the same job stay.
        const left = (waiters.get(jobId) ?? []).filter((w) => w !== waiter);
        if (left.length > 0) waiters.set(jobId, left);
        else waiters.delete(jobId);
        throw failed(`${(error as Error).message}`);
      }
    },
    async close() {
      closed = true;
      for (const jobId of [...waiters.keys()]) settle(jobId, { error: new Error('the queue was closed before the job finished') });
      await events.close();
      await queue.close();
    },
  };
}

/**
 * A TrialRunner that sends each rung's evaluations to `oitrader worker` processes
 * through BullMQ and waits for all of them. Records come back in job order whatever
 * order the workers finish in. A killed worker's job goes back to the queue when its
 * lock expires and another worker runs it (evaluations are deterministic, so the
 * result is the same).
 */
export function bullmqTrialRunner(connection: QueueConnection, dataset: TrialDatasetRef, options: BullmqRunnerOptions = {}): BullmqTrialRunner {
  const searchId = trialSearchId(dataset);
  const queue = jobQueue<TrialJobData, TrialRecord>(connection, TRIAL_QUEUE, options);
  const attempts = options.attempts ?? 3;
  return {
    searchId,
    evaluate(jobs, onRecord) {
      return Promise.all(
        jobs.map(async (job) => {
          const record = await queue.submit(trialJobId(searchId, job), 'trial', { searchId, dataset, job }, (reason) =>
            new OitraderError(`search trial ${job.trial} (${job.policy}, rung ${job.rung}) failed on a worker after ${attempts} tries: ${reason}`, {
              hint: "read the worker's output; the trials already finished are in the search log and are reused on the next run",
            }),
          );
          onRecord?.(record);
          return record;
        }),
      );
    },
    close: () => queue.close(),
  };
}

export interface TrialWorkerOptions extends JobWorkerOptions {
  /** Reads a features file (the CLI passes @oitrader/features' readFeatureDataset). */
  loadDataset(parquetPath: string, manifestPath: string): Promise<TrainingDataset>;
}

/** How a worker holds its jobs. */
export interface JobWorkerOptions {
  /** How long a job's lock lasts; a dead worker's job is retried elsewhere after it. Default 300 s. */
  lockMs?: number;
  /** How often the worker looks for jobs whose lock expired. Default: lockMs / 2. */
  stalledIntervalMs?: number;
  onEvent?: (line: string) => void;
}

export interface TrialWorker {
  close(): Promise<void>;
  /** Resolves once the worker is connected and pulling jobs. */
  ready(): Promise<void>;
}

/** The features file a job names, loaded once while the next jobs name the same file. */
export function datasetCache(options: TrialWorkerOptions): (dataset: TrialDatasetRef) => Promise<TrainingDataset> {
  let cached: { key: string; data: TrainingDataset } | undefined;
  return async (dataset) => {
    const key = `${dataset.parquetPath}\n${dataset.manifestPath}\n${trialSearchId(dataset)}`;
    if (cached?.key !== key) {
      options.onEvent?.(`loading ${dataset.parquetPath}`);
      cached = { key, data: await options.loadDataset(dataset.parquetPath, dataset.manifestPath) };
    }
    return cached.data;
  };
}

/** A BullMQ worker on one queue, pulling one job at a time (a job uses a whole core). */
export function jobWorker<D, R>(connection: QueueConnection, queueName: string, work: (job: Job<D, R>) => Promise<R>, options: JobWorkerOptions): TrialWorker {
  const lockMs = options.lockMs ?? 300_000;
  const worker = new Worker<D, R>(queueName, work, {
    connection: { url: connection.redisUrl, maxRetriesPerRequest: null },
    prefix: connection.prefix,
    concurrency: 1,
    lockDuration: lockMs,
    stalledInterval: options.stalledIntervalMs ?? Math.max(1000, Math.floor(lockMs / 2)),
    // A stalled job (its worker died) goes back to the queue this many times before it fails.
    maxStalledCount: 3,
  });
  worker.on('failed', (job, error) => options.onEvent?.(`job ${job?.id ?? '?'} failed: ${error.message}`));
  worker.on('error', (error) => options.onEvent?.(`worker error: ${error.message}`));
  return {
    ready: () => worker.waitUntilReady().then(() => undefined),
    close: () => worker.close(),
  };
}

/**
 * The search's side of `oitrader worker`: evaluates a trial with the same function
 * as the in-process search and returns the record.
 */
export function startTrialWorker(connection: QueueConnection, options: TrialWorkerOptions, load = datasetCache(options)): TrialWorker {
  return jobWorker<TrialJobData, TrialRecord>(
    connection,
    TRIAL_QUEUE,
    async (job) => {
      const { dataset, job: trial } = job.data;
      const data = leadingRows(evalDataOf(await load(dataset)), dataset.rows);
      const record = evaluateTrial(data, foldsOf(data, dataset.folds), trial);
      options.onEvent?.(`trial ${trial.trial} ${trial.policy} rung ${trial.rung} (${trial.trees} trees): log-loss ${record.logLoss.toFixed(4)} in ${record.seconds.toFixed(1)} s`);
      return record;
    },
    options,
  );
}
