import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DirectorySource } from '@oitrader/binance';
import { importArchive } from '../import/archive-import.ts';
import type { SqlExecutor } from '../store/sql-executor.ts';
import { REAL_SAMPLE_ARCHIVE } from '../testing/archive-fixtures.ts';
import { testEngines } from '../testing/test-engines.ts';
import { aggregateCandles, deriveTimeframes, type CandleColumns } from './derive-timeframes.ts';

const M5 = 300_000;
const H1 = 3_600_000;

function candles(times: number[]): CandleColumns {
  const n = times.length;
  const seq = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
  return {
    time: Float64Array.from(times),
    open: seq((i) => 100 + i),
    high: seq((i) => 101 + i),
    low: seq((i) => 99 + i),
    close: seq((i) => 100.5 + i),
    volume: seq(() => 2),
    quoteVolume: seq(() => Number.NaN),
    trades: seq(() => 3),
    takerBuyVolume: seq(() => 1),
    takerBuyQuoteVolume: seq(() => Number.NaN),
  };
}

describe('aggregating 5m candles into coarser timeframes', () => {
  it('builds a candle from a complete period: first open, max high, min low, last close, summed volume', () => {
    const c = aggregateCandles(candles(Array.from({ length: 12 }, (_, i) => i * M5)), M5, H1);
    assert.deepEqual([...c.time], [0]);
    assert.deepEqual([c.open[0], c.high[0], c.low[0], c.close[0], c.volume[0], c.trades[0]], [100, 112, 99, 111.5, 24, 36]);
    assert.ok(Number.isNaN(c.quoteVolume[0]), 'a column the source lacks stays missing, never a partial sum');
  });

  it('never stores a partial period: the forming hour at the end and an hour with a missing 5m candle are skipped', () => {
    const times = [...Array.from({ length: 12 }, (_, i) => i * M5), ...Array.from({ length: 12 }, (_, i) => H1 + i * M5).filter((t) => t !== H1 + 5 * M5), ...[2 * H1, 2 * H1 + M5]];
    const c = aggregateCandles(candles(times), M5, H1);
    assert.deepEqual([...c.time], [0], 'only the complete first hour may become a candle');
  });
});

for (const engine of await testEngines()) {
  describe(`deriving timeframes from stored 5m candles on ${engine.name}`, () => {
    let sql: SqlExecutor;
    before(async () => {
      sql = await engine.open();
      await importArchive(sql, new DirectorySource(REAL_SAMPLE_ARCHIVE), { symbols: ['SOLUSDT'], datasets: ['klines'], endMs: Date.UTC(2026, 0, 1) });
    });
    after(async () => sql.close());

    it('1h aggregated from real SOLUSDT 5m equals Binance\'s own 1h candles', async () => {
      const fine = await sql.query<Record<string, number>>("SELECT (extract(epoch from time)*1000)::float8 AS t, open::float8 AS o, high::float8 AS h, low::float8 AS l, close::float8 AS c, volume::float8 AS v FROM ohlcv WHERE symbol='SOLUSDT' AND timeframe='5m' ORDER BY time");
      const col = (k: string) => Float64Array.from(fine, (r) => r[k]);
      const nan = new Float64Array(fine.length).fill(Number.NaN);
      const derived = aggregateCandles({ time: col('t'), open: col('o'), high: col('h'), low: col('l'), close: col('c'), volume: col('v'), quoteVolume: nan, trades: nan, takerBuyVolume: nan, takerBuyQuoteVolume: nan }, M5, H1);
      const real = await sql.query<Record<string, number>>("SELECT (extract(epoch from time)*1000)::float8 AS t, open::float8 AS o, high::float8 AS h, low::float8 AS l, close::float8 AS c, volume::float8 AS v FROM ohlcv WHERE symbol='SOLUSDT' AND timeframe='1h' ORDER BY time");
      assert.equal(derived.time.length, real.length, 'one derived hour per real hour of December');
      let equal = 0;
      real.forEach((r, i) => {
        const same = derived.time[i] === r.t && derived.open[i] === r.o && derived.high[i] === r.h && derived.low[i] === r.l && derived.close[i] === r.c && Math.abs(derived.volume[i] - r.v) <= 1e-6 * r.v;
        if (same) equal++;
      });
      assert.ok(equal / real.length >= 0.999, `${equal} of ${real.length} derived hours match Binance's 1h candles`);
    });

    it('stores 15m, 4h and 1d from 5m, keeps the exchange\'s 1h candles, and is idempotent', async () => {
      const first = await deriveTimeframes(sql, 'SOLUSDT', ['15m', '1h', '4h', '1d']);
      const by = Object.fromEntries(first.map((d) => [d.timeframe, d]));
      assert.equal(by['15m'].derived, 31 * 96);
      assert.equal(by['4h'].derived, 31 * 6);
      assert.equal(by['1d'].derived, 31);
      assert.deepEqual([by['1h'].derived, by['1h'].kept], [0, 31 * 24], 'the archive\'s own 1h candles win over derived ones');
      const again = await deriveTimeframes(sql, 'SOLUSDT', ['15m', '4h', '1d']);
      assert.deepEqual(again.map((d) => d.derived), [0, 0, 0], 'a second derivation writes nothing');
      const rows = await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM ohlcv WHERE symbol='SOLUSDT' AND timeframe='1d'");
      assert.equal(rows[0].n, 31);
      const [day] = await sql.query<{ source: string }>("SELECT source FROM ohlcv WHERE symbol='SOLUSDT' AND timeframe='1d' LIMIT 1");
      assert.equal(day.source, 'derived:5m');
    });
  });
}
