import type { Matrix } from './matrix.ts';

/** Bin 0 holds missing values; bins 1..n hold values between consecutive cut points. */
export const MISSING_BIN = 0;

/**
 * Quantile cut points per feature (at most maxBins − 1 cuts → maxBins value
 * bins + the missing bin, so a bin index fits a Uint8Array). Cut points are
 * float32 midpoints between distinct sample values, so `x < cut` means the
 * same thing here as in XGBoost, which compares float32 values.
 */
export function computeCuts(x: Matrix, maxBins = 255, sampleRows = 200_000): Float32Array[] {
  const cuts: Float32Array[] = [];
  const step = Math.max(1, Math.floor(x.rows / sampleRows));
  // Gather every column's sample in one row-major pass: reading the matrix a
  // column at a time (stride = a row) re-reads it from memory once per column.
  const samples = Array.from({ length: x.cols }, () => new Float32Array(Math.ceil(x.rows / step)));
  const filled = new Int32Array(x.cols);
  for (let r = 0; r < x.rows; r += step) {
    const base = r * x.cols;
    for (let c = 0; c < x.cols; c++) {
      const v = x.data[base + c];
      if (!Number.isNaN(v)) samples[c][filled[c]++] = v;
    }
  }
  for (let c = 0; c < x.cols; c++) {
    const sample = samples[c];
    const n = filled[c];
    // Typed-array sort is numeric and native: ~10x faster than Array#sort with a comparator.
    const values = sample.subarray(0, n).sort();
    const distinct: number[] = [];
    for (const v of values) if (distinct.length === 0 || v !== distinct[distinct.length - 1]) distinct.push(v);
    const out: number[] = [];
    if (distinct.length <= maxBins) {
      for (let i = 1; i < distinct.length; i++) out.push(Math.fround((distinct[i - 1] + distinct[i]) / 2));
    } else {
      for (let q = 1; q < maxBins; q++) {
        const i = Math.floor((q * values.length) / maxBins);
        const lo = values[Math.max(0, i - 1)];
        const hi = values[i];
        const cut = Math.fround(lo === hi ? hi : (lo + hi) / 2);
        if (out.length === 0 || cut > out[out.length - 1]) out.push(cut);
      }
    }
    cuts.push(Float32Array.from(out));
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

/**
 * The binned matrix twice, in one row-major pass over the values:
 * column-wise (one Uint8Array per feature, for partitioning) and row-major
 * (`rowBins[row * stride + feature]`, for histograms), each row padded to
 * `stride` = features rounded up to a multiple of 4 (histogram.ts reads
 * four bins per load).
 */
export function binMatrix(x: Matrix, cuts: Float32Array[]): { columns: Uint8Array[]; rowBins: Uint8Array } {
  const columns = Array.from({ length: x.cols }, () => new Uint8Array(x.rows));
  const stride = (x.cols + 3) & ~3;
  const rowBins = new Uint8Array(x.rows * stride);
  for (let r = 0; r < x.rows; r++) {
    const base = r * x.cols;
    for (let c = 0; c < x.cols; c++) {
      const b = binOf(cuts[c], x.data[base + c]);
      rowBins[r * stride + c] = b;
      columns[c][r] = b;
    }
  }
  return { columns, rowBins };
}
