import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEngines } from '../testing/test-engines.ts';
import { bulkUpsert } from './bulk-upsert.ts';
import { migrate } from './migrations.ts';
import type { SqlExecutor } from './sql-executor.ts';

const T0 = Date.UTC(2021, 10, 15);
const FIVE_MIN = 300_000;

function candles(n: number, offset = 0) {
  const time = Array.from({ length: n }, (_, i) => T0 + (i + offset) * FIVE_MIN);
  const close = time.map((_, i) => 1.1 + (i + offset) * 0.001);
  return {
    table: 'ohlcv' as const,
    keys: { symbol: 'XRPUSDT', timeframe: '5m' },
    time,
    values: { open: close, high: close.map((c) => c + 0.01), low: close.map((c) => c - 0.01), close, volume: close.map(() => 1000), trades: close.map(() => 42) },
    source: 'test',
  };
}

for (const engine of await testEngines()) {
  describe(`bulk upsert on ${engine.name}`, () => {
    let sql: SqlExecutor;
    before(async () => (sql = await engine.open()));
    after(async () => sql.close());

    it('migrations are recorded and re-running them applies nothing', async () => {
      const again = await migrate(sql);
      assert.deepEqual(again.applied, []);
    });

    it('writes every row once and a second identical write changes nothing', async () => {
      const first = await bulkUpsert(sql, candles(500));
      assert.equal(first.inserted, 500);
      const second = await bulkUpsert(sql, candles(500));
      assert.deepEqual([second.inserted, second.updated], [0, 0], 're-import must write 0 rows');
      const [{ n }] = await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM ohlcv WHERE symbol = 'XRPUSDT'");
      assert.equal(n, 500);
    });

    it('round-trips times to the millisecond and NaN as NULL', async () => {
      const batch = candles(2, 1000);
      batch.time[1] += 17; // funding timestamps carry milliseconds
      batch.values.volume = [1, Number.NaN];
      await assert.rejects(bulkUpsert(sql, batch), /null value in column "volume"/, 'required column must refuse missing values');
      await bulkUpsert(sql, {
        table: 'funding_rate',
        keys: { symbol: 'XRPUSDT' },
        time: [T0 + 17],
        values: { funding_rate: [0.0001], mark_price: [Number.NaN] },
        source: 'test',
      });
      const rows = await sql.query<{ t: number; m: number | null }>(
        "SELECT (extract(epoch FROM time) * 1000)::float8 AS t, mark_price AS m FROM funding_rate WHERE symbol = 'XRPUSDT'",
      );
      assert.deepEqual(rows.map((r) => [Number(r.t), r.m]), [[T0 + 17, null]]);
    });

    it('a corrected value replaces the stored one and is counted as an update', async () => {
      const batch = candles(3);
      batch.values.close = [...batch.values.close];
      batch.values.close[2] = 9.99;
      const result = await bulkUpsert(sql, batch);
      assert.deepEqual([result.inserted, result.updated], [0, 1]);
    });

    it('a chunk half stored, half new counts both (the staged upsert on PostgreSQL); text with tabs, newlines and backslashes and int8 columns round-trip', async () => {
      const mixed = candles(40, 480); // rows 480..499 stored above, 500..519 new
      const counts = await bulkUpsert(sql, mixed);
      assert.deepEqual([counts.inserted, counts.updated], [20, 0]);
      const odd = 'SELL\tx\\y\nz\r';
      const liq = { table: 'liquidations' as const, keys: { symbol: 'XRPUSDT' }, time: [T0, T0 + 1], values: { side: [odd, 'BUY'], price: [1.5, 1.6], qty: [10, 20], status: ['FILLED', null] }, source: 'te\tst' };
      assert.equal((await bulkUpsert(sql, liq)).inserted, 2);
      assert.deepEqual([(await bulkUpsert(sql, liq)).inserted, (await bulkUpsert(sql, liq)).updated], [0, 0], 'the same text rows again write nothing');
      const rows = await sql.query<{ side: string; status: string | null; source: string }>("SELECT side, status, source FROM liquidations WHERE symbol = 'XRPUSDT' ORDER BY time");
      assert.deepEqual(rows, [{ side: odd, status: 'FILLED', source: 'te\tst' }, { side: 'BUY', status: null, source: 'te\tst' }]);
      const [{ trades }] = await sql.query<{ trades: string }>("SELECT trades::text AS trades FROM ohlcv WHERE symbol = 'XRPUSDT' AND time = to_timestamp($1 / 1000.0)", [T0 + 519 * FIVE_MIN]);
      assert.equal(trades, '42');
      // Halves round to even on every path (PostgreSQL's float8 → int8 cast), so a re-write is no change.
      const halves = candles(4, 600);
      halves.values.trades = [2.5, 3.5, -2.5, 7];
      assert.equal((await bulkUpsert(sql, halves)).inserted, 4);
      const stored = await sql.query<{ trades: string }>("SELECT trades::text AS trades FROM ohlcv WHERE symbol = 'XRPUSDT' AND time >= to_timestamp($1 / 1000.0) ORDER BY time", [T0 + 600 * FIVE_MIN]);
      assert.deepEqual(stored.map((r) => r.trades), ['2', '4', '-2', '7']);
      assert.deepEqual(Object.values(await bulkUpsert(sql, halves)), [0, 0, 0]);
      // Times with fractions of a millisecond land on the same instant whichever path wrote them.
      const t = T0 + 0.25;
      const first = await bulkUpsert(sql, { table: 'funding_rate', keys: { symbol: 'FRACUSDT' }, time: [t, t + 1000.5], values: { funding_rate: [0.0001, 0.0002] }, source: 'test' });
      assert.equal(first.inserted, 2);
      const again = await bulkUpsert(sql, { table: 'funding_rate', keys: { symbol: 'FRACUSDT' }, time: [t, t + 1000.5], values: { funding_rate: [0.0001, 0.0002] }, source: 'test' });
      assert.deepEqual([again.inserted, again.updated], [0, 0], 'the same fractional times again are the same rows');
      const times = await sql.query<{ t: number }>("SELECT (extract(epoch FROM time) * 1000)::float8 AS t FROM funding_rate WHERE symbol = 'FRACUSDT' ORDER BY time");
      assert.deepEqual(times.map((r) => Number(r.t)), [t, t + 1000.5], 'stored to the microsecond, as to_timestamp keeps them');
    });

    it('duplicate rows inside one batch are collapsed, last one wins', async () => {
      const batch = candles(2, 2000);
      batch.time.push(batch.time[1]);
      for (const key of Object.keys(batch.values) as Array<keyof typeof batch.values>) {
        batch.values[key] = [...batch.values[key], key === 'close' ? 7.77 : batch.values[key][1]];
      }
      const result = await bulkUpsert(sql, batch);
      assert.deepEqual([result.inserted, result.duplicatesInBatch], [2, 1]);
      const [{ close }] = await sql.query<{ close: number }>('SELECT close FROM ohlcv WHERE time = to_timestamp($1 / 1000.0)', [batch.time[1]]);
      assert.equal(close, 7.77);
    });

    it('a failing statement inside a transaction leaves no rows behind', async () => {
      await assert.rejects(
        sql.transaction(async (tx) => {
          await bulkUpsert(tx, candles(10, 5000));
          throw new Error('boom');
        }),
        /boom/,
      );
      const [{ n }] = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM ohlcv WHERE time >= to_timestamp($1 / 1000.0)', [T0 + 5000 * FIVE_MIN]);
      assert.equal(n, 0);
    });
  });
}

for (const engine of await testEngines()) {
  describe(`bulk upsert merging on ${engine.name}`, () => {
    it('a later batch without a column, or with NULL in it, never erases a stored value', async () => {
      const sql = await engine.open();
      try {
        const time = [Date.UTC(2024, 0, 1, 8)];
        await bulkUpsert(sql, { table: 'funding_rate', keys: { symbol: 'SOLUSDT' }, time, values: { funding_rate: [0.0001], mark_price: [101.5] }, source: 'stream' });
        const again = await bulkUpsert(sql, { table: 'funding_rate', keys: { symbol: 'SOLUSDT' }, time, values: { funding_rate: [0.0001], mark_price: [null] }, source: 'archive' });
        assert.deepEqual([again.inserted, again.updated], [0, 0]);
        await bulkUpsert(sql, { table: 'funding_rate', keys: { symbol: 'SOLUSDT' }, time, values: { funding_rate: [0.0002] }, source: 'archive' });
        const [row] = await sql.query<{ f: number; m: number }>("SELECT funding_rate AS f, mark_price AS m FROM funding_rate WHERE symbol = 'SOLUSDT'");
        assert.deepEqual(row, { f: 0.0002, m: 101.5 });
      } finally {
        await sql.close();
      }
    });
  });
}
