import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { dropPostgres, freshPostgresUrl } from '@oitrader/live/testing';
import { BAR_MS, SimBotHarness } from './testing/sim-bot-harness.ts';

const DAY_MS = 86_400_000;
/** A fill as the bot stored it or the simulator made it: side, quantity and price at the exchange's precision. */
const key = (x: { side: string; qtyBase: number; priceUsd: number }) => `${x.side} ${x.qtyBase.toFixed(3)} @ ${x.priceUsd.toFixed(4)}`;
const BIN = fileURLToPath(new URL('../bin/oitrader.mjs', import.meta.url));
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

  it('every position has its stop at every candle, the daily limit fires and holds, and the stored trades are the simulator\'s fills', async (t) => {
    const started = Date.now();
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
    const equity = await h.store.latestEquity('wk');
    t.diagnostic(
      `${(WEEK_END - WEEK_START) / BAR_MS} candles in ${((Date.now() - started) / 1000).toFixed(0)} s: ${fills.length} fills, ${entries.length} entries, ` +
        `${limits.length} daily-limit halts (${limits.map((l) => new Date(l.timeMs).toISOString().slice(5, 16)).join(', ')}), equity ${equity?.equityUsd.toFixed(2)} USDT`,
    );
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

/**
 * An overloaded exchange: every MARKET order is acknowledged NEW and fills 100 minutes of market time later
 * (20 candles; the simulator's clock stands still while the bot watches a fill within its step, so the fill only
 * comes with a later candle). The bot must not enter again while its entry rests, hold the stop back until the
 * fill, and store the exchange's fills.
 */
describe('oitrader bot run, trading.mode sim: fills delayed past the candle', () => {
  it('one entry at a time, its stop placed at the fill, the position never above one entry\'s size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-botdelay-'));
    const url = await freshPostgresUrl();
    const h = await SimBotHarness.start(dir, SPAN_START, SPAN_END, url);
    try {
      h.sim.faults.trading.fillDelayMarketMs = 20 * BAR_MS;
      const yaml = `bot:\n  name: dl\n  collector: external\n  kill_file: ${join(dir, 'dl.KILL')}\n  unfilled_entry_timeout_candles: 200\ntrading:\n  mode: sim\n  symbol: SOLUSDT\n`;
      h.spawnBot('dl', ['--from', new Date(SPAN_START).toISOString()], {}, yaml);
      for (let t = SPAN_START; t < SPAN_END; t += BAR_MS) {
        assert.ok(await h.step('dl', t), `the bot stopped at ${new Date(t).toISOString()}:\n${h.output.slice(-3000)}`);
      }
      assert.equal((await h.stopBot()).code, 0, h.output.slice(-2000));

      const orders = await h.store.orders('dl');
      const entries = orders.filter((o) => o.intent === 'entry');
      assert.ok(entries.length >= 2, `sma-trend enters several times in half a day, sent ${entries.length} entries`);
      let position = 0;
      const largestEntry = Math.max(...entries.map((o) => o.qtyBase));
      for (const trade of h.trades) {
        position += trade.side === 'buy' ? trade.qtyBase : -trade.qtyBase;
        assert.ok(Math.abs(position) <= largestEntry + 1e-9, `the exchange position reached ${position} SOLUSDT, above one entry (${largestEntry}): entries stacked`);
      }
      const refused = await h.store.sql.query("SELECT 1 FROM bot_decisions WHERE bot = 'dl' AND NOT allowed AND detail->>'code' = 'entry_resting'");
      assert.ok(refused.length > 0, 'while an entry rested the strategy wanted in again; the entry_resting rule must have refused it');
      for (const e of entries.filter((o) => o.status === 'FILLED')) {
        const stop = orders.find((o) => o.intent === 'stop' && o.candleTimeMs === e.candleTimeMs);
        assert.ok(stop && stop.status !== 'PENDING', `the entry ${e.clientOrderId} filled but its stop ${stop?.clientOrderId} was never placed (${stop?.status})`);
      }
      // The clock stands still once the last candle is stepped: nothing fills after the bot's last look, and every
      // exchange fill is stored, the position to the last step.
      assert.deepEqual((await h.store.fills('dl')).map(key), h.trades.map(key), 'the stored trades differ from the exchange\'s delayed fills');
      const exchange = Number(h.sim.trading.engine.positionRisk('SOLUSDT', h.sim.clock.now())[0]?.positionAmt ?? 0);
      assert.equal((await h.store.position('dl', 'SOLUSDT'))?.qtyBase ?? 0, exchange, 'the stored position differs from the exchange\'s');
    } finally {
      await h.close();
      if (url) await dropPostgres(url);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function waitThenKill(h: SimBotHarness, condition: () => boolean): Promise<void> {
  while (h.running && !condition()) await new Promise((r) => setTimeout(r, 2));
  // Give the hung request a moment to be the one in flight, then kill the process mid-wait.
  await new Promise((r) => setTimeout(r, 50));
  if (h.running) h.child!.kill('SIGKILL');
}

describe('oitrader bot run against a free-running simulator, with its own collector', () => {
  it('collects the candles in its own process, decides only on candles closed on the exchange\'s clock, and stores the exchange\'s fills', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-botcol-'));
    const url = await freshPostgresUrl();
    const start = Date.UTC(2025, 11, 1, 4);
    // 600×: a 5m candle every 0.5 s of real time; nothing imported, the bot's collector backfills and streams.
    const h = await SimBotHarness.start(dir, start, start, url, { speed: 600 });
    try {
      const yaml =
        `bot:\n  name: co\n  collector: auto\n  kill_file: ${join(dir, 'co.KILL')}\n` +
        `trading:\n  mode: sim\n  symbol: SOLUSDT\n` +
        `data:\n  symbols: [SOLUSDT]\n  timeframes: [5m]\n  oi_periods: [5m]\n  start_date: '2025-11-30'\n  archive:\n    enabled: false\n` +
        `collector:\n  poll_delay_seconds: 0\n  close_grace_seconds: 0.5\n`;
      h.spawnBot('co', [], {}, yaml);
      // Until the bot has decided on 20 candles it collected (about 10 s of market at 600× after the backfill), at most 60 s.
      const decided = async () => Number((await h.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM bot_decisions WHERE bot = 'co'`))[0].n);
      for (const deadline = Date.now() + 60_000; (await decided()) < 20 && Date.now() < deadline && h.running; ) await new Promise((r) => setTimeout(r, 250));
      const ended = await h.stopBot();
      assert.equal(ended.code, 0, h.output.slice(-2000));
      assert.match(h.output, /collecting SOLUSDT in this process \(bot\.collector: auto\)/);
      const decisions = await h.sql.query<{ t: number; now_ms: number }>(
        `SELECT (extract(epoch FROM candle_time) * 1000)::float8 AS t, (detail->>'nowMs')::float8 AS now_ms FROM bot_decisions WHERE bot = 'co' ORDER BY candle_time`,
      );
      assert.ok(decisions.length >= 20, `the bot should decide on every candle the collector stored (20 within 60 s at 600×), decided ${decisions.length}`);
      for (const d of decisions) assert.ok(Number(d.now_ms) >= Number(d.t) + BAR_MS, `the decision on the candle at ${new Date(Number(d.t)).toISOString()} was made before it closed on the exchange's clock`);
      const stored = await h.sql.query<{ t: number; c: number }>(`SELECT (extract(epoch FROM time) * 1000)::float8 AS t, close::float8 AS c FROM ohlcv WHERE symbol = 'SOLUSDT' AND timeframe = '5m' ORDER BY time`);
      const source = new Map(h.sim.dataset('SOLUSDT')!.klines.get('5m')!.map((k) => [k.openTime, k.close]));
      assert.ok(stored.length > decisions.length, 'the collector backfilled the history before the session and streamed the session');
      for (const r of stored) assert.equal(Number(r.c), source.get(Number(r.t)), `stored candle ${new Date(Number(r.t)).toISOString()} differs from the exchange's`);
      const fills = await h.store.fills('co');
      assert.deepEqual(fills.map(key), h.trades.map(key), 'the stored trades differ from the exchange\'s fills');
    } finally {
      await h.close();
      if (url) await dropPostgres(url);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('oitrader bot run, demo and sim endpoints and keys', () => {
  const KEY = 'demoK3yNeverPrint7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3';
  const SECRET = 'demoS3cretNeverPrint1f2e3d4c5b6a7980a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5';

  it('demo mode trades with the keys from the environment and prints its account, but no key or secret reaches the output or the log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-botdemo-'));
    const url = await freshPostgresUrl();
    // The simulator stands in for demo-fapi.binance.com (binance.trade_rest_url), with the user's own demo keys.
    const h = await SimBotHarness.start(dir, SPAN_START, SPAN_START + DAY_MS / 4, url, { trading: { apiKey: KEY, secret: SECRET } });
    try {
      const log = join(dir, 'bot.log');
      const yaml = `bot:\n  name: dm\n  collector: external\n  kill_file: ${join(dir, 'dm.KILL')}\ntrading:\n  mode: demo\n  symbol: SOLUSDT\n`;
      h.spawnBot('dm', ['--for', '4', '--log-file', log], { BINANCE_API_KEY: KEY, BINANCE_SECRET: SECRET }, yaml);
      const ended = await h.exited();
      assert.equal(ended.code, 0, h.output.slice(-2000));
      assert.match(h.output, /exchange http:\/\/127\.0\.0\.1:\d+ \(demo\): hmac-sha256 key.*SOLUSDT ISOLATED 5x/, 'demo mode prints the account, symbol and leverage before trading');
      const written = readFileSync(log, 'utf8');
      for (const text of [h.output, written]) assert.ok(!text.includes(KEY) && !text.includes(SECRET), `a key or secret reached the output or log: ${text.slice(0, 400)}`);
    } finally {
      await h.close();
      if (url) await dropPostgres(url);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a demo bot pointed at the real exchange or over plain HTTP, demo or live without keys, and a sim bot pointed away from this machine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-botrefuse-'));
    try {
      const cases: Array<[string, Record<string, string>, RegExp]> = [
        ['binance:\n  trade_rest_url: https://fapi.binance.com\ntrading:\n  mode: demo\n', { BINANCE_API_KEY: KEY, BINANCE_SECRET: SECRET }, /demo must not send orders to the real exchange/],
        ['trading:\n  mode: demo\n', { BINANCE_API_KEY: '', BINANCE_SECRET: '' }, /needs an API key and secret/],
        ['binance:\n  trade_rest_url: http://demo-fapi.binance.com\ntrading:\n  mode: demo\n', { BINANCE_API_KEY: KEY, BINANCE_SECRET: SECRET }, /sends the API key with every request, but http:\/\/demo-fapi\.binance\.com is plain HTTP/],
        ['binance:\n  rest_url: http://10.1.2.3:8090\ntrading:\n  mode: sim\n', {}, /trades only with a simulator on this machine/],
        ['trading:\n  mode: sim\n', {}, /needs the simulator's address in binance\.rest_url/],
      ];
      for (const [yaml, env, expected] of cases) {
        const file = join(dir, 'c.yaml');
        writeFileSync(file, `database:\n  embedded_path: ${join(dir, 'db')}\nbot:\n  kill_file: ${join(dir, 'KILL')}\n${yaml}`);
        const r = spawnSync(process.execPath, [BIN, '--config', file, 'bot', 'run', '--for', '1'], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '', ...env } });
        assert.equal(r.status, 2, `${yaml}: ${r.stdout}${r.stderr}`);
        assert.match(`${r.stdout}${r.stderr}`, expected);
        assert.ok(!`${r.stdout}${r.stderr}`.includes(SECRET), 'the secret reached the output');
        assert.ok(!existsSync(join(dir, 'db')), `${yaml}: a refused configuration must not make a database`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
