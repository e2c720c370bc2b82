import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm/node';
import { datasetEngineer } from './feature-engineer.ts';
import { buildFeatureDataset, readFeatureDataset, writeFeatureDataset } from './parquet.ts';
import { realSampleFrame } from './testing/frames.ts';

const dir = mkdtempSync(join(tmpdir(), 'oitrader-features-'));
const parquet = join(dir, 'phase2_features_complete.parquet');
const manifest = join(dir, 'phase2_features_complete.manifest.json');
// With the calendar: the catalogue's 100+ features on an OHLCV-only sample (without it, 93).
const dataset = buildFeatureDataset(realSampleFrame(), undefined, datasetEngineer({ calendar: true }));
writeFeatureDataset(dataset, parquet, manifest);

describe('features Parquet file', () => {
  it('holds time, 100+ features and labels for the rows past warm-up and before the unlabeled tail', () => {
    const m = dataset.manifest;
    assert.ok(m.features.length >= 100);
    assert.equal(m.rows.written, m.rows.bars - m.rows.warmupDropped - m.rows.unlabeledDropped);
    assert.equal(m.rows.unlabeledDropped, 48);
    const b = m.labels.balance;
    assert.equal(b.short + b.neutral + b.long, m.rows.written);
    assert.equal(b.unlabeled, 0);
  });

  it('an independent reader (arrow-rs, the Rust Parquet implementation, via parquet-wasm) reads exactly the values we computed', () => {
    const table = tableFromIPC(readParquet(new Uint8Array(readFileSync(parquet))).intoIPCStream());
    assert.equal(table.numRows, dataset.manifest.rows.written);
    const names = dataset.manifest.features.map((f) => f.name);
    assert.deepEqual(table.schema.fields.map((f) => f.name), ['time', ...names, 'label', 'forward_return']);
    assert.equal(String(table.schema.fields[0].type), 'Timestamp<MILLISECOND, UTC>');
    const time = table.getChild('time')!;
    const label = table.getChild('label')!;
    const forward = table.getChild('forward_return')!;
    for (let k = 0; k < table.numRows; k++) {
      const i = dataset.start + k;
      assert.equal(Number(time.get(k)), dataset.table.time[i]);
      assert.equal(label.get(k), dataset.labels[i]);
      assert.equal(forward.get(k), dataset.forwardReturn[i]);
    }
    for (const name of names) {
      const column = table.getChild(name)!;
      for (let k = 0; k < table.numRows; k++) assert.equal(column.get(k), dataset.table.columns[name][dataset.start + k], `${name} at row ${dataset.start + k} differs in the independent reader`);
    }
  });

  it('leaves out the calendar features unless asked (features build --calendar)', () => {
    const plain = buildFeatureDataset(realSampleFrame());
    assert.ok(!plain.manifest.features.some((f) => f.group === 'time'), 'a default build must hold no calendar feature');
    assert.deepEqual(plain.manifest.features.map((f) => f.name), dataset.manifest.features.filter((f) => f.group !== 'time').map((f) => f.name), 'and every other feature as before');
    assert.equal(plain.manifest.featureSetVersion, dataset.manifest.featureSetVersion, 'the definitions are the same: a model records its own feature list');
  });

  it('reads back through the manifest-checked loader', async () => {
    const loaded = await readFeatureDataset(parquet, manifest);
    assert.equal(loaded.names.length, dataset.manifest.features.length);
    assert.equal(loaded.columns.rsi_14[0], dataset.table.columns.rsi_14[dataset.start]);
  });

  it('refuses a Parquet file that does not match its manifest', async () => {
    const other = join(dir, 'other.manifest.json');
    const tampered = { ...dataset.manifest, features: dataset.manifest.features.slice(1) };
    writeFileSync(other, JSON.stringify(tampered));
    await assert.rejects(readFeatureDataset(parquet, other), /columns do not match/);
  });
});

describe('reliability: a damaged features file (issue 18 item 14)', () => {
  it('a truncated or non-Parquet file names the file and says it is not complete Parquet, without a stack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-badparquet-'));
    const parquet = join(dir, 'f.parquet');
    const manifest = join(dir, 'f.manifest.json');
    writeFeatureDataset(buildFeatureDataset(realSampleFrame()), parquet, manifest);
    const bytes = readFileSync(parquet);
    writeFileSync(parquet, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(readFeatureDataset(parquet, manifest), (e: Error) => /f\.parquet is not a complete Parquet file/.test(e.message) && !/at .*\.ts:\d+/.test(e.message));
    writeFileSync(parquet, 'this is not parquet at all');
    await assert.rejects(readFeatureDataset(parquet, manifest), /is not a complete Parquet file/);
  });
});
