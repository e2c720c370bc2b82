import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runBacktest, smaTrend } from '@oitrader/backtest';
import { DEFAULT_RISK_LIMITS, type Strategy } from '@oitrader/trading';
import { silentLogger } from '@oitrader/core';
import { MarketDataLoader, type SqlExecutor } from '@oitrader/data';
import { BotStore } from '../state/bot-store.ts';
import { botTestEngines } from '../testing/engines.ts';
import { importSample, SAMPLE_SYMBOL, sampleSpan } from '../testing/sample-store.ts';
import { TradingBot, type TradingBotOptions } from './trading-bot.ts';

const BAR = 300_000;
const RISK = { ...DEFAULT_RISK_LIMITS, maxDailyLoss: 0.03, maxDrawdown: 0.5 };
const EXECUTION = { initialBalanceUsd: 2000, leverage: 5 };

function makeBot(sql: SqlExecutor, overrides: Partial<TradingBotOptions> & { strategy?: Strategy } = {}): TradingBot {
  const { strategy = smaTrend(), ...rest } = overrides;
  return new TradingBot({
    bot: 'tst',
    instruments: [{ symbol: SAMPLE_SYMBOL, strategy }],
    timeframe: '5m',
    mode: 'paper',
    risk: RISK,
    stopLoss: 0.01,
    execution: EXECUTION,
    store: new BotStore(sql),
    loader: new MarketDataLoader(sql, silentLogger),
    ...rest,
  });
}

const fillKey = (f: { timeMs: number; side: string; qtyBase: number; priceUsd: number; feeUsd: number }) =>
  `${new Date(f.timeMs).toISOString()} ${f.side} ${f.qtyBase} @ ${f.priceUsd.toFixed(10)} fee ${f.feeUsd.toFixed(10)}`;

for (const engine of await botTestEngines()) {
  describe(`paper trading bot on ${engine.name}, real SOLUSDT sample`, () => {
    let sql: SqlExecutor;
    let span: { firstMs: number; lastMs: number };
    before(async () => {
      sql = await engine.open();
      await importSample(sql);
      span = await sampleSpan(sql);
    });
    after(async () => sql.close());

    it('paper mode replaying the span makes exactly the trades the backtester makes with the same strategy', async () => {
      await sql.query("DELETE FROM bot_control WHERE bot = 'tst'");
      const bot = makeBot(sql);
      await bot.start(span.firstMs);
      // Candles arrive in uneven batches, as a live loop that wakes late would see them.
      let t = span.firstMs + 17 * BAR;
      let k = 1;
      while (t < span.lastMs) {
        await bot.stepThrough(t);
        t = Math.min(span.lastMs, t + (k++ % 13) * 7 * BAR + BAR);
      }
      await bot.stepThrough(span.lastMs);
      const frame = await new MarketDataLoader(sql, silentLogger).loadAllData(SAMPLE_SYMBOL, '5m', span.firstMs, span.lastMs + BAR);
      const backtest = runBacktest(frame, smaTrend(), { ...EXECUTION, closeAtEnd: false, risk: { limits: RISK, stopLoss: 0.01 } });
      const stored = await new BotStore(sql).fills('tst');
      assert.ok(backtest.fills.length > 10, `the backtest should trade on a real week, made ${backtest.fills.length} fills`);
      assert.deepEqual(stored.map(fillKey), backtest.fills.map(fillKey), 'paper fills differ from the backtester on the same candles and strategy');
      const position = await new BotStore(sql).position('tst', SAMPLE_SYMBOL);
      assert.equal(position?.qtyBase, backtest.position[backtest.position.length - 1], 'the paper position at the end differs from the backtest');
      // Funding: one stored row per settlement the position was held over, the same money the backtester charged.
      const funding = await new BotStore(sql).funding('tst');
      assert.ok(funding.length > 0, 'a week of sma-trend holds positions over 8-hourly settlements; no funding was stored');
      const income = funding.reduce((sum, f) => sum + f.incomeUsd, 0);
      assert.ok(Math.abs(income + backtest.fundingUsd) < 1e-9, `stored funding income ${income} USDT differs from the backtester's funding paid ${backtest.fundingUsd} USDT`);
      const equity = await sql.query<{ t: number; q: number }>("SELECT (extract(epoch FROM time) * 1000)::float8 AS t, qty_base AS q FROM bot_equity WHERE bot = 'tst'");
      const heldAt = new Map(equity.map((r) => [Number(r.t), Number(r.q)]));
      for (const f of funding) {
        assert.equal(f.timeMs % (8 * 3_600_000), 0, `funding stored at ${new Date(f.timeMs).toISOString()}, not a settlement time`);
        assert.equal(f.qtyBase, heldAt.get(f.timeMs), `funding at ${new Date(f.timeMs).toISOString()} charged on ${f.qtyBase}, but the position carried into it was ${heldAt.get(f.timeMs)}`);
        assert.ok(Math.abs(f.incomeUsd + f.qtyBase * f.markPriceUsd * f.rate) < 1e-9, 'a long pays (income < 0) when the rate is positive');
      }
    });

    it('every fill that opens a position has its stop resting from the same candle', async () => {
      const store = new BotStore(sql);
      const orders = await store.orders('tst');
      const entries = orders.filter((o) => o.intent === 'entry' && o.status === 'FILLED');
      assert.ok(entries.length > 0);
      for (const entry of entries) {
        const stop = orders.find((o) => o.intent === 'stop' && o.candleTimeMs === entry.candleTimeMs);
        assert.ok(stop, `entry ${entry.clientOrderId} has no stop sent with it`);
        assert.equal(stop.qtyBase, entry.qtyBase, 'the stop must cover the whole position');
        assert.equal(stop.side, entry.side === 'buy' ? 'sell' : 'buy', 'the stop must close, not add');
        assert.ok(stop.reduceOnly, 'a stop that could open a position is not a stop');
      }
      const decisions = await store.decisionCount('tst');
      const { firstMs, lastMs } = span;
      assert.equal(decisions, (lastMs - firstMs) / BAR + 1, 'one decision row per closed candle');
    });

    it('a restart rebuilds the same state from the database and goes on as if it had never stopped', async () => {
      await sql.query("DELETE FROM bot_control WHERE bot = 'rst'");
      const reference = (await new BotStore(sql).fills('tst')).map(fillKey);
      const mid = span.firstMs + Math.floor((span.lastMs - span.firstMs) / BAR / 2) * BAR;
      const first = makeBot(sql, { bot: 'rst' });
      await first.start(span.firstMs);
      await first.stepThrough(mid);
      // The process is gone; a new one starts from the database alone.
      const second = makeBot(sql, { bot: 'rst' });
      const report = await second.start(span.firstMs);
      assert.deepEqual(report.differences, [], 'the replay must rebuild exactly what was stored');
      assert.equal(second.lastCandleMs, mid);
      await second.stepThrough(span.lastMs);
      const fills = (await new BotStore(sql).fills('rst')).map(fillKey);
      assert.deepEqual(fills, reference, 'a restarted bot traded differently from one that ran straight through');
    });

    it('the daily loss limit fires when the replay crosses it, is stored, and the book stays flat until the next UTC day', async () => {
      await sql.query("DELETE FROM bot_control WHERE bot = 'dly'");
      const bot = makeBot(sql, { bot: 'dly', risk: { ...RISK, maxDailyLoss: 0.004 } });
      await bot.start(span.firstMs);
      await bot.stepThrough(span.firstMs + 3 * 86_400_000 - BAR);
      const store = new BotStore(sql);
      const fired = (await store.riskEvents('dly')).filter((e) => e.kind === 'daily_loss');
      assert.ok(fired.length > 0, 'a 0.4% daily limit must fire in three real days of sma-trend trading');
      const equity = await sql.query<{ t: number; q: number }>("SELECT (extract(epoch FROM time) * 1000)::float8 AS t, qty_base AS q FROM bot_equity WHERE bot = 'dly' ORDER BY time");
      for (const e of fired) {
        const dayEnd = Math.floor(e.timeMs / 86_400_000) * 86_400_000 + 86_400_000;
        // The flatten decided at this close fills at the next candle's open: flat from that candle's close on.
        const open = equity.filter((r) => r.t >= e.timeMs + BAR && r.t <= dayEnd && r.q !== 0);
        assert.deepEqual(open, [], `positions held after the daily limit fired at ${new Date(e.timeMs).toISOString()}`);
      }
    });

    it('stop-entries keeps the open position and its stop, survives a restart, and nothing enters until resume', async () => {
      await sql.query("DELETE FROM bot_control WHERE bot = 'stp'");
      const store = new BotStore(sql);
      const reference = await store.fills('tst');
      // Step until a position is open, then stop entries.
      const first = makeBot(sql, { bot: 'stp' });
      await first.start(span.firstMs);
      let t = span.firstMs + 60 * BAR;
      await first.stepThrough(t);
      while ((await store.position('stp', SAMPLE_SYMBOL))?.qtyBase === 0) await first.stepThrough((t += BAR));
      const held = (await store.position('stp', SAMPLE_SYMBOL))!;
      assert.ok(await store.stopEntries('stp', 'test'));
      await first.stepThrough((t += BAR));
      const stoppedAt = t;
      const after = (await store.position('stp', SAMPLE_SYMBOL))!;
      assert.ok((await store.riskEvents('stp')).some((e) => e.kind === 'stop_entries' && e.timeMs === stoppedAt + BAR), 'stop-entries is recorded at the candle it took effect');
      if (after.qtyBase !== 0) {
        assert.equal(after.qtyBase, held.qtyBase, 'stop-entries must not close or shrink the open position');
        assert.ok(Number.isFinite(after.stopUsd), 'the open position lost its stop when entries were stopped');
      }
      // The process is gone; the replay must re-apply stop-entries from the recorded risk event.
      const second = makeBot(sql, { bot: 'stp' });
      const report = await second.start(span.firstMs);
      assert.deepEqual(report.differences, [], 'the replay with stop-entries must rebuild exactly what was stored');
      assert.ok(second.engine.state?.halts.some((h) => h.code === 'stop_entries'), 'stop-entries did not survive the restart');
      assert.equal(second.engine.tradingState(stoppedAt + BAR), 'REDUCING');
      const resumeAt = stoppedAt + 400 * BAR;
      await second.stepThrough(resumeAt);
      const fills = await store.fills('stp');
      const entries = (await store.orders('stp')).filter((o) => o.intent === 'entry' && o.candleTimeMs > stoppedAt);
      assert.deepEqual(entries, [], 'an entry was sent while entries were stopped');
      const referenceBefore = reference.filter((f) => f.timeMs <= stoppedAt + BAR).map(fillKey);
      assert.deepEqual(fills.filter((f) => f.timeMs <= stoppedAt + BAR).map(fillKey), referenceBefore, 'stop-entries changed what happened before it');
      const exit = fills.find((f) => f.timeMs > stoppedAt);
      assert.ok(exit, 'the position open at stop-entries never left (by its stop or the strategy exit)');
      assert.equal(fillKey(exit), fillKey(reference.find((f) => f.timeMs > stoppedAt)!), 'the open position must leave exactly as without stop-entries');
      assert.equal(reference.filter((f) => f.timeMs > stoppedAt && f.timeMs <= resumeAt).length > 1, true, 'the reference trades in that span, so a refused entry is visible');
      assert.ok(await store.resume('stp'));
      await second.stepThrough(resumeAt + 300 * BAR);
      assert.ok((await store.orders('stp')).some((o) => o.intent === 'entry' && o.candleTimeMs > resumeAt), 'after resume the bot enters again');
      assert.equal((await store.control('stp'))?.entriesStopped, false);
    });

    it('no entries while the data feed is unhealthy; exits still go; a restart replays the same refusals', async () => {
      await sql.query("DELETE FROM bot_control WHERE bot = 'hlt'");
      const reference = await new BotStore(sql).fills('tst');
      const firstEntry = reference[0].timeMs;
      // Healthy until the first entry is in, then the collector's stream goes silent for the rest of the span.
      let healthy = true;
      const bot = makeBot(sql, { bot: 'hlt', dataHealthy: async () => healthy });
      await bot.start(span.firstMs);
      await bot.stepThrough(firstEntry);
      healthy = false;
      await bot.stepThrough(span.lastMs);
      const store = new BotStore(sql);
      const entries = (await store.orders('hlt')).filter((o) => o.intent === 'entry');
      assert.equal(entries.length, 1, 'an entry was sent while the data feed was unhealthy');
      const refused = await sql.query<{ reason: string }>("SELECT reason FROM bot_decisions WHERE bot = 'hlt' AND action = 'enter' AND NOT allowed");
      assert.ok(refused.some((r) => /data feed unhealthy/.test(r.reason)), 'the refusal must say the data feed is unhealthy');
      const exits = (await store.fills('hlt')).filter((f) => f.timeMs > firstEntry);
      assert.ok(exits.length > 0, 'the open position must still be closed (by the strategy or its stop) while entries are blocked');
      const report = await makeBot(sql, { bot: 'hlt', dataHealthy: async () => true }).start(span.firstMs);
      assert.deepEqual(report.differences, [], 'the replay must make the same refusals as the live run (recorded with each decision)');
    });

    it('a new session looks back over warm-up candles before its start but decides only from its first candle on; a restart rebuilds it', async () => {
      await sql.query("DELETE FROM bot_control WHERE bot = 'wrm'");
      const start = span.firstMs + 200 * BAR;
      const warm = makeBot(sql, { bot: 'wrm', warmupBars: 200 });
      await warm.start(start);
      await warm.stepThrough(start + 60 * BAR);
      const decided = await sql.query<{ t: number }>("SELECT (extract(epoch FROM candle_time) * 1000)::float8 AS t FROM bot_decisions WHERE bot = 'wrm' ORDER BY candle_time");
      assert.equal(Number(decided[0].t), start, 'the first decision must be on the session\'s first candle, none on warm-up candles');
      assert.equal(decided.length, 61);
      const report = await makeBot(sql, { bot: 'wrm', warmupBars: 200 }).start(start);
      assert.equal(report.replayedBars, 61, 'the replay steps the session\'s candles only');
      assert.deepEqual(report.differences, []);
    });

    it('reconciliation names what the stored record has that the venue does not', async () => {
      await sql.query("UPDATE bot_positions SET qty_base = qty_base + 1000 WHERE bot = 'rst'");
      await sql.query(`INSERT INTO bot_orders (client_order_id, bot, symbol, candle_time, intent, side, type, qty_base, status) VALUES ('rst-e-SOLUSDT-zz-0', 'rst', 'SOLUSDT', now(), 'entry', 'buy', 'market', 5, 'FILLED')`);
      const report = await makeBot(sql, { bot: 'rst' }).start(span.firstMs);
      assert.ok(report.differences.some((d) => d.includes('stored position')), `a position the venue does not hold must be reported: ${report.differences}`);
      assert.ok(report.differences.some((d) => d.includes('rst-e-SOLUSDT-zz-0')), 'an order the replay never sent must be reported');
      // Reported once, then recorded: the next start counts them as known instead of repeating them, and a new one still shows.
      const recorded = (await new BotStore(sql).riskEvents('rst')).filter((e) => e.kind === 'reconcile_difference');
      assert.equal(recorded.length, 1);
      assert.deepEqual(recorded[0].message.split('\n'), report.differences);
      const again = await makeBot(sql, { bot: 'rst' }).start(span.firstMs);
      assert.deepEqual(again.differences, [], `a difference already reported must not be repeated: ${again.differences}`);
      assert.equal(again.knownDifferences, report.differences.length);
      await sql.query(`INSERT INTO bot_orders (client_order_id, bot, symbol, candle_time, intent, side, type, qty_base, status) VALUES ('rst-e-SOLUSDT-zy-0', 'rst', 'SOLUSDT', now(), 'entry', 'buy', 'market', 2, 'FILLED')`);
      const third = await makeBot(sql, { bot: 'rst' }).start(span.firstMs);
      assert.equal(third.differences.length, 1, `only the new difference is reported: ${third.differences}`);
      assert.match(third.differences[0], /rst-e-SOLUSDT-zy-0/);
    });
  });
}
