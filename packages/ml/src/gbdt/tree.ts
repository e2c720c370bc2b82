/**
 * A binary regression tree in flat arrays (XGBoost's layout): node i is a
 * leaf when left[i] === -1. Go left when x < threshold (float32 compare),
 * or when x is missing and defaultLeft[i]. `cover` is the hessian sum that
 * reached the node (used by TreeSHAP); `gain` the split's loss reduction.
 */
export interface Tree {
  left: Int32Array;
  right: Int32Array;
  feature: Int32Array;
  threshold: Float32Array;
  defaultLeft: Uint8Array;
  /** Leaf value (already scaled by the learning rate); 0 on inner nodes. */
  value: Float64Array;
  cover: Float64Array;
  gain: Float64Array;
}

export class TreeBuilder {
  left: number[] = [];
  right: number[] = [];
  feature: number[] = [];
  threshold: number[] = [];
  defaultLeft: number[] = [];
  value: number[] = [];
  cover: number[] = [];
  gain: number[] = [];

  addNode(cover: number, value: number): number {
    this.left.push(-1);
    this.right.push(-1);
    this.feature.push(-1);
    this.threshold.push(0);
    this.defaultLeft.push(0);
    this.value.push(value);
    this.cover.push(cover);
    this.gain.push(0);
    return this.left.length - 1;
  }

  split(node: number, feature: number, threshold: number, defaultLeft: boolean, gain: number, left: number, right: number): void {
    this.feature[node] = feature;
    this.threshold[node] = threshold;
    this.defaultLeft[node] = defaultLeft ? 1 : 0;
    this.gain[node] = gain;
    this.left[node] = left;
    this.right[node] = right;
    this.value[node] = 0;
  }

  build(): Tree {
    return {
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      feature: Int32Array.from(this.feature),
      threshold: Float32Array.from(this.threshold),
      defaultLeft: Uint8Array.from(this.defaultLeft),
      value: Float64Array.from(this.value),
      cover: Float64Array.from(this.cover),
      gain: Float64Array.from(this.gain),
    };
  }
}

/** Leaf reached by one row (x is the row's values, row-major offset `base`). */
export function leafIndex(tree: Tree, x: Float32Array, base: number): number {
  let node = 0;
  while (tree.left[node] !== -1) {
    const v = x[base + tree.feature[node]];
    node = Number.isNaN(v) ? (tree.defaultLeft[node] ? tree.left[node] : tree.right[node]) : v < tree.threshold[node] ? tree.left[node] : tree.right[node];
  }
  return node;
}

export function treeDepth(tree: Tree, node = 0): number {
  return tree.left[node] === -1 ? 0 : 1 + Math.max(treeDepth(tree, tree.left[node]), treeDepth(tree, tree.right[node]));
}
