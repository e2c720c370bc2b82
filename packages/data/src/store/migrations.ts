import { createLogger } from '@oitrader/core';
import type { SqlExecutor } from './sql-executor.ts';
import { PRIMARY_KEYS, TABLES, type MarketTable } from './tables.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

function marketTableSql(table: MarketTable): string {
  const spec = TABLES[table];
  const columns = [
    'time timestamptz NOT NULL',
    ...spec.keys.map((k) => `${k} text NOT NULL`),
    ...spec.values.map((c) => `${c.name} ${c.type}${c.required ? ' NOT NULL' : ''}`),
    "source text NOT NULL DEFAULT 'unknown'",
  ];
  return `CREATE TABLE IF NOT EXISTS ${table} (\n  ${columns.join(',\n  ')},\n  PRIMARY KEY (${PRIMARY_KEYS[table].join(', ')})\n);`;
}

/** Versioned, append-only. Never edit a released migration: add a new one. */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'market data tables and ingest log',
    sql: [
      ...(Object.keys(TABLES) as MarketTable[]).map(marketTableSql),
      `CREATE TABLE IF NOT EXISTS ingest_log (
  id bigserial PRIMARY KEY,
  logged_at timestamptz NOT NULL DEFAULT now(),
  level text NOT NULL,
  source text NOT NULL,
  dataset text NOT NULL,
  symbol text,
  rows_written int8 NOT NULL DEFAULT 0,
  rows_rejected int8 NOT NULL DEFAULT 0,
  message text NOT NULL,
  detail jsonb
);`,
      'CREATE INDEX IF NOT EXISTS ingest_log_dataset_idx ON ingest_log (dataset, symbol, logged_at);',
      `CREATE TABLE IF NOT EXISTS stream_health (
  stream text PRIMARY KEY,
  last_message_at timestamptz NOT NULL,
  last_event_time timestamptz,
  lag_ms float8,
  messages int8 NOT NULL DEFAULT 0,
  reconnects int8 NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);`,
    ].join('\n'),
  },
  {
    version: 2,
    name: 'trading bot state',
    // The bot's own record (packages/live): what it decided, sent, got filled and held, so a
    // restart resumes from the database and reconciliation can compare it with the exchange.
    sql: `CREATE TABLE IF NOT EXISTS bot_control (
  bot text PRIMARY KEY,
  mode text NOT NULL,
  symbol text NOT NULL,
  session_start timestamptz NOT NULL,
  killed boolean NOT NULL DEFAULT false,
  kill_reason text,
  flatten_requested boolean NOT NULL DEFAULT false,
  last_candle timestamptz,
  state jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bot_decisions (
  bot text NOT NULL,
  symbol text NOT NULL,
  candle_time timestamptz NOT NULL,
  action text NOT NULL,
  allowed boolean NOT NULL,
  reason text NOT NULL,
  qty_base float8,
  price_usd float8,
  stop_usd float8,
  detail jsonb,
  decided_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bot, symbol, candle_time)
);
CREATE TABLE IF NOT EXISTS bot_orders (
  client_order_id text PRIMARY KEY,
  bot text NOT NULL,
  symbol text NOT NULL,
  candle_time timestamptz NOT NULL,
  intent text NOT NULL,
  side text NOT NULL,
  type text NOT NULL,
  qty_base float8 NOT NULL,
  price_usd float8,
  trigger_usd float8,
  reduce_only boolean NOT NULL DEFAULT false,
  status text NOT NULL,
  exchange_order_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS bot_orders_bot_idx ON bot_orders (bot, symbol, candle_time);
CREATE TABLE IF NOT EXISTS bot_fills (
  fill_id text PRIMARY KEY,
  bot text NOT NULL,
  symbol text NOT NULL,
  client_order_id text,
  time timestamptz NOT NULL,
  side text NOT NULL,
  qty_base float8 NOT NULL,
  price_usd float8 NOT NULL,
  fee_usd float8 NOT NULL,
  liquidity text NOT NULL,
  reason text NOT NULL
);
CREATE INDEX IF NOT EXISTS bot_fills_bot_idx ON bot_fills (bot, symbol, time);
CREATE TABLE IF NOT EXISTS bot_positions (
  bot text NOT NULL,
  symbol text NOT NULL,
  qty_base float8 NOT NULL,
  entry_price_usd float8 NOT NULL,
  liquidation_price_usd float8,
  stop_usd float8,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bot, symbol)
);
CREATE TABLE IF NOT EXISTS bot_equity (
  bot text NOT NULL,
  time timestamptz NOT NULL,
  equity_usd float8 NOT NULL,
  wallet_usd float8 NOT NULL,
  available_usd float8 NOT NULL,
  qty_base float8 NOT NULL,
  PRIMARY KEY (bot, time)
);
CREATE TABLE IF NOT EXISTS bot_risk_events (
  id bigserial PRIMARY KEY,
  bot text NOT NULL,
  time timestamptz NOT NULL,
  kind text NOT NULL,
  message text NOT NULL,
  UNIQUE (bot, time, kind)
);`,
  },
  {
    version: 3,
    name: 'bot stop-entries and funding payments',
    // Stop-entries (no new positions, the open one keeps its stop) is a control like the kill
    // switch; bot_funding holds one row per funding settlement the position paid or received,
    // committed in the same step transaction as the fills, so trade PnL = price − fees + funding.
    sql: `ALTER TABLE bot_control ADD COLUMN IF NOT EXISTS entries_stopped boolean NOT NULL DEFAULT false;
ALTER TABLE bot_control ADD COLUMN IF NOT EXISTS entries_stopped_reason text;
CREATE TABLE IF NOT EXISTS bot_funding (
  bot text NOT NULL,
  symbol text NOT NULL,
  time timestamptz NOT NULL,
  rate float8 NOT NULL,
  mark_price_usd float8 NOT NULL,
  qty_base float8 NOT NULL,
  income_usd float8 NOT NULL,
  PRIMARY KEY (bot, symbol, time)
);`,
  },
  {
    version: 4,
    name: 'bot risk events per symbol with their command detail',
    // The portfolio bot: a risk event may belong to one symbol (a forced exit), and a command keeps its
    // own words in `detail` so a replay never parses them back out of the message.
    sql: `ALTER TABLE bot_risk_events ADD COLUMN IF NOT EXISTS symbol text;
ALTER TABLE bot_risk_events ADD COLUMN IF NOT EXISTS detail jsonb;
ALTER TABLE bot_risk_events DROP CONSTRAINT IF EXISTS bot_risk_events_bot_time_kind_key;
CREATE UNIQUE INDEX IF NOT EXISTS bot_risk_events_key ON bot_risk_events (bot, time, kind, (coalesce(symbol, '')));`,
  },
  {
    version: 5,
    name: 'bot leases: one running bot per name and per exchange account',
    // A row per lease key (`bot:<name>`, `account:<mode>:<host>:<key digest>`) naming the process that holds it;
    // `token` is that run's own, so a heartbeat or a release never touches a lease another run took over.
    sql: `CREATE TABLE IF NOT EXISTS bot_leases (
  lease_key text PRIMARY KEY,
  bot text NOT NULL,
  mode text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  token text NOT NULL,
  acquired_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL
);`,
  },
  {
    version: 6,
    name: 'bot force exit per symbol',
    // A forced exit of some symbols (comma-separated; flatten_requested still means all of them), cleared
    // symbol by symbol in the step that carries it out.
    sql: `ALTER TABLE bot_control ADD COLUMN IF NOT EXISTS flatten_symbols text NOT NULL DEFAULT '';`,
  },
  {
    version: 7,
    name: 'bot force entry per symbol',
    // Forced entries due at the next step, as `SYMBOL:side` comma-separated (one per symbol, the latest wins),
    // cleared symbol by symbol in the step that carries it out.
    sql: `ALTER TABLE bot_control ADD COLUMN IF NOT EXISTS force_entries text NOT NULL DEFAULT '';`,
  },
];

const HYPERTABLES: Array<[MarketTable, string]> = [
  ['ohlcv', '7 days'],
  ['open_interest', '7 days'],
  ['funding_rate', '90 days'],
  ['long_short_ratio', '7 days'],
  ['taker_volume', '7 days'],
  ['liquidations', '7 days'],
  ['order_book', '1 day'],
];

export interface MigrateResult {
  applied: number[];
  timescale: boolean;
}

/** Any constant, the same in every process: migrations of one database run one at a time. */
const MIGRATION_LOCK_KEY = 7_242_001;

/**
 * Applies pending migrations in one transaction, then the optional TimescaleDB
 * layer. Two processes starting at once (two imports, the collector and the
 * bot) would race on CREATE TABLE and both apply version 1; the transaction's
 * advisory lock makes the second wait and then find nothing to do.
 */
export async function migrate(sql: SqlExecutor): Promise<MigrateResult> {
  const applied = await sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
  version int PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);`);
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
    const versions: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      versions.push(migration.version);
    }
    return versions;
  });
  const timescale = await enableTimescale(sql);
  return { applied, timescale };
}

/**
 * TimescaleDB is an accelerator, never a requirement: when the extension is
 * installed on the server, tables become hypertables with compression after
 * 30 days and an hourly candle continuous aggregate. Safe to run repeatedly.
 */
async function enableTimescale(sql: SqlExecutor): Promise<boolean> {
  if (sql.engine !== 'postgres') return false;
  const available = await sql.query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'");
  if (available.length === 0) return false;
  const log = createLogger('migrate');
  try {
    await sql.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
    for (const [table, chunk] of HYPERTABLES) {
      await sql.query(`SELECT create_hypertable('${table}', 'time', chunk_time_interval => INTERVAL '${chunk}', if_not_exists => TRUE, migrate_data => TRUE)`);
      const segment = TABLES[table].keys.join(', ');
      await sql.exec(`ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = '${segment}')`);
      await sql.query(`SELECT add_compression_policy('${table}', INTERVAL '30 days', if_not_exists => TRUE)`);
    }
    await sql.exec(`CREATE MATERIALIZED VIEW IF NOT EXISTS ohlcv_1h_from_5m
WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, symbol,
       first(open, time) AS open, max(high) AS high, min(low) AS low, last(close, time) AS close,
       sum(volume) AS volume, count(*) AS bars
FROM ohlcv WHERE timeframe = '5m'
GROUP BY bucket, symbol
WITH NO DATA`);
    return true;
  } catch (error) {
    log.warn(`TimescaleDB is installed but could not be enabled; continuing with plain tables: ${(error as Error).message}`);
    return false;
  }
}
