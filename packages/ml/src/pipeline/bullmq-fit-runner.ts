import { createHash } from 'node:crypto';
import { OitraderError } from '@oitrader/core';
import { datasetCache, jobQueue, jobWorker, trialSearchId, type BullmqRunnerOptions, type QueueConnection, type TrialDatasetRef, type TrialWorker, type TrialWorkerOptions } from '../tuning/bullmq-trial-runner.ts';
import { runModelFit, type ModelFitJob, type ModelFitResult, type ModelFitRunner } from './model-fits.ts';
import { evalDataOf, foldsOf, leadingRows } from './train-model-run.ts';

/** The BullMQ queue a training run's model fits go through. */
export const FIT_QUEUE = 'model-fits';

/** The data of one fit job: which features file and slice, and the fit. Never rows. */
export interface FitJobData {
  datasetId: string;
  dataset: TrialDatasetRef;
  job: ModelFitJob;
}

/** One job per (features file and slice, fit): a rerun on the same file reuses finished fits. */
export function fitJobId(datasetId: string, job: ModelFitJob): string {
  return `${datasetId}-fit-${createHash('sha256').update(JSON.stringify(job)).digest('hex').slice(0, 16)}`;
}

/**
 * The training run's fits (every fold of every member and the final models)
 * on `oitrader worker` processes through BullMQ: each fit is a job naming the
 * features file, so workers on other machines run them in parallel. Fits are
 * deterministic, so a retried job (its worker died) answers the same bytes.
 */
export function bullmqFitRunner(connection: QueueConnection, dataset: TrialDatasetRef, options: BullmqRunnerOptions = {}): ModelFitRunner {
  const datasetId = trialSearchId(dataset);
  const queue = jobQueue<FitJobData, ModelFitResult>(connection, FIT_QUEUE, options);
  const attempts = options.attempts ?? 3;
  return {
    fit: (job) =>
      queue.submit(fitJobId(datasetId, job), 'fit', { datasetId, dataset, job }, (reason) =>
        new OitraderError(`${job.name} ${job.fold === 'final' ? 'final model' : `fold ${job.fold + 1}`} failed on a worker after ${attempts} tries: ${reason}`, {
          hint: "read the worker's output; fits already finished are kept in Redis for a week and reused on the next run",
        }),
      ),
    close: () => queue.close(),
  };
}

/** The fits' side of `oitrader worker`: runs a fit with the same function as the in-process run. */
export function startFitWorker(connection: QueueConnection, options: TrialWorkerOptions, load = datasetCache(options)): TrialWorker {
  return jobWorker<FitJobData, ModelFitResult>(
    connection,
    FIT_QUEUE,
    async (queued) => {
      const { dataset, job } = queued.data;
      const data = leadingRows(evalDataOf(await load(dataset)), dataset.rows);
      const result = await runModelFit(data, foldsOf(data, dataset.folds), job);
      options.onEvent?.(`fit ${job.name} ${job.fold === 'final' ? 'final model' : `fold ${job.fold + 1}`} in ${result.seconds.toFixed(1)} s`);
      return result;
    },
    options,
  );
}
