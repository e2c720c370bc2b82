import { timeframeMs } from '@oitrader/core';
import { logReturn, map, nans, rollingMax, rollingMin, rollingSum, sma } from '../indicators/kernels.ts';
import type { FeatureInputs, FeatureSpec } from '../registry.ts';

const OHLC = ['open', 'high', 'low', 'close'];

interface HigherBars {
  /** Close time of each higher-timeframe bar. */
  closeMs: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
}

/**
 * Aggregates base bars into `periodMs` bars (UTC-aligned). A higher bar is
 * complete at its close, which is the close of its last base bar.
 */
function aggregate(x: FeatureInputs, periodMs: number): HigherBars {
  return x.memo(`htf${periodMs}`, () => {
    const t = x.frame.time;
    const close: number[] = [];
    const high: number[] = [];
    const low: number[] = [];
    const closeMs: number[] = [];
    let bucket = Number.NaN;
    for (let i = 0; i < x.n; i++) {
      const b = Math.floor(t[i] / periodMs);
      if (b !== bucket) {
        bucket = b;
        close.push(x.col('close')[i]);
        high.push(x.col('high')[i]);
        low.push(x.col('low')[i]);
        closeMs.push((b + 1) * periodMs);
      } else {
        const k = close.length - 1;
        close[k] = x.col('close')[i];
        high[k] = Math.max(high[k], x.col('high')[i]);
        low[k] = Math.min(low[k], x.col('low')[i]);
      }
    }
    return { close: Float64Array.from(close), high: Float64Array.from(high), low: Float64Array.from(low), closeMs: Float64Array.from(closeMs) };
  });
}

/**
 * Maps a higher-timeframe series onto base bars: base bar i (closing at
 * t_i + bar) sees the newest higher bar whose close is <= its close — only
 * completed higher bars, never the one still forming.
 */
function toBase(x: FeatureInputs, higher: HigherBars, values: Float64Array): Float64Array {
  const bar = timeframeMs(x.frame.timeframe);
  const out = nans(x.n);
  let j = 0;
  for (let i = 0; i < x.n; i++) {
    const close = x.frame.time[i] + bar;
    while (j < higher.closeMs.length && higher.closeMs[j] <= close) j++;
    if (j > 0) out[i] = values[j - 1];
  }
  return out;
}

/** Cutler's RSI (SMA of gains and losses): finite memory, so no long exponential warm-up on few higher bars. */
function cutlerRsi(close: Float64Array, period: number): Float64Array {
  const gain = map(close, (c, i) => (i === 0 ? Number.NaN : Math.max(0, c - close[i - 1])));
  const loss = map(close, (c, i) => (i === 0 ? Number.NaN : Math.max(0, close[i - 1] - c)));
  const g = sma(gain, period);
  const l = sma(loss, period);
  return map(g, (v, i) => (v + l[i] > 0 ? v / (v + l[i]) : 0.5 + 0 * v));
}

function htfSpec(label: string, periodMs: number, name: string, description: string, higherBars: number, compute: (h: HigherBars) => Float64Array): FeatureSpec {
  return {
    name: `${label}_${name}`,
    group: 'multi_timeframe',
    description: `${description} on completed ${label} bars`,
    // Warm-up in base bars: the higher bars needed, plus one partial higher bar at the start.
    warmup: (barMs) => (higherBars + 1) * Math.ceil(periodMs / barMs),
    sources: OHLC,
    compute: (x) => {
      if (timeframeMs(x.frame.timeframe) >= periodMs) return nans(x.n);
      const h = aggregate(x, periodMs);
      return toBase(x, h, compute(h));
    },
  };
}

const H1 = 3_600_000;
const H4 = 4 * H1;

export const MULTI_TIMEFRAME_FEATURES: FeatureSpec[] = [
  htfSpec('h1', H1, 'ret_1', 'log return of the last', 2, (h) => logReturn(h.close, 1)),
  htfSpec('h1', H1, 'ret_4', 'log return over 4', 5, (h) => logReturn(h.close, 4)),
  htfSpec('h1', H1, 'ret_12', 'log return over 12', 13, (h) => logReturn(h.close, 12)),
  htfSpec('h1', H1, 'sma_dist_24', 'close / SMA(24) − 1', 25, (h) => distanceToSma(h.close, 24)),
  htfSpec('h1', H1, 'rsi_14', 'Cutler RSI(14)', 15, (h) => cutlerRsi(h.close, 14)),
  htfSpec('h1', H1, 'range_pos_24', 'position of close in the 24-bar high/low range', 25, (h) => rangePosition(h, 24)),
  htfSpec('h4', H4, 'ret_1', 'log return of the last', 2, (h) => logReturn(h.close, 1)),
  htfSpec('h4', H4, 'ret_3', 'log return over 3', 4, (h) => logReturn(h.close, 3)),
  htfSpec('h4', H4, 'sma_dist_6', 'close / SMA(6) − 1', 7, (h) => distanceToSma(h.close, 6)),
  htfSpec('h4', H4, 'range_pos_6', 'position of close in the 6-bar high/low range', 7, (h) => rangePosition(h, 6)),
  htfSpec('h4', H4, 'range_6', 'mean (high − low) / close over 6', 7, (h) => map(rollingSum(map(h.high, (v, i) => (v - h.low[i]) / h.close[i]), 6), (s) => s / 6)),
];

function rangePosition(h: HigherBars, p: number): Float64Array {
  const hi = rollingMax(h.high, p);
  const lo = rollingMin(h.low, p);
  return map(h.close, (c, i) => (hi[i] > lo[i] ? (c - lo[i]) / (hi[i] - lo[i]) : 0.5 + 0 * hi[i]));
}

function distanceToSma(close: Float64Array, period: number): Float64Array {
  const mean = sma(close, period);
  return map(close, (c, i) => c / mean[i] - 1);
}
