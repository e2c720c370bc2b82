import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const OPEN_STORE = fileURLToPath(new URL('./open-store.ts', import.meta.url));

describe('reliability: the embedded directory deleted while in use is detected (issue 18 item 10)', () => {
  it('the owner process says the directory is gone and exits 1 instead of spinning forever', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'oitrader-deleted-')), 'db');
    const script = `
      import { openStore } from ${JSON.stringify(OPEN_STORE)};
      const { sql } = await openStore({ embeddedPath: ${JSON.stringify(dir)} });
      console.log('open');
      for (let i = 0; ; i++) {
        await sql.query('INSERT INTO ingest_log (level, source, message) VALUES ($1, $2, $3)', ['info', 'test', 'row ' + i]).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 20));
      }
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 60_000;
    while (!output.includes('open')) {
      assert.ok(Date.now() < deadline, `the database never opened: ${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    rmSync(dir, { recursive: true, force: true });
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(killer);
    assert.equal(code, 1, `the owner must fail when its directory is deleted (it was killed after 30 s: spinning): ${output}`);
    assert.match(output, /was deleted while in use/);
    assert.ok(!existsSync(dir));
  });
});
