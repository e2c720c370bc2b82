import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { DataError, formatUtc, writeFileAtomic } from '@oitrader/core';

export const PREDICTIONS_FILE = 'oof-predictions.parquet';

/**
 * What one fold's model knew. A prediction at time t is out of sample only
 * when t lies after `knownUntilMs`: the last bar whose price entered its
 * training (training rows and the bars their labels looked ahead to).
 */
export interface FoldSpan {
  /** 0-based walk-forward fold; -1 = a final model trained on the whole run span. */
  fold: number;
  trainStartMs: number;
  trainEndMs: number;
  /** The last bar any training label looked at (trainEnd + horizon bars, or later for a stacked meta-model). */
  knownUntilMs: number;
  testStartMs: number;
  testEndMs: number;
}

/** One model's out-of-fold class probabilities, time-ordered (0 SHORT, 1 NEUTRAL, 2 LONG). */
export interface OutOfFoldPredictions {
  model: string;
  timeMs: Float64Array;
  fold: Int32Array;
  pShort: Float64Array;
  pNeutral: Float64Array;
  pLong: Float64Array;
  folds: FoldSpan[];
  /** A pooled run: each row's symbol (rows ordered by time, then symbol; one row per symbol and time). */
  symbol?: string[];
}

/** Writes every model's out-of-fold predictions into one Parquet file of the run (long format, one row per model and bar). */
export function writeOutOfFoldPredictions(runDir: string, predictions: OutOfFoldPredictions[]): void {
  writeFileAtomic(join(runDir, PREDICTIONS_FILE), encodeOutOfFoldPredictions(predictions));
}

export function encodeOutOfFoldPredictions(predictions: OutOfFoldPredictions[]): Uint8Array {
  const concat = (pick: (p: OutOfFoldPredictions) => ArrayLike<number>) => Float64Array.from(predictions.flatMap((p) => Array.from(pick(p))));
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'model', data: predictions.flatMap((p) => new Array<string>(p.timeMs.length).fill(p.model)), type: 'STRING' },
      { name: 'time', data: predictions.flatMap((p) => Array.from(p.timeMs, (t) => new Date(t))), type: 'TIMESTAMP' },
      ...(predictions.some((p) => p.symbol) ? [{ name: 'symbol', data: predictions.flatMap((p) => p.symbol ?? new Array<string>(p.timeMs.length).fill('')), type: 'STRING' as const }] : []),
      { name: 'fold', data: Int32Array.from(predictions.flatMap((p) => Array.from(p.fold))), type: 'INT32' },
      { name: 'p_short', data: concat((p) => p.pShort), type: 'DOUBLE' },
      { name: 'p_neutral', data: concat((p) => p.pNeutral), type: 'DOUBLE' },
      { name: 'p_long', data: concat((p) => p.pLong), type: 'DOUBLE' },
    ],
    kvMetadata: [{ key: 'oitrader.folds', value: JSON.stringify(Object.fromEntries(predictions.map((p) => [p.model, p.folds]))) }],
  });
  return new Uint8Array(buffer);
}

/** Model names stored in a run's predictions file. */
export async function outOfFoldModels(runDir: string): Promise<string[]> {
  const { folds } = readFile(runDir);
  return Object.keys(folds);
}

/**
 * Reads one model's out-of-fold predictions from a run directory (default:
 * the stacked ensemble). A pooled run holds several symbols: name one
 * (`symbol`) to get a time series, or pass `'*'` for every row with its symbol.
 */
export async function readOutOfFoldPredictions(runDir: string, model = 'ensemble', symbol?: string): Promise<OutOfFoldPredictions> {
  const { file, folds, path } = readFile(runDir);
  if (!(model in folds)) throw new DataError(`${path} has no predictions of model "${model}"`, { hint: `stored models: ${Object.keys(folds).join(', ')}` });
  const rows = (await parquetReadObjects({ file })) as Array<{ model: string; time: Date | number | bigint; symbol?: string; fold: number; p_short: number; p_neutral: number; p_long: number }>;
  const pooled = rows.length > 0 && typeof rows[0].symbol === 'string';
  const symbols = pooled ? [...new Set(rows.map((r) => r.symbol!))] : [];
  if (pooled && symbol === undefined) throw new DataError(`${path} is a pooled run over ${symbols.join(', ')}: its predictions are per symbol`, { hint: `name the symbol (one of ${symbols.join(', ')})` });
  if (pooled && symbol !== '*' && !symbols.includes(symbol!)) throw new DataError(`${path} has no predictions for ${symbol}`, { hint: `its symbols: ${symbols.join(', ')}` });
  const mine = rows.filter((r) => r.model === model && (!pooled || symbol === '*' || r.symbol === symbol));
  return {
    ...(pooled && symbol === '*' ? { symbol: mine.map((r) => r.symbol!) } : {}),
    model,
    timeMs: Float64Array.from(mine, (r) => (r.time instanceof Date ? r.time.getTime() : Number(r.time))),
    fold: Int32Array.from(mine, (r) => r.fold),
    pShort: Float64Array.from(mine, (r) => r.p_short),
    pNeutral: Float64Array.from(mine, (r) => r.p_neutral),
    pLong: Float64Array.from(mine, (r) => r.p_long),
    folds: folds[model],
  };
}

function readFile(runDir: string): { file: ArrayBuffer; folds: Record<string, FoldSpan[]>; path: string } {
  const path = join(runDir, PREDICTIONS_FILE);
  if (!existsSync(path)) throw new DataError(`${path} does not exist`, { hint: 'the run predates saved out-of-fold predictions: train it again with this version' });
  const bytes = readFileSync(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  try {
    const meta = parquetMetadata(file);
    const kv = meta.key_value_metadata?.find((e) => e.key === 'oitrader.folds');
    if (!kv?.value) throw new Error('no oitrader.folds metadata');
    return { file, folds: JSON.parse(kv.value) as Record<string, FoldSpan[]>, path };
  } catch (error) {
    throw new DataError(`${path} is not a complete oitrader predictions file (${(error as Error).message})`, { hint: 'train the run again' });
  }
}

/** The prediction row for each requested time (-1 where there is none), by binary search over the time-ordered predictions. */
export function alignPredictions(predictions: OutOfFoldPredictions, timesMs: ArrayLike<number>): Int32Array {
  const out = new Int32Array(timesMs.length).fill(-1);
  const t = predictions.timeMs;
  for (let i = 0; i < timesMs.length; i++) {
    let lo = 0;
    let hi = t.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid] === timesMs[i]) {
        out[i] = mid;
        break;
      }
      if (t[mid] < timesMs[i]) lo = mid + 1;
      else hi = mid - 1;
    }
  }
  return out;
}

/**
 * Refuses to hand out a prediction made by a model that had seen the bar:
 * every requested time must have a prediction, from a fold whose training
 * (including its labels' look-ahead) ended before that time.
 */
export function assertOutOfSample(predictions: OutOfFoldPredictions, timesMs: ArrayLike<number>): void {
  const rows = alignPredictions(predictions, timesMs);
  const spans = new Map(predictions.folds.map((f) => [f.fold, f]));
  for (let i = 0; i < rows.length; i++) {
    if (rows[i] < 0) {
      throw new DataError(`no out-of-fold ${predictions.model} prediction for ${formatUtc(timesMs[i])}`, {
        hint: 'trade only on the test windows of the run (its out-of-fold predictions), or on bars after its training span',
      });
    }
    const span = spans.get(predictions.fold[rows[i]]);
    if (!span || timesMs[i] <= span.knownUntilMs) {
      throw new DataError(
        `the ${predictions.model} prediction for ${formatUtc(timesMs[i])} comes from a model trained on data up to ${span ? formatUtc(span.knownUntilMs) : 'an unknown time'}: it is in sample`,
        { hint: 'use out-of-fold predictions (oitrader train saves them) or bars after the run\'s training span' },
      );
    }
  }
}
