import { readFileSync } from 'node:fs';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { DataError, formatUtc, writeFileAtomic, type Frame } from '@oitrader/core';
import { datasetEngineer, FEATURE_SET_VERSION, type FeatureEngineer, type FeatureTable } from './feature-engineer.ts';
import { classBalance, TargetEngineer, type ClassBalance } from './targets.ts';

export const FEATURES_FILE = 'phase2_features_complete.parquet';
export const MANIFEST_FILE = 'phase2_features_complete.manifest.json';

export interface LabelOptions {
  horizon: number;
  threshold: number;
}

/** The Phase 2 → Phase 3 contract: what the Parquet file holds and where it came from. */
export interface FeatureManifest {
  format: 'oitrader-features';
  formatVersion: 1;
  featureSetVersion: string;
  /** The symbol; a pooled file lists its symbols joined by commas. */
  symbol: string;
  /** A pooled file (several symbols): its symbols. The Parquet file then has a `symbol` column after `time`. */
  symbols?: string[];
  /** A pooled file: each symbol's rows, span and labels. */
  perSymbol?: Array<{ symbol: string; rowsFrom: string; rowsTo: string; written: number; balance: ClassBalance }>;
  timeframe: string;
  features: Array<{ name: string; group: string; description: string; warmup: number }>;
  omitted: Array<{ name: string; reason: string }>;
  labels: { kind: 'classification'; horizon: number; threshold: number; classes: ['SHORT', 'NEUTRAL', 'LONG']; balance: ClassBalance };
  span: { dataFrom: string; dataTo: string; rowsFrom: string; rowsTo: string };
  rows: { bars: number; warmupDropped: number; unlabeledDropped: number; written: number; withMissingValues: number };
  /** Runs of missing values inside the written rows, per source column, and the features each one touched. */
  gaps: SourceGap[];
  createdAt: string;
}

export interface SourceGap {
  column: string;
  from: string;
  to: string;
  bars: number;
  features: number;
}

/** NaN runs of each source column the included features read, inside rows [start, end). */
export function findSourceGaps(frame: Frame, table: FeatureTable, start: number, end: number): SourceGap[] {
  const gaps: SourceGap[] = [];
  const sources = [...new Set(table.specs.flatMap((s) => s.sources))].filter((c) => frame.has(c)).sort();
  for (const column of sources) {
    const values = frame.column(column);
    const touched = table.specs.filter((s) => s.sources.includes(column)).length;
    for (let i = start; i < end; i++) {
      if (!Number.isNaN(values[i])) continue;
      let j = i;
      while (j < end && Number.isNaN(values[j])) j++;
      gaps.push({ column, from: formatUtc(frame.time[i]), to: formatUtc(frame.time[j - 1]), bars: j - i, features: touched });
      i = j;
    }
  }
  return gaps;
}

export interface FeatureDataset {
  table: FeatureTable;
  labels: Float64Array;
  forwardReturn: Float64Array;
  /** Rows [start, end) are written: after every warm-up, before the unlabeled tail. */
  start: number;
  end: number;
  manifest: FeatureManifest;
}

/** Features + labels for a frame; rows before the last warm-up and after the last label are dropped, never filled. */
export function buildFeatureDataset(frame: Frame, labels: LabelOptions = { horizon: 48, threshold: 0.005 }, engineer: FeatureEngineer = datasetEngineer()): FeatureDataset {
  const table = engineer.engineerAllFeatures(frame);
  const targets = new TargetEngineer();
  const y = targets.createClassificationTarget(frame, labels);
  const forwardReturn = targets.createRegressionTarget(frame, { horizon: labels.horizon });
  const start = table.firstCompleteRow;
  const end = Math.max(start, frame.length - labels.horizon);
  if (end - start <= 0) {
    throw new DataError(`no row of ${frame.symbol} ${frame.timeframe} has every feature warmed up and a label (${frame.length} bars, warm-up ends at row ${start})`, {
      hint: 'load a longer span of data',
    });
  }
  const barMs = frame.length > 1 ? frame.time[1] - frame.time[0] : 0;
  let withMissingValues = 0;
  const columns = table.names.map((n) => table.columns[n]);
  for (let i = start; i < end; i++) if (columns.some((c) => Number.isNaN(c[i]))) withMissingValues++;
  const manifest: FeatureManifest = {
    format: 'oitrader-features',
    formatVersion: 1,
    featureSetVersion: FEATURE_SET_VERSION,
    symbol: frame.symbol,
    timeframe: frame.timeframe,
    features: table.specs.map((s) => ({ name: s.name, group: s.group, description: s.description, warmup: typeof s.warmup === 'function' ? s.warmup(barMs) : s.warmup })),
    omitted: table.omitted,
    labels: { kind: 'classification', ...labels, classes: ['SHORT', 'NEUTRAL', 'LONG'], balance: classBalance(y.subarray(start, end)) },
    span: { dataFrom: formatUtc(frame.time[0]), dataTo: formatUtc(frame.time[frame.length - 1]), rowsFrom: formatUtc(frame.time[start]), rowsTo: formatUtc(frame.time[end - 1]) },
    rows: { bars: frame.length, warmupDropped: start, unlabeledDropped: frame.length - end, written: end - start, withMissingValues },
    gaps: findSourceGaps(frame, table, start, end),
    createdAt: new Date().toISOString(),
  };
  return { table, labels: y, forwardReturn, start, end, manifest };
}

/** The rows a features file holds, as columns (time-ordered; a pooled file by time, then symbol). */
export interface FeatureRows {
  time: ArrayLike<number>;
  /** A pooled file: each row's symbol. */
  symbol?: string[];
  names: string[];
  columns: Record<string, Float64Array>;
  labels: ArrayLike<number>;
  forwardReturn: Float64Array;
  manifest: FeatureManifest;
}

/** Writes the Parquet file and its manifest, each atomically (never half a file). */
export function writeFeatureDataset(dataset: FeatureDataset, parquetPath: string, manifestPath: string): void {
  const { table, start, end } = dataset;
  writeFeatureRows(
    {
      time: table.time.subarray(start, end),
      names: table.names,
      columns: Object.fromEntries(table.names.map((name) => [name, table.columns[name].subarray(start, end)])),
      labels: dataset.labels.subarray(start, end),
      forwardReturn: dataset.forwardReturn.subarray(start, end),
      manifest: dataset.manifest,
    },
    parquetPath,
    manifestPath,
  );
}

/** Writes rows: `time`, `symbol` (pooled files only), the features in manifest order, `label`, `forward_return`. */
export function writeFeatureRows(rows: FeatureRows, parquetPath: string, manifestPath: string): void {
  const columnData = [
    { name: 'time', data: Array.from(rows.time, (t) => new Date(t)), type: 'TIMESTAMP' as const },
    ...(rows.symbol ? [{ name: 'symbol', data: rows.symbol, type: 'STRING' as const }] : []),
    ...rows.names.map((name) => ({ name, data: rows.columns[name], type: 'DOUBLE' as const })),
    { name: 'label', data: Int32Array.from(rows.labels), type: 'INT32' as const },
    { name: 'forward_return', data: rows.forwardReturn, type: 'DOUBLE' as const },
  ];
  const buffer = parquetWriteBuffer({
    columnData,
    kvMetadata: [
      { key: 'oitrader.feature_set_version', value: FEATURE_SET_VERSION },
      { key: 'oitrader.symbol', value: rows.manifest.symbol },
      { key: 'oitrader.timeframe', value: rows.manifest.timeframe },
    ],
  });
  writeFileAtomic(parquetPath, new Uint8Array(buffer));
  writeFileAtomic(manifestPath, `${JSON.stringify(rows.manifest, null, 2)}\n`);
}

export interface LoadedFeatures {
  manifest: FeatureManifest;
  time: Float64Array;
  /** A pooled file: each row's symbol (one of manifest.symbols). */
  symbol?: string[];
  names: string[];
  columns: Record<string, Float64Array>;
  labels: Int32Array;
  forwardReturn: Float64Array;
}

/** Reads a features file and checks it against its manifest (Phase 3's entry point). */
export async function readFeatureDataset(parquetPath: string, manifestPath: string): Promise<LoadedFeatures> {
  let manifest: FeatureManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as FeatureManifest;
  } catch (error) {
    throw new DataError(`cannot read the feature manifest ${manifestPath}: ${(error as Error).message}`, { hint: 'rebuild with `oitrader features build`' });
  }
  if (manifest.format !== 'oitrader-features') throw new DataError(`${manifestPath} is not an oitrader feature manifest`);
  let bytes: Buffer<ArrayBuffer>;
  try {
    bytes = readFileSync(parquetPath);
  } catch (error) {
    throw new DataError(`cannot read ${parquetPath}: ${(error as Error).message}`, { hint: 'build it with `oitrader features build`' });
  }
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const notParquet = (error: unknown) =>
    new DataError(`${parquetPath} is not a complete Parquet file (${(error as Error).message})`, { hint: 'it was cut off or damaged: rebuild it with `oitrader features build`' });
  let metadata: ReturnType<typeof parquetMetadata>;
  try {
    metadata = parquetMetadata(file);
  } catch (error) {
    throw notParquet(error);
  }
  const schemaNames = parquetSchema(metadata).children.map((c) => c.element.name);
  const pooled = Array.isArray(manifest.symbols);
  const expected = ['time', ...(pooled ? ['symbol'] : []), ...manifest.features.map((f) => f.name), 'label', 'forward_return'];
  if (schemaNames.join('|') !== expected.join('|')) {
    throw new DataError(`${parquetPath} columns do not match ${manifestPath}`, { hint: 'the two files come from different builds; rebuild both' });
  }
  let rows: Array<Record<string, unknown>>;
  try {
    rows = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
  } catch (error) {
    throw notParquet(error);
  }
  if (rows.length !== manifest.rows.written) throw new DataError(`${parquetPath} has ${rows.length} rows, its manifest says ${manifest.rows.written}`);
  const names = manifest.features.map((f) => f.name);
  const columns: Record<string, Float64Array> = {};
  for (const name of names) columns[name] = Float64Array.from(rows, (r) => Number(r[name]));
  const symbol = pooled ? rows.map((r) => String(r.symbol)) : undefined;
  const unknown = symbol?.find((s) => !manifest.symbols!.includes(s));
  if (unknown !== undefined) throw new DataError(`${parquetPath} has rows of ${unknown}, which ${manifestPath} does not list`, { hint: 'the two files come from different builds; rebuild both' });
  return {
    manifest,
    time: Float64Array.from(rows, (r) => (r.time instanceof Date ? r.time.getTime() : Number(r.time))),
    ...(symbol ? { symbol } : {}),
    names,
    columns,
    labels: Int32Array.from(rows, (r) => Number(r.label)),
    forwardReturn: Float64Array.from(rows, (r) => Number(r.forward_return)),
  };
}
