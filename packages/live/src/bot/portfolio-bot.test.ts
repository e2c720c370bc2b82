import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { flat, runPortfolioBacktest, smaTrend } from '@oitrader/backtest';
import { DEFAULT_RISK_LIMITS, type RiskLimits } from '@oitrader/trading';
import { silentLogger } from '@oitrader/core';
import { MarketDataLoader, type SqlExecutor } from '@oitrader/data';
import { BotStore } from '../state/bot-store.ts';
import { readPortfolio } from '../state/bot-read-model.ts';
import { portfolioLines } from '../monitoring/portfolio-text.ts';
import { botTestEngines } from '../testing/engines.ts';
import { importSample, sampleSpan } from '../testing/sample-store.ts';
import { TradingBot } from './trading-bot.ts';

const BAR = 300_000;
const SYMBOLS = ['SOLUSDT', 'BTCUSDT'];
const RISK: RiskLimits = { ...DEFAULT_RISK_LIMITS, maxDailyLoss: 0.05, maxDrawdown: 0.5 };
const EXECUTION = { initialBalanceUsd: 2000, leverage: 5 };

function makeBot(sql: SqlExecutor, bot: string, risk: RiskLimits = RISK, strategy = smaTrend): TradingBot {
  return new TradingBot({
    bot,
    instruments: SYMBOLS.map((symbol) => ({ symbol, strategy: strategy() })),
    timeframe: '5m',
    mode: 'paper',
    risk,
    stopLoss: 0.01,
    execution: EXECUTION,
    store: new BotStore(sql),
    loader: new MarketDataLoader(sql, silentLogger),
  });
}

const fillKey = (f: { symbol?: string; timeMs: number; side: string; qtyBase: number; priceUsd: number; feeUsd: number }) =>
  `${new Date(f.timeMs).toISOString()} ${f.symbol} ${f.side} ${f.qtyBase} @ ${f.priceUsd.toFixed(10)} fee ${f.feeUsd.toFixed(10)}`;

for (const engine of await botTestEngines()) {
  describe(`portfolio paper bot on ${engine.name}: real SOLUSDT and BTCUSDT on one wallet`, () => {
    let sql: SqlExecutor;
    let span: { firstMs: number; lastMs: number };
    before(async () => {
      sql = await engine.open();
      await importSample(sql, SYMBOLS);
      span = await sampleSpan(sql, 4);
    });
    after(async () => sql.close());

    async function backtest(risk: RiskLimits) {
      const loader = new MarketDataLoader(sql, silentLogger);
      const frames = await Promise.all(SYMBOLS.map((s) => loader.loadAllData(s, '5m', span.firstMs, span.lastMs + BAR)));
      return runPortfolioBacktest(frames, () => smaTrend(), { ...EXECUTION, closeAtEnd: false, risk: { limits: risk, stopLoss: 0.01 } });
    }

    it('replaying both symbols makes exactly the fills the portfolio backtester makes, and a restart half-way changes nothing', async () => {
      const reference = await backtest(RISK);
      const expected = reference.portfolio.fills.map(fillKey);
      assert.ok(new Set(reference.portfolio.fills.map((f) => f.symbol)).size === 2, 'both symbols should trade in four real days of sma-trend');

      const straight = makeBot(sql, 'pf1');
      await straight.start(span.firstMs);
      await straight.stepThrough(span.lastMs);
      const store = new BotStore(sql);
      assert.deepEqual((await store.fills('pf1')).map(fillKey), expected, 'the bot traded the portfolio differently from the backtester');

      const mid = span.firstMs + Math.floor((span.lastMs - span.firstMs) / BAR / 2) * BAR;
      const first = makeBot(sql, 'pf2');
      await first.start(span.firstMs);
      await first.stepThrough(mid);
      const second = makeBot(sql, 'pf2');
      const report = await second.start(span.firstMs);
      assert.deepEqual(report.differences, [], 'the replay must rebuild both symbols exactly as stored');
      await second.stepThrough(span.lastMs);
      assert.deepEqual((await store.fills('pf2')).map(fillKey), expected, 'a restarted portfolio bot traded differently from one that ran straight through');

      // One wallet: the account's equity is the sum of both symbols' money, not two balances.
      const [last] = await sql.query<{ e: number }>("SELECT equity_usd AS e FROM bot_equity WHERE bot = 'pf1' ORDER BY time DESC LIMIT 1");
      const backtestEquity = reference.portfolio.equity[reference.portfolio.equity.length - 1];
      assert.ok(Math.abs(Number(last.e) - backtestEquity) < 1e-6, `the bot's equity ${last.e} differs from the portfolio backtest's ${backtestEquity}`);

      // The read model (bot status, dashboard, Telegram): trades netted symbol by symbol add up to the wallet.
      const view = (await readPortfolio(store, { bot: 'pf1', timeframe: '5m', limits: { maxTotalRisk: 0.06 } }))!;
      assert.deepEqual(view.symbols, SYMBOLS);
      assert.deepEqual(new Set(view.pnl.bySymbol.filter((x) => x.trades > 0).map((x) => x.symbol)), new Set(SYMBOLS), 'both symbols closed trades');
      const close = (a: number, b: number, why: string) => assert.ok(Math.abs(a - b) < 1e-6, `${why}: ${a} vs ${b}`);
      close(view.pnl.bySymbol.reduce((x, y) => x + y.netPnlUsd, 0), view.pnl.total.netPnlUsd, 'per-symbol net P&L must add up to the total');
      close(view.pnl.byDay.reduce((x, y) => x + y.netPnlUsd, 0), view.pnl.total.netPnlUsd, 'daily net P&L must add up to the total');
      close(view.pnl.byMonth.reduce((x, y) => x + y.trades, 0), view.pnl.total.trades, 'every trade belongs to one month');
      for (const p of view.positions) assert.equal(p.qtyBase, (await store.position('pf1', p.symbol))?.qtyBase);
      const text = portfolioLines(view).join('\n');
      for (const symbol of SYMBOLS) assert.match(text, new RegExp(`^${symbol}: (flat|LONG|SHORT)`, 'm'), `bot status and /status must list ${symbol}`);
      assert.match(text, /^ {2}SOLUSDT: \d+ trades/m);
      // Equity = start + closed net + open unrealised, but for the open positions' entry fees and funding.
      const openCosts = view.positions.reduce((x, p) => x + p.notionalUsd * 0.001, 0);
      const unexplained = view.equity!.equityUsd - EXECUTION.initialBalanceUsd - view.pnl.total.netPnlUsd - view.positions.reduce((x, p) => x + p.unrealizedPnlUsd, 0);
      assert.ok(Math.abs(unexplained) <= openCosts + 0.01, `equity ${view.equity!.equityUsd} is not explained by the closed trades and open positions (${unexplained.toFixed(4)} USDT left over)`);
    });

    it('with max_open_positions 1 the two symbols never hold positions at once, and the refused entry is recorded with its rule', async () => {
      const risk = { ...RISK, maxOpenPositions: 1 };
      const bot = makeBot(sql, 'pf3', risk);
      await bot.start(span.firstMs);
      await bot.stepThrough(span.lastMs);
      // Positions from the stored fills, symbol by symbol, in time order.
      const held = new Map<string, number>();
      for (const f of await new BotStore(sql).fills('pf3')) {
        held.set(f.symbol, (held.get(f.symbol) ?? 0) + (f.side === 'buy' ? f.qtyBase : -f.qtyBase));
        const open = [...held].filter(([, q]) => Math.abs(q) > 1e-12).map(([s]) => s);
        assert.ok(open.length <= 1, `at ${new Date(f.timeMs).toISOString()} ${open.join(' and ')} were held at once under max_open_positions 1`);
      }
      const refusals = await sql.query("SELECT symbol FROM bot_decisions WHERE bot = 'pf3' AND NOT allowed AND detail->>'code' = 'max_open_positions'");
      assert.ok(refusals.length > 0, 'sma-trend on two symbols wants both at once within four days; the second entry must be refused by max_open_positions');
      const reference = await backtest(risk);
      assert.deepEqual((await new BotStore(sql).fills('pf3')).map(fillKey), reference.portfolio.fills.map(fillKey), 'the bot applied the portfolio limit differently from the backtester');
    });

    it('a forced exit of one symbol closes only that position at the next step, is cleared, and a restart replays it exactly', async () => {
      const store = new BotStore(sql);
      const bot = makeBot(sql, 'pf4');
      await bot.start(span.firstMs);
      let t = span.firstMs + 60 * BAR;
      await bot.stepThrough(t);
      const held = async () => Object.fromEntries(await Promise.all(SYMBOLS.map(async (s) => [s, (await store.position('pf4', s))?.qtyBase ?? 0])));
      const before = await held();
      assert.ok(before.SOLUSDT !== 0, `sma-trend holds both symbols after 60 candles: ${JSON.stringify(before)}`);
      await assert.rejects(store.requestFlatten('pf4', 'XRPUSDT'), /does not trade XRPUSDT/);
      assert.equal(await store.requestFlatten('pf4', 'SOLUSDT'), true);
      assert.deepEqual((await store.control('pf4'))?.flattenSymbols, ['SOLUSDT']);
      t += BAR;
      await bot.stepThrough(t);
      const [decided] = await sql.query<{ symbol: string; action: string }>("SELECT symbol, action FROM bot_decisions WHERE bot = 'pf4' AND symbol = 'SOLUSDT' ORDER BY candle_time DESC LIMIT 1");
      assert.equal(decided.action, 'flatten', 'the step after the request decides to close SOLUSDT');
      assert.deepEqual((await store.control('pf4'))?.flattenSymbols, [], 'the request is cleared by the step that carried it out');
      // The close fills at the next candle's open (as every order of the paper venue).
      t += BAR;
      await bot.stepThrough(t);
      assert.equal((await held()).SOLUSDT, 0, 'the forced exit must close SOLUSDT');
      const fills = await store.fills('pf4');
      assert.equal(fills.filter((f) => f.symbol === 'SOLUSDT').at(-1)?.reason, 'flatten');
      assert.ok(!fills.some((f) => f.symbol === 'BTCUSDT' && f.reason === 'flatten'), 'the forced exit of SOLUSDT must leave BTCUSDT alone');
      assert.ok((await store.riskEvents('pf4')).some((e) => e.kind === 'flatten' && e.symbol === 'SOLUSDT'), 'the forced exit is recorded with its symbol');
      const stored = fills.map(fillKey);
      const restarted = makeBot(sql, 'pf4');
      assert.deepEqual((await restarted.start(span.firstMs)).differences, [], 'the replay must carry out the forced exit as it ran');
      await restarted.stepThrough(t);
      assert.deepEqual((await store.fills('pf4')).map(fillKey), stored);
    });

    it('a forced entry enters through the risk engine with its stop, is refused while a position is open or entries are stopped, and a restart replays it exactly', async () => {
      const store = new BotStore(sql);
      const bot = makeBot(sql, 'pf5', RISK, flat);
      await bot.start(span.firstMs);
      let t = span.firstMs + 30 * BAR;
      await bot.stepThrough(t);
      const qty = async (s: string) => (await store.position('pf5', s))?.qtyBase ?? 0;
      assert.equal(await qty('BTCUSDT'), 0, 'the flat strategy never enters on its own');
      await assert.rejects(store.requestForceEntry('pf5', 'XRPUSDT', 'long'), /does not trade XRPUSDT/);
      assert.equal(await store.requestForceEntry('pf5', 'BTCUSDT', 'short'), true);
      assert.equal(await store.requestForceEntry('pf5', 'BTCUSDT', 'long'), true, 'a second request for the same symbol replaces the first');
      assert.deepEqual((await store.control('pf5'))?.forceEntries, [{ symbol: 'BTCUSDT', side: 'long' }]);
      const decision = async (symbol: string) =>
        (await sql.query<{ action: string; allowed: boolean; reason: string; code: string | null; stop: number | null }>(
          "SELECT action, allowed, reason, detail->>'code' AS code, stop_usd AS stop FROM bot_decisions WHERE bot = 'pf5' AND symbol = $1 ORDER BY candle_time DESC LIMIT 1",
          [symbol],
        ))[0];
      t += BAR;
      await bot.stepThrough(t);
      const entered = await decision('BTCUSDT');
      assert.equal(entered.action, 'enter');
      assert.equal(entered.allowed, true, entered.reason);
      assert.match(entered.reason, /^force entry \(operator\): ok/);
      assert.ok(Number(entered.stop) > 0, 'a forced entry is stopped like any other');
      assert.deepEqual((await store.control('pf5'))?.forceEntries, [], 'the request is cleared by the step that decided it');
      assert.equal((await decision('SOLUSDT')).action, 'hold', 'the other symbol is untouched');
      t += BAR;
      await bot.stepThrough(t);
      assert.ok((await qty('BTCUSDT')) > 0, 'the forced long fills at the next open');
      assert.ok((await store.orders('pf5')).some((o) => o.symbol === 'BTCUSDT' && o.intent === 'stop' && o.status === 'NEW'), 'the forced long rests with its reduce-only stop');
      // Held: a second forced entry is refused, not stacked or flipped.
      await store.requestForceEntry('pf5', 'BTCUSDT', 'short');
      t += BAR;
      await bot.stepThrough(t);
      const refused = await decision('BTCUSDT');
      assert.equal(refused.allowed, false);
      assert.equal(refused.code, 'no_position');
      assert.match(refused.reason, /already has a position/);
      assert.ok((await qty('BTCUSDT')) > 0, 'the refused forced short leaves the long as it was');
      // Stop-entries: the risk engine refuses a forced entry like any other.
      await store.stopEntries('pf5', 'test');
      await store.requestForceEntry('pf5', 'SOLUSDT', 'short');
      t += BAR;
      await bot.stepThrough(t);
      const halted = await decision('SOLUSDT');
      assert.equal(halted.allowed, false);
      assert.equal(halted.code, 'entries_stopped');
      assert.match(halted.reason, /^force entry \(operator\): refused/);
      assert.equal(await qty('SOLUSDT'), 0);
      const events = await store.riskEvents('pf5');
      assert.deepEqual(events.filter((e) => e.kind === 'force_entry').map((e) => [e.symbol, e.side]), [['BTCUSDT', 'long'], ['BTCUSDT', 'short'], ['SOLUSDT', 'short']]);
      const stored = (await store.fills('pf5')).map(fillKey);
      const restarted = makeBot(sql, 'pf5', RISK, flat);
      assert.deepEqual((await restarted.start(span.firstMs)).differences, [], 'the replay must carry out the forced entries as they ran');
      await restarted.stepThrough(t);
      assert.deepEqual((await store.fills('pf5')).map(fillKey), stored);
    });
  });
}
