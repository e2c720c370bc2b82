/**
 * The real SOLUSDT 5m feature set the benches train on: three months of
 * Binance klines, 5-minute open interest and funding from
 * ../shared/data/real, written into a throwaway in-memory store with the
 * project's own bulk upsert, read back through MarketDataLoader (as-of joins:
 * each bar sees only what was known at its close) and turned into features
 * and labels by buildFeatureDataset (FeatureEngineer + TargetEngineer).
 * Built once and cached under bench/.cache (git-ignored): float32 features,
 * float64 labels, and a JSON header naming the columns and the span.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { bulkUpsert, MarketDataLoader, openStore } from '../packages/data/src/index.ts';
import { buildFeatureDataset, FEATURE_SET_VERSION } from '../packages/features/src/index.ts';
import { matrixFromColumns, type Matrix, type TrainingDataset } from '../packages/ml/src/index.ts';

const REAL = new URL('../../shared/data/real/', import.meta.url).pathname;
const CACHE = new URL('./.cache/', import.meta.url).pathname;
const SYMBOL = 'SOLUSDT';
/** The span that has 5-minute open interest (2025-12-01 → 2026-03-01). */
const START = Date.UTC(2025, 11, 1);
const END = Date.UTC(2026, 2, 1);
/** Bumped when the cached files change (2: row times added); an older cache is rebuilt. */
const CACHE_VERSION = 2;
/** The labels `oitrader features build` makes by default. */
const LABELS = { horizon: 48, threshold: 0.005 };

export interface RealSet {
  name: string;
  x: Matrix;
  y: Float64Array;
  forwardReturn: Float64Array;
  /** Open time (ms) of each row. */
  time: Float64Array;
  names: string[];
  /** Bars loaded (including warm-up and the unlabeled tail). */
  bars: number;
}

function csv(path: string): string[][] {
  const text = gunzipSync(readFileSync(join(REAL, path))).toString('utf8');
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','));
}

async function build(): Promise<Omit<RealSet, 'name'>> {
  const { sql } = await openStore({ embeddedPath: 'memory' });
  try {
    const klines = csv('binance-um-klines/SOLUSDT-5m.csv.gz').filter((r) => Number(r[0]) >= START && Number(r[0]) < END);
    const col = (rows: string[][], i: number) => rows.map((r) => (r[i] === '' ? null : Number(r[i])));
    await bulkUpsert(sql, { table: 'ohlcv', keys: { symbol: SYMBOL, timeframe: '5m' }, time: klines.map((r) => Number(r[0])), values: { open: col(klines, 1), high: col(klines, 2), low: col(klines, 3), close: col(klines, 4), volume: col(klines, 5) }, source: 'bench' });
    const oi = csv('binance-um-open-interest/SOLUSDT-oi-5m.csv.gz');
    await bulkUpsert(sql, { table: 'open_interest', keys: { symbol: SYMBOL, period: '5m' }, time: oi.map((r) => Number(r[0])), values: { open_interest: col(oi, 1), open_interest_value: col(oi, 2) }, source: 'bench' });
    const funding = csv('binance-um-funding/SOLUSDT-fundingRate-rest-2023-2026.csv.gz').filter((r) => Number(r[0]) >= START - 86_400_000 && Number(r[0]) < END);
    await bulkUpsert(sql, { table: 'funding_rate', keys: { symbol: SYMBOL }, time: funding.map((r) => Number(r[0])), values: { funding_rate: col(funding, 2), mark_price: col(funding, 3) }, source: 'bench' });
    const frame = await new MarketDataLoader(sql).loadAllData(SYMBOL, '5m', START, END);
    const d = buildFeatureDataset(frame, LABELS);
    return {
      x: matrixFromColumns(d.table.columns, d.table.names, d.start, d.end),
      y: d.labels.slice(d.start, d.end),
      forwardReturn: d.forwardReturn.slice(d.start, d.end),
      time: d.table.time.slice(d.start, d.end),
      names: d.table.names,
      bars: frame.length,
    };
  } finally {
    await sql.close();
  }
}

const bytes = (a: Float32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f32 = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const f64 = (b: Buffer) => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/** The cached set, built on first use (~1 minute). */
export async function realSolusdt(): Promise<RealSet> {
  const header = join(CACHE, 'solusdt-5m-oi.json');
  let set: Omit<RealSet, 'name'>;
  const cached = existsSync(header) ? (JSON.parse(readFileSync(header, 'utf8')) as { version?: number; names: string[]; rows: number; bars: number }) : undefined;
  if (cached?.version === CACHE_VERSION) {
    const h = cached;
    set = { names: h.names, bars: h.bars, x: { data: f32(readFileSync(join(CACHE, 'solusdt-5m-oi.x.f32'))), rows: h.rows, cols: h.names.length }, y: f64(readFileSync(join(CACHE, 'solusdt-5m-oi.y.f64'))), forwardReturn: f64(readFileSync(join(CACHE, 'solusdt-5m-oi.r.f64'))), time: f64(readFileSync(join(CACHE, 'solusdt-5m-oi.t.f64'))) };
  } else {
    set = await build();
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(join(CACHE, 'solusdt-5m-oi.x.f32'), bytes(set.x.data));
    writeFileSync(join(CACHE, 'solusdt-5m-oi.y.f64'), bytes(set.y));
    writeFileSync(join(CACHE, 'solusdt-5m-oi.r.f64'), bytes(set.forwardReturn));
    writeFileSync(join(CACHE, 'solusdt-5m-oi.t.f64'), bytes(set.time));
    // The header last: a half-written cache has no header and is rebuilt.
    writeFileSync(header, JSON.stringify({ version: CACHE_VERSION, names: set.names, rows: set.x.rows, bars: set.bars }));
  }
  return { ...set, name: `real: SOLUSDT 5m with OI and funding, 2025-12-01 → 2026-03-01 (${set.x.rows.toLocaleString('en-US')} rows × ${set.names.length} features)` };
}

/** The set as a features file (what `oitrader features build` writes and `oitrader train` reads). */
export function asTrainingDataset(set: RealSet): TrainingDataset {
  const columns: Record<string, Float64Array> = {};
  set.names.forEach((name, f) => (columns[name] = Float64Array.from({ length: set.x.rows }, (_, r) => set.x.data[r * set.x.cols + f])));
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    manifest: { featureSetVersion: FEATURE_SET_VERSION, symbol: SYMBOL, timeframe: '5m', labels: LABELS, span: { rowsFrom: iso(set.time[0]), rowsTo: iso(set.time[set.time.length - 1]) } },
    time: set.time,
    names: set.names,
    columns,
    labels: set.y,
    forwardReturn: set.forwardReturn,
  };
}
