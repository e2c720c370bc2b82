import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileForest, forestMargins } from './forest.ts';
import { ForestKernel, MIN_PARALLEL_ROWS } from './forest-kernel.ts';
import { GradientBoostedTrees } from './gbdt.ts';
import { seededRandom } from './matrix.ts';

/** A SYNTHETIC three-class set with missing values and ±∞ (the fit gives real trees of every shape: depth-wise, leaf-wise, oblivious). */
function data(rows: number, cols: number, seed: number) {
  const random = seededRandom(seed);
  const x = new Float32Array(rows * cols);
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const u = random();
      x[r * cols + c] = u < 0.05 ? Number.NaN : u < 0.06 ? Number.POSITIVE_INFINITY : u < 0.07 ? Number.NEGATIVE_INFINITY : random() * 2 - 1;
    }
    const s = x[r * cols] + 0.5 * (Number.isNaN(x[r * cols + 1]) ? 0.3 : x[r * cols + 1]);
    y[r] = s > 0.4 ? 2 : s < -0.4 ? 0 : 1;
  }
  return { data: x, rows, cols, y };
}

describe('forest prediction kernel (WebAssembly, both cores)', () => {
  const kernel = ForestKernel.get();
  it('exists on this runtime (Node 20), and its worker thread starts', async () => {
    assert.ok(kernel);
    assert.equal(await kernel.warmUp(), true, 'the second thread never became ready: every batch would run on one');
  });

  for (const growPolicy of ['depthwise', 'leafwise', 'oblivious'] as const) {
    it(`gives forestMargins' margins to the last bit on one thread and two, whole or in parts (${growPolicy}, missing values, ragged row counts)`, () => {
      const train = data(3000, 12, 1);
      const model = new GradientBoostedTrees({ nEstimators: 25, maxDepth: growPolicy === 'leafwise' ? 0 : 5, numLeaves: 31, growPolicy, seed: 3, objective: 'multiclass' });
      model.fit(train, train.y);
      const forest = compileForest(model.trees, 3);
      const splits = [...forest.left.keys()].filter((n) => forest.left[n] !== -1);
      assert.ok(splits.some((n) => forest.missingRight[n]) && splits.some((n) => !forest.missingRight[n]), 'the trees must send missing values both ways');
      for (const rows of [1, 3, 5, 64, 65, 67, MIN_PARALLEL_ROWS + 129]) {
        const test = data(rows, 12, 100 + rows);
        const expected = new Float64Array(rows * 3).fill(0.25);
        forestMargins(forest, test.data, rows, 12, expected, 3);
        for (const threads of [1, 2]) {
          const got = new Float64Array(rows * 3).fill(0.25);
          assert.ok(kernel!.margins(forest, test.data, rows, 12, got, 3, threads));
          assert.deepEqual(got, expected, `${rows} rows on ${threads} thread(s)`);
          // A batch larger than a part of the memory goes through it part by part (the last part ragged).
          for (const partRows of [64, 2100]) {
            const inParts = new Float64Array(rows * 3).fill(0.25);
            assert.ok(kernel!.margins(forest, test.data, rows, 12, inParts, 3, threads, partRows));
            assert.deepEqual(inParts, expected, `${rows} rows on ${threads} thread(s) in parts of ${partRows}`);
          }
        }
      }
    });
  }

  it('refuses a forest with a split at NaN or −∞ (a missing value read as −∞ would pass it): JavaScript predicts it', () => {
    const train = data(500, 4, 7);
    const model = new GradientBoostedTrees({ nEstimators: 3, maxDepth: 3, seed: 1, objective: 'multiclass' });
    model.fit(train, train.y);
    const forest = compileForest(model.trees, 3);
    assert.ok(kernel!.margins(forest, train.data, 10, 4, new Float64Array(30), 3, 1));
    for (const threshold of [Number.NEGATIVE_INFINITY, Number.NaN]) {
      const odd = { ...forest, threshold: forest.threshold.slice() };
      odd.threshold[forest.left.findIndex((l) => l !== -1)] = threshold;
      assert.equal(kernel!.margins(odd, train.data, 10, 4, new Float64Array(30), 3, 1), false, `threshold ${threshold}`);
    }
  });

  it('predictProba of a model is the same with the kernel and without (OITRADER_GBDT_KERNELS=0 path)', () => {
    const train = data(2000, 8, 5);
    const model = new GradientBoostedTrees({ nEstimators: 15, maxDepth: 4, seed: 1, objective: 'multiclass' });
    model.fit(train, train.y);
    const test = data(5000, 8, 6);
    const withKernel = model.predictProba(test);
    const margins = new Float64Array(5000 * 3);
    for (let i = 0; i < 5000; i++) for (let c = 0; c < 3; c++) margins[i * 3 + c] = model.baseScore[c];
    forestMargins(compileForest(model.trees, 3), test.data, 5000, 8, margins, 3);
    const expected = new Float64Array(5000 * 3);
    for (let i = 0; i < 5000; i++) {
      const m = Math.max(margins[i * 3], margins[i * 3 + 1], margins[i * 3 + 2]);
      const e = [0, 1, 2].map((c) => Math.exp(margins[i * 3 + c] - m));
      const s = e[0] + e[1] + e[2];
      for (let c = 0; c < 3; c++) expected[i * 3 + c] = e[c] / s;
    }
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(withKernel[i] - expected[i]) < 1e-15, `row ${Math.floor(i / 3)}`);
  });
});
