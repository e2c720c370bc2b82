import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DirectorySource, HttpSource } from '@oitrader/binance';
import { checkDataQuality, formatQualityReport } from '../quality/data-check.ts';
import { bulkUpsert } from '../store/bulk-upsert.ts';
import { migrate } from '../store/migrations.ts';
import { PgliteExecutor, type SqlExecutor } from '../store/sql-executor.ts';
import { metricsFixtureCsv, writeFormatFixtures } from '../testing/archive-fixtures.ts';
import { testEngines } from '../testing/test-engines.ts';
import { importArchive, planRemoteFiles } from './archive-import.ts';

const count = async (sql: SqlExecutor, query: string) => Number((await sql.query<{ n: number }>(query))[0].n);

/** One kline row per open time (format fixture, not market data). */
const klineCsv = (times: number[], price = (i: number) => 10 + (i % 5) / 10, lengthMs = 300_000) =>
  `${times.map((t, i) => `${t},${price(i)},${price(i) + 0.2},${price(i) - 0.2},${price(i) + 0.1},100,${t + lengthMs - 1},1000,5,60,600,0`).join('\n')}\n`;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const fiveMinuteTimes = (startMs: number, n: number, stepMs = 300_000) => Array.from({ length: n }, (_, i) => startMs + i * stepMs);

for (const engine of await testEngines()) {
  describe(`reliability: archive rows with wrong timestamps or implausible values on ${engine.name} (issue 18 items 3, 4, 5; issue 12 items 1, 7)`, () => {
    let sql: SqlExecutor;
    before(async () => (sql = await engine.open()));
    after(async () => sql.close());

    const refused: Array<[string, string, string, RegExp]> = [
      ['timestamps in seconds', 'futures/um/daily/klines/AAAUSDT/5m/AAAUSDT-5m-2024-03-01.zip', klineCsv(fiveMinuteTimes(day('2024-03-01') / 1000, 3, 300)), /before Binance's archive began: epoch seconds/],
      ['a candle 12.345 s off the 5m grid', 'futures/um/daily/klines/BBBUSDT/5m/BBBUSDT-5m-2024-03-01.zip', klineCsv([day('2024-03-01'), day('2024-03-01') + 312_345]), /not on the 5m grid/],
      ['a 2030 row inside a 2024-03-01 file', 'futures/um/daily/klines/CCCUSDT/5m/CCCUSDT-5m-2024-03-01.zip', klineCsv([day('2024-03-01'), Date.UTC(2030, 0, 1)]), /outside the file's day 2024-03-01/],
      ['hourly rows in the 5m folder', 'futures/um/daily/klines/DDDUSDT/5m/DDDUSDT-5m-2024-03-01.zip', klineCsv(fiveMinuteTimes(day('2024-03-01'), 24, 3_600_000)), /60 minutes apart, not 5m candles/],
      // Issue 28 item 7: too few rows to judge their spacing, yet each row says it is an hour long.
      ['two hourly rows in the 5m folder', 'futures/um/daily/klines/DDEUSDT/5m/DDEUSDT-5m-2024-03-01.zip', klineCsv(fiveMinuteTimes(day('2024-03-01'), 2, 3_600_000), undefined, 3_600_000), /closes 60 minutes after it opens: not a 5m candle/],
      ['an hourly file (Binance names it 1h) in the 5m folder', 'futures/um/daily/klines/DDFUSDT/5m/DDFUSDT-1h-2024-03-01.zip', klineCsv(fiveMinuteTimes(day('2024-03-01'), 2, 3_600_000), undefined, 3_600_000), /holds 1h candles but is in the 5m folder/],
    ];
    for (const [name, path, csv, reason] of refused) {
      it(`refuses a file with ${name} and stores none of it`, async () => {
        const report = await importArchive(sql, new DirectorySource(writeFormatFixtures({ [path]: csv })));
        assert.equal(report.failed, 1, `a file with ${name} must be refused, got ${JSON.stringify(report.files)}`);
        assert.match(report.files[0].error ?? '', reason);
        const symbol = path.split('/')[4];
        assert.equal(await count(sql, `SELECT count(*)::int AS n FROM ohlcv WHERE symbol = '${symbol}'`), 0, 'no row of a refused file may be stored');
      });
    }

    it('floors metrics rows a few seconds late onto the 5-minute grid and says how many', async () => {
      const root = writeFormatFixtures({ 'futures/um/daily/metrics/EEEUSDT/EEEUSDT-metrics-2025-10-07.zip': metricsFixtureCsv('2025-10-07', { lateSecond: true }).replaceAll('BTCUSDT', 'EEEUSDT') });
      const report = await importArchive(sql, new DirectorySource(root));
      assert.equal(report.failed, 0);
      assert.equal(report.floored, 144, 'every second row of the fixture is one second late');
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM open_interest WHERE symbol = 'EEEUSDT' AND (extract(epoch FROM time) * 1000)::bigint % 300000 <> 0"), 0);
    });

    it('refuses a metrics file whose create_time is 12.345 s off the grid (not Binance\'s few seconds)', async () => {
      const csv = metricsFixtureCsv('2025-10-07').replaceAll('BTCUSDT', 'FFFUSDT').replace('2025-10-07 00:10:00', '2025-10-07 00:10:12.345');
      const report = await importArchive(sql, new DirectorySource(writeFormatFixtures({ 'futures/um/daily/metrics/FFFUSDT/FFFUSDT-metrics-2025-10-07.zip': csv })));
      assert.equal(report.failed, 1);
      assert.match(report.files[0].error ?? '', /12\.345 s off the 5-minute grid/);
    });

    it('data check counts rows stored off the grid and fails', async () => {
      await bulkUpsert(sql, { table: 'ohlcv', keys: { symbol: 'GGGUSDT', timeframe: '5m' }, time: [day('2024-03-01'), day('2024-03-01') + 312_345], values: { open: [1, 1], high: [1, 1], low: [1, 1], close: [1, 1], volume: [1, 1] }, source: 'test' });
      const quality = await checkDataQuality(sql, { symbol: 'GGGUSDT' });
      const series = quality.series.find((s) => s.table === 'ohlcv');
      assert.equal(series?.offGridRows, 1, 'the candle 12.345 s off the grid must be counted');
      assert.equal(quality.passed, false, 'a series with off-grid rows must not pass');
    });

    it('rejects funding rates of 5.0 and -3 and a candle high of 1e308, with the reason, and keeps the rest', async () => {
      const funding = ['calc_time,funding_interval_hours,last_funding_rate', `${Date.UTC(2024, 2, 1)},8,0.0001`, `${Date.UTC(2024, 2, 1, 8)},8,5.0`, `${Date.UTC(2024, 2, 1, 16)},8,-3`, `${Date.UTC(2024, 2, 2)},8,-0.0002`].join('\n');
      const times = fiveMinuteTimes(day('2024-03-01'), 5);
      const klines = klineCsv(times).split('\n');
      klines[2] = klines[2].replace(/^(\d+),([\d.]+),([\d.]+),/, '$1,$2,1e308,');
      const root = writeFormatFixtures({
        'futures/um/monthly/fundingRate/HHHUSDT/HHHUSDT-fundingRate-2024-03.zip': `${funding}\n`,
        'futures/um/daily/klines/HHHUSDT/5m/HHHUSDT-5m-2024-03-01.zip': klines.join('\n'),
      });
      const report = await importArchive(sql, new DirectorySource(root));
      assert.equal(report.failed, 0, JSON.stringify(report.files));
      assert.equal(report.rejected, 3, 'two impossible funding rates and one impossible candle');
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM funding_rate WHERE symbol = 'HHHUSDT' AND abs(funding_rate) > 0.05"), 0, 'a funding rate beyond every Binance cap was stored');
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM funding_rate WHERE symbol = 'HHHUSDT'"), 2);
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM ohlcv WHERE symbol = 'HHHUSDT' AND high > 1e6"), 0, 'a 1e308 high was stored');
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM ohlcv WHERE symbol = 'HHHUSDT'"), 4);
      const [log] = await sql.query<{ detail: string }>("SELECT detail::text AS detail FROM ingest_log WHERE symbol = 'HHHUSDT' AND dataset = 'fundingRate'");
      assert.match(log.detail, /implausible funding rate 5/);
    });

    it('metrics files with empty ratio columns store open interest and no invented ratio (never 0), and data check lists the empty tables', async () => {
      const csv = metricsFixtureCsv('2025-10-07')
        .replaceAll('BTCUSDT', 'IIIUSDT')
        .split('\n')
        .map((line, i) => (i === 0 || line === '' ? line : line.split(',').slice(0, 4).concat(['', '', '', '']).join(',')))
        .join('\n');
      const times = fiveMinuteTimes(day('2025-10-07'), 288);
      const root = writeFormatFixtures({
        'futures/um/daily/metrics/IIIUSDT/IIIUSDT-metrics-2025-10-07.zip': csv,
        'futures/um/daily/klines/IIIUSDT/5m/IIIUSDT-5m-2025-10-07.zip': klineCsv(times),
      });
      const report = await importArchive(sql, new DirectorySource(root));
      assert.equal(report.failed, 0, JSON.stringify(report.files));
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM open_interest WHERE symbol = 'IIIUSDT' AND period = '5m'"), 288);
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM long_short_ratio WHERE symbol = 'IIIUSDT'"), 0, 'an empty ratio field must not become a stored ratio');
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM taker_volume WHERE symbol = 'IIIUSDT'"), 0, 'an empty taker ratio must not become a stored value');
      const quality = await checkDataQuality(sql, { symbol: 'IIIUSDT' });
      const empty = quality.empty.find((e) => e.symbol === 'IIIUSDT')?.tables.join(', ') ?? '';
      for (const table of ['long_short_ratio', 'taker_volume', 'liquidations', 'order_book', 'funding_rate']) assert.match(empty, new RegExp(table), `data check must name ${table} as empty for the span`);
      assert.doesNotMatch(empty, /open_interest/);
    });
  });
}

describe('reliability: URL import plans funding for a partial first month (issue 18 item 4)', () => {
  it('--start 2021-11-15 --end 2021-12-31 plans the fundingRate file of November 2021', () => {
    const files = planRemoteFiles(['XRPUSDT'], ['5m'], ['klines', 'metrics', 'fundingRate'], Date.UTC(2021, 10, 15), Date.UTC(2021, 11, 31));
    const funding = files.filter((f) => f.dataset === 'fundingRate').map((f) => f.path);
    assert.ok(funding.includes('futures/um/monthly/fundingRate/XRPUSDT/XRPUSDT-fundingRate-2021-11.zip'), `funding for the month of the start is missing: ${funding.join(', ')}`);
  });
});

/** Serves a mirror directory the way data.binance.vision does (`/data/<path>`, 404 for a file it lacks), and records what was asked. */
async function fakeArchiveServer(root: string): Promise<{ url: string; requested: string[]; close: () => Promise<void> }> {
  const requested: string[] = [];
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname).replace(/^\/data\//, '');
    requested.push(path);
    const file = join(root, path);
    if (path.includes('..') || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/zip' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requested, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Funding every 8 hours through a month (format fixture, not market data). */
const fundingCsv = (monthStartMs: number, days: number) =>
  `calc_time,funding_interval_hours,last_funding_rate\n${Array.from({ length: days * 3 }, (_, i) => `${monthStartMs + i * 8 * 3_600_000},8,0.0001`).join('\n')}\n`;

describe('reliability: a URL import of a past month fetches its funding, and data check fails without it (issue 28 item 7)', () => {
  it('--start 2024-06-10 --end 2024-06-12 over HTTP fetches fundingRate 2024-06 and stores it; the span passes data check', async () => {
    const june = Date.UTC(2024, 5, 1);
    const root = writeFormatFixtures({
      'futures/um/daily/klines/FUNDUSDT/5m/FUNDUSDT-5m-2024-06-10.zip': klineCsv(fiveMinuteTimes(day('2024-06-10'), 288)),
      'futures/um/daily/klines/FUNDUSDT/5m/FUNDUSDT-5m-2024-06-11.zip': klineCsv(fiveMinuteTimes(day('2024-06-11'), 288)),
      'futures/um/monthly/fundingRate/FUNDUSDT/FUNDUSDT-fundingRate-2024-06.zip': fundingCsv(june, 30),
    });
    const archive = await fakeArchiveServer(root);
    const sql = await PgliteExecutor.open(undefined);
    try {
      await migrate(sql);
      const report = await importArchive(sql, new HttpSource(archive.url), { symbols: ['FUNDUSDT'], timeframes: ['5m'], datasets: ['klines', 'fundingRate'], startMs: day('2024-06-10'), endMs: day('2024-06-12') });
      assert.equal(report.failed, 0, JSON.stringify(report.files));
      assert.ok(archive.requested.includes('futures/um/monthly/fundingRate/FUNDUSDT/FUNDUSDT-fundingRate-2024-06.zip'), `the June funding file was never fetched: ${archive.requested.join(', ')}`);
      assert.deepEqual(report.unplanned, [], 'a past month has a funding file; nothing is left for REST');
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM funding_rate WHERE symbol = 'FUNDUSDT'"), 90, 'June funding (every 8 h) must be stored');
      const quality = await checkDataQuality(sql, { symbol: 'FUNDUSDT' });
      assert.ok(quality.passed, formatQualityReport(quality));
    } finally {
      await sql.close();
      await archive.close();
    }
  });

  it('data check fails when the candles of a span have no funding, and when funding covers only part of it', async () => {
    const sql = await PgliteExecutor.open(undefined);
    try {
      await migrate(sql);
      const root = writeFormatFixtures({
        'futures/um/daily/klines/NOFUNDUSDT/5m/NOFUNDUSDT-5m-2024-06-10.zip': klineCsv(fiveMinuteTimes(day('2024-06-10'), 288)),
        'futures/um/daily/klines/HALFUSDT/5m/HALFUSDT-5m-2024-06-10.zip': klineCsv(fiveMinuteTimes(day('2024-06-10'), 288)),
        'futures/um/daily/klines/HALFUSDT/5m/HALFUSDT-5m-2024-06-11.zip': klineCsv(fiveMinuteTimes(day('2024-06-11'), 288)),
        'futures/um/daily/klines/HALFUSDT/5m/HALFUSDT-5m-2024-06-12.zip': klineCsv(fiveMinuteTimes(day('2024-06-12'), 288)),
        // Funding on the 10th only: a third of the candles' three days.
        'futures/um/monthly/fundingRate/HALFUSDT/HALFUSDT-fundingRate-2024-06.zip': fundingCsv(day('2024-06-10'), 1).replace('\n', `\n${day('2024-06-10') - 8 * 3_600_000},8,0.0001\n`),
      });
      const report = await importArchive(sql, new DirectorySource(root));
      assert.equal(report.failed, 0, JSON.stringify(report.files));
      const none = await checkDataQuality(sql, { symbol: 'NOFUNDUSDT' });
      assert.equal(none.passed, false, `candles without any funding must fail data check:\n${formatQualityReport(none)}`);
      const missing = none.series.find((s) => s.table === 'funding_rate');
      assert.deepEqual([missing?.expectedRows, missing?.presentRows], [3, 0], 'the missing funding must be a series with nothing present');
      const half = await checkDataQuality(sql, { symbol: 'HALFUSDT' });
      assert.equal(half.passed, false, `funding for one of three days must fail data check:\n${formatQualityReport(half)}`);
      assert.match(formatQualityReport(half), /funding_rate +HALFUSDT .*BELOW THRESHOLD/);
    } finally {
      await sql.close();
    }
  });
});
