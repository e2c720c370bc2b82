import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pooledWalkForwardFolds, timeGrid } from './pooled-folds.ts';
import { walkForwardFolds } from './walk-forward.ts';

const BAR = 300_000;
const HORIZON = 48;
const EMBARGO = 12;
/** Two symbols' rows by time then symbol: A on every bar 0 … 2999 but 1200 … 1239 (a gap), B on bars 300 … 2599 (listed later, stops earlier). */
const rows: Array<{ t: number; symbol: 'A' | 'B' }> = [];
for (let bar = 0; bar < 3000; bar++) {
  if (bar < 1200 || bar >= 1240) rows.push({ t: bar * BAR, symbol: 'A' });
  if (bar >= 300 && bar < 2600) rows.push({ t: bar * BAR, symbol: 'B' });
}
const time = Float64Array.from(rows, (r) => r.t);
const timeIndex = timeGrid(time);
const options = { folds: 3, mode: 'expanding' as const, trainSize: 1200, horizon: HORIZON, embargo: EMBARGO };
const folds = pooledWalkForwardFolds(timeIndex, rows.length, options);

describe('walk-forward folds over a pooled dataset', () => {
  it('split by time across all symbols: a test window holds every symbol\'s rows of its bars and nothing else', () => {
    for (const fold of folds) {
      const [start, end] = fold.test;
      const from = time[start];
      const to = time[end - 1];
      for (let r = 0; r < rows.length; r++) assert.equal(r >= start && r < end, time[r] >= from && time[r] <= to, `row ${r} (${rows[r].symbol} at bar ${time[r] / BAR}) is on the wrong side of fold ${fold.index + 1}'s test window`);
    }
  });

  it('no training row of any symbol has a label window reaching a test row, nor lies in the embargo after an earlier test window', () => {
    for (const fold of folds) {
      const testStartMs = time[fold.test[0]];
      const earlierEnds = folds.filter((f) => f.index < fold.index).map((f) => time[f.test[1] - 1]);
      for (const r of fold.train) {
        assert.ok(time[r] + HORIZON * BAR < testStartMs, `fold ${fold.index + 1}: ${rows[r].symbol}'s training row at bar ${time[r] / BAR} has a label window that reaches the test window at bar ${testStartMs / BAR}`);
        for (const end of earlierEnds) assert.ok(!(time[r] > end && time[r] <= end + EMBARGO * BAR), `fold ${fold.index + 1}: ${rows[r].symbol}'s row at bar ${time[r] / BAR} lies in the embargo after a test window ending at bar ${end / BAR}`);
      }
    }
  });

  it('purge and embargo remove rows of both symbols, and every other earlier row trains', () => {
    const last = folds[2];
    const used = new Set(last.train);
    const dropped = rows.map((_, r) => r).filter((r) => r < last.test[0] && !used.has(r));
    assert.ok(dropped.some((r) => rows[r].symbol === 'A') && dropped.some((r) => rows[r].symbol === 'B'), 'the purge applies to every symbol');
    assert.equal(dropped.length, last.purged[1] - last.purged[0] + last.embargoed);
  });

  it('one symbol (no time grid) gives walkForwardFolds over its rows exactly', () => {
    assert.deepEqual(pooledWalkForwardFolds(undefined, 3000, options), walkForwardFolds(3000, options));
    const single = Float64Array.from({ length: 3000 }, (_, i) => i * BAR);
    assert.deepEqual(pooledWalkForwardFolds(timeGrid(single), 3000, options), walkForwardFolds(3000, options), 'a grid of one symbol without gaps is its rows');
  });

  it('refuses rows that are not ordered by time', () => {
    assert.throws(() => timeGrid(Float64Array.from([0, BAR, 0])), /not ordered by time/);
  });
});
