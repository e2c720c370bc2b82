import { bestSplit, buildHistogram, clearHistogramRows, HIST_BINS, LEVEL_RESULT, newHistogram, searchLevelSplits, subtractHistogram, type Histogram, type NodeTask, type SplitCandidate, type SplitParams } from './histogram.ts';
import { MIN_PARALLEL_ROWS, type ParallelHistogramBuilder, type SharedHistogram } from './parallel-histogram.ts';
import type { Quantisation } from './quantise.ts';
import type { HistogramArena, GbdtKernel } from './kernels.ts';
import { TreeBuilder, type Tree } from './tree.ts';

/**
 * How a tree grows. `depthwise`: level by level to maxDepth (XGBoost);
 * `leafwise`: always split the leaf with the largest gain, up to numLeaves
 * (LightGBM); `oblivious`: one shared split per level (CatBoost's symmetric
 * trees, robust and fast to evaluate).
 */
export type GrowPolicy = 'depthwise' | 'leafwise' | 'oblivious';

export interface GrowParams extends SplitParams {
  policy: GrowPolicy;
  maxDepth: number;
  numLeaves: number;
  learningRate: number;
}

export interface GrowData {
  /** Column-wise bins (one Uint8Array per feature), for partitioning. */
  bins: Uint8Array[];
  /** The same bins row-major, for histogram building. */
  rowBins: Uint8Array;
  cuts: Float32Array[];
  /** Per feature: index of the last value bin + 1 (= cuts.length + 1). */
  binCounts: Int32Array;
  /** Exact gradients and hessians: leaf values. */
  grad: Float64Array;
  hess: Float64Array;
  /** Quantised (gradient, hessian) per row, packed (quantise.ts): histograms and split gains. */
  packed: Float64Array;
  quantisation: Quantisation;
  /** Keep row counts in the histograms (needed when minDataInLeaf > 1). */
  counts: boolean;
  /** When set, histograms of large nodes are built on two threads (it owns packed and order). */
  parallel?: ParallelHistogramBuilder;
  /** All-zero histogram buffers shared by the trees of one fit (a node's is ~F × 2 KB). */
  pool?: Histogram[];
  /** Where new histograms go (when not made by `parallel`), and the split kernel that searches them; none where the runtime lacks WebAssembly SIMD. */
  arena?: HistogramArena;
  kernel?: GbdtKernel;
  /**
   * Room for a node's right rows while partitioning (rows long). Given with
   * `kernel` when the fit's bins, gradients, order and this are all in the
   * kernels' memory: the partition then runs there too.
   */
  scratch?: Uint32Array;
}

interface Node {
  id: number;
  start: number;
  count: number;
  g: number;
  h: number;
  /** Packed quantised (gradient, hessian) sum of the node's rows. */
  sum: number;
  depth: number;
  hist: Histogram | undefined;
  /** Built from the node's own rows (so only bins those rows hit are non-zero), not by subtraction. */
  direct: boolean;
  /** `hist` is all-zero and still to be built from the node's rows (by the next `settle`). */
  build: boolean;
  /** `hist` is the parent's, still to have this sibling's histogram subtracted (by the next `settle`). */
  minus: Histogram | undefined;
  /** `hist` is kept only for the sibling's subtraction: released once that is done, never searched. */
  helper: boolean;
}

/**
 * Grows one tree on the rows in `order[0..count)`, using only `features`.
 * `leafRows` calls back once per leaf with its value and its rows'
 * positions in `order` (the fit adds the leaf value to those rows' margins
 * without walking the tree again).
 */
export function growTree(data: GrowData, params: GrowParams, order: Uint32Array, count: number, features: Int32Array, leafRows?: (value: number, start: number, count: number) => void): Tree {
  const grower = new Grower(data, params, order, features);
  const tree = grower.grow(count);
  if (leafRows) for (const node of grower.nodes) if (tree.left[node.id] === -1) leafRows(tree.value[node.id], node.start, node.count);
  return tree;
}

class Grower {
  readonly builder = new TreeBuilder();
  /** Every node made, with its rows' range in `order` (final once the tree is grown). */
  readonly nodes: Node[] = [];
  readonly #scratch: Uint32Array;
  readonly #leftSums = new Float64Array(3);
  readonly #pool: Histogram[];

  constructor(
    readonly data: GrowData,
    readonly params: GrowParams,
    readonly order: Uint32Array,
    readonly features: Int32Array,
  ) {
    this.#scratch = data.scratch ?? new Uint32Array(order.length);
    this.#pool = data.pool ?? [];
  }

  grow(count: number): Tree {
    let g = 0;
    let h = 0;
    let sum = 0;
    for (let i = 0; i < count; i++) {
      g += this.data.grad[this.order[i]];
      h += this.data.hess[this.order[i]];
      sum += this.data.packed[this.order[i]];
    }
    const root: Node = { id: this.builder.addNode(h, this.leafValue(g, h)), start: 0, count, g, h, sum, depth: 0, hist: this.histogram(0, count), direct: true, build: false, minus: undefined, helper: false };
    this.nodes.push(root);
    if (this.params.policy === 'oblivious') this.growOblivious(root);
    else if (this.params.policy === 'leafwise') this.growLeafwise(root);
    else this.growDepthwise(root);
    return this.builder.build();
  }

  leafValue(g: number, h: number): number {
    // Leaf values are float32, as in XGBoost, so exported models predict identically there.
    return h + this.params.lambda > 0 ? Math.fround((-g / (h + this.params.lambda)) * this.params.learningRate) : 0;
  }

  /** A histogram of rows order[start, start + count). Pooled buffers are kept all-zero by `release`. */
  histogram(start: number, count: number): Histogram {
    const hist = this.#newHistogram();
    if (this.data.parallel) this.data.parallel.build(hist, this.features, start, count);
    else buildHistogram(hist, this.data.rowBins, this.data.bins.length, this.features, this.order.subarray(start, start + count), count, this.data.packed, this.data.kernel);
    return hist;
  }

  #newHistogram(): Histogram {
    return this.#pool.pop() ?? this.data.parallel?.newHistogram() ?? newHistogram(this.data.bins.length, this.data.counts, this.data.arena);
  }

  /** Gives a child an all-zero histogram: built now when large enough for the row-parallel build, else by the next `settle`. */
  #attach(node: Node): void {
    if (this.data.parallel && node.count >= MIN_PARALLEL_ROWS) node.hist = this.histogram(node.start, node.count);
    else {
      node.hist = this.#newHistogram();
      node.build = true;
    }
  }

  /**
   * Reorders node rows in place: rows going left first. Returns the left
   * count; the left rows' exact gradient and hessian sums and their packed
   * sum are left in #leftSums (one pass over the rows for both).
   */
  partition(node: Node, feature: number, bin: number, defaultLeft: boolean): number {
    const column = this.data.bins[feature];
    const kernel = this.data.kernel;
    if (kernel && this.data.scratch) {
      const { grad, hess, packed } = this.data;
      kernel.partition(this.order.byteOffset + node.start * 4, node.count, column.byteOffset, bin, defaultLeft ? 1 : 0, grad.byteOffset, hess.byteOffset, packed.byteOffset, this.#scratch.byteOffset, kernel.scratchByte);
      const out = kernel.scratch;
      this.#leftSums[0] = out[1];
      this.#leftSums[1] = out[2];
      this.#leftSums[2] = out[3];
      return out[0];
    }
    const { grad, hess, packed } = this.data;
    const order = this.order;
    const scratch = this.#scratch;
    const dl = defaultLeft ? 1 : 0;
    let l = node.start;
    let r = 0;
    let g = 0;
    let h = 0;
    let s = 0;
    // Branch-free (which side a row goes is a coin flip to the branch predictor): every row is
    // written to both sides and added times 0 or 1 (x·0 is ±0, which leaves a sum unchanged).
    for (let i = node.start; i < node.start + node.count; i++) {
      const row = order[i];
      const b = column[row];
      const below = ((bin - b) >>> 31) ^ 1;
      const missing = (b - 1) >>> 31;
      const m = below ^ (missing & (below ^ dl));
      order[l] = row;
      scratch[r] = row;
      l += m;
      r += 1 - m;
      g += grad[row] * m;
      h += hess[row] * m;
      s += packed[row] * m;
    }
    // A loop, not order.set: order is shared memory (two threads), where set copies more slowly.
    for (let k = 0; k < r; k++) order[l + k] = scratch[k];
    this.#leftSums[0] = g;
    this.#leftSums[1] = h;
    this.#leftSums[2] = s;
    return l - node.start;
  }

  /** Whether a node could ever be split (otherwise it needs no histogram). */
  splittable(depth: number, count: number): boolean {
    const maxDepth = this.params.policy === 'leafwise' && this.params.maxDepth <= 0 ? Number.POSITIVE_INFINITY : this.params.maxDepth;
    return depth < maxDepth && count >= 2 * Math.max(1, this.params.minDataInLeaf);
  }

  /** Splits a node; children get histograms (the smaller one built, the larger by subtraction) when they can split further. */
  split(node: Node, feature: number, bin: number, defaultLeft: boolean, gain: number, oblivious = false, final = false): [Node, Node] {
    const leftCount = this.partition(node, feature, bin, defaultLeft);
    const rightCount = node.count - leftCount;
    const [lg, lh, ls] = this.#leftSums;
    const rg = node.g - lg;
    const rh = node.h - lh;
    const leftId = this.builder.addNode(lh, this.leafValue(lg, lh));
    const rightId = this.builder.addNode(rh, this.leafValue(rg, rh));
    this.builder.split(node.id, feature, this.data.cuts[feature][bin - 1], defaultLeft, gain, leftId, rightId);
    const left: Node = { id: leftId, start: node.start, count: leftCount, g: lg, h: lh, sum: ls, depth: node.depth + 1, hist: undefined, direct: true, build: false, minus: undefined, helper: false };
    const right: Node = { id: rightId, start: node.start + leftCount, count: rightCount, g: rg, h: rh, sum: node.sum - ls, depth: node.depth + 1, hist: undefined, direct: true, build: false, minus: undefined, helper: false };
    this.nodes.push(left, right);
    const [small, large] = leftCount <= rightCount ? [left, right] : [right, left];
    // Oblivious levels split every node, so each child keeps a histogram while levels remain.
    // `final`: the tree's last split (leaf-wise at numLeaves), whose children are never split.
    const needLarge = oblivious ? node.depth + 1 < this.params.maxDepth : !final && this.splittable(large.depth, large.count);
    const needSmall = oblivious ? needLarge : !final && this.splittable(small.depth, small.count);
    const parent = node.hist as Histogram;
    const parentNode = { ...node };
    node.hist = undefined;
    // Few rows: building directly costs less than subtracting (and clearing) a full histogram.
    const largeDirect = needLarge && this.#sparse(large.count);
    if (needSmall || (needLarge && !largeDirect)) {
      this.#attach(small);
      small.helper = !needSmall;
    }
    if (largeDirect) this.#attach(large);
    if (needLarge && !largeDirect) {
      large.hist = parent;
      large.minus = small.hist;
      large.direct = false;
    } else this.release(parent, parentNode);
    return [left, right];
  }

  /** True when a node's rows touch few of a histogram's entries. */
  #sparse(count: number): boolean {
    return count * this.features.length * 8 < this.data.bins.length * HIST_BINS;
  }

  /**
   * Returns a histogram to the pool all-zero: a sparse, directly built one by
   * clearing exactly the bins its rows hit, anything else with a full fill.
   */
  release(hist: Histogram | undefined, owner?: Pick<Node, 'start' | 'count' | 'direct'>): void {
    if (!hist) return;
    if (owner && owner.direct && this.#sparse(owner.count)) clearHistogramRows(hist, this.data.rowBins, this.data.bins.length, this.features, this.order.subarray(owner.start, owner.start + owner.count));
    else {
      hist.sum.fill(0);
      hist.count?.fill(0);
    }
    this.#pool.push(hist);
  }

  /**
   * Completes the nodes' histograms (pending builds, then pending sibling
   * subtractions) and returns the best split of each node for which `search`
   * holds (undefined for the others and for nodes without a histogram); on
   * both threads, as one task, when there are two. Helpers are released.
   */
  settle(nodes: Node[], search: (node: Node) => boolean): Array<SplitCandidate | undefined> {
    const { parallel, binCounts, quantisation } = this.data;
    const withHist = nodes.filter((node) => node.hist !== undefined);
    // Builds first: a subtraction's sibling is then built before it, also across task groups.
    const ordered = [...withHist.filter((node) => node.build), ...withHist.filter((node) => !node.build)];
    const tasks: NodeTask[] = ordered.map((node) => ({ hist: node.hist as Histogram, build: node.build, minus: node.minus, search: !node.helper && search(node), start: node.start, count: node.count, sum: node.sum }));
    let found: Array<SplitCandidate | undefined>;
    if (parallel && tasks.length > 0) found = parallel.searchNodes(tasks, this.features, quantisation);
    else {
      const { rowBins, packed } = this.data;
      const kernel = this.data.kernel;
      for (const task of tasks) if (task.build) buildHistogram(task.hist, rowBins, this.data.bins.length, this.features, this.order.subarray(task.start, task.start + task.count), task.count, packed, kernel);
      for (const task of tasks) if (task.minus) subtractHistogram(task.hist, task.minus, this.features, kernel);
      found = tasks.map((task) => (task.search ? bestSplit(task.hist, this.features, binCounts, task, this.params, quantisation, this.data.kernel) : undefined));
    }
    const splits = new Map<Node, SplitCandidate | undefined>();
    ordered.forEach((node, i) => splits.set(node, found[i]));
    for (const node of ordered) {
      node.build = false;
      node.minus = undefined;
      if (node.helper) {
        this.release(node.hist, node);
        node.hist = undefined;
      }
    }
    return nodes.map((node) => splits.get(node));
  }

  growDepthwise(root: Node): void {
    let level = [root];
    while (level.length > 0) {
      const next: Node[] = [];
      const splits = this.settle(level, (node) => node.depth < this.params.maxDepth);
      for (const [at, node] of level.entries()) {
        const split = splits[at];
        if (split) next.push(...this.split(node, split.feature, split.bin, split.defaultLeft, split.gain));
        else {
          this.release(node.hist, node);
          node.hist = undefined;
        }
      }
      level = next;
    }
  }

  growLeafwise(root: Node): void {
    const maxDepth = this.params.maxDepth > 0 ? this.params.maxDepth : Number.POSITIVE_INFINITY;
    const open: Array<{ node: Node; split: SplitCandidate }> = [];
    const consider = (nodes: Node[]) => {
      const splits = this.settle(nodes, (node) => node.depth < maxDepth);
      for (const [at, node] of nodes.entries()) {
        const split = splits[at];
        if (split) open.push({ node, split });
        else {
          this.release(node.hist, node);
          node.hist = undefined;
        }
      }
    };
    consider([root]);
    let leaves = 1;
    while (leaves < this.params.numLeaves && open.length > 0) {
      let k = 0;
      for (let i = 1; i < open.length; i++) if (open[i].split.gain > open[k].split.gain) k = i;
      const [{ node, split }] = open.splice(k, 1);
      consider(this.split(node, split.feature, split.bin, split.defaultLeft, split.gain, false, leaves + 1 >= this.params.numLeaves));
      leaves++;
    }
    for (const { node } of open) {
      this.release(node.hist, node);
      node.hist = undefined;
    }
  }

  /** The level's shared split: the (feature, bin, default side) with the largest gain summed over its nodes. */
  levelSplit(level: Node[]): { feature: number; bin: number; defaultLeft: boolean; gain: number } | undefined {
    const { parallel, binCounts, quantisation } = this.data;
    const found = parallel?.levelSplit(level.map((node) => node.hist as SharedHistogram), level, this.features, quantisation);
    if (found) return found.found ? found : undefined;
    const totalSums = Float64Array.from(level, (node) => node.sum);
    const totalCounts = Float64Array.from(level, (node) => node.count);
    const out = new Float64Array(LEVEL_RESULT);
    const hists = level.map((node) => node.hist as Histogram);
    searchLevelSplits(hists.map((h) => h.sum), hists.map((h) => h.count), totalSums, totalCounts, level.length, this.features, 0, this.features.length, binCounts, this.params, quantisation, new Float64Array(2 * HIST_BINS + 2), new Int32Array(2 * HIST_BINS + 2), out, 0);
    return out[0] === 1 ? { gain: out[1], feature: out[2], bin: out[3], defaultLeft: out[4] === 1 } : undefined;
  }

  /** One (feature, bin, default side) for the whole level, chosen by the summed gain over the level's nodes. */
  growOblivious(root: Node): void {
    let level = [root];
    for (let depth = 0; depth < this.params.maxDepth; depth++) {
      const best = this.levelSplit(level);
      if (!best) break;
      const next: Node[] = [];
      for (const node of level) next.push(...this.split(node, best.feature, best.bin, best.defaultLeft, best.gain / level.length, true));
      this.settle(next, () => false);
      level = next;
    }
    for (const node of level) {
      this.release(node.hist, node);
      node.hist = undefined;
    }
  }
}

