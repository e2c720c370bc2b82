/**
 * Backward-only joins of irregular source series onto bars. A bar that opens at
 * t closes at t + barMs; it may see a source value stamped at or before its
 * close, never one after. Values older than `maxAgeMs` at the close are NaN
 * (a stale number is worse than a missing one).
 */
export function asOfJoin(barOpen: Float64Array, barMs: number, srcTime: Float64Array, srcValue: Float64Array, maxAgeMs: number): Float64Array {
  const out = new Float64Array(barOpen.length).fill(Number.NaN);
  let j = 0;
  for (let i = 0; i < barOpen.length; i++) {
    const close = barOpen[i] + barMs;
    while (j < srcTime.length && srcTime[j] <= close) j++;
    if (j === 0) continue;
    const k = j - 1;
    if (close - srcTime[k] <= maxAgeMs) out[i] = srcValue[k];
  }
  return out;
}

/**
 * Sums event values falling inside each bar, [open, open + barMs). Bars before
 * `coverageStartMs` (when the source was not yet recorded) are NaN, not 0.
 */
export function sumEventsInBars(barOpen: Float64Array, barMs: number, eventTime: Float64Array, eventValue: Float64Array, coverageStartMs: number): Float64Array {
  const out = new Float64Array(barOpen.length);
  let j = 0;
  for (let i = 0; i < barOpen.length; i++) {
    const open = barOpen[i];
    const close = open + barMs;
    if (close <= coverageStartMs) {
      out[i] = Number.NaN;
      continue;
    }
    while (j < eventTime.length && eventTime[j] < open) j++;
    let sum = 0;
    for (let k = j; k < eventTime.length && eventTime[k] < close; k++) sum += eventValue[k];
    out[i] = sum;
  }
  return out;
}
