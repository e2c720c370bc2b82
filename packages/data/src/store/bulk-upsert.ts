import { DataError } from '@oitrader/core';
import type { SqlExecutor } from './sql-executor.ts';
import { PRIMARY_KEYS, TABLES, type MarketTable } from './tables.ts';

/** Column-oriented rows for one table; key columns (symbol, timeframe, ...) are fixed per batch. */
export interface Batch {
  table: MarketTable;
  keys: Record<string, string>;
  /** Value timestamps, epoch ms. */
  time: ArrayLike<number>;
  values: Record<string, ArrayLike<number | string | null>>;
  source: string;
}

export interface UpsertResult {
  inserted: number;
  updated: number;
  /** Rows repeated inside the batch itself (the last one wins). */
  duplicatesInBatch: number;
}

const CHUNK_ROWS = 20_000;

/**
 * Idempotent bulk write: `INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO
 * UPDATE ... WHERE values differ`. Re-writing identical rows writes nothing and
 * reports 0; corrected values replace old ones. One statement per chunk, so it
 * runs unchanged on PostgreSQL and PGlite (COPY FROM STDIN crashes PGlite).
 */
export async function bulkUpsert(sql: SqlExecutor, batch: Batch): Promise<UpsertResult> {
  const spec = TABLES[batch.table];
  validateBatch(batch);
  const order = dedupeOrder(batch);
  const result: UpsertResult = { inserted: 0, updated: 0, duplicatesInBatch: batch.time.length - order.length };
  const statement = upsertStatement(batch.table);
  for (let start = 0; start < order.length; start += CHUNK_ROWS) {
    const rows = order.slice(start, start + CHUNK_ROWS);
    const params: unknown[] = [rows.map((i) => batch.time[i])];
    for (const column of spec.values) params.push(rows.map((i) => toSqlValue(batch.values[column.name]?.[i])));
    for (const key of spec.keys) params.push(batch.keys[key]);
    params.push(batch.source);
    const [counts] = await sql.query<{ inserted: number; updated: number }>(statement, params);
    result.inserted += Number(counts.inserted);
    result.updated += Number(counts.updated);
  }
  return result;
}

function toSqlValue(value: number | string | null | undefined): number | string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

function validateBatch(batch: Batch): void {
  const spec = TABLES[batch.table];
  const n = batch.time.length;
  for (const key of spec.keys) {
    if (typeof batch.keys[key] !== 'string' || batch.keys[key] === '') throw new DataError(`${batch.table} batch is missing key "${key}"`);
  }
  for (const column of spec.values) {
    const values = batch.values[column.name];
    if (values === undefined) {
      if (column.required) throw new DataError(`${batch.table} batch is missing required column "${column.name}"`);
      continue;
    }
    if (values.length !== n) throw new DataError(`${batch.table} column "${column.name}" has ${values.length} rows, time has ${n}`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(batch.time[i])) throw new DataError(`${batch.table} row ${i} has no valid time`);
  }
}

/** Row indices with in-batch duplicates (same primary key) removed, keeping the last. */
function dedupeOrder(batch: Batch): number[] {
  const extraKeys = PRIMARY_KEYS[batch.table].filter((k) => k !== 'time' && !(k in batch.keys));
  const seen = new Map<string, number>();
  for (let i = 0; i < batch.time.length; i++) {
    let key = String(batch.time[i]);
    for (const k of extraKeys) key += `|${String(batch.values[k]?.[i])}`;
    seen.set(key, i);
  }
  return [...seen.values()].sort((a, b) => a - b);
}

const statements = new Map<MarketTable, string>();

function upsertStatement(table: MarketTable): string {
  const cached = statements.get(table);
  if (cached) return cached;
  const spec = TABLES[table];
  const valueNames = spec.values.map((c) => c.name);
  const unnestArgs = ['$1::float8[]', ...spec.values.map((c, i) => `$${i + 2}::${c.type === 'text' ? 'text' : 'float8'}[]`)];
  let p = spec.values.length + 2;
  const keyParams = spec.keys.map(() => `$${p++}::text`);
  const sourceParam = `$${p}::text`;
  const selectValues = spec.values.map((c) => (c.type === 'int8' ? `u.${c.name}::int8` : `u.${c.name}`));
  const updatable = [...valueNames.filter((n) => !PRIMARY_KEYS[table].includes(n))];
  const setClause = [...updatable.map((n) => `${n} = EXCLUDED.${n}`), 'source = EXCLUDED.source'].join(', ');
  const differs = updatable.length > 0 ? `WHERE (${updatable.map((n) => `${table}.${n}`).join(', ')}) IS DISTINCT FROM (${updatable.map((n) => `EXCLUDED.${n}`).join(', ')})` : '';
  const conflict = updatable.length > 0 ? `DO UPDATE SET ${setClause} ${differs}` : 'DO NOTHING';
  const text = `WITH up AS (
  INSERT INTO ${table} (time, ${spec.keys.join(', ')}, ${valueNames.join(', ')}, source)
  SELECT to_timestamp(u.t / 1000.0), ${keyParams.join(', ')}, ${selectValues.join(', ')}, ${sourceParam}
  FROM unnest(${unnestArgs.join(', ')}) AS u(t, ${valueNames.join(', ')})
  ON CONFLICT (${PRIMARY_KEYS[table].join(', ')}) ${conflict}
  RETURNING (xmax = 0) AS inserted
)
SELECT (count(*) FILTER (WHERE inserted))::int AS inserted, (count(*) FILTER (WHERE NOT inserted))::int AS updated FROM up`;
  statements.set(table, text);
  return text;
}
