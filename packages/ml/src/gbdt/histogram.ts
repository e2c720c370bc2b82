/** Bins per feature in a histogram: the missing bin + up to 255 value bins. */
export const HIST_BINS = 256;
/** Per (feature, bin): gradient sum, hessian sum, row count. */
export const STRIDE = 3;

export type Histogram = Float64Array;

export function newHistogram(features: number): Histogram {
  return new Float64Array(features * HIST_BINS * STRIDE);
}

/**
 * Accumulates the node's rows into a histogram, for the allowed features.
 * Reads the row-major copy of the bins: one pass over the rows touching each
 * row's bins contiguously measured 1.8x faster here than one pass per
 * feature over the column-wise bins (bench/gbdt). Partitioning, which reads a
 * single feature, uses the column-wise bins.
 */
export function buildHistogram(hist: Histogram, rowBins: Uint8Array, numFeatures: number, features: Int32Array, rows: Uint32Array, count: number, grad: Float64Array, hess: Float64Array): void {
  const all = features.length === numFeatures;
  for (let i = 0; i < count; i++) {
    const r = rows[i];
    const g = grad[r];
    const h = hess[r];
    const base = r * numFeatures;
    if (all) {
      for (let f = 0; f < numFeatures; f++) {
        const at = (f * HIST_BINS + rowBins[base + f]) * STRIDE;
        hist[at] += g;
        hist[at + 1] += h;
        hist[at + 2] += 1;
      }
    } else {
      for (let k = 0; k < features.length; k++) {
        const f = features[k];
        const at = (f * HIST_BINS + rowBins[base + f]) * STRIDE;
        hist[at] += g;
        hist[at + 1] += h;
        hist[at + 2] += 1;
      }
    }
  }
}

/** The sibling's histogram from the parent's: parent − built child, in place into `parent`. */
export function subtractHistogram(parent: Histogram, child: Histogram, features: Int32Array): void {
  for (let k = 0; k < features.length; k++) {
    const start = features[k] * HIST_BINS * STRIDE;
    const end = start + HIST_BINS * STRIDE;
    for (let i = start; i < end; i++) parent[i] -= child[i];
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
  leftG: number;
  leftH: number;
  leftN: number;
}

const score = (g: number, h: number, lambda: number) => (g * g) / (h + lambda);

/**
 * Best split of one node over the allowed features: for every cut between
 * value bins, missing values tried on both sides (learned default direction).
 * Gain = ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)]; accepted only above γ.
 */
export function bestSplit(hist: Histogram, features: Int32Array, binCounts: Int32Array, totalG: number, totalH: number, totalN: number, p: SplitParams): SplitCandidate | undefined {
  const lambda = p.lambda;
  const minData = p.minDataInLeaf;
  const minChild = p.minChildWeight;
  const parentScore = (totalG * totalG) / (totalH + lambda);
  // A split must beat parentScore + 2γ in summed child scores (gain = ½·(children − parent) − γ).
  let bestScore = parentScore + 2 * p.gamma;
  let found = false;
  let bestFeature = 0;
  let bestBin = 0;
  let bestMissingLeft = false;
  let bestLg = 0;
  let bestLh = 0;
  let bestLn = 0;
  for (let k = 0; k < features.length; k++) {
    const f = features[k];
    const offset = f * HIST_BINS * STRIDE;
    const mg = hist[offset];
    const mh = hist[offset + 1];
    const mn = hist[offset + 2];
    let gl = 0;
    let hl = 0;
    let nl = 0;
    const lastBin = binCounts[f];
    for (let b = 1; b < lastBin; b++) {
      const at = offset + b * STRIDE;
      const n = hist[at + 2];
      // An empty bin changes no sum: the split after it equals the split before it.
      if (n === 0) continue;
      gl += hist[at];
      hl += hist[at + 1];
      nl += n;
      // Missing values right.
      let rn = totalN - nl;
      let rh = totalH - hl;
      if (nl >= minData && rn >= minData && hl >= minChild && rh >= minChild) {
        const rg = totalG - gl;
        const children = (gl * gl) / (hl + lambda) + (rg * rg) / (rh + lambda);
        if (children > bestScore) {
          bestScore = children;
          found = true;
          bestFeature = f;
          bestBin = b;
          // Without missing values in the node, future missing values go to the heavier child.
          bestMissingLeft = mn === 0 && hl >= rh;
          bestLg = gl;
          bestLh = hl;
          bestLn = nl;
        }
      }
      if (mn > 0) {
        const lg = gl + mg;
        const lh = hl + mh;
        const ln = nl + mn;
        rn = totalN - ln;
        rh = totalH - lh;
        if (ln >= minData && rn >= minData && lh >= minChild && rh >= minChild) {
          const rg = totalG - lg;
          const children = (lg * lg) / (lh + lambda) + (rg * rg) / (rh + lambda);
          if (children > bestScore) {
            bestScore = children;
            found = true;
            bestFeature = f;
            bestBin = b;
            bestMissingLeft = true;
            bestLg = lg;
            bestLh = lh;
            bestLn = ln;
          }
        }
      }
    }
  }
  if (!found) return undefined;
  return { gain: 0.5 * (bestScore - parentScore), feature: bestFeature, bin: bestBin, defaultLeft: bestMissingLeft, leftG: bestLg, leftH: bestLh, leftN: bestLn };
}

/**
 * Adds one node's gains for every (bin, default side) split of `feature` to a
 * level-wide total, touching only the node's non-empty bins: the gain of a
 * split after an empty bin equals the gain after the previous non-empty one,
 * so each run of equal gains is written as +gain at its start and −gain at its
 * end into the difference arrays `sums` and `valid` (`finishLevelGains` turns
 * them into totals). Used by oblivious trees, whose levels share one split.
 */
export function accumulateLevelGains(hist: Histogram, feature: number, lastBin: number, totalG: number, totalH: number, totalN: number, p: SplitParams, sums: Float64Array, valid: Int32Array): void {
  const offset = feature * HIST_BINS * STRIDE;
  const mg = hist[offset];
  const mh = hist[offset + 1];
  const mn = hist[offset + 2];
  const lambda = p.lambda;
  const minData = p.minDataInLeaf;
  const minChild = p.minChildWeight;
  const parentScore = score(totalG, totalH, lambda);
  let gl = 0;
  let hl = 0;
  let nl = 0;
  let runStart = 1;
  // Gain and validity of the current run, missing values right (0) and left (1).
  let gain0 = 0;
  let gain1 = 0;
  let ok0 = 0;
  let ok1 = 0;
  for (let b = 1; b <= lastBin; b++) {
    const end = b === lastBin;
    if (!end && b > 1 && hist[offset + b * STRIDE + 2] === 0) continue;
    if (b > 1) {
      sums[runStart * 2] += gain0;
      sums[b * 2] -= gain0;
      sums[runStart * 2 + 1] += gain1;
      sums[b * 2 + 1] -= gain1;
      valid[runStart * 2] += ok0;
      valid[b * 2] -= ok0;
      valid[runStart * 2 + 1] += ok1;
      valid[b * 2 + 1] -= ok1;
    }
    if (end) break;
    runStart = b;
    const at = offset + b * STRIDE;
    gl += hist[at];
    hl += hist[at + 1];
    nl += hist[at + 2];
    let rh = totalH - hl;
    let rn = totalN - nl;
    gain0 = 0.5 * (score(gl, hl, lambda) + score(totalG - gl, rh, lambda) - parentScore);
    ok0 = nl >= minData && rn >= minData && hl >= minChild && rh >= minChild ? 1 : 0;
    const lg = gl + mg;
    const lh = hl + mh;
    const ln = nl + mn;
    rh = totalH - lh;
    rn = totalN - ln;
    gain1 = 0.5 * (score(lg, lh, lambda) + score(totalG - lg, rh, lambda) - parentScore);
    ok1 = ln >= minData && rn >= minData && lh >= minChild && rh >= minChild ? 1 : 0;
  }
}

/** Prefix-sums the difference arrays of `accumulateLevelGains` into per-(bin, side) totals, in place. */
export function finishLevelGains(lastBin: number, sums: Float64Array, valid: Int32Array): void {
  for (let side = 0; side < 2; side++) {
    let s = 0;
    let v = 0;
    for (let b = 1; b < lastBin; b++) {
      s += sums[b * 2 + side];
      v += valid[b * 2 + side];
      sums[b * 2 + side] = s;
      valid[b * 2 + side] = v;
    }
  }
}
