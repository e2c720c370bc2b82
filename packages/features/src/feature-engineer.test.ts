import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeframeMs } from '@oitrader/core';
import { ALL_FEATURES, FeatureEngineer } from './feature-engineer.ts';
import { checkLookahead, checkRecursive, PLANTED_NEXT_BAR_LEAK } from './lookahead.ts';
import { FEATURE_GROUPS, warmupBars, type FeatureSpec } from './registry.ts';
import { realSampleFrame, sampleWithSyntheticSources } from './testing/frames.ts';

const engineer = new FeatureEngineer();
const real = realSampleFrame();
const augmented = sampleWithSyntheticSources();

describe('feature catalogue', () => {
  it('has at least 100 uniquely named features with the required group sizes', () => {
    const names = ALL_FEATURES.map((f) => f.name);
    assert.equal(new Set(names).size, names.length, 'duplicate feature names');
    const count = (g: string) => ALL_FEATURES.filter((f) => f.group === g).length;
    assert.ok(ALL_FEATURES.length >= 100);
    assert.ok(count('open_interest') >= 25, `open interest: ${count('open_interest')}`);
    assert.ok(count('price') >= 30);
    assert.ok(count('volume') >= 20);
    assert.ok(count('time') >= 10);
    for (const g of FEATURE_GROUPS) assert.ok(count(g) > 0, `group ${g} is empty`);
    for (const f of ALL_FEATURES) assert.ok(f.description.length > 10, `${f.name} needs a definition`);
  });
});

describe('FeatureEngineer on the real sample', () => {
  const table = engineer.engineerAllFeatures(real);

  it('computes 100+ features from OHLCV and funding alone and leaves out, with a reason, those whose source is missing', () => {
    assert.ok(table.names.length >= 100, `${table.names.length} features`);
    assert.ok(table.omitted.some((o) => o.name === 'oi_change_1' && /open_interest/.test(o.reason)));
  });

  it('has no NaN after each feature\'s declared warm-up (counted from when its sources start)', () => {
    const barMs = timeframeMs(real.timeframe);
    for (const spec of table.specs) {
      const values = table.columns[spec.name];
      let start = 0;
      while (start < real.length && spec.sources.some((s) => Number.isNaN(real.column(s)[start]))) start++;
      for (let i = start + warmupBars(spec, barMs); i < real.length; i++) {
        assert.ok(Number.isFinite(values[i]), `${spec.name} is ${values[i]} at row ${i}, after its warm-up of ${warmupBars(spec, barMs)} bars from row ${start}`);
      }
    }
  });
});

describe('causality contract over every feature', () => {
  it('look-ahead analysis finds no offender (all 165 features; synthetic OI and book inputs)', () => {
    const report = checkLookahead(engineer, augmented, { cuts: 10 });
    assert.equal(report.features, ALL_FEATURES.length);
    assert.deepEqual(report.offenders, []);
  });

  it('recursive analysis finds no feature depending on history beyond its warm-up', () => {
    const report = checkRecursive(engineer, augmented, { starts: 3 });
    assert.deepEqual(report.offenders, []);
  });

  it('a planted feature that reads the next bar is caught by the look-ahead check', () => {
    const report = checkLookahead(new FeatureEngineer({ specs: [...ALL_FEATURES.slice(0, 5), PLANTED_NEXT_BAR_LEAK] }), real, { cuts: 5 });
    assert.deepEqual(report.offenders.map((o) => o.feature), ['leaky_next_return']);
  });

  it('a planted whole-history statistic (cumulative OBV, the guide\'s VWAP mistake) is caught by the recursive check', () => {
    const cumulative: FeatureSpec = {
      name: 'cumulative_obv',
      group: 'volume',
      description: 'OBV summed from the first bar (depends on where history starts)',
      warmup: 10,
      sources: ['close', 'volume'],
      compute: (x) => {
        const c = x.col('close');
        const v = x.col('volume');
        let total = 0;
        return c.map((price, i) => (total += i === 0 ? 0 : Math.sign(price - c[i - 1]) * v[i]));
      },
    };
    const report = checkRecursive(new FeatureEngineer({ specs: [cumulative] }), real, { starts: 2 });
    assert.deepEqual(report.offenders.map((o) => o.feature), ['cumulative_obv']);
  });
});

describe('streaming parity', () => {
  it('computeLatest on a trailing window equals the batch value of the last bar for every feature', () => {
    const batch = engineer.engineerAllFeatures(augmented);
    const needed = engineer.requiredHistory(augmented);
    for (const end of [augmented.length, augmented.length - 137]) {
      const latest = engineer.computeLatest(augmented.slice(end - needed, end));
      assert.equal(Object.keys(latest).length, ALL_FEATURES.length);
      for (const name of batch.names) {
        const a = batch.columns[name][end - 1];
        const b = latest[name];
        assert.ok(Object.is(a, b) || Math.abs(a - b) <= 1e-8 * Math.max(1, Math.abs(a)), `${name}: batch ${a} vs computeLatest ${b} at row ${end - 1}`);
      }
    }
  });

  it('refuses a window shorter than the warm-up instead of returning half-warmed values', () => {
    assert.throws(() => engineer.computeLatest(real.slice(0, 100)), /needs at least \d+ bars/);
  });
});

describe('features on real open interest (bundled SOLUSDT sample)', async () => {
  const { realOpenInterestFrame } = await import('../../backtest/src/testing/real-sample.ts');
  const sol = realOpenInterestFrame('SOLUSDT', 12);
  const oiFeatures = ALL_FEATURES.filter((s) => s.sources.includes('open_interest') || s.sources.includes('open_interest_value') || s.sources.includes('funding_rate'));

  it('every open-interest and funding feature computes on the real data', () => {
    const table = new FeatureEngineer({ specs: oiFeatures }).engineerAllFeatures(sol);
    const missing = oiFeatures.filter((s) => !table.names.includes(s.name)).map((s) => s.name);
    assert.deepEqual(missing, [], 'OI/funding features left out on real data');
    assert.ok(table.names.length >= 25, `${table.names.length} OI/funding features`);
  });

  it('look-ahead and recursive checks pass on the real OI sample', () => {
    const engineer = new FeatureEngineer({ specs: oiFeatures });
    assert.deepEqual(checkLookahead(engineer, sol, { cuts: 6 }).offenders, []);
    assert.deepEqual(checkRecursive(engineer, sol, { starts: 2 }).offenders, []);
  });

  it('a planted leak in an OI feature (next bar\'s OI change) is caught on the real sample', () => {
    const leak: FeatureSpec = {
      name: 'leaky_oi_next_change',
      group: 'open_interest',
      description: 'open-interest change to the NEXT bar (deliberately wrong)',
      warmup: 0,
      sources: ['open_interest'],
      compute: (x) => {
        const oi = x.col('open_interest');
        return oi.map((v, i) => (i + 1 < oi.length ? oi[i + 1] / v - 1 : Number.NaN));
      },
    };
    const report = checkLookahead(new FeatureEngineer({ specs: [...oiFeatures.slice(0, 5), leak] }), sol, { cuts: 5 });
    assert.deepEqual(report.offenders.map((o) => o.feature), ['leaky_oi_next_change']);
  });
});

describe('declared warm-up', () => {
  it('no feature writes a value before its declared warm-up (natr_48 and atr_ratio_14_48 once did)', () => {
    const frame = sampleWithSyntheticSources();
    const barMs = timeframeMs(frame.timeframe);
    const table = new FeatureEngineer().engineerAllFeatures(frame);
    for (const spec of table.specs) {
      const early = table.columns[spec.name].subarray(0, warmupBars(spec, barMs)).findIndex((v) => !Number.isNaN(v));
      assert.equal(early, -1, `${spec.name} has a value at bar ${early}, before its declared warm-up of ${warmupBars(spec, barMs)} bars`);
    }
  });
});
