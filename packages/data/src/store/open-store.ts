import { mkdirSync } from 'node:fs';
import { OitraderError } from '@oitrader/core';
import { dirname, resolve } from 'node:path';
import type { Config } from '@oitrader/core';
import { migrate, type MigrateResult } from './migrations.ts';
import { openEmbedded, type EmbeddedOptions } from './embedded-owner.ts';
import { PgliteExecutor, PostgresExecutor, type SqlExecutor } from './sql-executor.ts';

export interface StoreTarget {
  /** postgres:// URL; when empty the embedded PGlite database is used. */
  url?: string;
  /** Embedded database directory; `memory` for a throwaway in-memory database. */
  embeddedPath?: string;
}

export function storeTargetFromConfig(config: Config): StoreTarget {
  return { url: config.database.url, embeddedPath: config.database.embedded_path };
}

/**
 * A PostgreSQL server by URL, or the embedded database: owned by this process
 * (served to others) or reached through the process that owns it.
 */
export async function openSql(target: StoreTarget, options: EmbeddedOptions = {}): Promise<SqlExecutor> {
  if (target.url) {
    checkUrl(target.url);
    return PostgresExecutor.connect(target.url);
  }
  const path = target.embeddedPath ?? './data/db';
  if (path === 'memory') return PgliteExecutor.open(undefined);
  mkdirSync(dirname(resolve(path)), { recursive: true });
  return openEmbedded(path, options);
}

/** Opens the store and brings its schema up to date. */
export async function openStore(target: StoreTarget, options: EmbeddedOptions = {}): Promise<{ sql: SqlExecutor; migration: MigrateResult }> {
  const sql = await openSql(target, options);
  try {
    const migration = await migrate(sql);
    return { sql, migration };
  } catch (error) {
    await sql.close().catch(() => undefined);
    throw target.url ? connectionError(error, target) : error;
  }
}

/** A DATABASE_URL that is not a postgres:// URL is a usage error, said before anything connects. */
function checkUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !/^postgres(ql)?:$/.test(parsed.protocol)) {
    throw new OitraderError('database.url (or DATABASE_URL) is not a postgres:// URL', {
      hint: 'use postgres://user:password@host:5432/database, or leave it empty for the embedded database',
      exitCode: 2,
    });
  }
}

/** The one-line cause and fix of a failed connection, without the password. */
export function connectionError(error: unknown, target: StoreTarget): Error {
  if (error instanceof OitraderError) return error;
  const e = error as { code?: string; message?: string };
  const where = describeTarget(target);
  const url = new URL(target.url ?? '');
  const database = decodeURIComponent(url.pathname.slice(1)) || '(default)';
  const user = decodeURIComponent(url.username) || '(default)';
  const known: Record<string, [string, string]> = {
    ECONNREFUSED: [`nothing accepts connections at ${where}`, 'start PostgreSQL, or fix the host/port in database.url (DATABASE_URL)'],
    ENOTFOUND: [`the host of ${where} is not known`, 'fix the host name in database.url (DATABASE_URL)'],
    EAI_AGAIN: [`the host of ${where} cannot be resolved now`, 'check the network/DNS, or fix the host name in database.url'],
    '3D000': [`database "${database}" does not exist on ${where}`, `create it (createdb ${database}) or fix the database name in database.url`],
    '28000': [`role "${user}" is not allowed to connect to ${where}`, 'create the role or fix the user name in database.url (check pg_hba.conf)'],
    '28P01': [`password authentication failed for "${user}" at ${where}`, 'fix the password in DATABASE_URL'],
    '42501': [`role "${user}" lacks a privilege on ${where}`, 'grant the role CREATE on the database, or use its owner'],
  };
  const hit = known[e.code ?? ''] ?? (/timeout/i.test(e.message ?? '') ? [`no answer from ${where} within 10 s`, 'check that the server is up and reachable (firewall, port)'] : undefined);
  if (!hit) return new OitraderError(`cannot use ${where}: ${e.message ?? String(error)}`, { hint: 'check database.url (DATABASE_URL) and that the server is up', cause: error });
  return new OitraderError(hit[0], { hint: hit[1], cause: error });
}

/** A short description of where data lives, with any password removed. */
export function describeTarget(target: StoreTarget): string {
  if (!target.url) return `embedded PGlite at ${target.embeddedPath ?? './data/db'}`;
  try {
    const url = new URL(target.url);
    url.password = '';
    return `PostgreSQL ${url.host}${url.pathname}`;
  } catch {
    return 'PostgreSQL (unparseable url)';
  }
}
