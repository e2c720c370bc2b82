import type { Tree } from './tree.ts';

/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2):
 * adds each feature's contribution for the row at `x[base..]` into `phi`
 * (length numFeatures + 1; the last entry receives the tree's expected value),
 * with absent features following both branches weighted by cover.
 */
export function treeShap(tree: Tree, x: Float32Array, base: number, phi: Float64Array, numFeatures: number): void {
  phi[numFeatures] += expectedValue(tree, 0);
  const depth = maxDepth(tree, 0) + 2;
  const feature = new Int32Array(((depth + 1) * (depth + 2)) / 2 + depth + 2);
  const zero = new Float64Array(feature.length);
  const one = new Float64Array(feature.length);
  const weight = new Float64Array(feature.length);
  const path: Path = { feature, zero, one, weight };
  recurse(tree, x, base, phi, 0, path, 0, 0, 1, 1, -1);
}

interface Path {
  feature: Int32Array;
  zero: Float64Array;
  one: Float64Array;
  weight: Float64Array;
}

function expectedValue(tree: Tree, node: number): number {
  if (tree.left[node] === -1) return tree.value[node];
  const l = tree.left[node];
  const r = tree.right[node];
  const total = tree.cover[l] + tree.cover[r];
  if (total <= 0) return 0.5 * (expectedValue(tree, l) + expectedValue(tree, r));
  return (tree.cover[l] * expectedValue(tree, l) + tree.cover[r] * expectedValue(tree, r)) / total;
}

function maxDepth(tree: Tree, node: number): number {
  return tree.left[node] === -1 ? 0 : 1 + Math.max(maxDepth(tree, tree.left[node]), maxDepth(tree, tree.right[node]));
}

/** The path of depth d lives at offset `start` in the shared arrays (each recursion level copies its parent's). */
function extend(p: Path, start: number, depth: number, zeroFraction: number, oneFraction: number, feature: number): void {
  p.feature[start + depth] = feature;
  p.zero[start + depth] = zeroFraction;
  p.one[start + depth] = oneFraction;
  p.weight[start + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    p.weight[start + i + 1] += (oneFraction * p.weight[start + i] * (i + 1)) / (depth + 1);
    p.weight[start + i] = (zeroFraction * p.weight[start + i] * (depth - i)) / (depth + 1);
  }
}

function unwind(p: Path, start: number, depth: number, index: number): void {
  const oneFraction = p.one[start + index];
  const zeroFraction = p.zero[start + index];
  let next = p.weight[start + depth];
  for (let i = depth - 1; i >= 0; i--) {
    if (oneFraction !== 0) {
      const tmp = p.weight[start + i];
      p.weight[start + i] = (next * (depth + 1)) / ((i + 1) * oneFraction);
      next = tmp - (p.weight[start + i] * zeroFraction * (depth - i)) / (depth + 1);
    } else {
      p.weight[start + i] = (p.weight[start + i] * (depth + 1)) / (zeroFraction * (depth - i));
    }
  }
  for (let i = index; i < depth; i++) {
    p.feature[start + i] = p.feature[start + i + 1];
    p.zero[start + i] = p.zero[start + i + 1];
    p.one[start + i] = p.one[start + i + 1];
  }
}

function unwoundSum(p: Path, start: number, depth: number, index: number): number {
  const oneFraction = p.one[start + index];
  const zeroFraction = p.zero[start + index];
  let next = p.weight[start + depth];
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    if (oneFraction !== 0) {
      const tmp = (next * (depth + 1)) / ((i + 1) * oneFraction);
      total += tmp;
      next = p.weight[start + i] - tmp * zeroFraction * ((depth - i) / (depth + 1));
    } else if (zeroFraction !== 0) {
      total += p.weight[start + i] / zeroFraction / ((depth - i) / (depth + 1));
    }
  }
  return total;
}

function recurse(tree: Tree, x: Float32Array, base: number, phi: Float64Array, node: number, p: Path, parentStart: number, depth: number, zeroFraction: number, oneFraction: number, feature: number): void {
  // Copy the parent's path (depth entries) to a fresh slot, then extend it.
  const start = parentStart + depth + 1;
  for (let i = 0; i < depth; i++) {
    p.feature[start + i] = p.feature[parentStart + i];
    p.zero[start + i] = p.zero[parentStart + i];
    p.one[start + i] = p.one[parentStart + i];
    p.weight[start + i] = p.weight[parentStart + i];
  }
  extend(p, start, depth, zeroFraction, oneFraction, feature);
  if (tree.left[node] === -1) {
    for (let i = 1; i <= depth; i++) {
      const w = unwoundSum(p, start, depth, i);
      phi[p.feature[start + i]] += w * (p.one[start + i] - p.zero[start + i]) * tree.value[node];
    }
    return;
  }
  const split = tree.feature[node];
  const v = x[base + split];
  const goesLeft = Number.isNaN(v) ? tree.defaultLeft[node] === 1 : v < tree.threshold[node];
  const hot = goesLeft ? tree.left[node] : tree.right[node];
  const cold = goesLeft ? tree.right[node] : tree.left[node];
  const cover = tree.cover[node];
  const hotZero = cover > 0 ? tree.cover[hot] / cover : 0.5;
  const coldZero = cover > 0 ? tree.cover[cold] / cover : 0.5;
  let incomingZero = 1;
  let incomingOne = 1;
  let d = depth;
  let k = 0;
  for (; k <= d; k++) if (p.feature[start + k] === split) break;
  if (k !== d + 1) {
    incomingZero = p.zero[start + k];
    incomingOne = p.one[start + k];
    unwind(p, start, d, k);
    d -= 1;
  }
  recurse(tree, x, base, phi, hot, p, start, d + 1, hotZero * incomingZero, incomingOne, split);
  recurse(tree, x, base, phi, cold, p, start, d + 1, coldZero * incomingZero, 0, split);
}
