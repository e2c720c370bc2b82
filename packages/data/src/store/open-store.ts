import { mkdirSync } from 'node:fs';
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
  if (target.url) return PostgresExecutor.connect(target.url);
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
    throw error;
  }
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
