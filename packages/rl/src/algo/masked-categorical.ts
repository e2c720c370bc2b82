/**
 * A categorical distribution over the actions a mask allows (MaskablePPO's
 * rule): masked actions get probability exactly 0 and take no part in the
 * log-probability, the entropy or the gradient, rather than being penalised.
 */

/** Writes softmax(logits) over the allowed actions into `probs`; returns log Σ exp over them. */
export function maskedSoftmax(logits: Float32Array, offset: number, mask: Uint8Array, maskOffset: number, count: number, probs: Float64Array): number {
  let max = -Infinity;
  for (let a = 0; a < count; a++) if (mask[maskOffset + a] && logits[offset + a] > max) max = logits[offset + a];
  if (max === -Infinity) throw new Error('action mask allows no action');
  let sum = 0;
  for (let a = 0; a < count; a++) {
    const e = mask[maskOffset + a] ? Math.exp(logits[offset + a] - max) : 0;
    probs[a] = e;
    sum += e;
  }
  for (let a = 0; a < count; a++) probs[a] /= sum;
  return max + Math.log(sum);
}

/** Entropy (nats) of a distribution whose masked entries are 0. */
export function entropyOf(probs: Float64Array, count: number): number {
  let h = 0;
  for (let a = 0; a < count; a++) if (probs[a] > 0) h -= probs[a] * Math.log(probs[a]);
  return h;
}

/** Samples an index from `probs` with a uniform draw `u` in [0, 1). */
export function sampleIndex(probs: Float64Array, count: number, u: number): number {
  let acc = 0;
  let last = 0;
  for (let a = 0; a < count; a++) {
    if (probs[a] <= 0) continue;
    acc += probs[a];
    last = a;
    if (u < acc) return a;
  }
  return last;
}

/** The most probable allowed action (ties → the lowest index). */
export function argmaxIndex(probs: Float64Array, count: number): number {
  let best = -1;
  for (let a = 0; a < count; a++) if (probs[a] > 0 && (best < 0 || probs[a] > probs[best])) best = a;
  return best;
}
