/**
 * bench/collector: the collector against the local simulator.
 *  1. Backfill throughput, rows/s: REST pages of 1000 klines → parse → upsert,
 *     on a long 5m history made by repeating the real XRPUSDT sample with
 *     shifted timestamps (40 copies ≈ 80k candles). Reference: the ceiling
 *     Binance's own limit allows — 2,400 weight/min at 5 weight per 1000 bars
 *     = 8,000 candles/s.
 *  2. Candle close → row in the database, p50/p99 ms: the simulator's stepped
 *     clock moves past a close, the close event goes out on the WebSocket, the
 *     collector parses and commits it. References: the guide's 5 s target and
 *     the 1 s goal.
 * Both on PostgreSQL (when reachable) and embedded PGlite.
 *   npm run bench:collector [-- copies candles]
 */
import pg from 'pg';
import { latencyPercentiles } from '../packages/cli/src/commands/collect.ts';
import { silentLogger } from '../packages/core/src/index.ts';
import { Collector, migrate, PgliteExecutor, PostgresExecutor, type SqlExecutor } from '../packages/data/src/index.ts';
import { SAMPLE_ARCHIVE } from '../packages/data/src/testing/archive-fixtures.ts';
import { emptyDataset, loadReplayDataset, SimClock, SimServer, type ReplayDataset } from '../packages/sim/src/index.ts';

const COPIES = Number(process.argv[2] ?? 40);
const LATENCY_CANDLES = Number(process.argv[3] ?? 200);
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const FIVE_MIN = 300_000;
const API_CEILING_ROWS_PER_S = ((2400 / 5) * 1000) / 60;

async function longHistory(): Promise<ReplayDataset> {
  const sample = await loadReplayDataset(SAMPLE_ARCHIVE, 'XRPUSDT');
  const real = sample.klines.get('5m')!;
  const out = emptyDataset('XRPUSDT', `real XRPUSDT 5m sample repeated ${COPIES}× with shifted timestamps (bench only)`);
  const rows = [];
  for (let c = 0; c < COPIES; c++) {
    for (let i = 0; i < real.length; i++) {
      const openTime = real[0].openTime + (c * real.length + i) * FIVE_MIN;
      rows.push({ ...real[i], openTime, closeTime: openTime + FIVE_MIN - 1 });
    }
  }
  out.klines.set('5m', rows);
  return out;
}

async function engines(): Promise<Array<{ name: string; open: () => Promise<SqlExecutor>; drop: () => Promise<void> }>> {
  const list = [];
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
    const name = `oitrader_bench_collector_${process.pid}`;
    list.push({
      name: 'postgres',
      open: async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${name}`);
        const url = new URL(ADMIN_URL);
        url.pathname = `/${name}`;
        const sql = PostgresExecutor.connect(url.toString());
        await migrate(sql);
        return sql;
      },
      drop: async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      },
    });
  } catch {
    process.stdout.write(`PostgreSQL not reachable at ${ADMIN_URL}: PGlite only\n`);
  }
  list.push({
    name: 'pglite',
    open: async () => {
      const sql = await PgliteExecutor.open(undefined);
      await migrate(sql);
      return sql;
    },
    drop: async () => {},
  });
  return list;
}

function collector(sql: SqlExecutor, sim: SimServer, onStored?: (storedAtMs: number) => void): Collector {
  return new Collector({
    sql,
    restUrl: sim.restUrl,
    wsUrl: sim.wsUrl,
    symbols: ['XRPUSDT'],
    timeframes: ['5m'],
    oiPeriods: ['5m'],
    startMs: sim.dataset('XRPUSDT')!.klines.get('5m')![0].openTime,
    heartbeatMs: 60_000,
    closeGraceMs: 60_000,
    log: silentLogger,
    onCandleStored: (c) => onStored?.(c.storedAtMs),
  });
}

async function main(): Promise<void> {
  const history = await longHistory();
  const candles = history.klines.get('5m')!;
  process.stdout.write(`dataset: ${history.provenance}: ${candles.length} candles\n`);
  for (const engine of await engines()) {
    // 1. Backfill: market time just after the last candle, so all of it is history.
    const sql = await engine.open();
    const end = candles[candles.length - 1].closeTime + 1;
    const sim = await SimServer.start({ datasets: [history], clock: new SimClock(end - LATENCY_CANDLES * FIVE_MIN) });
    const stored: number[] = [];
    const c = collector(sql, sim, (t) => stored.push(t));
    const started = performance.now();
    await c.start();
    await c.queue.flush(600_000);
    const seconds = (performance.now() - started) / 1000;
    const rows = c.stats.backfilledCandles;
    const rate = rows / seconds;
    process.stdout.write(
      `${engine.name.padEnd(8)} backfill: ${rows} candles in ${seconds.toFixed(2)} s = ${Math.round(rate)} rows/s ` +
        `(${sim.stats.requestsByPath['/fapi/v1/klines']} REST pages; ${(rate / API_CEILING_ROWS_PER_S).toFixed(2)}× Binance's rate-limit ceiling of ${Math.round(API_CEILING_ROWS_PER_S)} rows/s)\n`,
    );

    // 2. Latency: step the clock past each close and time until the row is committed.
    while (sim.hub.connections === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_CANDLES - 1; i++) {
      const before = stored.length;
      const t0 = performance.timeOrigin + performance.now();
      sim.clock.advance(FIVE_MIN);
      while (stored.length === before) await new Promise((r) => setImmediate(r));
      latencies.push(stored[stored.length - 1] - t0);
    }
    await c.stop();
    await sim.close();
    await sql.close();
    await engine.drop();
    const { p50, p99 } = latencyPercentiles(latencies);
    process.stdout.write(
      `${engine.name.padEnd(8)} close → row: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${latencies.length} candles ` +
        `(${(5000 / p99).toFixed(0)}× inside the guide's 5 s target, ${(1000 / p99).toFixed(0)}× inside the 1 s goal, at p99)\n`,
    );
  }
}

await main();
