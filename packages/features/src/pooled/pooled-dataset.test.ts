import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm/node';
import { Frame } from '@oitrader/core';
import { datasetEngineer, FeatureEngineer } from '../feature-engineer.ts';
import { buildFeatureDataset, readFeatureDataset, writeFeatureRows } from '../parquet.ts';
import { realOpenInterestFrame } from '../testing/frames.ts';
import { CROSS_SECTION_FEATURES } from './cross-section.ts';
import { buildPooledFeatureDataset, SYMBOL_ID_FEATURE, SYMBOL_SCALED_FEATURES } from './pooled-dataset.ts';

const LABELS = { horizon: 48, threshold: 0.005 };
const sol = realOpenInterestFrame('SOLUSDT', 12);
const btc = realOpenInterestFrame('BTCUSDT', 12);
const pool = buildPooledFeatureDataset([sol, btc], { labels: LABELS });

/** The pooled row of `symbol` at `time` (-1: none). */
const rowOf = (rows: typeof pool, symbol: string, time: number) => {
  for (let r = 0; r < rows.time.length; r++) if (rows.time[r] === time && rows.symbol![r] === symbol) return r;
  return -1;
};

describe('a pooled dataset (real SOLUSDT + BTCUSDT, 12 days, real open interest)', () => {
  it('holds one row per (symbol, time), ordered by time then symbol, with a symbol column', () => {
    const keys = new Set(Array.from(pool.time, (t, r) => `${pool.symbol![r]}@${t}`));
    assert.equal(keys.size, pool.time.length, 'a (symbol, time) appears twice');
    const order = (r: number) => pool.manifest.symbols!.indexOf(pool.symbol![r]);
    for (let r = 1; r < pool.time.length; r++) assert.ok(pool.time[r] > pool.time[r - 1] || (pool.time[r] === pool.time[r - 1] && order(r) > order(r - 1)), `row ${r} is out of order`);
    assert.deepEqual(pool.manifest.symbols, ['SOLUSDT', 'BTCUSDT']);
    assert.equal(pool.manifest.symbol, 'SOLUSDT,BTCUSDT');
    assert.deepEqual(pool.manifest.perSymbol!.map((p) => p.written), [buildFeatureDataset(sol, LABELS).manifest.rows.written, buildFeatureDataset(btc, LABELS).manifest.rows.written]);
  });

  it('each symbol keeps exactly its single-symbol features and labels, minus the symbol-scaled levels', () => {
    for (const frame of [sol, btc]) {
      const single = buildFeatureDataset(frame, LABELS);
      for (const i of [single.start, single.start + 500, single.end - 1]) {
        const r = rowOf(pool, frame.symbol, frame.time[i]);
        assert.ok(r >= 0, `${frame.symbol} row at ${new Date(frame.time[i]).toISOString()} is missing`);
        assert.equal(pool.labels[r], single.labels[i]);
        for (const name of pool.names.filter((n) => !n.startsWith('xs_'))) assert.ok(Object.is(pool.columns[name][r], single.table.columns[name][i]), `${frame.symbol} ${name} differs from its single-symbol value`);
      }
    }
    for (const name of Object.keys(SYMBOL_SCALED_FEATURES)) assert.ok(!pool.names.includes(name), `${name} is a level in the symbol's units and must be left out`);
    assert.ok(pool.manifest.omitted.some((o) => o.name === 'amihud_48' && /symbol's own units/.test(o.reason)));
  });

  it('leaves out the calendar unless asked, and adds a symbol id only when asked', () => {
    assert.ok(!pool.manifest.features.some((f) => f.group === 'time'), 'calendar features are off by default');
    assert.ok(!pool.names.includes(SYMBOL_ID_FEATURE));
    const withId = buildPooledFeatureDataset([sol, btc], { labels: LABELS, symbolId: true, engineer: datasetEngineer({ calendar: true }) });
    assert.ok(withId.manifest.features.some((f) => f.name === 'weekday_sin'));
    const r = rowOf(withId, 'BTCUSDT', withId.time[withId.time.length - 1]);
    assert.equal(withId.columns[SYMBOL_ID_FEATURE][r], 1, 'BTCUSDT is the second symbol');
  });

  it('cross-sectional features compare the symbols at the same bar: a rank (0 or 1 for two symbols) and a deviation from the mean', () => {
    const single = [sol, btc].map((f) => ({ frame: f, table: new FeatureEngineer({ features: ['ret_48', 'oi_change_12', 'funding_rate'] }).engineerAllFeatures(f) }));
    assert.deepEqual(pool.names.filter((n) => n.startsWith('xs_')), CROSS_SECTION_FEATURES.map((s) => s.name));
    let checked = 0;
    for (let i = 400; i < sol.length - 60; i += 37) {
      const [a, b] = single.map((s) => s.table.columns.ret_48[i]);
      const r = rowOf(pool, 'SOLUSDT', sol.time[i]);
      if (r < 0) continue;
      assert.equal(pool.columns.xs_rank_ret_48[r], a > b ? 1 : a < b ? 0 : 0.5);
      assert.ok(Math.abs(pool.columns.xs_dev_ret_48[r] - (a - b) / 2) < 1e-15);
      const [oa, ob] = single.map((s) => s.table.columns.oi_change_12[i]);
      assert.equal(pool.columns.xs_rank_oi_change_12[r], oa > ob ? 1 : oa < ob ? 0 : 0.5);
      checked++;
    }
    assert.ok(checked > 50);
  });
});

describe('pooled features never look ahead', () => {
  const cut = sol.time[2400];
  const upTo = (f: Frame) => f.slice(0, f.indexAtOrAfter(cut) + 1);

  it('truncation: every feature of every symbol at a bar ≤ t is the same when all symbols stop at t', () => {
    const truncated = buildPooledFeatureDataset([upTo(sol), upTo(btc)], { labels: LABELS });
    let compared = 0;
    for (let r = 0; r < truncated.time.length; r++) {
      const full = rowOf(pool, truncated.symbol![r], truncated.time[r]);
      for (const name of truncated.names) assert.ok(Object.is(truncated.columns[name][r], pool.columns[name][full]), `${truncated.symbol![r]} ${name} at ${new Date(truncated.time[r]).toISOString()} changed when later bars were removed`);
      compared++;
    }
    assert.ok(compared > 1000);
  });

  it('another symbol\'s later bars never reach a symbol\'s cross-sectional features at t (and its bars ≤ t do)', () => {
    const k = btc.indexAtOrAfter(cut);
    const shock = (from: number) => new Frame('BTCUSDT', btc.timeframe, btc.time, Object.fromEntries(Object.entries(btc.columns).map(([n, v]) => [n, ['open', 'high', 'low', 'close', 'open_interest'].includes(n) ? v.map((x, i) => (i >= from ? x * 1.5 : x)) : v])));
    const later = buildPooledFeatureDataset([sol, shock(k + 1)], { labels: LABELS });
    const r = rowOf(pool, 'SOLUSDT', cut);
    for (const name of pool.names.filter((n) => n.startsWith('xs_'))) assert.ok(Object.is(later.columns[name][rowOf(later, 'SOLUSDT', cut)], pool.columns[name][r]), `SOLUSDT ${name} at t changed when BTCUSDT's bars after t changed: look-ahead`);
    const now = buildPooledFeatureDataset([sol, shock(k)], { labels: LABELS });
    assert.notEqual(now.columns.xs_dev_ret_48[rowOf(now, 'SOLUSDT', cut)], pool.columns.xs_dev_ret_48[r], 'a change at bar t itself must show (the test can fail)');
  });
});

describe('the pooled Parquet contract', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oitrader-pooled-'));
  const parquet = join(dir, 'phase2_features_complete.parquet');
  const manifest = join(dir, 'phase2_features_complete.manifest.json');
  writeFeatureRows(pool, parquet, manifest);

  it('an independent reader sees time, symbol, the features, label and forward_return', () => {
    const table = tableFromIPC(readParquet(new Uint8Array(readFileSync(parquet))).intoIPCStream());
    assert.deepEqual(table.schema.fields.map((f) => f.name), ['time', 'symbol', ...pool.names, 'label', 'forward_return']);
    assert.equal(String(table.getChild('symbol')!.get(1)), pool.symbol![1]);
  });

  it('reads back with each row\'s symbol; a file naming a symbol its manifest lacks is refused', async () => {
    const loaded = await readFeatureDataset(parquet, manifest);
    assert.deepEqual(loaded.symbol, pool.symbol);
    assert.deepEqual(Array.from(loaded.time), Array.from(pool.time));
    const other = join(dir, 'other.manifest.json');
    writeFeatureRows({ ...pool, manifest: { ...pool.manifest, symbols: ['SOLUSDT', 'ETHUSDT'] } }, join(dir, 'other.parquet'), other);
    await assert.rejects(() => readFeatureDataset(join(dir, 'other.parquet'), other), /has rows of BTCUSDT, which .* does not list/);
  });

  it('refuses a pool of one symbol, a symbol listed twice, or symbols whose data never overlap', () => {
    assert.throws(() => buildPooledFeatureDataset([sol]), /at least two symbols/);
    assert.throws(() => buildPooledFeatureDataset([sol, sol]), /lists a symbol twice/);
    assert.throws(() => buildPooledFeatureDataset([sol.slice(0, 1000), btc.slice(2000)]), /do not overlap in time/);
  });
});
