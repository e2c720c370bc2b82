import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dropNearConstant, mutualInformation, pruneCorrelated, selectFeatures } from './selection.ts';

const n = 2000;
let seed = 3;
const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const labels = Float64Array.from({ length: n }, () => Math.floor(random() * 3));
const informative = Float64Array.from(labels, (y) => y + 0.3 * random());
const noise = Float64Array.from({ length: n }, () => random());
const twin = Float64Array.from(informative, (v) => 2 * v + 0.001 * random());
const constant = new Float64Array(n).fill(1);
const columns = { informative, noise, twin, constant };

describe('feature selection', () => {
  it('mutual information ranks a label-carrying feature far above noise', () => {
    assert.ok(mutualInformation(informative, labels) > 0.8, 'close to ln(3) for a feature that encodes the label');
    assert.ok(mutualInformation(noise, labels) < 0.02);
  });

  it('drops constant and near-constant features', () => {
    const result = dropNearConstant(['informative', 'constant'], columns);
    assert.deepEqual(result.kept, ['informative']);
    assert.equal(result.dropped[0].name, 'constant');
  });

  it('correlation pruning keeps the better-scored of a correlated pair', () => {
    const scores: Record<string, number> = { informative: 2, twin: 1, noise: 0 };
    const result = pruneCorrelated(['twin', 'informative', 'noise'], columns, (name) => scores[name]);
    assert.deepEqual(result.kept, ['informative', 'noise']);
    assert.match(result.dropped[0].reason, /with informative/);
  });

  it('the full pass is deterministic and honours a model-importance hook', () => {
    const a = selectFeatures(Object.keys(columns), columns, { labels });
    const b = selectFeatures(Object.keys(columns), columns, { labels });
    assert.deepEqual(a, b);
    const hooked = selectFeatures(['informative', 'twin', 'noise'], columns, { labels, importance: () => new Map([['twin', 5], ['informative', 1], ['noise', 0]]) });
    assert.deepEqual(hooked.kept, ['twin', 'noise'], 'the hook decides which twin survives');
  });
});
