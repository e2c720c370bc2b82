import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probabilityOfBacktestOverfitting } from './pbo.ts';

/** Deterministic normal draws (Box-Muller on a small LCG). */
function normals(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function grid(periods: number, configurations: number, edge: (c: number) => number, seed = 7): Float64Array[] {
  const z = normals(seed);
  return Array.from({ length: periods }, () => Float64Array.from({ length: configurations }, (_, c) => edge(c) + z()));
}

describe('probability of backtest overfitting (CSCV)', () => {
  it('is about one half when every configuration is noise: picking the in-sample best is picking luck', () => {
    const pbos = [1, 2, 3, 4, 5].map((seed) => probabilityOfBacktestOverfitting(grid(400, 20, () => 0, seed), 8).pbo);
    const mean = pbos.reduce((a, b) => a + b, 0) / pbos.length;
    assert.ok(mean > 0.3 && mean < 0.7, `noise gave PBO ${pbos.map((p) => p.toFixed(2)).join(', ')}`);
  });

  it('is near zero when one configuration has a real edge that persists out of sample', () => {
    const r = probabilityOfBacktestOverfitting(grid(400, 20, (c) => (c === 3 ? 0.5 : 0)), 8);
    assert.equal(r.splits, 70, 'C(8, 4) splits');
    assert.ok(r.pbo < 0.05, `a persistent edge gave PBO ${r.pbo}`);
  });

  it('refuses a single configuration, odd blocks and too few periods', () => {
    assert.throws(() => probabilityOfBacktestOverfitting(grid(100, 1, () => 0)), /compares configurations/);
    assert.throws(() => probabilityOfBacktestOverfitting(grid(100, 3, () => 0), 7), /even number/);
    assert.throws(() => probabilityOfBacktestOverfitting(grid(10, 3, () => 0), 8), /at least 16 periods/);
  });
});
