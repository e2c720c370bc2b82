import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GradientBoostedTrees, type GbdtParams } from './gbdt.ts';
import { matrix, seededRandom, type Matrix } from './matrix.ts';
import { xgboostPredict, xgboostTrain, xgboostUnavailable } from './python-bridge.ts';
import { leafIndex, type Tree } from './tree.ts';
import { treeShap } from './tree-shap.ts';
import { fromXgboostJson, stringifyXgboostJson } from './xgboost-json.ts';
import { binFeatures, binOf, computeCuts } from './binning.ts';

const POLICIES = ['depthwise', 'leafwise', 'oblivious'] as const;

/** Synthetic data for engine tests (not market data): uniform features, labels from a known rule. */
function dataset(n: number, f: number, label: (row: Float32Array) => number, seed = 1, missingShare = 0): { x: Matrix; y: Float64Array } {
  const random = seededRandom(seed);
  const data = new Float32Array(n * f);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) data[i * f + j] = random() * 2 - 1;
    y[i] = label(data.subarray(i * f, i * f + f));
    for (let j = 0; j < f; j++) if (random() < missingShare) data[i * f + j] = Number.NaN;
  }
  return { x: matrix(data, n, f), y };
}

function split(d: { x: Matrix; y: Float64Array }, at: number) {
  const f = d.x.cols;
  return {
    train: { x: matrix(d.x.data.subarray(0, at * f), at, f), y: d.y.subarray(0, at) },
    test: { x: matrix(d.x.data.subarray(at * f), d.x.rows - at, f), y: d.y.subarray(at) },
  };
}

const accuracy = (pred: Float64Array, y: Float64Array) => pred.reduce((s, p, i) => s + (p === y[i] ? 1 : 0), 0) / y.length;
const xor = (r: Float32Array) => ((r[0] > 0) !== (r[1] > 0) ? 1 : 0);
const threeClass = (r: Float32Array) => (r[0] + r[1] > 0.3 ? 2 : r[0] - r[2] > 0 ? 1 : 0);

describe('GradientBoostedTrees: learning', () => {
  for (const growPolicy of POLICIES) {
    it(`${growPolicy}: learns an XOR interaction no single split can express`, () => {
      const { train, test } = split(dataset(4000, 5, xor, 3), 3000);
      const model = new GradientBoostedTrees({ objective: 'binary', growPolicy, nEstimators: 60, maxDepth: 4 }).fit(train.x, train.y);
      assert.ok(accuracy(model.predict(test.x), test.y) > 0.97);
    });

    it(`${growPolicy}: 3-class softmax beats the majority class by far, with missing values`, () => {
      const { train, test } = split(dataset(4000, 6, threeClass, 4, 0.05), 3000);
      const model = new GradientBoostedTrees({ objective: 'multiclass', growPolicy, nEstimators: 60, maxDepth: 4 }).fit(train.x, train.y);
      const proba = model.predictProba(test.x);
      for (let i = 0; i < test.x.rows; i++) assert.ok(Math.abs(proba[i * 3] + proba[i * 3 + 1] + proba[i * 3 + 2] - 1) < 1e-12);
      assert.ok(accuracy(model.predict(test.x), test.y) > 0.9);
    });
  }

  it('regression follows a monotone target: predictions rise with the feature', () => {
    const { x, y } = dataset(3000, 2, (r) => 3 * r[0] + 0.1 * r[1], 5);
    const model = new GradientBoostedTrees({ objective: 'regression', nEstimators: 80, maxDepth: 3 }).fit(x, y);
    const grid = matrix(Float32Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? -0.95 + (i / 2) * 0.1 : 0)), 20, 2);
    const pred = model.predict(grid);
    for (let i = 1; i < pred.length; i++) assert.ok(pred[i] >= pred[i - 1] - 1e-9, `prediction fell from ${pred[i - 1]} to ${pred[i]}`);
    assert.ok(Math.abs(pred[19] - pred[0] - 3 * 1.9) < 0.6);
  });

  it('early stopping keeps the best iteration on the eval set', () => {
    // Pure noise labels: the eval loss is best early and only gets worse.
    const { train, test } = split(dataset(2000, 5, () => 0, 6), 1500);
    const random = seededRandom(9);
    const noisy = (y: Float64Array) => y.map(() => (random() < 0.5 ? 1 : 0));
    const model = new GradientBoostedTrees({ objective: 'binary', nEstimators: 200, maxDepth: 6, learningRate: 0.3, earlyStoppingRounds: 10 }).fit(train.x, noisy(train.y), { eval: [test.x, noisy(test.y)] });
    const best = model.bestIteration;
    assert.equal(model.evalHistory.length, best + 11, 'stops 10 rounds after the best');
    assert.equal(Math.min(...model.evalHistory), model.evalHistory[best]);
    assert.equal(model.trees.length, best + 1, 'trees after the best round are dropped');
  });

  it('sample weights count as repeated rows: weighting class 1 by 10 moves P(1) from ~1/2 to ~10/11', () => {
    // Labels unrelated to the features, so the prior is all a model can learn.
    const random = seededRandom(21);
    const { x, y } = dataset(4000, 3, () => (random() < 0.5 ? 1 : 0), 7);
    const weights = Float64Array.from(y, (v) => (v === 1 ? 10 : 1));
    const mean = (m: GradientBoostedTrees) => m.predictProba(x).filter((_, i) => i % 2 === 1).reduce((s, v) => s + v, 0) / x.rows;
    const params = { objective: 'binary' as const, nEstimators: 10, maxDepth: 2, minChildWeight: 50 };
    const plain = mean(new GradientBoostedTrees(params).fit(x, y));
    const weighted = mean(new GradientBoostedTrees(params).fit(x, y, { sampleWeight: weights }));
    assert.ok(Math.abs(plain - 0.5) < 0.05, `unweighted P(1) ${plain}`);
    assert.ok(Math.abs(weighted - 10 / 11) < 0.05, `weighted P(1) ${weighted}`);
  });
});

describe('GradientBoostedTrees: determinism and persistence', () => {
  const { x, y } = dataset(2000, 6, threeClass, 8, 0.03);
  const params: Partial<GbdtParams> = { objective: 'multiclass', nEstimators: 20, maxDepth: 4, subsample: 0.7, colsampleBytree: 0.6, seed: 42 };

  for (const growPolicy of POLICIES) {
    it(`${growPolicy}: the same seed gives identical model bytes; another seed does not`, () => {
      const a = JSON.stringify(new GradientBoostedTrees({ ...params, growPolicy }).fit(x, y));
      const b = JSON.stringify(new GradientBoostedTrees({ ...params, growPolicy }).fit(x, y));
      const c = JSON.stringify(new GradientBoostedTrees({ ...params, growPolicy, seed: 43 }).fit(x, y));
      assert.equal(a, b);
      assert.notEqual(a, c);
    });

    it(`${growPolicy}: save → load gives identical predictions`, () => {
      const model = new GradientBoostedTrees({ ...params, growPolicy }).fit(x, y);
      const loaded = GradientBoostedTrees.fromJSON(JSON.parse(JSON.stringify(model)));
      assert.deepEqual(loaded.predictProba(x), model.predictProba(x));
    });
  }

  for (const [growPolicy, extra] of [['depthwise', {}], ['leafwise', { maxDepth: 0, numLeaves: 20, minDataInLeaf: 30 }], ['oblivious', { subsample: 0.8, colsampleBytree: 0.7 }]] as const) {
    it(`${growPolicy}: two threads (sharing histogram building and split search) give the same trees, byte for byte, as one thread`, () => {
      // 27 features: several feature chunks per split search, and rows that are not a whole number of 4-byte words.
      const big = dataset(9000, 27, threeClass, 13, 0.02);
      const trees = (nThreads: number) => JSON.stringify(new GradientBoostedTrees({ objective: 'multiclass', growPolicy, nEstimators: 8, maxDepth: 5, ...extra, nThreads }).fit(big.x, big.y).toJSON().trees);
      const two = trees(2);
      assert.equal(trees(2), two, 'the same inputs must give the same bytes with two threads');
      assert.equal(trees(1), two, 'a model must not depend on how many cores trained it');
    });
  }

  it('the WebAssembly kernels change no byte of any model: every policy, 1 and 2 threads, missing values, a feature subset, row counts, against the JavaScript engine', () => {
    // 27 features: a tail of 3 features past the last whole 4-byte word, handled outside the kernel.
    const big = dataset(6000, 27, threeClass, 17, 0.03);
    const fit = (growPolicy: 'depthwise' | 'leafwise' | 'oblivious', nThreads: number, extra: object) =>
      JSON.stringify(new GradientBoostedTrees({ objective: 'multiclass', growPolicy, nEstimators: 6, maxDepth: growPolicy === 'leafwise' ? 0 : 5, numLeaves: 24, nThreads, ...extra }).fit(big.x, big.y).toJSON().trees);
    // minDataInLeaf > 1: histograms with row counts (the kernels' counted variants).
    const cases = [['depthwise', {}], ['leafwise', {}], ['oblivious', {}], ['leafwise', { colsampleBytree: 0.6, subsample: 0.9 }], ['leafwise', { minDataInLeaf: 20 }], ['depthwise', { minDataInLeaf: 5, colsampleBytree: 0.8 }], ['oblivious', { minDataInLeaf: 10 }]] as const;
    const withKernels = cases.map(([policy, extra]) => [fit(policy, 1, extra), fit(policy, 2, extra)]);
    process.env.OITRADER_GBDT_KERNELS = '0';
    try {
      cases.forEach(([policy, extra], i) => {
        const javascript = fit(policy, 2, extra);
        assert.equal(withKernels[i][0], javascript, `${policy} ${JSON.stringify(extra)}: kernels on 1 thread vs JavaScript`);
        assert.equal(withKernels[i][1], javascript, `${policy} ${JSON.stringify(extra)}: kernels on 2 threads vs JavaScript`);
      });
    } finally {
      delete process.env.OITRADER_GBDT_KERNELS;
    }
  });

  it('binning by sorting gives the cuts and bins of the binary search, on awkward columns (±Infinity only, ±0, ties, missing values, sampled cuts)', () => {
    const random = seededRandom(21);
    const columns: Array<(i: number) => number> = [
      (i) => (i % 2 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY),
      (i) => (i % 3 === 0 ? -0 : i % 3 === 1 ? 0 : 1),
      () => Math.round(random() * 4),
      () => (random() < 0.3 ? Number.NaN : random()),
      (i) => (i % 5 === 0 ? Number.POSITIVE_INFINITY : random() * 1e6),
      () => Number.NaN,
    ];
    for (const sampleRows of [200_000, 700]) {
      const rows = 3000;
      const data = new Float32Array(rows * columns.length);
      for (let r = 0; r < rows; r++) columns.forEach((column, c) => (data[r * columns.length + c] = column(r)));
      const x = matrix(data, rows, columns.length);
      const binned = binFeatures(x, 255, sampleRows);
      const cuts = computeCuts(x, 255, sampleRows);
      columns.forEach((_, c) => {
        assert.deepEqual(Array.from(binned.cuts[c]), Array.from(cuts[c]), `column ${c}: cuts`);
        for (let r = 0; r < rows; r++) assert.equal(binned.columns[c][r], binOf(cuts[c], data[r * columns.length + c]), `column ${c} row ${r}`);
      });
      // Only ±Infinity: a single (NaN) cut and one value bin for all, so no split on it.
      assert.ok(binned.columns[0].every((b) => b === binned.columns[0][0]), 'a ±Infinity-only column is one bin');
    }
  });

  it('minDataInLeaf is a hard floor: no leaf of a leaf-wise tree holds fewer training rows', () => {
    const big = dataset(6000, 6, threeClass, 21, 0.02);
    const model = new GradientBoostedTrees({ objective: 'multiclass', growPolicy: 'leafwise', maxDepth: 0, numLeaves: 63, minDataInLeaf: 150, minChildWeight: 0, nEstimators: 5 }).fit(big.x, big.y);
    for (const tree of model.trees) {
      const rowsAt = new Map<number, number>();
      for (let i = 0; i < big.x.rows; i++) {
        const leaf = leafIndex(tree, big.x.data, i * big.x.cols);
        rowsAt.set(leaf, (rowsAt.get(leaf) ?? 0) + 1);
      }
      for (const [leaf, n] of rowsAt) assert.ok(n >= 150, `leaf ${leaf} holds ${n} rows, below minDataInLeaf 150 — a signal from too few bars`);
    }
  });

  it('loading refuses a broken file with a clear reason', () => {
    const json = new GradientBoostedTrees({ ...params }).fit(x, y).toJSON();
    assert.throws(() => GradientBoostedTrees.fromJSON({ format: 'something-else' }), /not an oitrader GBDT model/);
    const badFeature = structuredClone(json);
    badFeature.trees[0].feature[0] = 99;
    assert.throws(() => GradientBoostedTrees.fromJSON(badFeature), /feature 99 is outside the model's 6 features/);
    const badChild = structuredClone(json);
    badChild.trees[0].left[0] = 0;
    assert.throws(() => GradientBoostedTrees.fromJSON(badChild), /child index out of range/);
    // Both children of the root the same node: a walk over such a "tree" could loop forever.
    const twoParents = structuredClone(json);
    twoParents.trees[0].right[0] = twoParents.trees[0].left[0];
    assert.throws(() => GradientBoostedTrees.fromJSON(twoParents), /is the child of two splits: not a tree/);
    const model = GradientBoostedTrees.fromJSON(json);
    assert.throws(() => model.predictProba(matrix(new Float32Array(10), 2, 5)), /input has 5 features, the model was trained on 6/);
  });

  it('bad training input gets a clear error', () => {
    const model = new GradientBoostedTrees({ objective: 'multiclass' });
    assert.throws(() => matrix(new Float32Array(10), 3, 3), /has 10 values, shape 3 × 3 needs 9/);
    assert.throws(() => model.fit(x, y.map((v, i) => (i === 5 ? Number.NaN : v))), /label at row 5 is NaN/);
    assert.throws(() => model.fit(x, y.map((v, i) => (i === 7 ? 1.5 : v))), /label at row 7 is 1.5; classes must be 0, 1, 2/);
    const trained = new GradientBoostedTrees({ objective: 'multiclass', nEstimators: 2 }).fit(x, y);
    void trained;
    assert.throws(() => new GradientBoostedTrees({ objective: 'multiclass', nEstimators: 2 }).fit(x, y, { eval: [x, y.map(() => 5)] }), /label 5 is a class the training labels never had/);
  });
});

/** Path-dependent value function: features in S follow x, the others average their children by cover. */
function conditionalValue(tree: Tree, row: Float32Array, inSet: boolean[], node = 0): number {
  if (tree.left[node] === -1) return tree.value[node];
  const f = tree.feature[node];
  if (inSet[f]) {
    const v = row[f];
    const left = Number.isNaN(v) ? tree.defaultLeft[node] === 1 : v < tree.threshold[node];
    return conditionalValue(tree, row, inSet, left ? tree.left[node] : tree.right[node]);
  }
  const l = tree.left[node];
  const r = tree.right[node];
  return (tree.cover[l] * conditionalValue(tree, row, inSet, l) + tree.cover[r] * conditionalValue(tree, row, inSet, r)) / (tree.cover[l] + tree.cover[r]);
}

function bruteForceShapley(tree: Tree, row: Float32Array, features: number): Float64Array {
  const phi = new Float64Array(features);
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  for (let i = 0; i < features; i++) {
    for (let mask = 0; mask < 1 << features; mask++) {
      if (mask & (1 << i)) continue;
      const set = Array.from({ length: features }, (_, j) => Boolean(mask & (1 << j)));
      const size = set.filter(Boolean).length;
      const weight = (factorial(size) * factorial(features - size - 1)) / factorial(features);
      const withI = [...set];
      withI[i] = true;
      phi[i] += weight * (conditionalValue(tree, row, withI) - conditionalValue(tree, row, set));
    }
  }
  return phi;
}

describe('TreeSHAP', () => {
  const { x, y } = dataset(1500, 5, threeClass, 10, 0.05);
  for (const growPolicy of POLICIES) {
    it(`${growPolicy}: contributions sum to the margin (local accuracy, 1e-6)`, () => {
      const model = new GradientBoostedTrees({ objective: 'multiclass', growPolicy, nEstimators: 15, maxDepth: 4 }).fit(x, y);
      const rows = matrix(x.data.subarray(0, 50 * 5), 50, 5);
      const shap = model.shap(rows);
      const margins = model.predictMargin(rows);
      for (let r = 0; r < 50; r++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let f = 0; f <= 5; f++) sum += shap[(r * 3 + c) * 6 + f];
          assert.ok(Math.abs(sum - margins[r * 3 + c]) < 1e-6, `row ${r} class ${c}: SHAP sum ${sum} vs margin ${margins[r * 3 + c]}`);
        }
      }
    });
  }

  it('equals brute-force Shapley values of the path-dependent game on small trees', () => {
    const model = new GradientBoostedTrees({ objective: 'regression', nEstimators: 3, maxDepth: 4 }).fit(x, y);
    for (const tree of model.trees) {
      for (let r = 0; r < 20; r++) {
        const row = x.data.subarray(r * 5, r * 5 + 5);
        const phi = new Float64Array(6);
        treeShap(tree, x.data, r * 5, phi, 5);
        const exact = bruteForceShapley(tree, row, 5);
        for (let f = 0; f < 5; f++) assert.ok(Math.abs(phi[f] - exact[f]) < 1e-9, `feature ${f}: TreeSHAP ${phi[f]} vs brute force ${exact[f]}`);
      }
    }
  });

  it('importance and mean |SHAP| both rank the label-defining features first', () => {
    const model = new GradientBoostedTrees({ objective: 'multiclass', nEstimators: 20, maxDepth: 3 }).fit(x, y);
    const gain = model.featureImportance('gain');
    const shap = model.shapSummary(matrix(x.data.subarray(0, 200 * 5), 200, 5));
    for (const ranking of [gain, shap]) {
      const top = [...ranking.keys()].sort((a, b) => ranking[b] - ranking[a]).slice(0, 3).sort();
      assert.deepEqual(top, [0, 1, 2]);
    }
    assert.ok(model.featureImportance('split')[0] >= 1);
  });
});

const noXgboost = xgboostUnavailable();

describe('XGBoost model interchange', { skip: noXgboost ?? false }, () => {
  const { x, y } = dataset(2000, 6, threeClass, 11, 0.05);
  for (const growPolicy of POLICIES) {
    it(`${growPolicy}: an exported model loads in XGBoost 1.7 and gives the same probabilities (1e-6)`, () => {
      const model = new GradientBoostedTrees({ objective: 'multiclass', growPolicy, nEstimators: 25, maxDepth: 5 }).fit(x, y);
      const ours = model.predictProba(x);
      const theirs = xgboostPredict(stringifyXgboostJson(model), x);
      for (let i = 0; i < ours.length; i++) assert.ok(Math.abs(ours[i] - theirs[i]) < 1e-6, `value ${i}: ours ${ours[i]} vs XGBoost ${theirs[i]}`);
    });
  }

  it('binary and regression models round-trip too', () => {
    for (const [objective, label] of [['binary', xor], ['regression', (r: Float32Array) => r[0] * 2 - r[1]]] as const) {
      const target = dataset(1000, 4, label, 12).y;
      const sub = matrix(x.data.subarray(0, 1000 * 6).filter((_, i) => i % 6 < 4), 1000, 4);
      const model = new GradientBoostedTrees({ objective, nEstimators: 20, maxDepth: 4 }).fit(sub, target);
      const ours = objective === 'binary' ? model.predictProba(sub).filter((_, i) => i % 2 === 1) : model.predict(sub);
      const theirs = xgboostPredict(stringifyXgboostJson(model), sub);
      for (let i = 0; i < ours.length; i++) assert.ok(Math.abs(ours[i] - theirs[i]) < 1e-5 * Math.max(1, Math.abs(ours[i])), `${objective} row ${i}: ${ours[i]} vs ${theirs[i]}`);
    }
  });

  it('a model trained by XGBoost imports and predicts the same here', () => {
    const trained = xgboostTrain(x, y, 'multi:softprob', 3, 30, 5);
    const ours = fromXgboostJson(trained.model).predictProba(x);
    for (let i = 0; i < ours.length; i++) assert.ok(Math.abs(ours[i] - trained.predictions[i]) < 1e-6, `value ${i}: imported ${ours[i]} vs XGBoost ${trained.predictions[i]}`);
  });
});
if (noXgboost) process.stdout.write(`skipping XGBoost interchange tests: ${noXgboost}\n`);
