/** Bins per feature in a histogram: the missing bin + up to 255 value bins. */
export const HIST_BINS = 256;
/** Per (feature, bin): gradient sum, hessian sum, row count. */
const STRIDE = 3;

export type Histogram = Float64Array;

export function newHistogram(features: number): Histogram {
  return new Float64Array(features * HIST_BINS * STRIDE);
}

/** Accumulates the node's rows into a histogram, for the allowed features only. */
export function buildHistogram(hist: Histogram, bins: Uint8Array[], features: Int32Array, rows: Uint32Array, count: number, grad: Float64Array, hess: Float64Array): void {
  for (let k = 0; k < features.length; k++) {
    const f = features[k];
    const column = bins[f];
    const offset = f * HIST_BINS * STRIDE;
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      const at = offset + column[r] * STRIDE;
      hist[at] += grad[r];
      hist[at + 1] += hess[r];
      hist[at + 2] += 1;
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
  const parentScore = score(totalG, totalH, p.lambda);
  let best: SplitCandidate | undefined;
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
      gl += hist[at];
      hl += hist[at + 1];
      nl += hist[at + 2];
      if (nl === 0) continue;
      // Missing values right, then missing values left.
      for (let side = 0; side < (mn > 0 ? 2 : 1); side++) {
        const lg = side === 0 ? gl : gl + mg;
        const lh = side === 0 ? hl : hl + mh;
        const ln = side === 0 ? nl : nl + mn;
        const rg = totalG - lg;
        const rh = totalH - lh;
        const rn = totalN - ln;
        if (ln < p.minDataInLeaf || rn < p.minDataInLeaf || lh < p.minChildWeight || rh < p.minChildWeight) continue;
        const gain = 0.5 * (score(lg, lh, p.lambda) + score(rg, rh, p.lambda) - parentScore);
        if (gain > p.gamma && (best === undefined || gain > best.gain)) {
          // Without missing values in the node, send future missing values to the heavier child.
          const defaultLeft = side === 1 || (mn === 0 && lh >= rh);
          best = { gain, feature: f, bin: b, defaultLeft, leftG: lg, leftH: lh, leftN: ln };
        }
      }
    }
  }
  return best;
}

/**
 * Adds, for one node, the gain of every (bin, default side) split of `feature`
 * into `sums[bin * 2 + side]` in one prefix scan, and marks splits that are
 * valid for this node. Used by oblivious trees, whose levels share one split.
 */
export function accumulateLevelGains(hist: Histogram, feature: number, lastBin: number, totalG: number, totalH: number, totalN: number, p: SplitParams, sums: Float64Array, valid: Uint8Array): void {
  const offset = feature * HIST_BINS * STRIDE;
  const mg = hist[offset];
  const mh = hist[offset + 1];
  const mn = hist[offset + 2];
  const parentScore = score(totalG, totalH, p.lambda);
  let gl = 0;
  let hl = 0;
  let nl = 0;
  for (let b = 1; b < lastBin; b++) {
    const at = offset + b * STRIDE;
    gl += hist[at];
    hl += hist[at + 1];
    nl += hist[at + 2];
    for (let side = 0; side < 2; side++) {
      const lg = side === 0 ? gl : gl + mg;
      const lh = side === 0 ? hl : hl + mh;
      const ln = side === 0 ? nl : nl + mn;
      const rh = totalH - lh;
      const rn = totalN - ln;
      sums[b * 2 + side] += 0.5 * (score(lg, lh, p.lambda) + score(totalG - lg, rh, p.lambda) - parentScore);
      if (ln >= p.minDataInLeaf && rn >= p.minDataInLeaf && lh >= p.minChildWeight && rh >= p.minChildWeight) valid[b * 2 + side] = 1;
    }
  }
}
