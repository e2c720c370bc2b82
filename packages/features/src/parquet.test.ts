import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { buildFeatureDataset, readFeatureDataset, writeFeatureDataset } from './parquet.ts';
import { realSampleFrame } from './testing/frames.ts';

const dir = mkdtempSync(join(tmpdir(), 'oitrader-features-'));
const parquet = join(dir, 'phase2_features_complete.parquet');
const manifest = join(dir, 'phase2_features_complete.manifest.json');
const dataset = buildFeatureDataset(realSampleFrame());
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

  it('an independent reader (DuckDB) reads exactly the values we computed', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    const names = dataset.manifest.features.map((f) => f.name);
    const result = await connection.runAndReadAll(`SELECT epoch_ms(time) AS t, label, forward_return, ${names.map((n) => `"${n}"`).join(', ')} FROM read_parquet('${parquet}') ORDER BY time`);
    const rows = result.getRowObjects();
    assert.equal(rows.length, dataset.manifest.rows.written);
    for (const [k, row] of rows.entries()) {
      const i = dataset.start + k;
      assert.equal(Number(row.t), dataset.table.time[i]);
      assert.equal(Number(row.label), dataset.labels[i]);
      assert.equal(row.forward_return, dataset.forwardReturn[i]);
      for (const name of names) assert.equal(row[name], dataset.table.columns[name][i], `${name} at row ${i} differs in DuckDB`);
    }
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
