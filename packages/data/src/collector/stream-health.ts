import type { SqlExecutor } from '../store/sql-executor.ts';

export interface StreamHealthRow {
  stream: string;
  lastMessageAtMs: number;
  lastEventTimeMs: number | null;
  lagMs: number | null;
  messages: number;
  reconnects: number;
  updatedAtMs: number;
}

/** The collector's heartbeat rows, one per stream. */
export async function readStreamHealth(sql: SqlExecutor): Promise<StreamHealthRow[]> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT stream, (extract(epoch FROM last_message_at) * 1000)::float8 AS last_message_at,
            (extract(epoch FROM last_event_time) * 1000)::float8 AS last_event_time, lag_ms,
            messages::float8 AS messages, reconnects::float8 AS reconnects, (extract(epoch FROM updated_at) * 1000)::float8 AS updated_at
     FROM stream_health ORDER BY stream`,
  );
  return rows.map((r) => ({
    stream: String(r.stream),
    lastMessageAtMs: Number(r.last_message_at),
    lastEventTimeMs: r.last_event_time === null ? null : Number(r.last_event_time),
    lagMs: r.lag_ms === null ? null : Number(r.lag_ms),
    messages: Number(r.messages),
    reconnects: Number(r.reconnects),
    updatedAtMs: Number(r.updated_at),
  }));
}

/** Streams silent for longer than `maxAgeMs` at `nowMs` (all of them when none has reported). */
export function staleStreams(rows: StreamHealthRow[], nowMs: number, maxAgeMs: number): string[] {
  if (rows.length === 0) return ['(no stream has reported: is the collector running?)'];
  return rows.filter((r) => nowMs - r.lastMessageAtMs > maxAgeMs).map((r) => r.stream);
}
