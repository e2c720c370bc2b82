import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '@oitrader/core';
import { loadReplayDataset, SimClock, SimServer } from '@oitrader/sim';
import { SAMPLE_ARCHIVE } from '../testing/archive-fixtures.ts';
import { testEngines } from '../testing/test-engines.ts';
import { Collector, type CollectorOptions } from './collector.ts';

const SYMBOL = 'XRPUSDT';

for (const engine of await testEngines()) {
  describe(`reliability: the collector repairs holes inside stored history (issue 18 item 2, ${engine.name})`, () => {
    it('after two stored candles are deleted, the next collector start fetches exactly those two again by REST', async () => {
      const ds = await loadReplayDataset(SAMPLE_ARCHIVE, SYMBOL);
      const source = ds.klines.get('5m')!;
      const sim = await SimServer.start({ datasets: [ds], clock: new SimClock(source[0].openTime + 86_400_000) });
      const sql = await engine.open();
      const options: CollectorOptions = {
        sql,
        restUrl: sim.restUrl,
        wsUrl: sim.wsUrl,
        symbols: [SYMBOL],
        timeframes: ['5m'],
        oiPeriods: ['5m'],
        startMs: source[0].openTime,
        closeGraceMs: 60_000,
        rest: { backoffBaseMs: 10, backoffMaxMs: 50 },
        log: silentLogger,
      };
      try {
        const first = new Collector(options);
        await first.start();
        await first.stop();
        const stored = async () =>
          (await sql.query<{ t: number; c: number }>("SELECT (extract(epoch FROM time) * 1000)::float8 AS t, close AS c FROM ohlcv WHERE symbol = $1 AND timeframe = '5m' ORDER BY time", [SYMBOL])).map((r) => [Number(r.t), Number(r.c)]);
        const complete = await stored();
        assert.ok(complete.length > 280, `the first run stored a day of candles (${complete.length})`);
        const lost = [source[100].openTime, source[101].openTime];
        await sql.query("DELETE FROM ohlcv WHERE symbol = $1 AND timeframe = '5m' AND time IN (to_timestamp($2 / 1000.0), to_timestamp($3 / 1000.0))", [SYMBOL, ...lost]);

        const second = new Collector(options);
        await second.start();
        await second.stop();
        assert.equal(second.stats.repairedCandles, 2, 'exactly the two lost candles must be fetched into the hole');
        assert.deepEqual(await stored(), complete, 'after the repair the table must equal what it was before the loss');
      } finally {
        await sim.close();
        await sql.close();
      }
    });
  });
}

describe('reliability: the collector refuses symbols the exchange does not list (issue 18 item 15)', () => {
  it('a well-formed but unknown symbol stops the start with a one-line error instead of retrying -1121 forever', async () => {
    const ds = await loadReplayDataset(SAMPLE_ARCHIVE, SYMBOL);
    const sim = await SimServer.start({ datasets: [ds], clock: new SimClock(ds.klines.get('5m')![0].openTime + 86_400_000) });
    const [engine] = await testEngines();
    const sql = await engine.open();
    const collector = new Collector({ sql, restUrl: sim.restUrl, wsUrl: sim.wsUrl, symbols: [SYMBOL, 'NOSUCHUSDT'], timeframes: ['5m'], oiPeriods: ['5m'], startMs: ds.klines.get('5m')![0].openTime, log: silentLogger });
    try {
      await assert.rejects(collector.start(), /the exchange does not list NOSUCHUSDT/);
      assert.equal(sim.stats.requestsByPath['/fapi/v1/klines'] ?? 0, 0, 'nothing may be backfilled for a configuration with an unknown symbol');
    } finally {
      await collector.stop();
      await sim.close();
      await sql.close();
    }
  });
});
