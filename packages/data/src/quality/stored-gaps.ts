import type { SqlExecutor } from '../store/sql-executor.ts';
import { TABLES, type MarketTable } from '../store/tables.ts';

export interface StoredGap {
  /** Last stored row before the hole (epoch ms). */
  afterMs: number;
  /** First stored row after the hole (epoch ms). */
  beforeMs: number;
  missingRows: number;
}

/**
 * Holes *inside* one stored series: consecutive rows further apart than its
 * step. Computed in SQL (a `lag` window), so a years-long series is not loaded
 * into memory; the collector refills these by REST, `data check` reports them.
 */
export async function findStoredGaps(sql: SqlExecutor, table: MarketTable, keys: Record<string, string>, stepMs: number, limit = 100): Promise<StoredGap[]> {
  const names = TABLES[table].keys;
  const where = names.map((k, i) => `${k} = $${i + 1}`).join(' AND ');
  const rows = await sql.query<{ after: number; before: number }>(
    `SELECT after, before FROM (
       SELECT (extract(epoch FROM lag(time) OVER (ORDER BY time)) * 1000)::float8 AS after, (extract(epoch FROM time) * 1000)::float8 AS before
       FROM ${table} WHERE ${where}
     ) g WHERE before - after > $${names.length + 1} ORDER BY before LIMIT $${names.length + 2}`,
    [...names.map((k) => keys[k]), stepMs, limit],
  );
  return rows.map((r) => ({ afterMs: Number(r.after), beforeMs: Number(r.before), missingRows: Math.round((Number(r.before) - Number(r.after)) / stepMs) - 1 }));
}
