/**
 * bench/ingest: bulk-write throughput of the store on both engines, against the
 * physical reference — a plain COPY FROM STDIN into an identical table on the
 * same PostgreSQL server. Rows are the real 5m XRPUSDT sample repeated with
 * shifted timestamps. Goal (issue 29): our PostgreSQL path >= 0.9x COPY's speed on new rows.
 *   npm run bench:ingest [-- rows]
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DirectorySource } from '../packages/binance/src/index.ts';
import { bulkUpsert, importArchive, MarketDataLoader, migrate, PgliteExecutor, PostgresExecutor, type SqlExecutor } from '../packages/data/src/index.ts';
import { SAMPLE_ARCHIVE } from '../packages/data/src/testing/archive-fixtures.ts';

const ROWS = Number(process.argv[2] ?? 200_000);
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function sampleCandles() {
  const sql = await PgliteExecutor.open(undefined);
  await migrate(sql);
  await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE));
  const frame = await new MarketDataLoader(sql).loadAllData('XRPUSDT', '5m', 0, Date.UTC(2030, 0, 1));
  await sql.close();
  const n = frame.length;
  const time = new Array<number>(ROWS);
  const cols = ['open', 'high', 'low', 'close', 'volume'] as const;
  const values: Record<string, number[]> = Object.fromEntries(cols.map((c) => [c, new Array<number>(ROWS)]));
  for (let i = 0; i < ROWS; i++) {
    time[i] = frame.time[0] + i * 300_000;
    for (const c of cols) values[c][i] = frame.column(c)[i % n];
  }
  return { time, values };
}

type Candles = Awaited<ReturnType<typeof sampleCandles>>;

async function timeUpsert(sql: SqlExecutor, candles: Candles): Promise<number> {
  const started = performance.now();
  await bulkUpsert(sql, { table: 'ohlcv', keys: { symbol: 'BENCHUSDT', timeframe: '5m' }, time: candles.time, values: candles.values, source: 'bench' });
  return (performance.now() - started) / 1000;
}

async function timeCopy(url: string, candles: Candles): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('DROP TABLE IF EXISTS copy_reference');
  await client.query('CREATE TABLE copy_reference (LIKE ohlcv INCLUDING ALL)');
  const started = performance.now();
  const lines = function* () {
    for (let start = 0; start < ROWS; start += 10_000) {
      let chunk = '';
      for (let i = start; i < Math.min(ROWS, start + 10_000); i++) {
        const v = candles.values;
        chunk += `${new Date(candles.time[i]).toISOString()}\tBENCHUSDT\t5m\t${v.open[i]}\t${v.high[i]}\t${v.low[i]}\t${v.close[i]}\t${v.volume[i]}\t\\N\t\\N\t\\N\t\\N\tbench\n`;
      }
      yield chunk;
    }
  };
  await pipeline(Readable.from(lines()), client.query(copyFrom('COPY copy_reference FROM STDIN')));
  const seconds = (performance.now() - started) / 1000;
  await client.end();
  return seconds;
}

async function freshPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `oitrader_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

const candles = await sampleCandles();
const rate = (s: number) => Math.round(ROWS / s);
console.log(`bench/ingest: ${ROWS} ohlcv rows (real 5m XRPUSDT sample, repeated), node ${process.version}`);

const db = await freshPostgres();
try {
  const sql = PostgresExecutor.connect(db.url);
  await migrate(sql);
  // Alternating, best of 3 each: the machine is shared, and the two paths must meet the same load.
  let copySeconds = Number.POSITIVE_INFINITY;
  let pgSeconds = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    copySeconds = Math.min(copySeconds, await timeCopy(db.url, candles));
    await sql.exec('TRUNCATE ohlcv');
    pgSeconds = Math.min(pgSeconds, await timeUpsert(sql, candles));
  }
  const pgRepeat = await timeUpsert(sql, candles);
  const corrected = { ...candles, values: { ...candles.values, close: candles.values.close.map((c) => c * 1.001) } };
  const pgCorrected = await timeUpsert(sql, corrected);
  await sql.close();
  console.log(`postgres COPY FROM STDIN (reference):   ${rate(copySeconds).toLocaleString('en-US').padStart(10)} rows/s`);
  console.log(`postgres bulk upsert, new rows (ours):  ${rate(pgSeconds).toLocaleString('en-US').padStart(10)} rows/s  ratio to COPY ${(copySeconds / pgSeconds).toFixed(2)}`);
  console.log(`postgres re-import of same rows:        ${rate(pgRepeat).toLocaleString('en-US').padStart(10)} rows/s  ratio to COPY ${(copySeconds / pgRepeat).toFixed(2)} (writes nothing)`);
  console.log(`postgres corrected rows (staged upsert):${rate(pgCorrected).toLocaleString('en-US').padStart(10)} rows/s  ratio to COPY ${(copySeconds / pgCorrected).toFixed(2)} (updates every row)`);
} finally {
  await db.drop();
}

const lite = await PgliteExecutor.open(undefined);
await migrate(lite);
const liteSeconds = await timeUpsert(lite, candles);
await lite.close();
console.log(`pglite unnest upsert (in memory):       ${rate(liteSeconds).toLocaleString('en-US').padStart(10)} rows/s`);
