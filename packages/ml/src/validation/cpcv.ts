import { combinations, OitraderError } from '@oitrader/core';
import type { Range } from './walk-forward.ts';

export interface CpcvOptions {
  /** N: contiguous, time-ordered groups the rows are cut into. */
  groups: number;
  /** k: groups tested by each split (C(N, k) splits, k/N·C(N, k) backtest paths). */
  testGroups: number;
  /** Label horizon in rows: a label at row t uses rows up to t + horizon. */
  horizon: number;
  /** Rows after each test group that may not train (serial correlation beyond the label). */
  embargo: number;
}

export interface CpcvSplit {
  index: number;
  /** The groups this split tests, ascending. */
  testGroups: number[];
  /** Training rows, time-ordered: every row outside the test groups, minus purged and embargoed rows. */
  train: Uint32Array;
  /** Rows dropped: their label window reaches into a test group (purge), or they follow one too closely (embargo). */
  dropped: number;
}

export interface Cpcv {
  /** Row range of each group. */
  groups: Range[];
  splits: CpcvSplit[];
  /**
   * paths[p][g]: the split whose prediction of group g belongs to path p. Every
   * path covers every group once, each from a split that did not train on it.
   */
  paths: number[][];
}

/** C(n, k) as a number. */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}

/**
 * Combinatorial purged cross-validation (López de Prado, AFML ch. 12): the rows
 * are cut into N groups; each of the C(N, k) splits tests k groups and trains
 * on the rest, purged of rows whose label window overlaps a tested group and
 * embargoed after each one. The splits' test predictions assemble into
 * k/N·C(N, k) paths, each a whole out-of-sample history — a distribution of
 * backtests instead of walk-forward's one.
 */
export function cpcv(rows: number, options: CpcvOptions): Cpcv {
  const { groups: n, testGroups: k, horizon, embargo } = options;
  if (!(Number.isInteger(n) && n >= 2) || !(Number.isInteger(k) && k >= 1 && k < n)) throw new OitraderError(`CPCV needs whole numbers N ≥ 2 groups and 1 ≤ k < N test groups, got N=${n}, k=${k}`, { exitCode: 2 });
  if (!(horizon >= 0) || !(embargo >= 0)) throw new OitraderError('CPCV needs horizon ≥ 0 and embargo ≥ 0', { exitCode: 2 });
  const size = Math.floor(rows / n);
  if (size <= horizon + embargo) throw new OitraderError(`${rows} rows in ${n} groups leave ${size} rows per group, not more than the label horizon ${horizon} + embargo ${embargo}`, { hint: 'use fewer groups, a shorter horizon, or more data', exitCode: 2 });
  // The last group takes the remainder.
  const groups: Range[] = Array.from({ length: n }, (_, g) => [g * size, g === n - 1 ? rows : (g + 1) * size] as const);
  const splits: CpcvSplit[] = combinations(n, k).map((tested, index) => {
    const blocked = new Uint8Array(rows);
    for (const g of tested) {
      const [start, end] = groups[g];
      for (let t = start; t < end; t++) blocked[t] = 1;
      // Purge: a training label at t spans (t, t + horizon]; it must end before the test group starts.
      for (let t = Math.max(0, start - horizon); t < start; t++) blocked[t] = 1;
      // After it: a label starting within the horizon overlaps the tested labels (purge), and the embargo may reach further.
      for (let t = end; t < Math.min(rows, end + Math.max(horizon, embargo)); t++) blocked[t] = 1;
    }
    const train: number[] = [];
    for (let t = 0; t < rows; t++) if (!blocked[t]) train.push(t);
    const testRows = tested.reduce((sum, g) => sum + groups[g][1] - groups[g][0], 0);
    return { index, testGroups: tested, train: Uint32Array.from(train), dropped: rows - train.length - testRows };
  });
  // Path p takes group g's prediction from the p-th split (in split order) that tests g.
  const testedBy: number[][] = Array.from({ length: n }, () => []);
  for (const s of splits) for (const g of s.testGroups) testedBy[g].push(s.index);
  const pathCount = (k * splits.length) / n;
  const paths = Array.from({ length: pathCount }, (_, p) => testedBy.map((list) => list[p]));
  return { groups, splits, paths };
}
