import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DirectorySource } from '@oitrader/binance';
import { checkDataQuality } from '../quality/data-check.ts';
import { readIngestLog } from '../store/ingest-log.ts';
import type { SqlExecutor } from '../store/sql-executor.ts';
import { metricsFixtureCsv, SAMPLE_ARCHIVE, writeFormatFixtures } from '../testing/archive-fixtures.ts';
import { testEngines } from '../testing/test-engines.ts';
import { importArchive, planRemoteFiles } from './archive-import.ts';

const count = async (sql: SqlExecutor, query: string, params: unknown[] = []) => Number((await sql.query<{ n: number }>(query, params))[0].n);
const metricsPath = (day: string) => `futures/um/daily/metrics/BTCUSDT/BTCUSDT-metrics-${day}.zip`;

for (const engine of await testEngines()) {
  describe(`archive import on ${engine.name}`, () => {
    let sql: SqlExecutor;
    before(async () => (sql = await engine.open()));
    after(async () => sql.close());

    it('imports the bundled real sample completely, and a second import writes 0 rows', async () => {
      const first = await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE));
      assert.equal(first.failed, 0, JSON.stringify(first.files.filter((f) => f.error)));
      assert.equal(first.inserted, 1999 + 100 + 91);
      const second = await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE));
      assert.deepEqual([second.inserted, second.updated], [0, 0], 're-importing must change nothing');
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM ohlcv WHERE symbol = 'XRPUSDT' AND timeframe = '5m'"), 1999);
      const quality = await checkDataQuality(sql, { symbol: 'XRPUSDT' });
      for (const candles of quality.series.filter((s) => s.table === 'ohlcv')) assert.ok(candles.completeness >= 0.99, `the fixture's ${candles.series} candles must be >= 99% complete`);
      // The fixture's funding begins 2021-11-18, three days after its candles: costs would be missing there.
      const funding = quality.series.find((s) => s.table === 'funding_rate');
      assert.deepEqual([funding?.presentRows, funding?.expectedRows], [12, 21], 'funding is measured over the candles\' span, 2021-11-15 .. 11-21');
      assert.equal(quality.passed, false, 'data check must fail on funding missing for part of the candles\' span');
      const fiveMinute = quality.series.find((s) => s.table === 'ohlcv' && s.series === '5m');
      assert.equal(fiveMinute?.completeness, 1);
    });

    it('stores the real sample values unchanged (first real XRPUSDT candle, 2021-11-15 00:00 UTC)', async () => {
      const [row] = await sql.query<Record<string, number>>(
        "SELECT open, high, low, close, volume FROM ohlcv WHERE symbol = 'XRPUSDT' AND timeframe = '5m' ORDER BY time LIMIT 1",
      );
      assert.deepEqual(row, { open: 1.1893, high: 1.1954, low: 1.1891, close: 1.1941, volume: 9289043.5 });
    });

    it('metrics become 5m open interest, derived 15m/1h open interest, three long/short ratios and the taker ratio', async () => {
      const root = writeFormatFixtures({ [metricsPath('2025-10-07')]: metricsFixtureCsv('2025-10-07', { lateSecond: true }) });
      const report = await importArchive(sql, new DirectorySource(root));
      assert.equal(report.failed, 0, JSON.stringify(report.files));
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM open_interest WHERE symbol = 'BTCUSDT' AND period = '5m'"), 288);
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM open_interest WHERE symbol = 'BTCUSDT' AND period = '15m'"), 96);
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM open_interest WHERE symbol = 'BTCUSDT' AND period = '1h'"), 24);
      const [hourly] = await sql.query<{ oi: number }>(
        "SELECT open_interest AS oi FROM open_interest WHERE symbol = 'BTCUSDT' AND period = '1h' AND time = '2025-10-07 01:00:00+00'",
      );
      assert.equal(hourly.oi, 100012, 'the 1h value is the 5m level at the 01:00 boundary, not an average');
      assert.equal(await count(sql, "SELECT count(DISTINCT kind)::int AS n FROM long_short_ratio WHERE symbol = 'BTCUSDT'"), 3);
      const [ratio] = await sql.query<{ r: number; l: number; s: number }>(
        "SELECT ratio AS r, long_share AS l, short_share AS s FROM long_short_ratio WHERE symbol = 'BTCUSDT' AND kind = 'top_position' ORDER BY time LIMIT 1",
      );
      assert.ok(Math.abs(ratio.l + ratio.s - 1) < 1e-12 && Math.abs(ratio.l / ratio.s - ratio.r) < 1e-9, 'shares must sum to 1 and reproduce the ratio');
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM taker_volume WHERE symbol = 'BTCUSDT'"), 288);
    });

    it('zero open-interest rows after an outage are rejected and reported, never stored', async () => {
      const root = writeFormatFixtures({ [metricsPath('2025-10-08')]: metricsFixtureCsv('2025-10-08', { zeroOiAt: [10, 11, 12], header: false }) });
      const report = await importArchive(sql, new DirectorySource(root));
      assert.equal(report.rejected, 3);
      assert.equal(
        await count(sql, "SELECT count(*)::int AS n FROM open_interest WHERE symbol = 'BTCUSDT' AND period = '5m' AND time >= '2025-10-08' AND time < '2025-10-09'"),
        285,
      );
      assert.equal(await count(sql, 'SELECT count(*)::int AS n FROM open_interest WHERE open_interest <= 0'), 0);
      const log = await readIngestLog(sql, { dataset: 'metrics', symbol: 'BTCUSDT' });
      const entry = log.find((e) => e.message.includes('2025-10-08'));
      assert.equal(entry?.rowsRejected, 3);
      assert.match(JSON.stringify(entry?.detail), /2025-10-08T00:50:00Z.*zero or missing open interest/);
      const quality = await checkDataQuality(sql, { symbol: 'BTCUSDT' });
      const oi = quality.series.find((s) => s.table === 'open_interest' && s.series === '5m');
      assert.equal(oi?.gapCount, 1, 'the outage shows as one gap');
      assert.equal(oi?.gaps[0].missingRows, 3);
      assert.equal(oi?.rejectedRows, 3);
    });

    it('a malformed file is reported with its path and line and leaves nothing behind', async () => {
      const csv = metricsFixtureCsv('2025-10-09').split('\n');
      csv[101] = csv[101].replace(/,BTCUSDT,[^,]+,/, ',BTCUSDT,12x4,');
      const root = writeFormatFixtures({ [metricsPath('2025-10-09')]: csv.join('\n') });
      const report = await importArchive(sql, new DirectorySource(root));
      assert.equal(report.failed, 1);
      assert.match(report.files[0].error ?? '', /BTCUSDT-metrics-2025-10-09\.zip line 102: sum_open_interest is not a number: "12x4"/);
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM open_interest WHERE time >= '2025-10-09' AND time < '2025-10-10'"), 0);
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM long_short_ratio WHERE time >= '2025-10-09' AND time < '2025-10-10'"), 0);
    });

    it('a checksum mismatch rejects the file', async () => {
      const root = writeFormatFixtures({ [metricsPath('2025-10-10')]: metricsFixtureCsv('2025-10-10') });
      const { writeFileSync } = await import('node:fs');
      writeFileSync(`${root}/${metricsPath('2025-10-10')}.CHECKSUM`, `${'0'.repeat(64)}  x.zip\n`);
      const report = await importArchive(sql, new DirectorySource(root));
      assert.match(report.files[0].error ?? '', /checksum mismatch/);
      assert.equal(await count(sql, "SELECT count(*)::int AS n FROM open_interest WHERE time >= '2025-10-10' AND time < '2025-10-11'"), 0);
    });

    it('klines without a header and with duplicate rows import once; impossible candles are rejected', async () => {
      const rows = [
        '1699999800000,10,11,9,10.5,100,1700000099999,1000,5,60,600,0',
        '1700000100000,10.5,12,10,11,100,1700000399999,1000,5,60,600,0',
        '1700000100000,10.5,12,10,11,100,1700000399999,1000,5,60,600,0',
        '1700000400000,11,10,12,11,100,1700000699999,1000,5,60,600,0',
      ];
      const root = writeFormatFixtures({ 'futures/um/daily/klines/ETHUSDT/5m/ETHUSDT-5m-2023-11-14.zip': `${rows.join('\n')}\n` });
      const report = await importArchive(sql, new DirectorySource(root));
      assert.equal(report.inserted, 2);
      assert.equal(report.rejected, 1, 'high below low must be rejected');
      assert.equal(report.files[0].duplicates, 1);
    });
  });
}

describe('remote archive planning', () => {
  it('uses monthly files for whole past months and daily files for the rest; metrics are daily only', () => {
    const files = planRemoteFiles(['SOLUSDT'], ['5m'], ['klines', 'metrics', 'fundingRate'], Date.UTC(2024, 0, 30), Date.UTC(2024, 2, 3));
    const paths = files.map((f) => f.path);
    assert.ok(paths.includes('futures/um/daily/klines/SOLUSDT/5m/SOLUSDT-5m-2024-01-30.zip'));
    assert.ok(paths.includes('futures/um/monthly/klines/SOLUSDT/5m/SOLUSDT-5m-2024-02.zip'));
    assert.ok(paths.includes('futures/um/daily/klines/SOLUSDT/5m/SOLUSDT-5m-2024-03-02.zip'));
    assert.ok(paths.includes('futures/um/monthly/fundingRate/SOLUSDT/SOLUSDT-fundingRate-2024-02.zip'));
    assert.equal(files.filter((f) => f.dataset === 'metrics').length, 33);
    assert.ok(!paths.some((p) => p.includes('daily/fundingRate')));
  });
});
