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
    const child = spawn(process.execPath, [BIN, 'paper', '--symbols', 'SOLUSDT,BTCUSDT', '--speed', '450', '--for', '20', '--db', join(dir, 'db')], {
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
      await backtestFromTheBrowser(url, () => out);
      assert.equal(await exited, 0, out.slice(-3000));
      assert.match(out, /dashboard controls token: [\w-]{24,}/, 'paper prints the token the dashboard\'s controls need');
      assert.match(out, /nothing reaches Binance/);
      assert.match(out, /fill \S+ (buy|sell) [\d.]+ (SOLUSDT|BTCUSDT) @/, `the paper bot should trade in 20 s at 450× (about 30 candles):\n${out.slice(-3000)}`);
      assert.match(out, /bot paper stopped after \d+ candles/);
      assert.doesNotMatch(out, /\[embedded-db\] waiting for/, 'a normal exit leaves no lingering embedded-database line');
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The Backtest tab's API as the page uses it: token-protected, validated, run on the paper database, its report served. */
async function backtestFromTheBrowser(url: string, output: () => string): Promise<void> {
  const token = /dashboard controls token: ([\w-]{24,})/.exec(output())?.[1];
  assert.ok(token, 'paper prints the token before the dashboard starts');
  const post = (body: unknown, auth = token) =>
    fetch(new URL('api/backtests', url), { method: 'POST', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const offer = (await (await fetch(new URL('api/backtests', url))).json()) as { strategies: string[]; symbols: string[] };
  assert.ok(offer.strategies.includes('sma-trend') && offer.symbols.includes('SOLUSDT'), JSON.stringify(offer));
  assert.equal((await post({ strategy: 'sma-trend', symbols: ['SOLUSDT'] }, 'wrong-token-wrong-token-wrong')).status, 401);
  assert.equal((await post({ strategy: '--help', symbols: ['SOLUSDT'] })).status, 400, 'only an offered strategy reaches the command line');
  assert.equal((await post({ strategy: 'sma-trend', symbols: ['XRPUSDT'] })).status, 400, 'only the bot\'s symbols');
  assert.equal((await post({ strategy: 'sma-trend', symbols: ['SOLUSDT'], start: '1 Dec' })).status, 400, 'dates are YYYY-MM-DD');
  const started = await post({ strategy: 'sma-trend', symbols: ['SOLUSDT', 'BTCUSDT'] });
  assert.equal(started.status, 202);
  const { id } = (await started.json()) as { id: string };
  assert.equal((await post({ strategy: 'flat', symbols: ['SOLUSDT'] })).status, 409, 'one backtest at a time');
  let job: { state: string; report?: string; error?: string; lines?: Array<{ strategy: string; trades: number; totalReturn: number }> } = { state: 'running' };
  for (let i = 0; i < 300 && job.state === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    job = (await (await fetch(new URL(`api/backtests/${id}`, url))).json()) as typeof job;
  }
  assert.equal(job.state, 'done', `the backtest did not finish: ${JSON.stringify(job)}`);
  assert.match(job.lines?.[0].strategy ?? '', /^sma-trend/);
  assert.ok(job.lines?.some((l) => l.strategy === 'buy-and-hold 1x'), 'the 1x benchmark is always beside it');
  assert.ok(Number.isFinite(job.lines?.[0].totalReturn), JSON.stringify(job.lines));
  const report = await fetch(new URL(`reports/${encodeURIComponent(job.report!)}`, url));
  assert.equal(report.status, 200);
  assert.match(await report.text(), /oitrader backtest: sma-trend on SOLUSDT,BTCUSDT/);
  assert.equal((await fetch(new URL('reports/..%2F..%2Fetc%2Fpasswd', url))).status, 404, 'only reports this dashboard wrote are served');
}
