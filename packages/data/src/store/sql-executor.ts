import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyStream } from 'pg-copy-streams';
import { OitraderError } from '@oitrader/core';

export type Engine = 'postgres' | 'pglite';

/**
 * The one SQL door: PostgreSQL-dialect text with $n parameters, run either on a
 * real PostgreSQL/TimescaleDB server (node-postgres pool) or on embedded PGlite.
 * Both engines get the same SQL; queries cast what they return (`::float8`) so
 * both hand back plain JS numbers.
 *
 * PGlite is called through its own query API rather than through pg over a
 * socket: its `query(text, params)` already has pg's shape, and skipping the
 * wire protocol makes the embedded engine ~2x faster on bulk writes.
 */
export interface SqlExecutor {
  readonly engine: Engine;
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  /** Several statements, no parameters (migrations). */
  exec(text: string): Promise<void>;
  /** Runs `work` in one transaction: all of it commits or none of it does. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** `COPY ... FROM STDIN` (text format) fed with `chunks`: a PostgreSQL server only (absent on PGlite, whose wire server crashes on it). */
  copyFrom?(statement: string, chunks: Iterable<string>): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** What serves the wire protocol: a PostgreSQL server, or the embedded database's owner process. */
  engine?: Engine;
  connectionTimeoutMs?: number;
}

export class PostgresExecutor implements SqlExecutor {
  readonly engine: Engine;
  readonly #pool: pg.Pool;
  readonly #client: pg.PoolClient | undefined;

  constructor(pool: pg.Pool, client?: pg.PoolClient, engine: Engine = 'postgres') {
    this.#pool = pool;
    this.#client = client;
    this.engine = engine;
  }

  static connect(url: string, options: ConnectOptions = {}): PostgresExecutor {
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000 });
    // An idle client's network error must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    return new PostgresExecutor(pool, undefined, options.engine);
  }

  async query<Row>(text: string, params: unknown[] = []): Promise<Row[]> {
    const result = await (this.#client ?? this.#pool).query(text, params);
    return result.rows as Row[];
  }

  async exec(text: string): Promise<void> {
    await (this.#client ?? this.#pool).query(text);
  }

  async copyFrom(statement: string, chunks: Iterable<string>): Promise<void> {
    if (this.engine !== 'postgres') throw new OitraderError('COPY FROM STDIN is not available on the embedded database');
    const client = this.#client ?? (await this.#pool.connect());
    let failure: Error | undefined;
    try {
      await pipeline(Readable.from(chunks), client.query(copyStream(statement)));
    } catch (error) {
      failure = error as Error;
      throw error;
    } finally {
      // A pooled connection whose COPY failed midway is discarded, not reused.
      if (!this.#client) (client as pg.PoolClient).release(failure);
    }
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.#client) return work(this);
    const client = await this.#pool.connect();
    // A checked-out client has no listener of the pool's: a connection lost mid-transaction
    // would be an unhandled 'error' event and crash the process. The failing query reports it.
    const onError = () => undefined;
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(new PostgresExecutor(this.#pool, client, this.engine));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', onError);
      client.release();
    }
  }

  async close(): Promise<void> {
    if (!this.#client) await this.#pool.end();
  }
}

type PgliteLike = Pick<PGlite, 'query' | 'exec'>;

export class PgliteExecutor implements SqlExecutor {
  readonly engine = 'pglite' as const;
  readonly #db: PGlite;
  readonly #tx: PgliteLike | undefined;

  private constructor(db: PGlite, tx?: PgliteLike) {
    this.#db = db;
    this.#tx = tx;
  }

  /**
   * Opens (creating if needed) an embedded database in `dataDir`, or in memory when undefined; `loadDataDir`
   * (in memory only) starts it from a PGlite `dumpDataDir` tarball instead of running initdb.
   */
  static async open(dataDir: string | undefined, options: { loadDataDir?: Blob } = {}): Promise<PgliteExecutor> {
    if (dataDir !== undefined) await ensureInitialized(dataDir);
    try {
      const db = dataDir === undefined ? new PGlite({ loadDataDir: options.loadDataDir }) : new PGlite(dataDir);
      await db.waitReady;
      return new PgliteExecutor(db);
    } catch (error) {
      throw new OitraderError(`cannot open the embedded database at ${dataDir ?? '(memory)'}: ${(error as Error).message}`, {
        hint: 'another oitrader process may be using it; stop it, or set database.url to use a PostgreSQL server',
        cause: error,
      });
    }
  }

  async query<Row>(text: string, params: unknown[] = []): Promise<Row[]> {
    const result = await (this.#tx ?? this.#db).query<Row>(text, params);
    return result.rows;
  }

  async exec(text: string): Promise<void> {
    await (this.#tx ?? this.#db).exec(text);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.#tx) return work(this);
    return this.#db.transaction((tx) => work(new PgliteExecutor(this.#db, tx)));
  }

  async close(): Promise<void> {
    if (!this.#tx) await this.#db.close();
  }

  /** The whole database as a PGlite data-directory tarball (open one with `open(undefined, { loadDataDir })`). */
  async dump(): Promise<Blob> {
    return (await this.#db.dumpDataDir('none')) as Blob;
  }
}

/**
 * Tests only: a data directory initdb already made (scripts/run-tests.mjs makes one per machine and PGlite
 * version), copied instead of running initdb for every new embedded database (~2 s of CPU each).
 */
const TEST_TEMPLATE = 'OITRADER_TEST_PGLITE_TEMPLATE';

/** A complete PostgreSQL data directory always has these. */
function isInitialized(dir: string): boolean {
  return existsSync(`${dir}/PG_VERSION`) && existsSync(`${dir}/global/pg_control`);
}

/**
 * Creates a new embedded database without ever leaving a half-written one at
 * `dir`: initdb runs in a temporary sibling directory and is renamed into place
 * only when complete. PGlite's first initdb on a fresh directory occasionally
 * fails (seen right after `npm ci`), so it is retried on a clean directory.
 */
export async function ensureInitialized(dir: string): Promise<void> {
  if (isInitialized(dir)) {
    restoreEmptyDirectories(dir);
    return;
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new OitraderError(`${dir} is not empty but is not a complete database (an interrupted first start?)`, {
      hint: `move or delete ${dir} and run the command again`,
    });
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const staging = `${dir}.init-${process.pid}-${attempt}`;
    rmSync(staging, { recursive: true, force: true });
    try {
      const template = process.env[TEST_TEMPLATE];
      if (template && isInitialized(template)) cpSync(template, staging, { recursive: true });
      else {
        const db = new PGlite(staging);
        await db.waitReady;
        await db.close();
      }
      restoreEmptyDirectories(staging);
      // Another process finished first (two test runs making the shared template at once): keep its database.
      if (isInitialized(dir)) {
        rmSync(staging, { recursive: true, force: true });
        restoreEmptyDirectories(dir);
        return;
      }
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
      return;
    } catch (error) {
      lastError = error;
      rmSync(staging, { recursive: true, force: true });
    }
  }
  throw new OitraderError(`cannot create the embedded database at ${dir}: ${(lastError as Error).message}`, {
    hint: 'check free disk space and permissions, or set database.url to use a PostgreSQL server',
    cause: lastError,
  });
}

/** The empty subdirectories initdb creates (PostgreSQL 17 layout). */
const POSTGRES_EMPTY_DIRS = [
  'pg_commit_ts',
  'pg_dynshmem',
  'pg_logical/mappings',
  'pg_logical/snapshots',
  'pg_notify',
  'pg_replslot',
  'pg_serial',
  'pg_snapshots',
  'pg_stat',
  'pg_stat_tmp',
  'pg_tblspc',
  'pg_twophase',
  'pg_wal/archive_status',
  'pg_wal/summaries',
];

/**
 * PGlite sometimes writes a new data directory without its empty
 * subdirectories (seen on the first run after `npm ci`: every file present,
 * `pg_notify` and the other empty folders missing), and PostgreSQL then refuses
 * to start. Recreating them is what initdb itself does; it touches no data.
 */
function restoreEmptyDirectories(dir: string): void {
  for (const sub of POSTGRES_EMPTY_DIRS) mkdirSync(`${dir}/${sub}`, { recursive: true });
}
