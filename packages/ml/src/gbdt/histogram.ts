import { packedGrad, packedHess, type Quantisation } from './quantise.ts';
import type { HistogramArena, GbdtKernel } from './kernels.ts';

/** Bins per feature in a histogram: the missing bin + up to 255 value bins. */
export const HIST_BINS = 256;

/**
 * Per (feature, bin): the packed integer (gradient, hessian) sum of the rows
 * in it (see quantise.ts), and their number when the fit needs row counts
 * (minDataInLeaf > 1; otherwise an all-zero bin is an empty one as far as
 * any gain can tell).
 */
export interface Histogram {
  sum: Float64Array;
  count: Int32Array | undefined;
  /** `sum` lives in the split kernel's memory (kernels.ts), so the kernel can search it. */
  inKernelMemory?: boolean;
}

/** An all-zero histogram; in the arena when one is given and has room. */
export function newHistogram(features: number, counts: boolean, arena?: HistogramArena): Histogram {
  const size = features * HIST_BINS;
  const inArena = arena?.histogram(size, counts);
  return inArena ?? { sum: new Float64Array(size), count: counts ? new Int32Array(size) : undefined, inKernelMemory: false };
}

/**
 * Accumulates the node's rows into a histogram, for the allowed features.
 * Reads the row-major copy of the bins: one pass over the rows touching each
 * row's bins contiguously measured 1.8x faster here than one pass per
 * feature over the column-wise bins (bench/gbdt). Partitioning, which reads a
 * single feature, uses the column-wise bins. One addition per row and
 * feature: the packed gradient pair. With every feature and no row counts,
 * bins are read four at a time (rows are padded to a multiple of 4 bytes,
 * binning.ts) and two rows at a time: 2x fewer nanoseconds per addition
 * than a byte at a time (more independent additions in flight).
 * Self-contained: the worker thread runs this same source.
 */
export function buildHistogram(hist: Histogram, rowBins: Uint8Array, numFeatures: number, features: Int32Array, rows: Uint32Array, count: number, packed: Float64Array, kernel?: GbdtKernel): void {
  const stride = (numFeatures + 3) & ~3;
  const sum = hist.sum;
  const counts = hist.count;
  // The kernel (kernels.ts) when the histogram, bins, rows and gradients are in its memory: whole 4-feature words there, the rest here.
  if (kernel && hist.inKernelMemory && features.length === numFeatures) {
    const words = numFeatures >> 2;
    if (words > 0 && counts) kernel.buildCounted(sum.byteOffset, rowBins.byteOffset, stride, rows.byteOffset, count, packed.byteOffset, words, counts.byteOffset);
    else if (words > 0) kernel.build(sum.byteOffset, rowBins.byteOffset, stride, rows.byteOffset, count, packed.byteOffset, words);
    for (let f = words << 2; f < numFeatures; f++) {
      for (let i = 0; i < count; i++) {
        const at = (f << 8) | rowBins[rows[i] * stride + f];
        sum[at] += packed[rows[i]];
        if (counts) counts[at]++;
      }
    }
    return;
  }
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (features.length === numFeatures && !counts && littleEndian && (rowBins.byteOffset & 3) === 0) {
    const words = new Uint32Array(rowBins.buffer, rowBins.byteOffset, rowBins.length >> 2);
    const perRow = stride >> 2;
    const wordEnd = (numFeatures >> 2) << 10;
    const tail = numFeatures & ~3;
    let i = 0;
    for (; i + 1 < count; i += 2) {
      const r0 = rows[i];
      const r1 = rows[i + 1];
      const v0 = packed[r0];
      const v1 = packed[r1];
      let w0 = r0 * perRow;
      let w1 = r1 * perRow;
      for (let o = 0; o < wordEnd; o += 1024) {
        const x = words[w0++];
        const y = words[w1++];
        sum[o | (x & 255)] += v0;
        sum[o | (y & 255)] += v1;
        sum[(o + 256) | ((x >>> 8) & 255)] += v0;
        sum[(o + 256) | ((y >>> 8) & 255)] += v1;
        sum[(o + 512) | ((x >>> 16) & 255)] += v0;
        sum[(o + 512) | ((y >>> 16) & 255)] += v1;
        sum[(o + 768) | (x >>> 24)] += v0;
        sum[(o + 768) | (y >>> 24)] += v1;
      }
      for (let f = tail; f < numFeatures; f++) {
        sum[(f << 8) | rowBins[r0 * stride + f]] += v0;
        sum[(f << 8) | rowBins[r1 * stride + f]] += v1;
      }
    }
    for (; i < count; i++) {
      const r = rows[i];
      const v = packed[r];
      const base = r * stride;
      for (let f = 0; f < numFeatures; f++) sum[(f << 8) | rowBins[base + f]] += v;
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    const r = rows[i];
    const v = packed[r];
    const base = r * stride;
    for (let k = 0; k < features.length; k++) {
      const f = features[k];
      sum[(f << 8) | rowBins[base + f]] += v;
    }
    if (counts) {
      for (let k = 0; k < features.length; k++) {
        const f = features[k];
        counts[(f << 8) | rowBins[base + f]]++;
      }
    }
  }
}

/**
 * buildHistogram for features[from, to) only, over rows order[start, start +
 * count): one feature chunk of a node's histogram, so the two threads can
 * build a small node's histogram by features with nothing to merge.
 * Self-contained: the worker thread runs this same source.
 */
export function buildHistogramFeatures(sum: Float64Array, counts: Int32Array | undefined, rowBins: Uint8Array, numFeatures: number, features: Int32Array, from: number, to: number, order: Uint32Array, start: number, count: number, packed: Float64Array, kernel?: GbdtKernel): void {
  const stride = (numFeatures + 3) & ~3;
  const end = start + count;
  // The kernel, given only when `sum` is in its memory (as buildHistogram).
  if (kernel && features.length === numFeatures && (from & 3) === 0) {
    const w0 = from >> 2;
    const w1 = to >> 2;
    if (w1 > w0 && counts) kernel.buildCounted(sum.byteOffset + w0 * 8192, rowBins.byteOffset + w0 * 4, stride, order.byteOffset + start * 4, count, packed.byteOffset, w1 - w0, counts.byteOffset + w0 * 4096);
    else if (w1 > w0) kernel.build(sum.byteOffset + w0 * 8192, rowBins.byteOffset + w0 * 4, stride, order.byteOffset + start * 4, count, packed.byteOffset, w1 - w0);
    for (let f = w1 << 2; f < to; f++) {
      for (let i = start; i < end; i++) {
        const at = (f << 8) | rowBins[order[i] * stride + f];
        sum[at] += packed[order[i]];
        if (counts) counts[at]++;
      }
    }
    return;
  }
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  // Every feature in order and whole 4-byte words: bins read four at a time, two rows at a time (as buildHistogram).
  if (!counts && littleEndian && (from & 3) === 0 && features[from] === from && features[to - 1] === to - 1 && features.length === numFeatures && (rowBins.byteOffset & 3) === 0) {
    const words = new Uint32Array(rowBins.buffer, rowBins.byteOffset, rowBins.length >> 2);
    const perRow = stride >> 2;
    const w0 = from >> 2;
    const w1 = to >> 2;
    const tail = to & ~3;
    let i = start;
    for (; i + 1 < end; i += 2) {
      const r0 = order[i];
      const r1 = order[i + 1];
      const v0 = packed[r0];
      const v1 = packed[r1];
      let a = r0 * perRow + w0;
      let b = r1 * perRow + w0;
      for (let o = w0 << 10; o < w1 << 10; o += 1024) {
        const x = words[a++];
        const y = words[b++];
        sum[o | (x & 255)] += v0;
        sum[o | (y & 255)] += v1;
        sum[(o + 256) | ((x >>> 8) & 255)] += v0;
        sum[(o + 256) | ((y >>> 8) & 255)] += v1;
        sum[(o + 512) | ((x >>> 16) & 255)] += v0;
        sum[(o + 512) | ((y >>> 16) & 255)] += v1;
        sum[(o + 768) | (x >>> 24)] += v0;
        sum[(o + 768) | (y >>> 24)] += v1;
      }
      for (let f = tail; f < to; f++) {
        sum[(f << 8) | rowBins[r0 * stride + f]] += v0;
        sum[(f << 8) | rowBins[r1 * stride + f]] += v1;
      }
    }
    for (; i < end; i++) {
      const r = order[i];
      const v = packed[r];
      for (let f = from; f < to; f++) sum[(f << 8) | rowBins[r * stride + f]] += v;
    }
    return;
  }
  for (let i = start; i < end; i++) {
    const r = order[i];
    const v = packed[r];
    const base = r * stride;
    for (let k = from; k < to; k++) {
      const f = features[k];
      sum[(f << 8) | rowBins[base + f]] += v;
    }
    if (counts) {
      for (let k = from; k < to; k++) {
        const f = features[k];
        counts[(f << 8) | rowBins[base + f]]++;
      }
    }
  }
}

/** The sibling's histogram from the parent's: parent − built child, in place into `parent` (exact: integer sums). */
export function subtractHistogram(parent: Histogram, child: Histogram, features: Int32Array, kernel?: GbdtKernel): void {
  combineHistograms(parent.sum, parent.count, child.sum, child.count, features, 0, features.length, -1, parent.inKernelMemory && child.inKernelMemory ? kernel : undefined);
}

/** Adds `from` into `into` for the given features. */
export function addHistogram(into: Histogram, from: Histogram, features: Int32Array): void {
  combineHistograms(into.sum, into.count, from.sum, from.count, features, 0, features.length, 1);
}

/**
 * into ± from over features[start, end) (sign 1 or −1); on the kernel (given
 * only when both are in its memory) when those features are consecutive.
 * Self-contained: the worker thread runs this same source.
 */
export function combineHistograms(intoSum: Float64Array, intoCount: Int32Array | undefined, fromSum: Float64Array, fromCount: Int32Array | undefined, features: Int32Array, start: number, end: number, sign: number, kernel?: GbdtKernel): void {
  if (kernel && end > start && features[end - 1] - features[start] === end - 1 - start) {
    const offset = features[start] * 2048;
    kernel.combine(intoSum.byteOffset + offset, fromSum.byteOffset + offset, (end - start) * 2048, sign < 0 ? 1 : 0);
    if (intoCount && fromCount) kernel.combineCounts(intoCount.byteOffset + offset / 2, fromCount.byteOffset + offset / 2, (end - start) * 1024, sign < 0 ? 1 : 0);
    return;
  }
  for (let k = start; k < end; k++) {
    const from = features[k] * 256;
    const to = from + 256;
    if (sign > 0) for (let i = from; i < to; i++) intoSum[i] += fromSum[i];
    else for (let i = from; i < to; i++) intoSum[i] -= fromSum[i];
    if (intoCount && fromCount) {
      if (sign > 0) for (let i = from; i < to; i++) intoCount[i] += fromCount[i];
      else for (let i = from; i < to; i++) intoCount[i] -= fromCount[i];
    }
  }
}

/** Sets to zero the entries the rows hit (cheaper than a full fill when a node has few rows). */
export function clearHistogramRows(hist: Histogram, rowBins: Uint8Array, numFeatures: number, features: Int32Array, rows: Uint32Array): void {
  const stride = (numFeatures + 3) & ~3;
  for (let i = 0; i < rows.length; i++) {
    const base = rows[i] * stride;
    for (let k = 0; k < features.length; k++) {
      const f = features[k];
      const at = (f << 8) | rowBins[base + f];
      hist.sum[at] = 0;
      if (hist.count) hist.count[at] = 0;
    }
  }
}

export interface SplitParams {
  lambda: number;
  gamma: number;
  minChildWeight: number;
  minDataInLeaf: number;
}

export interface SplitCandidate {
  gain: number;
  feature: number;
  /** Last bin (1-based value bin) that goes left. */
  bin: number;
  defaultLeft: boolean;
  /** Packed (gradient, hessian) sum of the rows going left. */
  leftSum: number;
}

/** A node's totals, in the histogram's units: packed sum and row count. */
export interface NodeTotals {
  sum: number;
  count: number;
}

/**
 * One node's part of a split-search task: optionally build its histogram
 * (all-zero) from its rows order[start, start + count), then optionally
 * subtract a sibling's histogram built by an earlier task or earlier in
 * this one (parent − sibling), then optionally search it. Nodes to build
 * come before nodes to subtract from.
 */
export interface NodeTask {
  hist: Histogram;
  build: boolean;
  minus: Histogram | undefined;
  search: boolean;
  start: number;
  /** Rows, also the node's row count for minDataInLeaf. */
  count: number;
  /** Packed (gradient, hessian) sum of the node's rows. */
  sum: number;
}

/** Entries per result of `searchSplits`: found, children score, feature, bin, missing left, left packed sum. */
export const SPLIT_RESULT = 6;

/**
 * Best split of one node over the allowed features: for every cut between
 * value bins, missing values tried on both sides (learned default direction).
 * Gain = ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)]; accepted only above γ.
 * Row counts are checked against minDataInLeaf when the histogram has them
 * (the fit keeps them exactly when minDataInLeaf > 1).
 */
export function bestSplit(hist: Histogram, features: Int32Array, binCounts: Int32Array, total: NodeTotals, p: SplitParams, q: Quantisation, kernel?: GbdtKernel): SplitCandidate | undefined {
  const out = new Float64Array(SPLIT_RESULT);
  searchSplits(hist.sum, hist.count, features, 0, features.length, binCounts, total.sum, total.count, p, q, out, 0, hist.inKernelMemory ? kernel : undefined);
  return splitCandidate(out, 1, total, p, q);
}

/** The first best of `parts` results of `searchSplits` over consecutive feature ranges: the same split one search over all of them finds. */
export function splitCandidate(results: Float64Array, parts: number, total: NodeTotals, p: SplitParams, q: Quantisation): SplitCandidate | undefined {
  let best = -1;
  for (let i = 0; i < parts; i++) {
    const at = i * SPLIT_RESULT;
    if (results[at] === 1 && (best < 0 || results[at + 1] > results[best + 1])) best = at;
  }
  if (best < 0) return undefined;
  const totalG = packedGrad(total.sum, q);
  const totalH = packedHess(total.sum, q);
  const parentScore = (totalG * totalG) / (totalH + p.lambda);
  return { gain: 0.5 * (results[best + 1] - parentScore), feature: results[best + 2], bin: results[best + 3], defaultLeft: results[best + 4] === 1, leftSum: results[best + 5] };
}

/**
 * bestSplit over features[from, to), its result written to out[at, at +
 * SPLIT_RESULT). With `kernel` (given only when the histogram, and its row
 * counts if any, are in the kernel's memory) the sweep runs on the
 * WebAssembly kernel (kernels.ts): features two at a time, each pair's
 * per-lane bests merged in feature order keeping the first best, so the
 * result is the one the JavaScript sweep finds. Self-contained (no imports,
 * no inner functions): the worker thread runs this same source
 * (parallel-histogram.ts).
 */
export function searchSplits(sums: Float64Array, counts: Int32Array | undefined, features: Int32Array, from: number, to: number, binCounts: Int32Array, totalSum: number, totalN: number, p: SplitParams, q: Quantisation, out: Float64Array, at: number, kernel?: GbdtKernel): void {
  const lambda = p.lambda;
  const minData = p.minDataInLeaf;
  const minChild = p.minChildWeight;
  const shift = q.shift;
  // shift is a power of two: multiplying by its inverse is exact.
  const invShift = 1 / shift;
  const gs = q.gradScale;
  const hs = q.hessScale;
  const totalHi = Math.floor(totalSum * invShift);
  const totalG = totalHi * gs;
  const totalH = (totalSum - totalHi * shift) * hs;
  const parentScore = (totalG * totalG) / (totalH + lambda);
  // A split must beat parentScore + 2γ in summed child scores (gain = ½·(children − parent) − γ).
  let bestScore = parentScore + 2 * p.gamma;
  // Slightly below bestScore: a candidate whose exact score beats bestScore always passes
  // screen × (H_L+λ)(H_R+λ) ≤ G_L²(H_R+λ) + G_R²(H_L+λ) (a few ulps of rounding either way).
  let screen = bestScore * (bestScore > 0 ? 1 - 1e-9 : 1 + 1e-9);
  let found = false;
  let bestFeature = 0;
  let bestBin = 0;
  let bestMissingLeft = false;
  let bestLs = 0;
  if (kernel) {
    const s = kernel.scratch;
    s[0] = totalG;
    s[1] = totalH;
    s[2] = p.lambda;
    s[3] = p.minChildWeight;
    s[4] = gs;
    s[5] = hs;
    s[6] = shift;
    s[7] = invShift;
    s[9] = 1 - 1e-9;
    s[10] = 1 + 1e-9;
    s[11] = p.minDataInLeaf;
    s[28] = totalN;
    const base = sums.byteOffset;
    const countBase = counts ? counts.byteOffset : 0;
    for (let k = from; k < to; k += 2) {
      const fa = features[k];
      const pair = k + 1 < to;
      const fb = pair ? features[k + 1] : fa;
      const lastA = binCounts[fa];
      const lastB = pair ? binCounts[fb] : 0;
      const msa = sums[fa * 256];
      const msb = pair ? sums[fb * 256] : 0;
      const hiA = Math.floor(msa * invShift);
      const hiB = Math.floor(msb * invShift);
      s[8] = bestScore;
      s[12] = lastA;
      s[13] = lastB;
      s[14] = msa;
      s[15] = msb;
      s[16] = hiA * gs;
      s[17] = hiB * gs;
      s[18] = (msa - hiA * shift) * hs;
      s[19] = (msb - hiB * shift) * hs;
      // Rows with missing values: counted when there are counts, else a non-zero sum stands for some (as the JavaScript sweep below).
      const mna = counts ? counts[fa * 256] : msa === 0 ? 0 : 1;
      const mnb = counts ? (pair ? counts[fb * 256] : 0) : msb === 0 ? 0 : 1;
      const lastBin = lastA > lastB ? lastA : lastB;
      if (counts) {
        s[30] = mna;
        s[31] = mnb;
        kernel.pairCounted(base + fa * 2048, base + fb * 2048, kernel.scratchByte, lastBin, mna > 0 || mnb > 0 ? 1 : 0, countBase + fa * 1024, countBase + fb * 1024);
      } else kernel.pair(base + fa * 2048, base + fb * 2048, kernel.scratchByte, lastBin, mna > 0 || mnb > 0 ? 1 : 0);
      for (let lane = 0; lane < (pair ? 2 : 1); lane++) {
        // A lane's bin is 0 unless it found a split above the score it started from.
        if (s[22 + lane] === 0 || !(s[20 + lane] > bestScore)) continue;
        bestScore = s[20 + lane];
        found = true;
        bestFeature = lane === 0 ? fa : fb;
        bestBin = s[22 + lane];
        bestLs = s[26 + lane];
        if (s[24 + lane] === 1) bestMissingLeft = true;
        else {
          // Without missing values in the node, future missing values go to the heavier child.
          const hi = Math.floor(bestLs * invShift);
          const hl = (bestLs - hi * shift) * hs;
          bestMissingLeft = (lane === 0 ? mna : mnb) === 0 && hl >= totalH - hl;
        }
      }
    }
  } else {
    for (let k = from; k < to; k++) {
      const f = features[k];
      const offset = f * 256;
      const ms = sums[offset];
      const mn = counts ? counts[offset] : ms === 0 ? 0 : 1;
      const mHi = Math.floor(ms * invShift);
      const mg = mHi * gs;
      const mh = (ms - mHi * shift) * hs;
      let sl = 0;
      let nl = 0;
      const lastBin = binCounts[f];
      for (let b = 1; b < lastBin; b++) {
        const v = sums[offset + b];
        const n = counts ? counts[offset + b] : 0;
        // An empty bin changes no sum: the split after it equals the split before it.
        if (v === 0 && n === 0) continue;
        sl += v;
        nl += n;
        const hi = Math.floor(sl * invShift);
        const gl = hi * gs;
        const hl = (sl - hi * shift) * hs;
        // Missing values right.
        let rh = totalH - hl;
        let dataOk = !counts || (nl >= minData && totalN - nl >= minData);
        if (dataOk && hl >= minChild && rh >= minChild) {
          const rg = totalG - gl;
          const a = hl + lambda;
          const c = rh + lambda;
          // Cross-multiplied screen without divisions; the exact score decides as before.
          if ((gl * gl) * c + (rg * rg) * a >= screen * (a * c)) {
            const children = (gl * gl) / a + (rg * rg) / c;
            if (children > bestScore) {
              bestScore = children;
              screen = bestScore * (bestScore > 0 ? 1 - 1e-9 : 1 + 1e-9);
            found = true;
            bestFeature = f;
            bestBin = b;
            // Without missing values in the node, future missing values go to the heavier child.
              bestMissingLeft = mn === 0 && hl >= rh;
              bestLs = sl;
            }
          }
        }
        if (mn > 0) {
          const lg = gl + mg;
          const lh = hl + mh;
          rh = totalH - lh;
          dataOk = !counts || (nl + mn >= minData && totalN - nl - mn >= minData);
          if (dataOk && lh >= minChild && rh >= minChild) {
            const rg = totalG - lg;
            const a = lh + lambda;
            const c = rh + lambda;
            if ((lg * lg) * c + (rg * rg) * a >= screen * (a * c)) {
              const children = (lg * lg) / a + (rg * rg) / c;
              if (children > bestScore) {
                bestScore = children;
                screen = bestScore * (bestScore > 0 ? 1 - 1e-9 : 1 + 1e-9);
                found = true;
                bestFeature = f;
                bestBin = b;
                bestMissingLeft = true;
                bestLs = sl + ms;
              }
            }
          }
        }
      }
    }
  }
  out[at] = found ? 1 : 0;
  out[at + 1] = bestScore;
  out[at + 2] = bestFeature;
  out[at + 3] = bestBin;
  out[at + 4] = bestMissingLeft ? 1 : 0;
  out[at + 5] = bestLs;
}

/** Entries per result of `searchLevelSplits`: found, gain summed over the level, feature, bin, missing left. */
export const LEVEL_RESULT = 5;

/**
 * Best split shared by a whole level (oblivious trees) over
 * features[from, to): the (feature, bin, default side) whose gain summed over
 * the level's nodes is largest and above γ; written to out[at, at +
 * LEVEL_RESULT). `sums` and `valid` are scratch of 2 × HIST_BINS + 2 entries.
 * Node gains are summed per bin in node order, so the total does not depend
 * on how the features were shared between threads.
 * Self-contained: the worker thread runs this same source.
 */
export function searchLevelSplits(hists: Float64Array[], counts: Array<Int32Array | undefined>, totalSums: Float64Array, totalCounts: Float64Array, nodes: number, features: Int32Array, from: number, to: number, binCounts: Int32Array, p: SplitParams, q: Quantisation, sums: Float64Array, valid: Int32Array, out: Float64Array, at: number): void {
  let found = false;
  let bestGain = 0;
  let bestFeature = 0;
  let bestBin = 0;
  let bestSide = 0;
  for (let k = from; k < to; k++) {
    const f = features[k];
    const lastBin = binCounts[f];
    sums.fill(0, 0, lastBin * 2 + 2);
    valid.fill(0, 0, lastBin * 2 + 2);
    for (let n = 0; n < nodes; n++) if (totalCounts[n] > 0) accumulateLevelGains(hists[n], counts[n], f, lastBin, totalSums[n], totalCounts[n], p, q, sums, valid);
    for (let b = 1; b < lastBin; b++) {
      for (let side = 0; side < 2; side++) {
        const gain = sums[b * 2 + side];
        if (valid[b * 2 + side] > 0 && gain > p.gamma && (!found || gain > bestGain)) {
          found = true;
          bestGain = gain;
          bestFeature = f;
          bestBin = b;
          bestSide = side;
        }
      }
    }
  }
  out[at] = found ? 1 : 0;
  out[at + 1] = bestGain;
  out[at + 2] = bestFeature;
  out[at + 3] = bestBin;
  out[at + 4] = bestSide;
}

/**
 * Adds one node's gains for every (bin, default side) split of `feature` to
 * the level's totals `sums` (and the number of nodes for which the split is
 * allowed to `valid`), index bin × 2 + side (0: missing values right). The
 * gain after an empty bin equals the gain after the previous non-empty one,
 * so it is computed only at non-empty bins. Self-contained: the worker
 * thread runs this same source.
 */
export function accumulateLevelGains(hs: Float64Array, counts: Int32Array | undefined, feature: number, lastBin: number, totalSum: number, totalN: number, p: SplitParams, q: Quantisation, sums: Float64Array, valid: Int32Array): void {
  const offset = feature * 256;
  // shift is a power of two: multiplying by its inverse is exact, and cheaper than dividing.
  const shift = q.shift;
  const invShift = 1 / shift;
  const gs = q.gradScale;
  const hsc = q.hessScale;
  const ms = hs[offset];
  const mn = counts ? counts[offset] : 0;
  const missing = ms !== 0 || mn !== 0;
  const mHi = Math.floor(ms * invShift);
  const mg = mHi * gs;
  const mh = (ms - mHi * shift) * hsc;
  const lambda = p.lambda;
  const minData = p.minDataInLeaf;
  const minChild = p.minChildWeight;
  const totalHi = Math.floor(totalSum * invShift);
  const totalG = totalHi * gs;
  const totalH = (totalSum - totalHi * shift) * hsc;
  const parentScore = (totalG * totalG) / (totalH + lambda);
  let sl = 0;
  let nl = 0;
  // Gain and validity at the current bin, missing values right (0) and left (1).
  let gain0 = 0;
  let gain1 = 0;
  let ok0 = 0;
  let ok1 = 0;
  for (let b = 1; b < lastBin; b++) {
    const v = hs[offset + b];
    // Bin 1 always: even when empty it is the split with only missing values on the left.
    if (b === 1 || v !== 0 || (counts && counts[offset + b] !== 0)) {
      sl += v;
      if (counts) nl += counts[offset + b];
      const hi = Math.floor(sl * invShift);
      const gl = hi * gs;
      const hl = (sl - hi * shift) * hsc;
      let rh = totalH - hl;
      const rg = totalG - gl;
      gain0 = 0.5 * ((gl * gl) / (hl + lambda) + (rg * rg) / (rh + lambda) - parentScore);
      ok0 = (!counts || (nl >= minData && totalN - nl >= minData)) && hl >= minChild && rh >= minChild ? 1 : 0;
      if (missing) {
        const lg = gl + mg;
        const lh = hl + mh;
        rh = totalH - lh;
        const rg1 = totalG - lg;
        gain1 = 0.5 * ((lg * lg) / (lh + lambda) + (rg1 * rg1) / (rh + lambda) - parentScore);
        ok1 = (!counts || (nl + mn >= minData && totalN - nl - mn >= minData)) && lh >= minChild && rh >= minChild ? 1 : 0;
      } else {
        // Nothing missing: sending missing values left changes no sum.
        gain1 = gain0;
        ok1 = ok0;
      }
    }
    sums[b * 2] += gain0;
    sums[b * 2 + 1] += gain1;
    valid[b * 2] += ok0;
    valid[b * 2 + 1] += ok1;
  }
}
