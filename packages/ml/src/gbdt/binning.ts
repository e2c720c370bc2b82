import type { Matrix } from './matrix.ts';

/** Bin 0 holds missing values; bins 1..n hold values between consecutive cut points. */
export const MISSING_BIN = 0;

/**
 * Quantile cut points per feature (at most maxBins − 1 cuts → maxBins value
 * bins + the missing bin, so a bin index fits a Uint8Array). Cut points are
 * float32 midpoints between distinct sample values, so `x < cut` means the
 * same thing here as in XGBoost, which compares float32 values. Computed on
 * every `step`-th row, step = max(1, ⌊rows / sampleRows⌋).
 */
export function computeCuts(x: Matrix, maxBins = 255, sampleRows = 200_000): Float32Array[] {
  const step = sampleStep(x.rows, sampleRows);
  const cuts: Float32Array[] = [];
  for (let c = 0; c < x.cols; c++) {
    const keys = new Uint32Array(Math.ceil(x.rows / step));
    let n = 0;
    for (let r = 0; r < x.rows; r += step) {
      const v = x.data[r * x.cols + c];
      if (!Number.isNaN(v)) keys[n++] = sortKey(v);
    }
    cuts.push(cutsOfSorted(sortedValues(radixSort(keys.subarray(0, n), undefined).keys), maxBins));
  }
  return cuts;
}

/** Bin of a value: 1 + number of cuts <= value (binary search); 0 for NaN. */
export function binOf(cuts: Float32Array, value: number): number {
  if (Number.isNaN(value)) return MISSING_BIN;
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value < cuts[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo + 1;
}

export interface BinnedFeatures {
  cuts: Float32Array[];
  /** Column-wise bins (one Uint8Array per feature), for partitioning. */
  columns: Uint8Array[];
  /** `rowBins[row * stride + feature]`, rows padded to `stride` = features rounded up to a multiple of 4 (histogram.ts reads four bins per load). */
  rowBins: Uint8Array;
}

/** Features per gathering pass over the matrix: one pass reads a 64-byte line of each row for 16 float32 columns. */
const GATHER_COLUMNS = 16;

/**
 * Cut points (as computeCuts) and every value's bin (as binOf), from one
 * sort per column: each column's values are radix-sorted with their row
 * numbers, the cuts are read off the sorted values, and the bins assigned by
 * walking the sorted values and the cuts together — no binary search per
 * value. Measured on 40,000 × 140: 1.4 s for typed-array sort + binary
 * searches, ~0.15 s this way.
 */
export function binFeatures(x: Matrix, maxBins = 255, sampleRows = 200_000): BinnedFeatures {
  const { rows, cols, data } = x;
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const stride = (cols + 3) & ~3;
  const rowBins = new Uint8Array(rows * stride);
  const columns = Array.from({ length: cols }, () => new Uint8Array(rows));
  const cuts: Float32Array[] = [];
  const sampled = sampleStep(rows, sampleRows) > 1 ? computeCuts(x, maxBins, sampleRows) : undefined;
  const width = Math.min(GATHER_COLUMNS, cols);
  const keys = Array.from({ length: width }, () => new Uint32Array(rows));
  const rowIds = Array.from({ length: width }, () => new Uint32Array(rows));
  const filled = new Int32Array(width);
  const scratch = { keys: new Uint32Array(rows), rows: new Uint32Array(rows) };
  for (let first = 0; first < cols; first += width) {
    const last = Math.min(cols, first + width);
    filled.fill(0);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = first; c < last; c++) {
        const u = words[base + c];
        // NaN: exponent all ones and a non-zero fraction.
        if ((u & 0x7fffffff) > 0x7f800000) continue;
        const at = filled[c - first]++;
        keys[c - first][at] = (u & 0x80000000 ? ~u : u | 0x80000000) >>> 0;
        rowIds[c - first][at] = r;
      }
    }
    for (let c = first; c < last; c++) {
      const n = filled[c - first];
      const sorted = radixSort(keys[c - first].subarray(0, n), rowIds[c - first].subarray(0, n), scratch);
      const values = sortedValues(sorted.keys);
      const columnCuts = sampled ? sampled[c] : cutsOfSorted(values, maxBins);
      cuts.push(columnCuts);
      const column = columns[c];
      const order = sorted.rows as Uint32Array;
      // Rows with NaN keep bin 0 (MISSING_BIN): the arrays start all-zero.
      let j = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        // !(v < cut), not cut <= v: a NaN cut (−Inf and +Inf its only neighbours) counts as passed, as binOf counts it.
        while (j < columnCuts.length && !(v < columnCuts[j])) j++;
        column[order[i]] = j + 1;
      }
    }
    // Row-major copy of the block's columns: written row by row, not scattered by the walk above.
    for (let r = 0; r < rows; r++) for (let c = first; c < last; c++) rowBins[r * stride + c] = columns[c][r];
  }
  return { cuts, columns, rowBins };
}

function sampleStep(rows: number, sampleRows: number): number {
  return Math.max(1, Math.floor(rows / sampleRows));
}

/** Cut points from a column's non-missing values in ascending order. */
function cutsOfSorted(values: Float32Array, maxBins: number): Float32Array {
  let distinct = 0;
  for (let i = 0; i < values.length && distinct <= maxBins; i++) if (i === 0 || values[i] !== values[i - 1]) distinct++;
  const out: number[] = [];
  if (distinct <= maxBins) {
    let previous = Number.NaN;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (i > 0 && v === values[i - 1]) continue;
      if (i > 0) out.push(Math.fround((previous + v) / 2));
      previous = v;
    }
  } else {
    for (let q = 1; q < maxBins; q++) {
      const i = Math.floor((q * values.length) / maxBins);
      const lo = values[Math.max(0, i - 1)];
      const hi = values[i];
      const cut = Math.fround(lo === hi ? hi : (lo + hi) / 2);
      if (out.length === 0 || cut > out[out.length - 1]) out.push(cut);
    }
  }
  return Float32Array.from(out);
}

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

/** A float32's bits as an unsigned integer that orders as the numbers do (−0 just before +0). */
function sortKey(value: number): number {
  asFloat[0] = value;
  const u = bits[0];
  return (u & 0x80000000 ? ~u : u | 0x80000000) >>> 0;
}

/** The float32 values of ascending sort keys (the keys' buffer is reused). */
function sortedValues(keys: Uint32Array): Float32Array {
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    keys[i] = k & 0x80000000 ? k ^ 0x80000000 : ~k >>> 0;
  }
  return new Float32Array(keys.buffer, keys.byteOffset, keys.length);
}

/**
 * Least-significant-digit radix sort of 32-bit keys (11, 11, 10 bits), with
 * an optional payload moved alongside; stable. Ours rather than
 * TypedArray#sort: V8's took 3.4 ms per 40,000-value column (0.5 s of a
 * 140-feature fit's set-up) and cannot carry the row numbers. A pass whose
 * digit is the same for every key is skipped. Returns the arrays holding the
 * result (the inputs or the scratch).
 */
function radixSort(keys: Uint32Array, payload: Uint32Array | undefined, scratch?: { keys: Uint32Array; rows: Uint32Array }): { keys: Uint32Array; rows: Uint32Array | undefined } {
  const n = keys.length;
  let srcKeys = keys;
  let srcRows = payload;
  let dstKeys = scratch ? scratch.keys.subarray(0, n) : new Uint32Array(n);
  let dstRows = payload ? (scratch ? scratch.rows.subarray(0, n) : new Uint32Array(n)) : undefined;
  const counts = new Uint32Array(2048);
  for (const shift of [0, 11, 22]) {
    counts.fill(0);
    const mask = shift === 22 ? 1023 : 2047;
    for (let i = 0; i < n; i++) counts[(srcKeys[i] >>> shift) & mask]++;
    if (n === 0 || counts[(srcKeys[0] >>> shift) & mask] === n) continue;
    let total = 0;
    for (let d = 0; d <= mask; d++) {
      const c = counts[d];
      counts[d] = total;
      total += c;
    }
    if (srcRows && dstRows) {
      for (let i = 0; i < n; i++) {
        const k = srcKeys[i];
        const at = counts[(k >>> shift) & mask]++;
        dstKeys[at] = k;
        dstRows[at] = srcRows[i];
      }
    } else {
      for (let i = 0; i < n; i++) {
        const k = srcKeys[i];
        dstKeys[counts[(k >>> shift) & mask]++] = k;
      }
    }
    [srcKeys, dstKeys] = [dstKeys, srcKeys];
    [srcRows, dstRows] = [dstRows, srcRows];
  }
  return { keys: srcKeys, rows: srcRows };
}
