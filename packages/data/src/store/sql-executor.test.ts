import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PgliteExecutor } from './sql-executor.ts';

describe('embedded database directory', () => {
  it('survives a data directory that lost its empty PostgreSQL subdirectories, keeping its rows', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'oitrader-pglite-')), 'db');
    const first = await PgliteExecutor.open(dir);
    await first.exec('CREATE TABLE kept (x int); INSERT INTO kept VALUES (42);');
    await first.close();
    for (const sub of ['pg_notify', 'pg_stat', 'pg_tblspc', 'pg_twophase']) rmSync(join(dir, sub), { recursive: true, force: true });
    const second = await PgliteExecutor.open(dir);
    assert.deepEqual(await second.query('SELECT x FROM kept'), [{ x: 42 }]);
    await second.close();
  });

  it('refuses a non-empty directory that is not a database instead of overwriting it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'oitrader-pglite-')), 'db');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'my files');
    await assert.rejects(PgliteExecutor.open(dir), /not a complete database/);
    assert.ok(existsSync(join(dir, 'notes.txt')), 'nothing of the user\'s may be deleted');
  });
});
