import type { Frame } from '@oitrader/core';
import { alignPredictions, assertOutOfSample, type OutOfFoldPredictions } from '@oitrader/ml';
import type { MlSignal } from './controller.ts';
import type { MarketColumns } from './observation.ts';

/**
 * The ML probabilities for frame rows [start, end), aligned with the frame
 * (NaN elsewhere), after `assertOutOfSample` has refused any bar that the
 * predicting fold's model had seen in training: the agent must never learn
 * from, or be evaluated on, in-sample ML predictions.
 */
export function alignOutOfSample(predictions: OutOfFoldPredictions, frame: Frame, start = 0, end = frame.length): MlSignal {
  const times = frame.time.subarray(start, end);
  assertOutOfSample(predictions, times);
  const rows = alignPredictions(predictions, times);
  const signal: MlSignal = { pShort: new Float64Array(frame.length).fill(Number.NaN), pNeutral: new Float64Array(frame.length).fill(Number.NaN), pLong: new Float64Array(frame.length).fill(Number.NaN) };
  for (let k = 0; k < rows.length; k++) {
    signal.pShort[start + k] = predictions.pShort[rows[k]];
    signal.pNeutral[start + k] = predictions.pNeutral[rows[k]];
    signal.pLong[start + k] = predictions.pLong[rows[k]];
  }
  return signal;
}

/** Rows [start, end) of a signal, as views (for a backtest over `frame.slice(start, end)`). */
export function sliceSignal(signal: MlSignal, start: number, end: number): MlSignal {
  return { pShort: signal.pShort.subarray(start, end), pNeutral: signal.pNeutral.subarray(start, end), pLong: signal.pLong.subarray(start, end) };
}

export function sliceMarket(market: MarketColumns, start: number, end: number): MarketColumns {
  return { ...market, columns: market.columns.map((c) => c.subarray(start, end)) };
}
