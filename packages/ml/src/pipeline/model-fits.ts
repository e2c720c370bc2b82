import { setImmediate as nextTurn } from 'node:timers/promises';
import type { GbdtModelJson, GbdtParams } from '../gbdt/gbdt.ts';
import { classPrior, fitGbdt, foldTestProba, lstmClassWeights, range, rowsOf, type EvalData } from '../evaluation/walk-forward-eval.ts';
import { DEFAULT_LSTM, LstmClassifier, type LstmJson, type LstmOptions } from '../lstm/lstm-classifier.ts';
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

/**
 * The table the LSTM reads: its sequences are a symbol's consecutive rows, so
 * a pooled dataset (rows by time, then symbol) is reordered symbol by symbol
 * (time order within each). `toView[t]` is row t's place there; a row with
 * fewer than `lookback` rows of its own symbol before it has no sequence.
 * One symbol: the data itself.
 */
export interface LstmView {
  x: EvalData['x'];
  y: Float64Array;
  toView: (t: number) => number;
  hasSequence: (t: number, lookback: number) => boolean;
}

export function lstmView(data: EvalData): LstmView {
  const series = data.series;
  if (!series) return { x: data.x, y: data.y, toView: (t) => t, hasSequence: (t, lookback) => t >= lookback - 1 };
  const order = Array.from({ length: data.x.rows }, (_, t) => t).sort((a, b) => series[a] - series[b] || a - b);
  const toView = new Int32Array(order.length);
  const position = new Int32Array(order.length);
  order.forEach((t, v) => {
    toView[t] = v;
    position[t] = v > 0 && series[order[v - 1]] === series[t] ? position[order[v - 1]] + 1 : 0;
  });
  const x = rowsOf(data.x, order);
  return { x, y: Float64Array.from(order, (t) => data.y[t]), toView: (t) => toView[t], hasSequence: (t, lookback) => position[t] >= lookback - 1 };
}

const lookbackOf = (options: Partial<LstmOptions>) => options.lookback ?? DEFAULT_LSTM.lookback;

/** The training rows of an LSTM job in the view's indices (time order kept; rows without a sequence left out). */
function lstmTrainRows(view: LstmView, data: EvalData, folds: Fold[], job: Extract<ModelFitJob, { kind: 'lstm' }>): Uint32Array {
  const lookback = lookbackOf(job.options);
  return Uint32Array.from(Array.from(trainRowsOf(data, folds, job.fold)).filter((t) => view.hasSequence(t, lookback)), (t) => view.toView(t));
}

/**
 * The LSTM's probabilities on a fold's test rows, from its saved form (what
 * every runner gets back from a fit). A test row without a sequence of its
 * own symbol (a symbol that starts inside the window) gets the class prior
 * of the fold's training rows: a forecast that knows nothing about it.
 */
export async function lstmFoldProba(data: EvalData, folds: Fold[], fold: number, json: LstmJson, view = lstmView(data)): Promise<Float64Array> {
  const model = await LstmClassifier.fromJSON(json);
  try {
    const f = foldOf(folds, fold);
    const test = Array.from(range(...f.test));
    const lookback = model.options.lookback;
    const known = test.filter((t) => view.hasSequence(t, lookback));
    const predicted = await model.predictProba(view.x, known.map((t) => view.toView(t)));
    if (known.length === test.length) return predicted;
    const k = data.numClass;
    const prior = classPrior(data, f.train);
    const out = new Float64Array(test.length * k);
    for (let i = 0; i < test.length; i++) out.set(prior, i * k);
    known.forEach((t, i) => out.set(predicted.subarray(i * k, (i + 1) * k), (t - f.test[0]) * k));
    return out;
  } finally {
    model.dispose();
  }
}

/** An LSTM fit in this thread (a worker process runs it so). */
export async function runLstmFit(data: EvalData, folds: Fold[], job: Extract<ModelFitJob, { kind: 'lstm' }>): Promise<ModelFitResult> {
  const started = performance.now();
  const view = lstmView(data);
  const rows = lstmTrainRows(view, data, folds, job);
  const model = new LstmClassifier(job.options);
  let json: LstmJson;
  try {
    await model.fit(view.x, view.y, rows, lstmClassWeights(Float64Array.from(rows, (v) => view.y[v]), data.numClass));
    json = await model.toJSON();
  } finally {
    model.dispose();
  }
  return lstmResult(data, folds, job, json, (performance.now() - started) / 1000, view);
}

async function lstmResult(data: EvalData, folds: Fold[], job: Extract<ModelFitJob, { kind: 'lstm' }>, json: LstmJson, seconds: number, view: LstmView): Promise<ModelFitResult> {
  if (job.fold === 'final') return { model: json, seconds };
  return { proba: encodeProba(await lstmFoldProba(data, folds, job.fold, json, view)), seconds };
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
  let view: LstmView | undefined;
  let mainQueue: Promise<unknown> = Promise.resolve();
  return {
    fit(job) {
      if (job.kind === 'lstm') {
        view ??= lstmView(data);
        const v = view;
        thread ??= new LstmTrainingThread(v.x, v.y);
        const rows = lstmTrainRows(v, data, folds, job);
        return thread.fit({ trainRows: rows, classWeight: lstmClassWeights(Float64Array.from(rows, (r) => v.y[r]), data.numClass), options: job.options }).then(({ json, seconds }) => lstmResult(data, folds, job, json, seconds, v));
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
