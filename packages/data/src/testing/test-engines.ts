import pg from 'pg';
import { migrate } from '../store/migrations.ts';
import { PgliteExecutor, PostgresExecutor, type SqlExecutor } from '../store/sql-executor.ts';

/**
 * The same test suite runs on both engines. PostgreSQL comes from
 * TEST_DATABASE_URL (default: the local server); each opened database is a
 * fresh one, dropped on close. Under CI a missing server is a failure, not a skip.
 */
export interface TestEngine {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated, empty database. */
  open(): Promise<SqlExecutor>;
}

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function openFreshPostgres(): Promise<SqlExecutor> {
  const name = `oitrader_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const sql = PostgresExecutor.connect(url.toString());
  await migrate(sql);
  const close = sql.close.bind(sql);
  sql.close = async () => {
    await close();
    const cleanup = new pg.Client({ connectionString: ADMIN_URL });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  };
  return sql;
}

let cached: TestEngine[] | undefined;
/** A migrated empty PGlite database, made once per process: later ones load it instead of running initdb (~1.5 s). */
let pgliteTemplate: Promise<Blob> | undefined;

async function openFreshPglite(): Promise<SqlExecutor> {
  pgliteTemplate ??= (async () => {
    const first = await PgliteExecutor.open(undefined);
    await migrate(first);
    const dump = await first.dump();
    await first.close();
    return dump;
  })().catch((error: unknown) => {
    pgliteTemplate = undefined;
    throw error;
  });
  const sql = await PgliteExecutor.open(undefined, { loadDataDir: await pgliteTemplate });
  await migrate(sql);
  return sql;
}

export async function testEngines(): Promise<TestEngine[]> {
  if (cached) return cached;
  const engines: TestEngine[] = [
    { name: 'pglite', open: openFreshPglite },
  ];
  if (await postgresReachable()) {
    engines.push({ name: 'postgres', open: openFreshPostgres });
  } else if (process.env.CI) {
    throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL}; CI must test both engines (.ci/run starts it)`);
  } else {
    process.stderr.write(`note: PostgreSQL not reachable at ${ADMIN_URL}; store tests run on PGlite only\n`);
  }
  cached = engines;
  return engines;
}
