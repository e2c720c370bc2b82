import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { openSql } from '@oitrader/data';
import { loadReplayDataset, SimClock, SimServer } from '@oitrader/sim';
import { SAMPLE_ARCHIVE } from '../../../data/src/testing/archive-fixtures.ts';

const BIN = fileURLToPath(new URL('../../bin/oitrader.mjs', import.meta.url));
const OPEN_STORE = fileURLToPath(new URL('../../../data/src/store/open-store.ts', import.meta.url));

function start(args: string[], script?: string) {
  const child = script
    ? spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])
    : spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: '' } });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function until(what: string, condition: () => boolean, context: () => string): Promise<void> {
  const deadline = Date.now() + 120_000; // a first start runs initdb: tens of seconds on a loaded machine
  while (!condition()) {
    assert.ok(Date.now() < deadline, `${what}:\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('reliability: the collector outlives the process that owned the embedded database (issue 28 item 6)', () => {
  it('collect, a client of another owner, goes on streaming after that owner is killed, exits 0 and leaves a gap-free table', async () => {
    const dataset = await loadReplayDataset(SAMPLE_ARCHIVE, 'XRPUSDT');
    // 600×: a 5m candle closes every half second.
    const sim = await SimServer.start({ datasets: [dataset], clock: new SimClock(dataset.klines.get('5m')![0].openTime + 86_400_000, 600) });
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-collect-handover-'));
    const db = join(dir, 'db');
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'database:',
        `  embedded_path: ${db}`,
        'binance:',
        `  rest_url: ${sim.restUrl}`,
        `  ws_url: ${sim.wsUrl}`,
        'data:',
        '  symbols: [XRPUSDT]',
        '  timeframes: [5m]',
        '  oi_periods: [5m]',
        '  start_date: "2021-11-15"',
        'collector:',
        '  poll_delay_seconds: 0.05',
        '  close_grace_seconds: 0.3',
        '',
      ].join('\n'),
    );
    // The owner: another oitrader process that opened the database first (a bot, a dashboard).
    const owner = start([], `
      import { openStore } from ${JSON.stringify(OPEN_STORE)};
      await openStore({ embeddedPath: ${JSON.stringify(db)} }, { onNote: () => undefined });
      console.log('owner ready');
      setInterval(() => undefined, 1000);
    `);
    let collect: ReturnType<typeof start> | undefined;
    try {
      await until('the owner never opened the database', () => owner.output().includes('owner ready'), owner.output);
      collect = start(['--config', config, 'collect', '--no-archive']);
      const c = collect;
      await until('collect never finished its backfill', () => /; streaming \(Ctrl-C/.test(c.output()), c.output);
      await new Promise((r) => setTimeout(r, 1000));
      owner.child.kill('SIGKILL');
      await owner.exited;
      // Streamed candles after the owner died: the collector took the database over.
      await until('collect stopped storing after the owner died', () => /taking over the embedded database/.test(c.output()), c.output);
      await new Promise((r) => setTimeout(r, 3000));
      collect.child.kill('SIGTERM');
      assert.equal(await collect.exited, 0, `collect must carry on and end cleanly after its owner was killed:\n${collect.output()}`);
      // The hand-over note names the refused connection as its cause; no other line may.
      const errors = collect.output().split('\n').filter((line) => !line.includes('[embedded-db]')).join('\n');
      assert.doesNotMatch(errors, /unexpected error|ECONNREFUSED|could not be flushed/, collect.output());
      assert.match(collect.output(), /INFO {2}\[embedded-db\] the process serving the embedded database .* went away/, 'the hand-over is announced as a note, not an error');
    } finally {
      owner.child.kill('SIGKILL');
      collect?.child.kill('SIGKILL');
      await sim.close();
    }
    const sql = await openSql({ embeddedPath: db }, { onNote: () => undefined });
    try {
      const [row] = await sql.query<{ n: number; first: number; last: number }>(
        `SELECT count(*)::int AS n, (extract(epoch FROM min(time)) * 1000)::float8 AS first, (extract(epoch FROM max(time)) * 1000)::float8 AS last
         FROM ohlcv WHERE symbol = 'XRPUSDT' AND timeframe = '5m'`,
      );
      assert.ok(row.n > 288 + 4, `a day of history plus the candles streamed across the hand-over, got ${row.n}`);
      assert.equal(row.n, (Number(row.last) - Number(row.first)) / 300_000 + 1, 'a candle was lost across the hand-over (the 5m table has a gap)');
    } finally {
      await sql.close();
    }
  });
});
