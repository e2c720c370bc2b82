import pg from 'pg';
import { migrate, PgliteExecutor, PostgresExecutor, type SqlExecutor } from '@oitrader/data';

/**
 * Fresh migrated databases on both engines for the bot's store tests:
 * embedded PGlite always, PostgreSQL when TEST_DATABASE_URL (default the
 * local server) answers; under CI a missing server is a failure. The data
 * package keeps its own copy private (packages do not reach into each
 * other's files), so this one is built on its public executors.
 */
export interface BotTestEngine {
  name: 'pglite' | 'postgres';
  open(): Promise<SqlExecutor>;
}

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A fresh PostgreSQL database URL (dropped by `dropPostgres`), or undefined when no server answers. */
export async function freshPostgresUrl(): Promise<string | undefined> {
  const name = `oitrader_bot_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  try {
    await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  } catch (error) {
    if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL}; CI must test both engines: ${(error as Error).message}`);
    return undefined;
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropPostgres(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export async function botTestEngines(): Promise<BotTestEngine[]> {
  const engines: BotTestEngine[] = [
    {
      name: 'pglite',
      open: async () => {
        const sql = await PgliteExecutor.open(undefined);
        await migrate(sql);
        return sql;
      },
    },
  ];
  const probe = await freshPostgresUrl();
  if (probe !== undefined) {
    await dropPostgres(probe);
    engines.push({
      name: 'postgres',
      open: async () => {
        const url = (await freshPostgresUrl())!;
        const sql = PostgresExecutor.connect(url);
        await migrate(sql);
        const close = sql.close.bind(sql);
        sql.close = async () => {
          await close();
          await dropPostgres(url);
        };
        return sql;
      },
    });
  } else {
    process.stderr.write(`note: PostgreSQL not reachable at ${ADMIN_URL}; bot store tests run on PGlite only\n`);
  }
  return engines;
}
