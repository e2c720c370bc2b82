import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { HttpSource } from '@oitrader/binance';
import { silentLogger } from '@oitrader/core';
import { loadReplayDataset, SimClock, SimServer, type ReplayDataset } from '@oitrader/sim';
import { readIngestLog } from '../store/ingest-log.ts';
import type { SqlExecutor } from '../store/sql-executor.ts';
import { SAMPLE_ARCHIVE } from '../testing/archive-fixtures.ts';
import { testEngines } from '../testing/test-engines.ts';
import { Collector, type CollectorOptions } from './collector.ts';

const FIVE_MIN = 300_000;
const SYMBOL = 'XRPUSDT';

let sample: ReplayDataset;

/**
 * The bundled real XRPUSDT sample (5m and 1h candles, funding) plus a 5m
 * open-interest series. The sample has no real open interest, so this series
 * is a FORMAT FIXTURE for the polling path: not market data.
 */
async function replayData(): Promise<ReplayDataset> {
  sample ??= await loadReplayDataset(SAMPLE_ARCHIVE, SYMBOL);
  const candles = sample.klines.get('5m')!;
  sample.openInterest.set(
    '5m',
    candles.map((k, i) => ({ time: k.openTime, openInterest: 100_000_000 + i * 1000, openInterestValue: (100_000_000 + i * 1000) * k.close })),
  );
  return sample;
}

async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface CandleRow {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

async function storedCandles(sql: SqlExecutor, timeframe: string): Promise<CandleRow[]> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT (extract(epoch FROM time) * 1000)::float8 AS time, open, high, low, close, volume FROM ohlcv
     WHERE symbol = $1 AND timeframe = $2 ORDER BY time`,
    [SYMBOL, timeframe],
  );
  return rows.map((r) => ({ time: Number(r.time), open: Number(r.open), high: Number(r.high), low: Number(r.low), close: Number(r.close), volume: Number(r.volume) }));
}

/** The candles the simulator's source holds that had closed by `now`: what the database must equal. */
function expectedCandles(ds: ReplayDataset, timeframe: string, now: number): CandleRow[] {
  return ds.klines
    .get(timeframe)!
    .filter((k) => k.closeTime < now)
    .map((k) => ({ time: k.openTime, open: k.open, high: k.high, low: k.low, close: k.close, volume: k.volume }));
}

async function countCandles(sql: SqlExecutor, timeframe: string): Promise<number> {
  const [row] = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM ohlcv WHERE symbol = $1 AND timeframe = $2', [SYMBOL, timeframe]);
  return Number(row.n);
}

function collectorOptions(sql: SqlExecutor, sim: SimServer, extra: Partial<CollectorOptions> = {}): CollectorOptions {
  return {
    sql,
    restUrl: sim.restUrl,
    wsUrl: sim.wsUrl,
    symbols: [SYMBOL],
    timeframes: ['5m', '1h'],
    oiPeriods: ['5m'],
    startMs: sim.dataset(SYMBOL)!.klines.get('5m')![0].openTime,
    klinePageLimit: 100,
    pollDelayMs: 5,
    closeGraceMs: 100,
    heartbeatMs: 100,
    bookSampleMs: 30 * 60_000,
    backfillRetryMs: 200,
    rest: { backoffBaseMs: 10, backoffMaxMs: 50 },
    stream: { backoffBaseMs: 30, backoffMaxMs: 120 },
    log: silentLogger,
    ...extra,
  };
}

/** A stepped simulator whose market time is `days` after the sample's first candle. */
function simulatorAfter(ds: ReplayDataset, days: number): Promise<SimServer> {
  return SimServer.start({ datasets: [ds], clock: new SimClock(ds.klines.get('5m')![0].openTime + days * 86_400_000) });
}

/** Binance's split base URLs: klines and mark price on /market, the depth stream on /public — two connections. */
const STREAM_CONNECTIONS = 2;

/** Starts the collector (its backfill included) and waits for its stream connections. */
async function started(collector: Collector, sim: SimServer): Promise<Collector> {
  await collector.start();
  await waitFor('the stream connection', () => sim.hub.connections === STREAM_CONNECTIONS);
  return collector;
}

/** Advances market time one 5m candle and waits until the database holds every closed 5m candle. */
async function stepAndSettle(sim: SimServer, sql: SqlExecutor, ds: ReplayDataset): Promise<void> {
  sim.clock.advance(FIVE_MIN);
  const expected = expectedCandles(ds, '5m', sim.clock.now()).length;
  await waitFor(`${expected} 5m candles`, async () => (await countCandles(sql, '5m')) === expected);
}

for (const engine of await testEngines()) {
  describe(`collector against the simulator (${engine.name})`, () => {
    let ds: ReplayDataset;
    before(async () => {
      ds = await replayData();
    });

    it('backfills through 429s, streams, survives two dropped connections, and the database equals the source exactly', async () => {
      const sql = await engine.open();
      const sim = await simulatorAfter(ds, 2);
      let klineRequests = 0;
      // Two 429s (Retry-After 1 s) land in the middle of the kline backfill: after its second page.
      const fetchWith429s: typeof fetch = async (input, init) => {
        if (String(input).includes('/fapi/v1/klines') && ++klineRequests === 3) {
          sim.faults.rest.tooManyRequests = 2;
          sim.faults.rest.retryAfterSeconds = 1;
        }
        return fetch(input, init);
      };
      const latencies: number[] = [];
      const collector = new Collector(
        collectorOptions(sql, sim, { rest: { backoffBaseMs: 10, fetch: fetchWith429s }, onCandleStored: (c) => latencies.push(c.storedAtMs - c.receivedAtMs) }),
      );
      try {
        await collector.start();
        assert.ok(collector.stats.rateLimited >= 2, `429s seen: ${collector.stats.rateLimited}`);
        await waitFor('the stream connection', () => sim.hub.connections === STREAM_CONNECTIONS);
        for (let step = 1; step <= 36; step++) {
          if (step === 12 || step === 24) {
            sim.dropStreams();
            // Three candles close while nobody listens: only REST can bring them back.
            for (let k = 0; k < 3; k++) sim.clock.advance(FIVE_MIN);
            await waitFor('the reconnect', () => sim.hub.connections === STREAM_CONNECTIONS);
          }
          // Then a stretch of duplicated, reordered and malformed stream messages.
          sim.faults.ws.duplicate = sim.faults.ws.outOfOrder = step >= 28 && step < 34;
          if (step === 30) sim.faults.ws.malformedNext = 2;
          await stepAndSettle(sim, sql, ds);
        }
        const now = sim.clock.now();
        await waitFor('1h candles', async () => (await countCandles(sql, '1h')) === expectedCandles(ds, '1h', now).length);
        await waitFor('open interest', async () => {
          const [row] = await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM open_interest WHERE symbol = $1 AND period = '5m'", [SYMBOL]);
          return Number(row.n) === ds.openInterest.get('5m')!.filter((p) => p.time <= now).length;
        });
        const stopped = await collector.stop();
        assert.equal(stopped.unflushedJobs, 0);

        for (const tf of ['5m', '1h']) assert.deepEqual(await storedCandles(sql, tf), expectedCandles(ds, tf, now), `${tf} candles equal the source`);
        const oi = await sql.query<Record<string, unknown>>(
          "SELECT (extract(epoch FROM time) * 1000)::float8 AS t, open_interest FROM open_interest WHERE symbol = $1 AND period = '5m' ORDER BY time",
          [SYMBOL],
        );
        assert.deepEqual(
          oi.map((r) => [Number(r.t), Number(r.open_interest)]),
          ds.openInterest.get('5m')!.filter((p) => p.time <= now).map((p) => [p.time, p.openInterest]),
        );
        const funding = await sql.query<Record<string, unknown>>('SELECT (extract(epoch FROM time) * 1000)::float8 AS t, funding_rate FROM funding_rate WHERE symbol = $1 ORDER BY time', [SYMBOL]);
        assert.deepEqual(
          funding.map((r) => [Number(r.t), Number(r.funding_rate)]),
          ds.funding.filter((f) => f.time <= now).map((f) => [f.time, f.fundingRate]),
        );

        assert.equal(collector.stats.reconnects, 2 * STREAM_CONNECTIONS, 'each drop reopens the /market and the /public connection');
        assert.deepEqual(collector.stats.rejectedByReason, { 'malformed JSON': 4 });
        assert.equal(collector.stats.rejected, 4, `two malformed messages, each duplicated: ${JSON.stringify(collector.stats.rejectedByReason)}`);
        assert.ok(collector.stats.streamedCandles >= 30, `streamed ${collector.stats.streamedCandles}`);
        const log = await readIngestLog(sql);
        const messages = log.map((e) => e.message);
        assert.equal(messages.filter((m) => /reconnected; backfilling the gap/.test(m)).length, 2 * STREAM_CONNECTIONS, messages.join('\n'));
        assert.equal(sim.stats.legacyConnections, 0, 'a stream opened on the legacy root URL gets no data from Binance since 2026-04-23');
        assert.ok(messages.filter((m) => /^HTTP 429 on \/(fapi|futures)\//.test(m)).length >= 2, messages.join('\n'));
        assert.ok(messages.some((m) => /stream connection 0 closed/.test(m)));
        const health = await sql.query<{ stream: string; messages: number }>('SELECT stream, messages::int AS messages FROM stream_health ORDER BY stream');
        assert.ok(health.some((h) => h.stream === 'xrpusdt@kline_5m' && h.messages > 0), JSON.stringify(health));
        const [book] = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM order_book WHERE symbol = $1', [SYMBOL]);
        assert.ok(Number(book.n) >= 1, 'the depth stream is sampled into order_book');
        assert.ok(latencies.length >= 30 && latencies.every((ms) => ms >= 0));
      } finally {
        await collector.stop();
        await sim.close();
        await sql.close();
      }
    });

    it('restarts from the last stored rows: only the gap is downloaded, and nothing is missing', async () => {
      const sql = await engine.open();
      const sim = await simulatorAfter(ds, 1);
      try {
        // A long grace: under load a late stream message must not turn into an extra REST request here.
        const options = collectorOptions(sql, sim, { closeGraceMs: 60_000 });
        const first = await started(new Collector(options), sim);
        for (let step = 0; step < 5; step++) await stepAndSettle(sim, sql, ds);
        await first.stop();
        const firstBackfill = first.stats.backfilledCandles;

        // Down for 40 minutes of market time.
        const downAt = sim.clock.now();
        sim.clock.advance(8 * FIVE_MIN);
        const missed1h = expectedCandles(ds, '1h', sim.clock.now()).length - expectedCandles(ds, '1h', downAt).length;
        const before5m = await countCandles(sql, '5m');
        const requestsBefore = sim.stats.requestsByPath['/fapi/v1/klines'];
        const second = await started(new Collector(options), sim);
        await stepAndSettle(sim, sql, ds);
        await second.stop();

        assert.equal(second.stats.backfilledCandles, 8 + missed1h, 'exactly the candles that closed while it was down');
        assert.equal((await countCandles(sql, '5m')) - before5m, 9);
        assert.ok(firstBackfill > 280, `the first start downloaded the day of history (${firstBackfill})`);
        // One page per timeframe (plus the streamed candle) instead of the whole day again.
        assert.equal(sim.stats.requestsByPath['/fapi/v1/klines'] - requestsBefore, 2);
        const now = sim.clock.now();
        for (const tf of ['5m', '1h']) assert.deepEqual(await storedCandles(sql, tf), expectedCandles(ds, tf, now));
      } finally {
        await sim.close();
        await sql.close();
      }
    });

    it('takes whole days from the archive (here served by the simulator) and only the rest from REST', async () => {
      const sql = await engine.open();
      const sim = await SimServer.start({ datasets: [ds], clock: new SimClock(Date.UTC(2021, 10, 18, 6)), archiveDir: SAMPLE_ARCHIVE });
      try {
        const collector = await started(
          new Collector(collectorOptions(sql, sim, { archive: { source: new HttpSource(sim.restUrl), verifyChecksums: true } })),
          sim,
        );
        await collector.stop();
        const now = sim.clock.now();
        for (const tf of ['5m', '1h']) assert.deepEqual(await storedCandles(sql, tf), expectedCandles(ds, tf, now), `${tf} equals the source`);
        // The complete days 2021-11-15..17 came from archive files (3 × 288 five-minute candles, and the 23 hourly
        // ones of the 17th, where the sample's 1h series starts); REST brought today's six hours: 72 + 6 candles.
        assert.equal(collector.stats.backfilledCandles, 72 + 6);
        const [archived] = await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM ohlcv WHERE source LIKE 'archive:%'");
        assert.equal(archived.n, 3 * 288 + 23);
      } finally {
        await sim.close();
        await sql.close();
      }
    });

    it('holds writes while the database is down, drops past its bound with a log line, and REST recovers every candle', async () => {
      const real = await engine.open();
      let down = false;
      // The same database behind a switch: while `down`, every statement fails as a lost connection would.
      const sql = new Proxy(real, {
        get(target, prop) {
          const value = Reflect.get(target, prop) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => (down && prop !== 'close' ? Promise.reject(new Error('connection refused (test outage)')) : value.apply(target, args));
        },
      });
      const sim = await simulatorAfter(ds, 1);
      // Room for one REST page (100) and a little more: the outage's candles, logs and health rows overflow it.
      const collector = await started(new Collector(collectorOptions(sql, sim, { bufferMaxRows: 150 })), sim);
      try {
        await stepAndSettle(sim, real, ds).catch((e) => {
          throw new Error(`${e.message}: ${JSON.stringify({ stats: collector.stats, queue: collector.queue.stats, err: collector.queue.lastError })}`);
        });
        down = true;
        const streamed = collector.stats.streamedCandles;
        for (let k = 0; k < 6; k++) {
          sim.clock.advance(FIVE_MIN);
          await waitFor('the streamed candle', () => collector.stats.streamedCandles > streamed + k);
        }
        // Health rows (every 100 ms here) pile up behind the candles until the bound forces the oldest out.
        await waitFor('the bound to be passed', () => collector.queue.stats.droppedRows > 0);
        assert.ok(collector.queue.stats.failures > 0);
        down = false;
        const now = sim.clock.now();
        await waitFor('every candle back', async () => (await countCandles(real, '5m')) === expectedCandles(ds, '5m', now).length);
        await collector.stop();
        assert.deepEqual(await storedCandles(real, '5m'), expectedCandles(ds, '5m', now));
        const resumed = (await readIngestLog(real, { dataset: 'database' })).map((e) => e.message);
        assert.ok(resumed.some((m) => /database writes caught up after \d+ failed attempts; \d+ buffered rows were dropped/.test(m)), resumed.join('\n'));
      } finally {
        down = false;
        await collector.stop();
        await sim.close();
        await real.close();
      }
    });

    it('rejects malformed JSON, NaN and negative prices and unknown symbols with a logged reason, and keeps running', async () => {
      const sql = await engine.open();
      const sim = await simulatorAfter(ds, 1);
      const collector = new Collector(collectorOptions(sql, sim));
      try {
        await started(collector, sim);
        const next = ds.klines.get('5m')!.find((k) => k.openTime >= sim.clock.now())!;
        const kline = (symbol: string, close: string) =>
          JSON.stringify({
            stream: `${symbol.toLowerCase()}@kline_5m`,
            data: { e: 'kline', E: next.closeTime + 1, s: symbol, k: { t: next.openTime, T: next.closeTime, s: symbol, i: '5m', o: '1.1', c: close, h: '1.2', l: '1.0', v: '10', n: 5, x: true, q: '11', V: '5', Q: '5.5' } },
          });
        sim.hub.inject('{"stream":"xrpusdt@kline_5m","data":{"e":"kline"');
        sim.hub.inject(kline(SYMBOL, 'NaN'));
        sim.hub.inject(kline(SYMBOL, '-1.1'));
        sim.hub.inject(kline('BTCUSDT', '1.15'));
        await waitFor('four rejections', () => collector.stats.rejected === 4);
        await stepAndSettle(sim, sql, ds);
        await collector.stop();

        assert.deepEqual(await storedCandles(sql, '5m'), expectedCandles(ds, '5m', sim.clock.now()), 'no bad value reached the table');
        const rejected = (await readIngestLog(sql, { dataset: 'stream' })).filter((e) => e.message.startsWith('rejected:'));
        assert.equal(rejected.length, 4);
        assert.match(rejected[0].message, /malformed JSON/);
        assert.match(rejected[1].message, /kline\.k\.c: expected a decimal, got "NaN"/);
        assert.match(rejected[2].message, /kline\.k\.c: expected a positive number, got "-1\.1"/);
        assert.match(rejected[3].message, /unknown symbol "BTCUSDT"/);
        assert.ok(rejected.every((e) => e.rowsRejected === 1 && e.level === 'warn'));
      } finally {
        await collector.stop();
        await sim.close();
        await sql.close();
      }
    });
  });
}
