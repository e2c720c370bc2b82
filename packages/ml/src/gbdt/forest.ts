import type { Tree } from './tree.ts';

/**
 * All trees of a model in one set of flat arrays (node indices absolute), for
 * prediction. Rows are scored in blocks: for each block of BLOCK rows every
 * tree is walked for every row of the block, so a tree's nodes stay in L1
 * while it is used and each row's features are read from memory once. Tree
 * by tree over all rows (the previous way) re-read the whole matrix once per
 * tree: 37,000 rows/s on 10,000 × 140 × 300 trees, memory-bound.
 */
export interface Forest {
  roots: Int32Array;
  /** Output column of each tree (its class for multiclass). */
  column: Int32Array;
  left: Int32Array;
  right: Int32Array;
  feature: Int32Array;
  threshold: Float32Array;
  defaultLeft: Uint8Array;
  value: Float64Array;
}

const BLOCK = 64;

export function compileForest(trees: Tree[], columns: number): Forest {
  const total = trees.reduce((s, t) => s + t.left.length, 0);
  const f: Forest = {
    roots: new Int32Array(trees.length),
    column: new Int32Array(trees.length),
    left: new Int32Array(total),
    right: new Int32Array(total),
    feature: new Int32Array(total),
    threshold: new Float32Array(total),
    defaultLeft: new Uint8Array(total),
    value: new Float64Array(total),
  };
  let at = 0;
  trees.forEach((tree, t) => {
    f.roots[t] = at;
    f.column[t] = t % columns;
    for (let n = 0; n < tree.left.length; n++) {
      const leaf = tree.left[n] === -1;
      f.left[at + n] = leaf ? -1 : at + tree.left[n];
      f.right[at + n] = leaf ? -1 : at + tree.right[n];
      f.feature[at + n] = tree.feature[n];
      f.threshold[at + n] = tree.threshold[n];
      f.defaultLeft[at + n] = tree.defaultLeft[n];
      f.value[at + n] = tree.value[n];
    }
    at += tree.left.length;
  });
  return f;
}

/** Adds every tree's leaf value to `out[row * columns + column]` (out holds the base scores). */
export function forestMargins(f: Forest, x: Float32Array, rows: number, cols: number, out: Float64Array, columns: number): void {
  const { roots, column, left, right, feature, threshold, defaultLeft, value } = f;
  for (let start = 0; start < rows; start += BLOCK) {
    const end = Math.min(rows, start + BLOCK);
    for (let t = 0; t < roots.length; t++) {
      const root = roots[t];
      const c = column[t];
      for (let i = start; i < end; i++) {
        const base = i * cols;
        let node = root;
        while (left[node] !== -1) {
          const v = x[base + feature[node]];
          node = v < threshold[node] ? left[node] : v >= threshold[node] ? right[node] : defaultLeft[node] ? left[node] : right[node];
        }
        out[i * columns + c] += value[node];
      }
    }
  }
}
