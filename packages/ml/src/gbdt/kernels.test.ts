import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HIST_BINS, searchSplits, SPLIT_RESULT, type SplitParams } from './histogram.ts';
import { seededRandom } from './matrix.ts';
import { quantisation } from './quantise.ts';
import { HistogramArena, gbdtKernel, gbdtKernelModule } from './kernels.ts';

const module = gbdtKernelModule();

/**
 * A node's histogram over `features` features from `rows` random rows:
 * bins drawn from a skewed distribution (many empty bins in small nodes),
 * a share of missing values in some features, gradients with a signal on
 * a few features so splits differ in gain.
 */
function randomNode(random: () => number, features: number, rows: number, lastBins: Int32Array, missingShare: number, sums: Float64Array, counts: Int32Array) {
  const q = quantisation(40_000);
  q.gradScale = 0.01;
  q.hessScale = 0.001;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const signal = random();
    // Some rows quantise to a zero pair: their bins have rows (counts) but a zero sum.
    const h = random() < 0.05 ? 0 : Math.floor(random() * 500);
    const g = h === 0 ? 0 : Math.round((signal - 0.5) * 200 + (random() - 0.5) * 100);
    const packed = g * q.shift + h;
    total += packed;
    for (let f = 0; f < features; f++) {
      const missing = f % 3 === 0 && random() < missingShare;
      const value = f % 4 === 1 ? signal : random() ** 2;
      const bin = missing ? 0 : 1 + Math.min(lastBins[f] - 2, Math.floor(value * (lastBins[f] - 1)));
      sums[f * HIST_BINS + bin] += packed;
      counts[f * HIST_BINS + bin]++;
    }
  }
  return { q, total };
}

describe('split search kernel (WebAssembly SIMD)', { skip: module ? false : 'this runtime lacks WebAssembly SIMD or shared memory' }, () => {
  it('finds the same split as the JavaScript search, to the last bit, over many random nodes', () => {
    const random = seededRandom(11);
    const features = 13;
    const arena = new HistogramArena(module as object, 1);
    const kernel = gbdtKernel(module as object, arena.memory, arena.scratchByte(0));
    const { sum: sums, count } = arena.histogram(features * HIST_BINS, true) ?? assert.fail('arena full');
    const counts = count as Int32Array;
    const lastBins = Int32Array.from({ length: features }, (_, f) => (f === 5 ? 2 : f === 7 ? 17 : 256));
    const allFeatures = Int32Array.from({ length: features }, (_, f) => f);
    let differentFeatures = 0;
    let missingLeft = 0;
    let found = 0;
    const seen = new Set<number>();
    for (let trial = 0; trial < 300; trial++) {
      sums.fill(0);
      counts.fill(0);
      const rows = [1, 2, 5, 30, 200, 3000][trial % 6];
      const { q, total } = randomNode(random, features, rows, lastBins, [0, 0.1, 0.6][trial % 3], sums, counts);
      // Every other trial with row counts (minDataInLeaf > 1), as the fit keeps them.
      const withCounts = trial % 4 >= 2 ? counts : undefined;
      const params: SplitParams = { lambda: [1, 0.1, 0][trial % 3], gamma: [0, 0.5][trial % 2], minChildWeight: [1, 0, 0.05][trial % 3], minDataInLeaf: withCounts ? [2, 5, 40][trial % 3] : 1 };
      // Every contiguous feature range, as the two threads' chunks cut them (odd lengths leave a lane empty).
      for (const [from, to] of [[0, features], [1, 6], [5, 6], [3, 12]]) {
        const expected = new Float64Array(SPLIT_RESULT);
        const actual = new Float64Array(SPLIT_RESULT);
        searchSplits(sums, withCounts, allFeatures, from, to, lastBins, total, rows, params, q, expected, 0);
        searchSplits(sums, withCounts, allFeatures, from, to, lastBins, total, rows, params, q, actual, 0, kernel);
        assert.deepEqual(Array.from(actual), Array.from(expected), `trial ${trial}, features [${from}, ${to}), ${rows} rows${withCounts ? ', counts' : ''}`);
        if (expected[0] === 1) {
          found++;
          seen.add(expected[2]);
          if (expected[4] === 1) missingLeft++;
        }
      }
      // A feature subset out of order (column sampling).
      const subset = Int32Array.from([9, 2, 4, 11, 0]);
      const expected = new Float64Array(SPLIT_RESULT);
      const actual = new Float64Array(SPLIT_RESULT);
      searchSplits(sums, withCounts, subset, 0, subset.length, lastBins, total, rows, params, q, expected, 0);
      searchSplits(sums, withCounts, subset, 0, subset.length, lastBins, total, rows, params, q, actual, 0, kernel);
      assert.deepEqual(Array.from(actual), Array.from(expected), `trial ${trial}, feature subset`);
      if (expected[2] !== 1) differentFeatures++;
    }
    // The cases above are not all alike: splits found and not, on many features, with missing values sent left.
    assert.ok(found > 500 && found < 1200, `splits found in ${found} of 1200 searches`);
    assert.ok(seen.size >= 5, `best features seen: ${[...seen].join(', ')}`);
    assert.ok(missingLeft > 20, `missing values sent left in ${missingLeft} splits`);
    assert.ok(differentFeatures > 0);
  });

  it('a released arena is the next fit\'s, emptied: every byte a fit wrote is zero again', () => {
    const first = HistogramArena.acquire(module as object);
    const { sum } = first.histogram(HIST_BINS * 10, false) ?? assert.fail('arena full');
    sum.fill(7);
    const start = sum.byteOffset;
    first.release();
    const second = HistogramArena.acquire(module as object);
    assert.equal(second, first, 'the idle arena is reused, not a new shared memory made');
    const again = second.histogram(HIST_BINS * 10, false) ?? assert.fail('arena full');
    assert.equal(again.sum.byteOffset, start, 'allocation starts over');
    assert.ok(again.sum.every((v) => v === 0), 'what the last fit wrote is cleared');
    second.release();
  });

  it('allocates zeroed histograms in one growing shared memory, and says when it is full', () => {
    const arena = new HistogramArena(module as object, 2);
    const a = arena.histogram(HIST_BINS * 140, false)?.sum as Float64Array;
    const { sum: b, count } = arena.histogram(HIST_BINS * 140, true) ?? assert.fail('arena full');
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    assert.ok(b.byteOffset >= a.byteOffset + a.byteLength, 'histograms do not overlap');
    assert.ok(a.byteOffset >= 2 * 256, 'histograms start after the threads\' scratch blocks');
    a[5] = 3;
    assert.equal(a[5], 3, 'a view made before the memory grew still reads and writes it');
    assert.ok(b.every((v: number) => v === 0) && (count as Int32Array).every((v) => v === 0));
    assert.equal(arena.histogram(2 ** 28, false), undefined, 'past the arena\'s maximum: undefined, not a crash');
  });
});
