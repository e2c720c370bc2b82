import { setImmediate as nextTurn } from 'node:timers/promises';
import type { GbdtModelJson, GbdtParams } from '../gbdt/gbdt.ts';
import { fitGbdt, foldTestProba, lstmClassWeights, range, rowsOf, type EvalData } from '../evaluation/walk-forward-eval.ts';
import { LstmClassifier, type LstmJson, type LstmOptions } from '../lstm/lstm-classifier.ts';
import { LstmTrainingThread } from '../lstm/lstm-thread.ts';
import type { Fold } from '../validation/walk-forward.ts';

/** Test rows of a fold whose mean |SHAP| is kept (feature stability across folds). */
export const FOLD_SHAP_ROWS = 300;

/**
 * One model fit of a training run: a base model on one walk-forward fold
 * (its out-of-fold probabilities) or on every labelled row (the final model).
 * Plain data, so it can travel to another process.
 */
export type ModelFitJob =
  | { kind: 'gbdt'; name: string; params: Partial<GbdtParams>; fold: number | 'final' }
  | { kind: 'lstm'; name: string; options: Partial<LstmOptions>; fold: number | 'final' };

/** What a fit answers, as plain data: the same bytes wherever it ran. */
export interface ModelFitResult {
  /** Fold fits: class probabilities on the fold's test rows (rows × classes, float64, base64). */
  proba?: string;
  /** GBDT fold fits: mean |SHAP| per feature on the fold's first FOLD_SHAP_ROWS test rows. */
  shap?: number[];
  /** Final fits: the model's saved form. */
  model?: GbdtModelJson | LstmJson;
  /** Time the fit took where it ran. */
  seconds: number;
}

/** Runs a training run's fits: in this process, or spread over workers (bullmq-fit-runner.ts). */
export interface ModelFitRunner {
  /** Queues a fit; resolves with its result. */
  fit(job: ModelFitJob): Promise<ModelFitResult>;
  close(): Promise<void>;
}

export const encodeProba = (proba: Float64Array) => Buffer.from(proba.buffer, proba.byteOffset, proba.byteLength).toString('base64');

export function decodeProba(base64: string): Float64Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** The training rows of a job: the fold's, or every row for the final model. */
function trainRowsOf(data: EvalData, folds: Fold[], fold: number | 'final'): Uint32Array {
  return fold === 'final' ? range(0, data.x.rows) : Uint32Array.from(foldOf(folds, fold).train);
}

function foldOf(folds: Fold[], index: number): Fold {
  const fold = folds.find((f) => f.index === index);
  if (!fold) throw new Error(`no walk-forward fold ${index}`);
  return fold;
}

/** A GBDT fit with balanced class weights, as the pipeline has always fitted them. */
export function runGbdtFit(data: EvalData, folds: Fold[], job: Extract<ModelFitJob, { kind: 'gbdt' }>): ModelFitResult {
  const started = performance.now();
  const model = fitGbdt(data, trainRowsOf(data, folds, job.fold), job.params);
  if (job.fold === 'final') return { model: model.toJSON(), seconds: (performance.now() - started) / 1000 };
  const fold = foldOf(folds, job.fold);
  const test = rowsOf(data.x, range(...fold.test));
  const proba = foldTestProba(data, fold, model, test);
  const sample = { ...test, rows: Math.min(FOLD_SHAP_ROWS, test.rows), data: test.data.subarray(0, Math.min(FOLD_SHAP_ROWS, test.rows) * test.cols) };
  return { proba: encodeProba(proba), shap: Array.from(model.shapSummary(sample)), seconds: (performance.now() - started) / 1000 };
}

/** The LSTM's probabilities on a fold's test rows, from its saved form (what every runner gets back from a fit). */
export async function lstmFoldProba(data: EvalData, folds: Fold[], fold: number, json: LstmJson): Promise<Float64Array> {
  const model = await LstmClassifier.fromJSON(json);
  try {
    return await model.predictProba(data.x, range(...foldOf(folds, fold).test));
  } finally {
    model.dispose();
  }
}

/** An LSTM fit in this thread (a worker process runs it so). */
export async function runLstmFit(data: EvalData, folds: Fold[], job: Extract<ModelFitJob, { kind: 'lstm' }>): Promise<ModelFitResult> {
  const started = performance.now();
  const rows = trainRowsOf(data, folds, job.fold);
  const model = new LstmClassifier(job.options);
  let json: LstmJson;
  try {
    await model.fit(data.x, data.y, rows, lstmClassWeights(Float64Array.from(rows, (t) => data.y[t]), data.numClass));
    json = await model.toJSON();
  } finally {
    model.dispose();
  }
  return lstmResult(data, folds, job, json, (performance.now() - started) / 1000);
}

async function lstmResult(data: EvalData, folds: Fold[], job: Extract<ModelFitJob, { kind: 'lstm' }>, json: LstmJson, seconds: number): Promise<ModelFitResult> {
  if (job.fold === 'final') return { model: json, seconds };
  return { proba: encodeProba(await lstmFoldProba(data, folds, job.fold, json)), seconds };
}

/** Runs any fit in this thread. */
export function runModelFit(data: EvalData, folds: Fold[], job: ModelFitJob): Promise<ModelFitResult> {
  return job.kind === 'gbdt' ? Promise.resolve(runGbdtFit(data, folds, job)) : runLstmFit(data, folds, job);
}

/**
 * The embedded default: GBDT fits on this thread, one per turn of the event
 * loop in the order asked, and LSTM fits on their own worker thread
 * (LstmTrainingThread), so the LSTM trains under the GBDTs: the GBDT keeps
 * ~1.3 of the 2 cores busy, the LSTM (one thread) the rest.
 */
export function inProcessFitRunner(data: EvalData, folds: Fold[]): ModelFitRunner {
  let thread: LstmTrainingThread | undefined;
  let mainQueue: Promise<unknown> = Promise.resolve();
  return {
    fit(job) {
      if (job.kind === 'lstm') {
        thread ??= new LstmTrainingThread(data.x, data.y);
        const rows = trainRowsOf(data, folds, job.fold);
        return thread.fit({ trainRows: rows, classWeight: lstmClassWeights(Float64Array.from(rows, (t) => data.y[t]), data.numClass), options: job.options }).then(({ json, seconds }) => lstmResult(data, folds, job, json, seconds));
      }
      const result = mainQueue.then(async () => {
        await nextTurn();
        return runGbdtFit(data, folds, job);
      });
      mainQueue = result.catch(() => undefined);
      return result;
    },
    async close() {
      await thread?.close();
    },
  };
}
