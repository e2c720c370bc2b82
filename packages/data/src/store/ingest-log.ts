import type { SqlExecutor } from './sql-executor.ts';

export interface IngestLogEntry {
  level: 'info' | 'warn' | 'error';
  source: string;
  dataset: string;
  symbol?: string;
  rowsWritten?: number;
  rowsRejected?: number;
  message: string;
  detail?: Record<string, unknown>;
}

export async function logIngest(sql: SqlExecutor, entry: IngestLogEntry): Promise<void> {
  await sql.query(
    `INSERT INTO ingest_log (level, source, dataset, symbol, rows_written, rows_rejected, message, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
    [
      entry.level,
      entry.source,
      entry.dataset,
      entry.symbol ?? null,
      entry.rowsWritten ?? 0,
      entry.rowsRejected ?? 0,
      entry.message,
      entry.detail === undefined ? null : JSON.stringify(entry.detail),
    ],
  );
}

export interface IngestLogRow {
  loggedAtMs: number;
  level: string;
  source: string;
  dataset: string;
  symbol: string | null;
  rowsWritten: number;
  rowsRejected: number;
  message: string;
  detail: Record<string, unknown> | null;
}

export async function readIngestLog(sql: SqlExecutor, filter: { dataset?: string; symbol?: string } = {}): Promise<IngestLogRow[]> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT (extract(epoch FROM logged_at) * 1000)::float8 AS logged_at_ms, level, source, dataset, symbol,
            rows_written::float8 AS rows_written, rows_rejected::float8 AS rows_rejected, message, detail
     FROM ingest_log
     WHERE ($1::text IS NULL OR dataset = $1) AND ($2::text IS NULL OR symbol = $2)
     ORDER BY id`,
    [filter.dataset ?? null, filter.symbol ?? null],
  );
  return rows.map((r) => ({
    loggedAtMs: Number(r.logged_at_ms),
    level: String(r.level),
    source: String(r.source),
    dataset: String(r.dataset),
    symbol: r.symbol === null ? null : String(r.symbol),
    rowsWritten: Number(r.rows_written),
    rowsRejected: Number(r.rows_rejected),
    message: String(r.message),
    detail: (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as Record<string, unknown> | null,
  }));
}
