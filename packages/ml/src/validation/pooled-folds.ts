import { OitraderError } from '@oitrader/core';
import { walkForwardFolds, type Fold, type WalkForwardOptions } from './walk-forward.ts';

/**
 * Each row's bar on a pooled dataset's common time grid: the index of its
 * time among the distinct times (rows must be ordered by time). A grid time
 * no symbol has is skipped, which only widens purge and embargo in time.
 */
export function timeGrid(timeMs: ArrayLike<number>): Int32Array {
  const out = new Int32Array(timeMs.length);
  for (let t = 1; t < timeMs.length; t++) {
    if (timeMs[t] < timeMs[t - 1]) throw new OitraderError(`pooled rows are not ordered by time (row ${t})`, { hint: 'rebuild the features file with oitrader features build --symbols' });
    out[t] = out[t - 1] + (timeMs[t] > timeMs[t - 1] ? 1 : 0);
  }
  return out;
}

/** The first row at or after each bar 0 … bars (rows ordered by bar). */
function rowStarts(timeIndex: Int32Array, bars: number): Int32Array {
  const starts = new Int32Array(bars + 1).fill(timeIndex.length);
  for (let t = timeIndex.length - 1; t >= 0; t--) starts[timeIndex[t]] = t;
  for (let b = bars - 1; b >= 0; b--) starts[b] = Math.min(starts[b], starts[b + 1]);
  return starts;
}

/** Rows whose bar is before `bar` (rows ordered by bar). */
export function rowsBeforeBar(timeIndex: Int32Array, bar: number): number {
  let n = 0;
  while (n < timeIndex.length && timeIndex[n] < bar) n++;
  return n;
}

/**
 * Walk-forward folds over a pooled dataset, split by TIME across all
 * symbols: the folds are cut on the common time grid (trainSize, testSize,
 * horizon and embargo in bars) and each bar stands for every symbol's row at
 * that time. So a test window holds every symbol's rows of its bars, and a
 * row of any symbol is purged (its label window reaches the test window) or
 * embargoed exactly when its bar is. Without a grid (one symbol) these are
 * walkForwardFolds over the rows.
 */
export function pooledWalkForwardFolds(timeIndex: Int32Array | undefined, rows: number, options: WalkForwardOptions): Fold[] {
  if (!timeIndex) return walkForwardFolds(rows, options);
  const bars = rows === 0 ? 0 : timeIndex[rows - 1] + 1;
  const starts = rowStarts(timeIndex.subarray(0, rows), bars);
  return walkForwardFolds(bars, options).map((fold) => {
    const train: number[] = [];
    for (const bar of fold.train) for (let t = starts[bar]; t < starts[bar + 1]; t++) train.push(t);
    const embargoedRows = fold.embargoed === 0 ? 0 : rowsInBars(starts, bars, fold) - train.length - (starts[fold.purged[1]] - starts[fold.purged[0]]);
    return { index: fold.index, train: Uint32Array.from(train), test: [starts[fold.test[0]], starts[fold.test[1]]], purged: [starts[fold.purged[0]], starts[fold.purged[1]]], embargoed: embargoedRows };
  });
}

/** Rows from the fold's first training bar up to its test window. */
function rowsInBars(starts: Int32Array, bars: number, fold: Fold): number {
  const first = fold.train.length > 0 ? fold.train[0] : fold.purged[0];
  return starts[Math.min(bars, fold.test[0])] - starts[first];
}
