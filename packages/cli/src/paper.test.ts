import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../bin/oitrader.mjs', import.meta.url));

describe('oitrader paper: paper trading offline in one command', () => {
  it('starts the simulator on the bundled sample and the portfolio bot against it, serves the dashboard with a token, trades, and stops at --for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-paper-'));
    // No config file, no database URL and no network: everything it needs is local.
    const child = spawn(process.execPath, [BIN, 'paper', '--symbols', 'SOLUSDT,BTCUSDT', '--speed', '300', '--for', '25', '--db', join(dir, 'db')], {
      cwd: dir,
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'OITRADER_CONFIG')), DATABASE_URL: '', OITRADER_DASHBOARD_TOKEN: '' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      let url: string | undefined;
      for (let i = 0; i < 600 && url === undefined; i++) {
        url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
        if (url === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(url, `no dashboard URL printed:\n${out}`);
      assert.equal((await fetch(url)).status, 200, 'the dashboard does not answer while the paper bot runs');
      assert.equal(await exited, 0, out.slice(-3000));
      assert.match(out, /dashboard controls token: [\w-]{24,}/, 'paper prints the token the dashboard\'s controls need');
      assert.match(out, /nothing reaches Binance/);
      assert.match(out, /fill \S+ (buy|sell) [\d.]+ (SOLUSDT|BTCUSDT) @/, `the paper bot should trade in 25 s at 300× (about 25 candles):\n${out.slice(-3000)}`);
      assert.match(out, /bot paper stopped after \d+ candles/);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
