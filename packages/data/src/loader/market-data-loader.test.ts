import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@oitrader/core';
import { DirectorySource } from '@oitrader/binance';
import { importArchive } from '../import/archive-import.ts';
import { bulkUpsert } from '../store/bulk-upsert.ts';
import type { SqlExecutor } from '../store/sql-executor.ts';
import { SAMPLE_ARCHIVE } from '../testing/archive-fixtures.ts';
import { testEngines } from '../testing/test-engines.ts';
import { asOfJoin, sumEventsInBars } from './as-of.ts';
import { MARKET_COLUMNS, MarketDataLoader } from './market-data-loader.ts';

const FIVE_MIN = 300_000;
const START = Date.UTC(2021, 10, 15);
const END = Date.UTC(2021, 10, 22);

describe('as-of alignment', () => {
  const open = Float64Array.from([0, FIVE_MIN, 2 * FIVE_MIN]);
  it('a bar sees a value stamped exactly at its close, but not one a millisecond later', () => {
    const joined = asOfJoin(open, FIVE_MIN, Float64Array.from([FIVE_MIN, 2 * FIVE_MIN + 1]), Float64Array.from([7, 8]), 60 * FIVE_MIN);
    assert.deepEqual([...joined], [7, 7, 8]);
  });
  it('values older than the maximum age become NaN instead of being carried forward', () => {
    const joined = asOfJoin(open, FIVE_MIN, Float64Array.from([0]), Float64Array.from([5]), FIVE_MIN);
    assert.deepEqual([...joined].map(Number.isNaN), [false, true, true]);
  });
  it('events count in the bar whose [open, close) holds them; bars before coverage are NaN', () => {
    const sums = sumEventsInBars(open, FIVE_MIN, Float64Array.from([FIVE_MIN - 1, FIVE_MIN, 2 * FIVE_MIN + 5]), Float64Array.from([1, 2, 4]), FIVE_MIN - 1);
    assert.deepEqual([...sums], [1, 2, 4]);
    const uncovered = sumEventsInBars(open, FIVE_MIN, new Float64Array(0), new Float64Array(0), 2 * FIVE_MIN);
    assert.deepEqual([...uncovered].map(Number.isNaN), [true, true, false]);
  });
});

/**
 * Alignment test inputs for the sources the real sample lacks (open interest,
 * ratios, order book, liquidations): synthetic values on irregular timestamps
 * within the real sample's span. They test timing only; they are not market data.
 */
async function addAlignmentInputs(sql: SqlExecutor): Promise<void> {
  const at = (n: number, step: number, jitter: number) => Array.from({ length: n }, (_, i) => START + i * step + ((i * 7919) % jitter));
  const oiTime = at(2000, FIVE_MIN, 1);
  await bulkUpsert(sql, { table: 'open_interest', keys: { symbol: 'XRPUSDT', period: '5m' }, time: oiTime, values: { open_interest: oiTime.map((_, i) => 5e8 + i), open_interest_value: oiTime.map((_, i) => 6e8 + i) }, source: 'test' });
  for (const kind of ['global_account', 'top_account', 'top_position']) {
    await bulkUpsert(sql, { table: 'long_short_ratio', keys: { symbol: 'XRPUSDT', period: '5m', kind }, time: oiTime, values: { ratio: oiTime.map((_, i) => 1 + (i % 50) / 100) }, source: 'test' });
  }
  await bulkUpsert(sql, { table: 'taker_volume', keys: { symbol: 'XRPUSDT', period: '5m' }, time: oiTime, values: { buy_sell_ratio: oiTime.map((_, i) => 0.8 + (i % 40) / 100) }, source: 'test' });
  const bookTime = at(3000, 200_000, 90_000);
  await bulkUpsert(sql, { table: 'order_book', keys: { symbol: 'XRPUSDT' }, time: bookTime, values: { imbalance_1pct: bookTime.map((_, i) => Math.sin(i)), spread_bps: bookTime.map((_, i) => 1 + (i % 3)) }, source: 'test' });
  const liqTime = at(900, 650_000, 400_000);
  await bulkUpsert(sql, {
    table: 'liquidations',
    keys: { symbol: 'XRPUSDT' },
    time: liqTime,
    values: { side: liqTime.map((_, i) => (i % 3 === 0 ? 'BUY' : 'SELL')), price: liqTime.map(() => 1.1), qty: liqTime.map((_, i) => 100 + i) },
    source: 'test',
  });
}

const TIME_TABLES = ['open_interest', 'long_short_ratio', 'taker_volume', 'order_book', 'liquidations', 'funding_rate'];

for (const engine of await testEngines()) {
  describe(`MarketDataLoader on ${engine.name}`, () => {
    let sql: SqlExecutor;
    before(async () => {
      sql = await engine.open();
      await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE));
      await addAlignmentInputs(sql);
    });
    after(async () => sql.close());

    it('returns one time-aligned columnar frame with every documented column', async () => {
      const { frame } = await new MarketDataLoader(sql).load('XRPUSDT', '5m', START, END);
      assert.equal(frame.length, 1999);
      assert.deepEqual(frame.names, [...MARKET_COLUMNS]);
      for (const name of frame.names) assert.ok(frame.column(name) instanceof Float64Array, name);
      assert.equal(frame.column('close')[0], 1.1941);
      assert.ok(Number.isFinite(frame.column('open_interest')[100]));
      assert.ok(Number.isFinite(frame.column('funding_rate')[frame.length - 1]));
    });

    it('a source with no data comes back as a NaN column and a warning, not a crash', async () => {
      const { frame, warnings } = await new MarketDataLoader(sql).load('XRPUSDT', '1h', START, END);
      assert.ok(frame.column('quote_volume').every(Number.isNaN));
      assert.ok(warnings.some((w) => w.includes('open interest') === false && w.includes('NaN')));
    });

    it('several symbols in one load are each exactly what loading it alone gives, each at its own finest period; a symbol without candles is empty, not an error', async () => {
      // A second symbol: XRPUSDT's candles shifted by one bar, open interest only at 15m and 1h, no order book.
      await sql.query(`INSERT INTO ohlcv (symbol, timeframe, time, open, high, low, close, volume, quote_volume, trades, taker_buy_volume, taker_buy_quote_volume, source)
        SELECT 'ADAUSDT', timeframe, time + interval '5 minutes', open * 2, high * 2, low * 2, close * 2, volume, quote_volume, trades, taker_buy_volume, taker_buy_quote_volume, source FROM ohlcv WHERE symbol = 'XRPUSDT' AND timeframe = '5m' ON CONFLICT DO NOTHING`);
      for (const [period, step] of [['15m', 3 * FIVE_MIN], ['1h', 12 * FIVE_MIN]] as const) {
        const time = Array.from({ length: 500 }, (_, i) => START + i * step);
        await bulkUpsert(sql, { table: 'open_interest', keys: { symbol: 'ADAUSDT', period }, time, values: { open_interest: time.map((_, i) => (period === '15m' ? 1e6 : 9e9) + i), open_interest_value: time.map(() => 1) }, source: 'test' });
      }
      const loader = new MarketDataLoader(sql);
      const many = await loader.loadMany(['XRPUSDT', 'ADAUSDT', 'NONEUSDT'], '5m', START, END);
      for (const symbol of ['XRPUSDT', 'ADAUSDT']) {
        const alone = await loader.load(symbol, '5m', START, END);
        const together = many.get(symbol)!;
        assert.deepEqual([...together.frame.time], [...alone.frame.time], symbol);
        for (const name of MARKET_COLUMNS) assert.deepEqual([...together.frame.column(name)], [...alone.frame.column(name)], `${symbol} ${name} differs when loaded with other symbols`);
        assert.deepEqual(together.warnings, alone.warnings);
      }
      assert.ok(many.get('ADAUSDT')!.frame.column('open_interest').some((v) => v >= 1e6 && v < 2e6), 'ADAUSDT has 15m and 1h open interest: the 15m series is the finer');
      assert.ok(!many.get('ADAUSDT')!.frame.column('open_interest').some((v) => v >= 9e9), 'the coarser 1h series must not be used when 15m exists');
      assert.equal(many.get('NONEUSDT')!.frame.length, 0);
      assert.match(many.get('NONEUSDT')!.warnings[0], /no 5m candles for NONEUSDT/);
      await assert.rejects(loader.load('NONEUSDT', '5m', START, END), /no 5m candles for NONEUSDT/);
    });

    it('a short span asks every signal source in one query and gets what asking each on its own gives, to the bit', async () => {
      const oneQuery = new MarketDataLoader(sql, silentLogger, { oneQuerySpanMs: Number.POSITIVE_INFINITY });
      const perSource = new MarketDataLoader(sql, silentLogger, { oneQuerySpanMs: 0 });
      for (const [from, to] of [[START, END], [START + 500 * FIVE_MIN, START + 501 * FIVE_MIN], [START + 1000 * FIVE_MIN, START + 1300 * FIVE_MIN]]) {
        const a = await oneQuery.loadMany(['XRPUSDT', 'NONEUSDT'], '5m', from, to);
        const b = await perSource.loadMany(['XRPUSDT', 'NONEUSDT'], '5m', from, to);
        for (const symbol of ['XRPUSDT', 'NONEUSDT']) {
          assert.deepEqual([...a.get(symbol)!.frame.time], [...b.get(symbol)!.frame.time]);
          for (const name of MARKET_COLUMNS) assert.deepEqual([...a.get(symbol)!.frame.column(name)], [...b.get(symbol)!.frame.column(name)], `${symbol} ${name}`);
          assert.deepEqual(a.get(symbol)!.warnings, b.get(symbol)!.warnings);
        }
      }
      const full = (await oneQuery.load('XRPUSDT', '5m', START, END)).frame;
      for (const name of ['open_interest', 'funding_rate', 'ls_top_position', 'taker_buy_sell_ratio', 'ob_spread_bps', 'liq_long_usd']) {
        assert.ok(full.column(name).some(Number.isFinite), `${name}: the comparison needs values, not only NaN`);
      }
    });

    it('no column at bar t holds information from after t closes (every source truncated at random cuts)', async () => {
      const loader = new MarketDataLoader(sql);
      const full = (await loader.load('XRPUSDT', '5m', START, END)).frame;
      let seed = 12345;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const cuts = [1, 60, 577, 1000, 1998, ...Array.from({ length: 7 }, () => Math.floor(random() * 1998))];
      for (const cut of cuts) {
        const cutClose = full.time[cut] + FIVE_MIN;
        const truncated = await sql
          .transaction(async (tx) => {
            await tx.query("DELETE FROM ohlcv WHERE symbol = 'XRPUSDT' AND timeframe = '5m' AND time > to_timestamp($1 / 1000.0)", [full.time[cut]]);
            for (const table of TIME_TABLES) await tx.query(`DELETE FROM ${table} WHERE time > to_timestamp($1 / 1000.0)`, [cutClose]);
            const frame = (await new MarketDataLoader(tx).load('XRPUSDT', '5m', START, END)).frame;
            throw Object.assign(new Error('rollback'), { frame });
          })
          .catch((e: { frame?: unknown }) => e.frame as typeof full);
        assert.equal(truncated.length, cut + 1);
        for (const name of full.names) {
          for (let i = 0; i <= cut; i++) {
            const a = full.column(name)[i];
            const b = truncated.column(name)[i];
            assert.ok(Object.is(a, b) || a === b, `${name} at bar ${i} changed when data after bar ${cut}'s close was removed: ${a} vs ${b} (look-ahead)`);
          }
        }
      }
    });
  });
}
