import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { strToU8, zipSync } from 'fflate';
import pg from 'pg';
import { openStore, type SqlExecutor } from '@oitrader/data';

const BIN = fileURLToPath(new URL('../../bin/oitrader.mjs', import.meta.url));
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const START_MS = Date.UTC(2025, 9, 1);
const DAYS = 6;
const BARS = DAYS * 288;

/** Candle i of the fixture series (format fixture: the layout of Binance's klines files, not market data). */
function candle(i: number): { open: number; high: number; low: number; close: number; volume: number } {
  const open = 100 + (i % 97) / 10;
  return { open, high: open + 1, low: open - 1, close: open + 0.5, volume: 1000 + i };
}

/** Six daily 5m klines files (one per day) with checksums, in Binance's archive layout. */
function writeKlinesMirror(): string {
  const root = mkdtempSync(join(tmpdir(), 'oitrader-owner-'));
  for (let d = 0; d < DAYS; d++) {
    const day = new Date(START_MS + d * 86_400_000).toISOString().slice(0, 10);
    const name = `TESTUSDT-5m-${day}.zip`;
    const path = join(root, 'futures/um/daily/klines/TESTUSDT/5m', name);
    const lines = ['open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore'];
    for (let k = 0; k < 288; k++) {
      const i = d * 288 + k;
      const t = START_MS + i * 300_000;
      const c = candle(i);
      lines.push(`${t},${c.open},${c.high},${c.low},${c.close},${c.volume},${t + 299_999},${c.volume * c.close},10,${c.volume / 2},${(c.volume / 2) * c.close},0`);
    }
    mkdirSync(dirname(path), { recursive: true });
    const zip = zipSync({ [name.replace('.zip', '.csv')]: strToU8(`${lines.join('\n')}\n`) });
    writeFileSync(path, zip);
    writeFileSync(`${path}.CHECKSUM`, `${createHash('sha256').update(zip).digest('hex')}  ${name}\n`);
  }
  return root;
}

function runCli(config: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, '--config', config, ...args], { env: { ...process.env, DATABASE_URL: '' } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function freshPostgresUrl(): Promise<string | undefined> {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch {
    if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL}; CI must test both engines`);
    return undefined;
  }
  const name = `oitrader_owner_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function assertEveryRowEqualsTheSource(sql: SqlExecutor): Promise<void> {
  const rows = await sql.query<{ t: number; open: number; high: number; low: number; close: number; volume: number }>(
    "SELECT (extract(epoch FROM time) * 1000)::float8 AS t, open, high, low, close, volume FROM ohlcv WHERE symbol = 'TESTUSDT' AND timeframe = '5m' ORDER BY time",
  );
  assert.equal(rows.length, BARS, `expected every one of the ${BARS} source candles stored exactly once, found ${rows.length}`);
  rows.forEach((row, i) => {
    assert.equal(row.t, START_MS + i * 300_000, `candle ${i} is at the wrong time: a candle was lost or duplicated`);
    assert.deepEqual({ open: row.open, high: row.high, low: row.low, close: row.close, volume: row.volume }, candle(i), `candle ${i} differs from the source file`);
  });
  const [dupes] = await sql.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM (SELECT time FROM ohlcv WHERE symbol = 'TESTUSDT' AND timeframe = '5m' GROUP BY time HAVING count(*) > 1) d",
  );
  assert.equal(dupes.n, 0, 'the primary key (symbol, timeframe, time) must hold: duplicate candles were stored');
  // A corrupted index would fail here, or disagree with the sequential scan above.
  await sql.exec('REINDEX TABLE ohlcv');
}

describe('reliability: one owner for the embedded database (issue 18 item 1)', () => {
  it('two concurrent imports, data health and a reader on one PGlite directory leave every row equal to the source', async () => {
    const mirror = writeKlinesMirror();
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-owner-db-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `database:\n  url: ''\n  embedded_path: ${join(dir, 'db')}\n`);
    const imports = [runCli(config, ['data', 'import', mirror]), runCli(config, ['data', 'import', mirror])];
    // A third process reads while the two write; it must neither crash nor see a broken database.
    await new Promise((r) => setTimeout(r, 1500));
    const health = runCli(config, ['data', 'health']);
    const reader = await openStore({ embeddedPath: join(dir, 'db') });
    let reads = 0;
    try {
      for (let k = 0; k < 5; k++) {
        const [row] = await reader.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM ohlcv WHERE symbol = 'TESTUSDT' AND timeframe = '5m'");
        assert.ok(row.n >= 0 && row.n <= BARS, `a reader saw ${row.n} candles, more than the source has`);
        reads++;
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await reader.sql.close();
    }
    const results = await Promise.all([...imports, health]);
    for (const r of results.slice(0, 2)) assert.equal(r.code, 0, `an import failed:\n${r.output}`);
    assert.doesNotMatch(results[2].output, /Aborted|unexpected error/, `data health beside the imports crashed:\n${results[2].output}`);
    assert.equal(reads, 5);
    const { sql } = await openStore({ embeddedPath: join(dir, 'db') });
    try {
      await assertEveryRowEqualsTheSource(sql);
    } finally {
      await sql.close();
    }
    assert.ok(!existsSync(join(dir, 'db.lock')), 'the lock must be released when the last process closes the database');
  });

  it('two concurrent imports into one PostgreSQL database leave every row equal to the source', async (t) => {
    const url = await freshPostgresUrl();
    if (!url) return t.skip('PostgreSQL not reachable');
    const mirror = writeKlinesMirror();
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-owner-pg-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `database:\n  url: '${url}'\n`);
    const results = await Promise.all([runCli(config, ['data', 'import', mirror]), runCli(config, ['data', 'import', mirror])]);
    for (const r of results) assert.equal(r.code, 0, `an import failed:\n${r.output}`);
    const { sql } = await openStore({ url });
    try {
      await assertEveryRowEqualsTheSource(sql);
    } finally {
      await sql.close();
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
      await admin.end();
    }
  });
});
