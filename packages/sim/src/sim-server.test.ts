import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { BinanceMarketData, BinanceRestClient, HttpSource, parseArchiveCsv, parseArchivePath, unzipSingleCsv } from '@oitrader/binance';
import WebSocket from 'ws';
import { applyFaults, noFaults } from './faults.ts';
import { loadReplayDataset, type ReplayDataset } from './replay-dataset.ts';
import { SimClock } from './sim-clock.ts';
import { SimServer } from './sim-server.ts';

const SAMPLE = fileURLToPath(new URL('../../../data/fixtures/xrpusdt-2021-week/binance-archive', import.meta.url));
const FIVE_MIN = 300_000;

describe('simulator', () => {
  let ds: ReplayDataset;
  let sim: SimServer;
  let market: BinanceMarketData;
  let first: number;

  before(async () => {
    ds = await loadReplayDataset(SAMPLE, 'XRPUSDT');
    first = ds.klines.get('5m')![0].openTime;
    sim = await SimServer.start({ datasets: [ds], clock: new SimClock(first + 10 * FIVE_MIN + 60_000), archiveDir: SAMPLE });
    market = new BinanceMarketData(new BinanceRestClient({ baseUrl: sim.restUrl, backoffBaseMs: 1, maxAttempts: 3 }));
  });
  after(() => sim.close());

  it('replays the real sample: 1,999 five-minute candles, contiguous', () => {
    const rows = ds.klines.get('5m')!;
    assert.equal(rows.length, 1999);
    assert.ok(rows.every((k, i) => i === 0 || k.openTime - rows[i - 1].openTime === FIVE_MIN));
    assert.equal(ds.funding.length, 91);
  });

  it('serves klines with Binance semantics: closed candles as stored, the forming one reduced to its open, nothing from the future', async () => {
    const { rows } = await market.klines('XRPUSDT', '5m', { startTime: first, limit: 1000 });
    assert.equal(rows.length, 11);
    const source = ds.klines.get('5m')!;
    assert.deepEqual(rows.slice(0, 10), source.slice(0, 10));
    const forming = rows[10];
    assert.equal(forming.openTime, source[10].openTime);
    assert.ok(forming.closeTime >= sim.clock.now(), 'the forming candle has not closed');
    assert.equal(forming.high, forming.open);
    assert.equal(forming.volume, 0);
    const latest = await market.klines('XRPUSDT', '5m', { limit: 3 });
    assert.deepEqual(latest.rows.map((k) => k.openTime), [source[8].openTime, source[9].openTime, source[10].openTime]);
    assert.equal(await market.serverTime(), sim.clock.now());
  });

  it('serves exchangeInfo, premiumIndex, depth and funding in the shapes the client parses', async () => {
    const [info] = await market.exchangeInfo();
    assert.deepEqual(info, { symbol: 'XRPUSDT', status: 'TRADING', contractType: 'PERPETUAL', tickSize: 0.0001, stepSize: 0.1, minQty: 0.1, minNotional: 5 });
    const premium = await market.premiumIndex('XRPUSDT');
    assert.equal(premium.markPrice, ds.klines.get('5m')![9].close, 'the mark is the last closed price');
    assert.equal(premium.nextFundingTime % (8 * 3600_000), 0);
    const book = await market.depth('XRPUSDT', 20);
    assert.equal(book.bids.length, 20);
    assert.ok(book.bids[0][0] < book.asks[0][0]);
    const funding = await market.fundingRate('XRPUSDT', { startTime: first });
    assert.deepEqual(funding.rows, [], 'the sample\'s first funding (Nov 18) is still in the future');
  });

  it('answers as Binance does to a bad symbol, a bad limit and a startTime older than 30 days', async () => {
    await assert.rejects(market.klines('NOPEUSDT', '5m'), /HTTP 400 \(code -1121\): Invalid symbol/);
    await assert.rejects(market.klines('XRPUSDT', '5m', { limit: 1501 }), /code -1130/);
    await assert.rejects(market.openInterestHist('XRPUSDT', '5m', { startTime: sim.clock.now() - 31 * 86_400_000 }), /code -1130/);
  });

  it('injects 429 with Retry-After, 5xx and malformed bodies, reports weight, and bans with 418', async () => {
    const seen: Array<{ status: number; weight: string | null; retryAfter: string | null }> = [];
    const probe: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      seen.push({ status: response.status, weight: response.headers.get('x-mbx-used-weight-1m'), retryAfter: response.headers.get('retry-after') });
      return response;
    };
    const rest = new BinanceRestClient({ baseUrl: sim.restUrl, fetch: probe, backoffBaseMs: 1, backoffMaxMs: 2 });
    sim.faults.rest.tooManyRequests = 1;
    sim.faults.rest.retryAfterSeconds = 0;
    sim.faults.rest.serverErrors = 1;
    sim.faults.rest.malformedBodies = 1;
    const body = await rest.get('/fapi/v1/time', {}, 1);
    assert.deepEqual(body, { serverTime: sim.clock.now() });
    assert.deepEqual(seen.map((s) => s.status), [429, 503, 200, 200]);
    assert.equal(seen[0].retryAfter, '0');
    assert.ok(seen.every((s) => Number(s.weight) > 0));
    sim.faults.rest.banned = true;
    try {
      await assert.rejects(rest.get('/fapi/v1/time', {}, 1), /banned this IP/);
    } finally {
      sim.faults.rest.banned = false;
    }
  });

  it('enforces the 2,400 weight-per-minute limit itself', async () => {
    const small = await SimServer.start({ datasets: [ds], clock: new SimClock(first + 86_400_000), weightPerMinute: 10 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${small.restUrl}/fapi/v1/klines?symbol=XRPUSDT&interval=5m&limit=500`)).status);
      assert.deepEqual(statuses, [200, 200, 429]);
    } finally {
      await small.close();
    }
  });

  it('serves the archive layout, so the archive importer can point at the simulator', async () => {
    const path = 'futures/um/daily/klines/XRPUSDT/5m/XRPUSDT-5m-2021-11-15.zip';
    const bytes = await new HttpSource(sim.restUrl).read(path);
    const parsed = parseArchiveCsv(parseArchivePath(path)!, unzipSingleCsv(bytes!, path));
    assert.equal(parsed.rows[0].time.length, 288);
    assert.equal(await new HttpSource(sim.restUrl).read('futures/um/daily/klines/XRPUSDT/5m/XRPUSDT-5m-2030-01-01.zip'), undefined);
    assert.equal((await fetch(`${sim.restUrl}/data/../../etc/passwd`)).status, 404);
  });

  it('streams closed candles (x=true) on /market and depth on /public, as Binance splits them, with nothing on the legacy root', async () => {
    const frames: Array<{ stream: string; data: Record<string, unknown> }> = [];
    const legacyFrames: string[] = [];
    const market = new WebSocket(`${sim.wsUrl}/market/stream?streams=xrpusdt@kline_5m/xrpusdt@markPrice@1s/xrpusdt@depth20@500ms`);
    const book = new WebSocket(`${sim.wsUrl}/public/stream?streams=xrpusdt@depth20@500ms`);
    const legacy = new WebSocket(`${sim.wsUrl}/stream?streams=xrpusdt@kline_5m/xrpusdt@depth20@500ms`);
    market.on('message', (m) => frames.push(JSON.parse(m.toString())));
    book.on('message', (m) => frames.push({ ...JSON.parse(m.toString()), via: 'public' }));
    legacy.on('message', (m) => legacyFrames.push(m.toString()));
    await Promise.all([market, book, legacy].map((s) => new Promise((r) => s.once('open', r))));
    await new Promise((r) => setTimeout(r, 20));
    sim.clock.advance(FIVE_MIN);
    await new Promise((r) => setTimeout(r, 100));
    for (const s of [market, book, legacy]) s.close();
    const klines = frames.filter((f) => f.stream === 'xrpusdt@kline_5m').map((f) => f.data.k as Record<string, unknown>);
    const source = ds.klines.get('5m')!;
    assert.deepEqual(klines.map((k) => [k.t, k.x]), [[source[10].openTime, true], [source[11].openTime, false]]);
    assert.equal(klines[0].c, String(source[10].close));
    assert.ok(frames.some((f) => f.stream === 'xrpusdt@markPrice@1s' && f.data.e === 'markPriceUpdate'));
    const depth = frames.filter((f) => f.stream === 'xrpusdt@depth20@500ms');
    assert.ok(depth.length > 0 && depth.every((f) => (f as { via?: string }).via === 'public'), 'depth must come only on /public, never on /market');
    assert.ok(depth.some((f) => (f.data.b as unknown[]).length === 20));
    assert.deepEqual(legacyFrames, [], 'the legacy /stream root accepts the connection but, like Binance today, sends nothing');
    assert.ok(sim.stats.legacyConnections >= 1);
  });

  it('validates fault switches from the admin endpoint', async () => {
    const faults = noFaults();
    applyFaults(faults, { rest: { tooManyRequests: 3 }, ws: { duplicate: true } });
    assert.equal(faults.rest.tooManyRequests, 3);
    assert.throws(() => applyFaults(faults, { rest: { tooManyRequest: 3 } }), /unknown switch "tooManyRequest"/);
    assert.throws(() => applyFaults(faults, { ws: { duplicate: 'yes' } }), /expected boolean/);
    const response = await fetch(`${sim.restUrl}/sim/faults`, { method: 'POST', body: JSON.stringify({ rest: { delayMs: 'x' } }) });
    assert.equal(response.status, 400);
  });

  it('a stepped clock answers a long poll on /sim/state when it is stepped, and at once when it already moved', async () => {
    const t = sim.clock.now();
    let answered = false;
    const poll = fetch(`${sim.restUrl}/sim/state?changedFrom=${t}&waitMs=5000`)
      .then((r) => r.json() as Promise<{ now: number }>)
      .finally(() => (answered = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(answered, false, 'the poll answered before the clock moved');
    sim.clock.advance(1000);
    assert.equal((await poll).now, t + 1000);
    const asked = Date.now();
    const stale = (await (await fetch(`${sim.restUrl}/sim/state?changedFrom=${t}&waitMs=60000`)).json()) as { now: number };
    assert.equal(stale.now, t + 1000);
    assert.ok(Date.now() - asked < 4000, 'a clock no longer at changedFrom must answer at once, not hold the poll (at most 5 s)');
  });
});

describe('SimClock', () => {
  it('stepped: time moves only when told, and sleepers wake when it passes their time', async () => {
    const clock = new SimClock(1000);
    let woke = false;
    const sleeping = clock.sleep(500).then(() => (woke = true));
    clock.advance(499);
    await Promise.resolve();
    assert.equal(woke, false);
    clock.advance(1);
    await sleeping;
    assert.equal(clock.now(), 1500);
    assert.throws(() => clock.set(10), /cannot go back/);
  });

  it('at N× speed an hour of market time passes in N-th of the real time', async () => {
    const clock = new SimClock(0, 3_600_000 / 100);
    const t0 = Date.now();
    await clock.sleep(3_600_000);
    const real = Date.now() - t0;
    assert.ok(real >= 80 && real < 1000, `slept ${real} ms`);
  });
});
