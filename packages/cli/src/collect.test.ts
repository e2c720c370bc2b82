import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { openSql } from '@oitrader/data';
import { loadReplayDataset, SimClock, SimServer } from '@oitrader/sim';
import { EXIT_BELOW_THRESHOLD } from './commands/data.ts';
import { SAMPLE_ARCHIVE } from '../../data/src/testing/archive-fixtures.ts';
import { main } from './main.ts';

const BIN = fileURLToPath(new URL('../bin/oitrader.mjs', import.meta.url));

function startCli(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('oitrader collect against the simulator', () => {
  let sim: SimServer;
  let dir: string;
  let config: string;

  before(async () => {
    const ds = await loadReplayDataset(SAMPLE_ARCHIVE, 'XRPUSDT');
    // 600×: a 5m candle closes every half second.
    sim = await SimServer.start({ datasets: [ds], clock: new SimClock(ds.klines.get('5m')![0].openTime + 86_400_000, 600) });
    dir = mkdtempSync(join(tmpdir(), 'oitrader-collect-'));
    config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'database:',
        `  embedded_path: ${join(dir, 'db')}`,
        'binance:',
        `  rest_url: ${sim.restUrl}`,
        `  ws_url: ${sim.wsUrl}`,
        'data:',
        '  symbols: [XRPUSDT]',
        '  timeframes: [5m, 1h]',
        '  oi_periods: [5m]',
        '  start_date: "2021-11-15"',
        'collector:',
        '  poll_delay_seconds: 0.05',
        '  close_grace_seconds: 0.3',
        '',
      ].join('\n'),
    );
  });
  after(() => sim.close());

  it('backfills, streams, and on SIGTERM flushes, prints its summary and exits 0 with a gap-free table', async () => {
    const run = startCli(['--config', config, 'collect', '--no-archive']);
    const deadline = Date.now() + 120_000; // a first start runs initdb: tens of seconds on a loaded machine
    while (!/; streaming \(Ctrl-C/.test(run.output().stdout)) {
      assert.ok(Date.now() < deadline, `never finished the backfill: ${run.output().stdout}${run.output().stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 2000));
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.output().stderr);
    const { stdout } = run.output();
    const streamed = Number(/collector stopped: (\d+) candles streamed, (\d+) backfilled/.exec(stdout)?.[1]);
    assert.ok(streamed >= 2, stdout);
    assert.match(stdout, /stream → database: p50 \d+ ms/);

    const sql = await openSql({ embeddedPath: join(dir, 'db') });
    try {
      const [row] = await sql.query<{ n: number; first: number; last: number }>(
        `SELECT count(*)::int AS n, (extract(epoch FROM min(time)) * 1000)::float8 AS first, (extract(epoch FROM max(time)) * 1000)::float8 AS last
         FROM ohlcv WHERE symbol = 'XRPUSDT' AND timeframe = '5m'`,
      );
      assert.ok(row.n > 288, `a day of history plus the stream, got ${row.n}`);
      assert.equal(row.n, (Number(row.last) - Number(row.first)) / 300_000 + 1, 'no gap');
      const [stopped] = await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM ingest_log WHERE message = 'collector stopped'");
      assert.equal(stopped.n, 1, 'the shutdown is in the ingest log: it flushed');
    } finally {
      await sql.close();
    }
    // The heartbeat rows answer `data health`: fresh within a day, stale after a millisecond.
    assert.equal(await main(['node', 'oitrader', '--config', config, '--quiet', 'data', 'health', '--max-age', '86400']), 0);
    assert.equal(await main(['node', 'oitrader', '--config', config, '--quiet', 'data', 'health', '--max-age', '0.001']), EXIT_BELOW_THRESHOLD);
    process.exitCode = 0;
  });

  it('stops with exit code 4 and says why when Binance bans the IP (HTTP 418)', async () => {
    sim.faults.rest.banned = true;
    try {
      const run = startCli(['--config', config, 'collect', '--no-archive', '--for', '20']);
      assert.equal(await run.exited, 4, run.output().stderr);
      assert.match(run.output().stderr, /banned this IP \(HTTP 418/);
      assert.match(run.output().stderr, /fix: stop every process using this IP/);
    } finally {
      sim.faults.rest.banned = false;
    }
  });
});
