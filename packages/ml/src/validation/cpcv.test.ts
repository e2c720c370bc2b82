import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combinations } from '@oitrader/core';
import { binomial, cpcv } from './cpcv.ts';

describe('combinatorial purged cross-validation', () => {
  it('makes C(N, k) splits and k/N·C(N, k) paths, each covering every group once from a split that did not train on it', () => {
    const { groups, splits, paths } = cpcv(600, { groups: 6, testGroups: 2, horizon: 5, embargo: 3 });
    assert.equal(splits.length, binomial(6, 2));
    assert.equal(paths.length, 5);
    assert.deepEqual(combinations(4, 2), [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
    for (const path of paths) {
      assert.equal(path.length, groups.length);
      path.forEach((s, g) => assert.ok(splits[s].testGroups.includes(g), `path uses split ${s} for group ${g}, which it does not test`));
    }
    // Each (split, group) prediction is used by exactly one path.
    const used = new Set(paths.flatMap((path) => path.map((s, g) => `${s}:${g}`)));
    assert.equal(used.size, splits.length * 2);
  });

  it('purges training labels that reach into a test group and embargoes rows right after it; nothing tested is trained on', () => {
    const horizon = 5;
    const embargo = 3;
    const { groups, splits } = cpcv(600, { groups: 6, testGroups: 2, horizon, embargo });
    for (const s of splits) {
      const train = new Set(s.train);
      for (const g of s.testGroups) {
        const [start, end] = groups[g];
        for (let t = start; t < end; t++) assert.ok(!train.has(t), `split ${s.index} trains on tested row ${t}`);
        for (let t = start - horizon; t < start; t++) if (t >= 0) assert.ok(!train.has(t), `row ${t}'s label reaches into group ${g} and was not purged`);
        for (let t = end; t < end + Math.max(horizon, embargo) && t < 600; t++) assert.ok(!train.has(t), `row ${t} follows group ${g} within the embargo or its labels overlap the tested ones`);
      }
      // Everything else trains: the purge takes no more than it must.
      const expected = 600 - s.testGroups.reduce((n, g) => n + groups[g][1] - groups[g][0], 0) - s.dropped;
      assert.equal(s.train.length, expected);
      assert.ok(s.dropped <= s.testGroups.length * (horizon + Math.max(horizon, embargo)));
      for (let i = 1; i < s.train.length; i++) assert.ok(s.train[i] > s.train[i - 1], 'training rows stay in time order');
    }
  });

  it('purges by the horizon after a tested group even with no embargo: those labels overlap the tested ones', () => {
    const { groups, splits } = cpcv(600, { groups: 6, testGroups: 2, horizon: 7, embargo: 0 });
    for (const s of splits) for (const g of s.testGroups) for (let t = groups[g][1]; t < groups[g][1] + 7 && t < 600; t++) assert.ok(!s.train.includes(t), `row ${t} trains on a label overlapping group ${g}`);
  });

  it('refuses groups too small for the horizon, and nonsense N and k', () => {
    assert.throws(() => cpcv(100, { groups: 10, testGroups: 2, horizon: 10, embargo: 0 }), /not more than the label horizon/);
    assert.throws(() => cpcv(100, { groups: 4, testGroups: 4, horizon: 1, embargo: 0 }), /1 ≤ k < N/);
  });
});
