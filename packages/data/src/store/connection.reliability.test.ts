import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { testEngines } from '../testing/test-engines.ts';
import { openStore } from './open-store.ts';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

for (const engine of await testEngines()) {
  describe(`reliability: a connection lost mid-transaction is an error, not a crash (issue 18 item 9, ${engine.name})`, () => {
    it('the transaction rejects and the process keeps running; the next query works', async (t) => {
      if (engine.name !== 'postgres') return t.skip('the embedded in-memory engine has no connection to lose');
      const sql = await engine.open();
      try {
        await assert.rejects(
          sql.transaction(async (tx) => {
            const [{ pid }] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
            const admin = new pg.Client({ connectionString: ADMIN_URL });
            await admin.connect();
            await admin.query('SELECT pg_terminate_backend($1)', [pid]);
            await admin.end();
            await new Promise((r) => setTimeout(r, 200)); // the 'error' event arrives here, on a checked-out client
            await tx.query('SELECT 1');
          }),
          'a query on a terminated connection must reject',
        );
        const [row] = await sql.query<{ n: number }>('SELECT 1::int AS n');
        assert.equal(row.n, 1, 'the pool must recover with a new connection');
      } finally {
        await sql.close();
      }
    });
  });
}

describe('reliability: a first creation killed midway leaves no staging folder behind (issue 18 item 12)', () => {
  it('opening the database removes db.init-<pid>-<n> folders of an earlier, killed creation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-staging-'));
    mkdirSync(join(dir, 'db.init-999999-1', 'base'), { recursive: true });
    const { sql } = await openStore({ embeddedPath: join(dir, 'db') });
    try {
      assert.ok(!existsSync(join(dir, 'db.init-999999-1')), 'the abandoned staging folder of a killed first start is still there');
      assert.ok(existsSync(join(dir, 'db', 'PG_VERSION')), 'the database itself was created');
    } finally {
      await sql.close();
    }
  });
});
