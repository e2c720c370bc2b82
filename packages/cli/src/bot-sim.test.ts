import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dropPostgres, freshPostgresUrl } from '@oitrader/live/testing';
import { BAR_MS, SimBotHarness } from './testing/sim-bot-harness.ts';

const DAY_MS = 86_400_000;
/** A real week of SOLUSDT (2025-12-01 … 12-08) on which the default limits' daily loss fires (paper replay: Dec 1, 3, 4, 6). */
const WEEK_START = Date.UTC(2025, 11, 1);
const WEEK_END = WEEK_START + Number(process.env.SIMWEEK_DAYS ?? 7) * DAY_MS;

/**
 * The bot over the wire: `oitrader bot run` in sim mode trades the trading
 * simulator replaying a real week, stepped as fast as the bot commits.
 */
describe('oitrader bot run, trading.mode sim: a replayed real week against the trading simulator', () => {
  let dir: string;
  let h: SimBotHarness;
  let url: string | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oitrader-botsim-'));
    // PostgreSQL as the guide deploys it (CI has it); the embedded engine's own bot runs are in bot.test.ts.
    url = await freshPostgresUrl();
    h = await SimBotHarness.start(dir, WEEK_START, WEEK_END, url);
  });
  after(async () => {
    await h?.close();
    if (url) await dropPostgres(url);
    rmSync(dir, { recursive: true, force: true });
  });

  it('every position has its stop at every candle, the daily limit fires and holds, and the stored trades are the simulator\'s fills', async () => {
    h.spawnBot('wk', ['--from', new Date(WEEK_START).toISOString()]);
    for (let t = WEEK_START; t < WEEK_END; t += BAR_MS) {
      assert.ok(await h.step('wk', t), `the bot stopped at ${new Date(t).toISOString()}:\n${h.output.slice(-3000)}`);
    }
    const stopped = await h.stopBot();
    assert.equal(stopped.code, 0, h.output.slice(-2000));
    assert.match(h.output, /exchange http:\/\/127\.0\.0\.1:\d+ \(sim\).*SOLUSDT ISOLATED 5x/, 'the bot prints the account, symbol and leverage before its first order');

    assert.deepEqual(h.unprotected, [], 'a position was open at a candle the exchange matched without its stop');
    const fills = await h.store.fills('wk');
    assert.ok(fills.length >= 10, `the bot should trade a real week with sma-trend, made ${fills.length} fills`);
    const key = (x: { side: string; qtyBase: number; priceUsd: number }) => `${x.side} ${x.qtyBase.toFixed(3)} @ ${x.priceUsd.toFixed(4)}`;
    assert.deepEqual(fills.map(key), h.trades.map(key), 'the trades the bot stored differ from the fills the exchange made');
    fills.forEach((f, i) => assert.ok(Math.abs(f.feeUsd - h.trades[i].feeUsd) < 1e-6, `fill ${i}: stored fee ${f.feeUsd}, the exchange charged ${h.trades[i].feeUsd}`));

    const orders = await h.store.orders('wk');
    const entries = orders.filter((o) => o.intent === 'entry');
    for (const e of entries.filter((o) => o.status === 'FILLED')) {
      assert.ok(orders.some((o) => o.intent === 'stop' && o.candleTimeMs === e.candleTimeMs), `the entry ${e.clientOrderId} has no stop order of its own`);
    }
    const limits = (await h.store.riskEvents('wk')).filter((e) => e.kind === 'daily_loss');
    assert.ok(limits.length >= 1, 'the replayed week crosses the 3 % daily loss limit at least once');
    for (const hit of limits) {
      const nextDay = Math.floor(hit.timeMs / DAY_MS) * DAY_MS + DAY_MS;
      const late = entries.filter((o) => o.candleTimeMs + BAR_MS > hit.timeMs && o.candleTimeMs + BAR_MS < nextDay);
      assert.deepEqual(late.map((o) => o.clientOrderId), [], `entries after the daily limit fired at ${new Date(hit.timeMs).toISOString()} and before the next UTC day`);
      const position = (await h.store.sql.query<{ q: number }>(`SELECT qty_base::float8 AS q FROM bot_equity WHERE bot = 'wk' AND time = to_timestamp($1 / 1000.0)`, [hit.timeMs + BAR_MS]))[0];
      assert.equal(Number(position?.q ?? 0), 0, `the position was not flattened one candle after the daily limit fired at ${new Date(hit.timeMs).toISOString()}`);
    }

    const exchange = h.sim.trading.engine.positionRisk('SOLUSDT', h.sim.clock.now())[0] as { positionAmt: string } | undefined;
    const stored = await h.store.position('wk', 'SOLUSDT');
    assert.equal(stored?.qtyBase ?? 0, Number(exchange?.positionAmt ?? 0), 'the bot\'s stored position differs from the exchange\'s');
  });
});

/** Half a real day (2025-12-01 00:00–12:00): sma-trend enters several times in it (the crash points need orders). */
const SPAN_START = Date.UTC(2025, 11, 1);
const SPAN_END = SPAN_START + DAY_MS / 2;

interface CrashCase {
  name: string;
  /** OITRADER_BOT_CRASH_AT for the first run, or the simulator fault that makes the harness kill the bot. */
  env?: string;
  afterAcceptedBeforeReply?: boolean;
}

/**
 * The SIGKILL contract over the wire: the real CLI trading the simulator is
 * killed at each step of an order's life, restarted, and must end with no
 * duplicate position, a stop on every position at every candle, and its
 * record equal to the exchange's.
 */
describe('oitrader bot run, trading.mode sim: kill -9 at every step of the order lifecycle', () => {
  const cases: CrashCase[] = [
    { name: 'before send (decided, nothing sent)', env: 'after-decide:2:orders' },
    { name: 'after send, before the reply (the exchange accepted, the answer never came)', afterAcceptedBeforeReply: true },
    { name: 'after the entry filled, before its stop was placed', env: 'after-entry-fill:1' },
    { name: 'between the stop and the commit to the database', env: 'after-send:2:orders' },
    { name: 'after the commit', env: 'after-persist:3:orders' },
  ];
  for (const c of cases) {
    it(`killed ${c.name}: after the restart no duplicate position, a stop on every position, the record equals the exchange`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'oitrader-botkill-'));
      const url = await freshPostgresUrl();
      const h = await SimBotHarness.start(dir, SPAN_START, SPAN_END, url);
      try {
        if (c.afterAcceptedBeforeReply) h.sim.faults.trading.timeoutAfterAccept = 1;
        h.spawnBot('kb', ['--from', new Date(SPAN_START).toISOString()], c.env ? { OITRADER_BOT_CRASH_AT: c.env } : {});
        let killed = false;
        let restarts = 0;
        // The order is on the exchange and its answer hangs: kill the bot while it waits.
        if (c.afterAcceptedBeforeReply) void waitThenKill(h, () => h.sim.faults.trading.timeoutAfterAccept === 0);
        for (let t = SPAN_START; t < SPAN_END; t += BAR_MS) {
          while (!(await h.step('kb', t))) {
            const ended = await h.exited();
            assert.equal(ended.signal, 'SIGKILL', `the bot ended without the planned SIGKILL: ${h.output.slice(-2000)}`);
            assert.ok(restarts++ === 0, 'the bot was killed twice');
            killed = true;
            h.spawnBot('kb');
          }
        }
        assert.ok(killed && restarts === 1, `the crash point was never reached in half a day (${c.env ?? 'fault'})`);
        const restartedOutput = h.output;
        assert.equal((await h.stopBot()).code, 0, restartedOutput.slice(-2000));
        assert.match(restartedOutput, /reconciled: replayed \d+ candles/, 'the restarted bot must rebuild itself from its record');

        assert.deepEqual(h.unprotected, [], 'a position was open at a candle the exchange matched without a stop');
        const orders = await h.store.orders('kb');
        const entries = orders.filter((o) => o.intent === 'entry');
        assert.equal(new Set(entries.map((o) => o.candleTimeMs)).size, entries.length, 'two entries for one candle: a decision was sent twice');
        const entryTrades = h.trades.filter((t) => /-e-/.test(t.clientOrderId)).map((t) => t.clientOrderId);
        assert.equal(new Set(entryTrades).size, entryTrades.length, `an entry filled twice on the exchange: ${entryTrades.join(', ')}`);
        const fills = await h.store.fills('kb');
        const key = (x: { side: string; qtyBase: number; priceUsd: number }) => `${x.side} ${x.qtyBase.toFixed(3)} @ ${x.priceUsd.toFixed(4)}`;
        assert.deepEqual(fills.map(key), h.trades.map(key), 'the stored trades differ from the exchange\'s fills after the restart');
        const exchange = Number(h.sim.trading.engine.positionRisk('SOLUSDT', h.sim.clock.now())[0]?.positionAmt ?? 0);
        assert.equal((await h.store.position('kb', 'SOLUSDT'))?.qtyBase ?? 0, exchange, 'the stored position differs from the exchange\'s');
      } finally {
        await h.close();
        if (url) await dropPostgres(url);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

async function waitThenKill(h: SimBotHarness, condition: () => boolean): Promise<void> {
  while (h.running && !condition()) await new Promise((r) => setTimeout(r, 2));
  // Give the hung request a moment to be the one in flight, then kill the process mid-wait.
  await new Promise((r) => setTimeout(r, 50));
  if (h.running) h.child!.kill('SIGKILL');
}
