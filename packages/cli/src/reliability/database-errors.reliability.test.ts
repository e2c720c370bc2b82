import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { main } from '../main.ts';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function run(databaseUrl: string): Promise<{ code: number; stderr: string }> {
  const file = join(mkdtempSync(join(tmpdir(), 'oitrader-dberr-')), 'config.yaml');
  writeFileSync(file, `database:\n  url: '${databaseUrl}'\n`);
  const write = process.stderr.write.bind(process.stderr);
  const saved = process.env.DATABASE_URL;
  delete process.env.DATABASE_URL;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'oitrader', '--quiet', '--config', file, 'db', 'migrate']);
    process.exitCode = 0;
    return { code, stderr };
  } finally {
    process.stderr.write = write;
    if (saved !== undefined) process.env.DATABASE_URL = saved;
  }
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL}; CI must test both engines`);
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function assertOneLine(stderr: string): void {
  assert.doesNotMatch(stderr, /unexpected error|\n\s+at /, `a connection problem must not end in a stack trace:\n${stderr}`);
  assert.equal(stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, stderr);
  assert.match(stderr, /\nfix: /, 'the error must say how to fix it');
}

describe('reliability: every database connection problem has its one-line cause and fix (issue 18 item 13)', () => {
  it('a closed port', async () => {
    const { code, stderr } = await run('postgres://postgres:hunter2secret@127.0.0.1:1/oitrader');
    assert.equal(code, 1);
    assert.match(stderr, /nothing accepts connections at PostgreSQL 127\.0\.0\.1:1\/oitrader/);
    assert.doesNotMatch(stderr, /hunter2secret/, 'the password reached the error message');
    assertOneLine(stderr);
  });

  it('a DATABASE_URL that is not a URL is a usage error (exit 2)', async () => {
    const { code, stderr } = await run('localhost:5432 as user bob');
    assert.equal(code, 2);
    assert.match(stderr, /is not a postgres:\/\/ URL/);
    assertOneLine(stderr);
  });

  it('a database that does not exist', async (t) => {
    if (!(await postgresReachable())) return t.skip('PostgreSQL not reachable');
    const url = new URL(ADMIN_URL);
    url.pathname = '/oitrader_no_such_database';
    const { code, stderr } = await run(url.toString());
    assert.equal(code, 1);
    assert.match(stderr, /database "oitrader_no_such_database" does not exist/);
    assert.match(stderr, /createdb oitrader_no_such_database/);
    assertOneLine(stderr);
  });

  it('a role that does not exist', async (t) => {
    if (!(await postgresReachable())) return t.skip('PostgreSQL not reachable');
    const url = new URL(ADMIN_URL);
    url.username = 'oitrader_no_such_role';
    const { code, stderr } = await run(url.toString());
    assert.equal(code, 1);
    assert.match(stderr, /role "oitrader_no_such_role"|password authentication failed for "oitrader_no_such_role"/);
    assertOneLine(stderr);
  });
});
