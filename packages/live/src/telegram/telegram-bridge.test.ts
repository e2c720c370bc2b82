import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { smaTrend } from '@oitrader/backtest';
import { DEFAULT_RISK_LIMITS } from '@oitrader/trading';
import { createLogger, OitraderError, silentLogger } from '@oitrader/core';
import { MarketDataLoader, PgliteExecutor, migrate, type SqlExecutor } from '@oitrader/data';
import { TradingBot } from '../bot/trading-bot.ts';
import { BotStore } from '../state/bot-store.ts';
import { FakeTelegramApi } from '../testing/fake-telegram-api.ts';
import { importSample, SAMPLE_SYMBOL, sampleSpan } from '../testing/sample-store.ts';
import { TradeLedger } from '../monitoring/round-trips.ts';
import { coalesce, TelegramBridge } from './telegram-bridge.ts';

const TOKEN = '123456:TEST-telegram-token-never-logged';
const CHAT = 777001;
const STRANGER = 666002;
const BAR = 300_000;
const ALERT = /^(🟢|🔴|🛑|💥|⛔|▶️|⏹|⏸|⏩|🧠|📉|✅|📊|⚠️ REPEATED)/u;
/** A step's alerts arrive as one message, one alert per paragraph. */
const hasAlert = (m: { text: string }, head: RegExp) => m.text.split('\n\n').some((a) => head.test(a));
const partOf = (m: { text: string }, head: RegExp) => m.text.split('\n\n').find((a) => head.test(a))!;

describe('Telegram bridge against a local fake Bot API', () => {
  let sql: SqlExecutor;
  let api: FakeTelegramApi;
  let bridge: TelegramBridge;
  let bot: TradingBot;
  let stepped: number;
  let now = Date.UTC(2025, 11, 3);
  const logLines: string[] = [];
  before(async () => {
    sql = await PgliteExecutor.open(undefined);
    await migrate(sql);
    await importSample(sql);
    const span = await sampleSpan(sql, 3);
    bot = new TradingBot({
      bot: 'tg',
      instruments: [{ symbol: SAMPLE_SYMBOL, strategy: smaTrend() }],
      timeframe: '5m',
      mode: 'paper',
      risk: { ...DEFAULT_RISK_LIMITS, maxDailyLoss: 0.03, maxDrawdown: 0.5 },
      stopLoss: 0.01,
      execution: { initialBalanceUsd: 2000, leverage: 5 },
      store: new BotStore(sql),
      loader: new MarketDataLoader(sql, silentLogger),
    });
    await bot.start(span.firstMs);
    stepped = span.firstMs + 100 * BAR;
    await bot.stepThrough(stepped);
    api = new FakeTelegramApi(TOKEN);
    await api.start();
    bridge = new TelegramBridge({
      token: TOKEN,
      chatId: String(CHAT),
      apiRoot: api.url,
      sql,
      bot: 'tg',
      symbol: SAMPLE_SYMBOL,
      limits: { maxOpenPositions: 3 },
      events: bot.events,
      dailySummaryAt: '00:05',
      rateLimit: { commands: 8, perMs: 2500 },
      pollTimeoutSeconds: 1,
      log: createLogger('telegram', { write: (l) => logLines.push(l), level: 'debug' }),
      clock: () => now,
    });
    await bridge.start();
  });
  after(async () => {
    await bridge?.stop();
    await api?.close();
    await sql?.close();
  });
  // Each test starts with an empty rate-limit window: the bridge's clock moves past the current one.
  beforeEach(() => {
    now += 2600;
  });

  const ask = async (text: string, chat = CHAT) => {
    const from = api.sent.length;
    api.say(chat, text);
    // The answer, not an alert the bot's events queued meanwhile.
    return (await api.waitFor((m) => m.chatId === String(CHAT) && !ALERT.test(m.text), from)).text;
  };

  it('/help lists every freqtrade-style command', async () => {
    const help = await ask('/help');
    for (const c of ['/status', '/balance', '/pnl', '/profit', '/positions', '/count', '/trades', '/performance', '/daily', '/weekly', '/monthly', '/logs', '/stopentry', '/resume', '/forceexit', '/flatten', '/kill', '/help']) assert.ok(help.includes(c), `/help does not mention ${c}`);
  });

  it('/kill from another chat id does nothing and gets no answer', async () => {
    const from = api.sent.length;
    api.say(STRANGER, '/kill');
    api.say(STRANGER, '/confirm');
    // The own chat's next answer proves the stranger's updates were processed (updates run in order).
    await ask('/help');
    assert.equal((await new BotStore(sql).control('tg'))?.killed, false, 'a stranger engaged the kill switch');
    assert.deepEqual(api.sent.slice(from).filter((m) => m.chatId === String(STRANGER)), [], 'the bot answered a stranger');
    assert.ok(logLines.some((l) => l.includes(`ignored a message from chat ${STRANGER}`)), 'the ignored stranger is not in the log');
  });

  it('/kill asks for /confirm; only the confirmation engages the kill switch, and the bot goes flat at its next step', async () => {
    const asked = await ask('/kill');
    assert.match(asked, /\/confirm within 60 s/);
    assert.equal((await new BotStore(sql).control('tg'))?.killed, false, '/kill without /confirm already engaged the kill switch');
    assert.match(await ask('/confirm'), /kill switch engaged/);
    assert.equal((await new BotStore(sql).control('tg'))?.killed, true, '/confirm did not engage the kill switch');
    const from = api.sent.length;
    // The kill step sends the closing order; it fills at the next candle's open.
    stepped += 2 * BAR;
    await bot.stepThrough(stepped);
    const alert = partOf(await api.waitFor((m) => hasAlert(m, /^🛑 KILL SWITCH/), from), /^🛑 KILL SWITCH/);
    assert.match(alert, /telegram/, 'the kill alert should say who pulled it');
    assert.equal((await new BotStore(sql).position('tg', SAMPLE_SYMBOL))?.qtyBase, 0, 'the bot is not flat after the kill');
    assert.match(await ask('/resume'), /resumed/);
    assert.equal((await new BotStore(sql).control('tg'))?.killed, false);
  });

  it('a /confirm older than the confirmation window does nothing', async () => {
    await ask('/flatten');
    now += 61_000;
    assert.match(await ask('/confirm'), /nothing to confirm/);
    assert.equal((await new BotStore(sql).control('tg'))?.flattenRequested, false, 'an expired /flatten confirmation went through');
  });

  it('answers more commands than the rate limit allows with one warning and ignores the rest', async () => {
    const from = api.sent.length;
    for (let i = 0; i < 11; i++) api.say(CHAT, '/balance');
    await api.waitFor((m) => m.text.startsWith('too many commands'), from);
    await new Promise((r) => setTimeout(r, 300));
    const answers = api.sent.slice(from).filter((m) => m.text.startsWith('equity'));
    assert.equal(answers.length, 8, `8 commands per 2.5 s are answered, got ${answers.length}`);
  });

  it('alerts entries and exits with PnL and fees as the bot trades', async () => {
    const from = api.sent.length;
    const fillsBefore = (await new BotStore(sql).fills('tg')).length;
    stepped += 300 * BAR;
    await bot.stepThrough(stepped);
    const fills = (await new BotStore(sql).fills('tg')).length - fillsBefore;
    assert.ok(fills >= 2, `smaTrend should trade in 300 candles, made ${fills} fills`);
    const entry = partOf(await api.waitFor((m) => hasAlert(m, /^🟢 ENTRY/), from), /^🟢 ENTRY/);
    assert.match(entry, /fee \d+\.\d{2} USDT/, 'an entry alert must carry its fee');
    const exit = partOf(await api.waitFor((m) => hasAlert(m, /^(🔴 EXIT|🛑 STOP HIT)/), from), /^(🔴 EXIT|🛑 STOP HIT)/);
    const kinds = api.sent
      .slice(from)
      .flatMap((m) => m.text.split('\n\n'))
      .filter((a) => /^(🟢|🔴|🛑 STOP)/.test(a))
      .map((a) => (a.startsWith('🟢') ? 'entry' : 'exit'));
    for (let i = 1; i < kinds.length; i++) assert.notEqual(kinds[i], kinds[i - 1], `entries and exits must alternate in the chat as they did on the book: ${kinds.join(' ')}`);
    assert.match(exit, /PnL [+-]\d+\.\d{2} USDT \(gross [+-]\d+\.\d{2}, fees \d+\.\d{2}, funding [+-]\d+\.\d{2}\)/, 'an exit alert must carry net PnL, gross PnL, fees and funding');
  });

  it('/status, /balance, /positions, /trades, /pnl and /daily read the stored state', async () => {
    const store = new BotStore(sql);
    const equity = (await store.latestEquity('tg'))!;
    assert.ok((await ask('/status')).includes(`equity ${equity.equityUsd.toFixed(2)} USDT`), '/status shows another equity than stored');
    assert.ok((await ask('/balance')).includes(`available ${equity.availableUsd.toFixed(2)}`), '/balance shows another available margin than stored');
    const position = (await store.position('tg', SAMPLE_SYMBOL))!;
    const pos = await ask('/positions');
    assert.ok(position.qtyBase === 0 ? pos === 'no open position' : pos.includes(String(Math.abs(position.qtyBase))), `/positions disagrees with the stored position ${position.qtyBase}: ${pos}`);
    assert.match(await ask('/trades'), /USDT \(fees \d+\.\d{2}, funding [+-]\d+\.\d{2}, \w+\)/);
    assert.match(await ask('/pnl'), /closed trades: \d+ trades, \d+ won, net [+-]\d+\.\d{2} USDT \(gross [+-]\d+\.\d{2}, fees \d+\.\d{2}, funding [+-]\d+\.\d{2}\)/);
    assert.match(await ask('/daily'), /^2025-12-0\d: [+-]\d+\.\d{2} USDT/m);
  });

  it('a position held over funding settlements shows the stored funding in /pnl, /trades and /daily', async () => {
    const store = new BotStore(sql);
    const funding = await store.funding('tg');
    assert.ok(funding.length > 0, 'smaTrend held positions over 8-hourly settlements in these days; no funding row was stored');
    const total = funding.reduce((s, f) => s + f.incomeUsd, 0);
    const sign = (x: number) => `${x >= 0 ? '+' : '-'}${Math.abs(x).toFixed(2)}`;
    const pnl = await ask('/pnl');
    assert.ok(pnl.includes(`funding settled: ${sign(total)} USDT`), `/pnl must total the ${funding.length} stored settlements (${sign(total)} USDT): ${pnl}`);
    const ledger = TradeLedger.of(await store.fills('tg'), funding);
    const closedFunding = ledger.trades.reduce((s, t) => s + t.fundingIncomeUsd, 0);
    assert.ok(Math.abs(closedFunding) > 0, 'some closed trade was held over a settlement');
    assert.ok(pnl.includes(`funding ${sign(closedFunding)})`), `/pnl's closed trades must include their funding ${sign(closedFunding)}: ${pnl}`);
    const net = ledger.trades.reduce((s, t) => s + t.netPnlUsd, 0);
    const priceMinusFees = ledger.trades.reduce((s, t) => s + t.grossPnlUsd - t.feesUsd, 0);
    assert.ok(Math.abs(net - (priceMinusFees + closedFunding)) < 1e-9, 'net PnL = price PnL − fees + funding');
    const day = new Date(funding[0].timeMs).toISOString().slice(0, 10);
    const dayFunding = funding.filter((f) => new Date(f.timeMs).toISOString().startsWith(day)).reduce((s, f) => s + f.incomeUsd, 0);
    assert.match(await ask('/daily'), new RegExp(`^${day}: [+-]\\d+\\.\\d{2} USDT \\(funding \\${sign(dayFunding)}\\)`, 'm'), '/daily must show each day\'s funding');
  });

  it('/stopentry stops entries at once (no confirmation), /status says so, and /resume releases it', async () => {
    assert.match(await ask('/stopentry'), /entries stopped/);
    const store = new BotStore(sql);
    assert.equal((await store.control('tg'))?.entriesStopped, true, '/stopentry did not reach the bot control row');
    const from = api.sent.length;
    stepped += BAR;
    await bot.stepThrough(stepped);
    assert.match(partOf(await api.waitFor((m) => hasAlert(m, /^⏸ ENTRIES STOPPED/), from), /^⏸ ENTRIES STOPPED/), /telegram/, 'the alert should say who stopped entries');
    assert.ok(bot.engine.state?.halts.some((h) => h.code === 'stop_entries'), 'the bot did not stop entries at its next step');
    assert.match(await ask('/status'), /entries: STOPPED/);
    assert.match(await ask('/resume'), /resumed/);
    assert.equal((await store.control('tg'))?.entriesStopped, false, '/resume must release stop-entries');
    assert.match(await ask('/status'), /entries: allowed/);
  });

  it('a failed send is logged without the token, and the token never reaches any log line', async () => {
    api.failNext('sendMessage');
    assert.equal(await bridge.send('this one fails'), false);
    assert.ok(logLines.some((l) => l.includes('could not send an alert')), 'the failed send is not logged');
    const leaked = logLines.filter((l) => l.includes(TOKEN) || l.includes('TEST-telegram-token'));
    assert.deepEqual(leaked, [], 'the Telegram token reached the log');
    assert.ok(api.paths.every((p) => p.startsWith(`/bot${TOKEN}/`)), 'requests must use the Bot API path form');
  });

  it('alerts a repeated error once, data gaps once, a promoted model, and sends the daily summary', async () => {
    const from = api.sent.length;
    for (let i = 0; i < 4; i++) await bridge.reportError(`binance REST timeout after ${1000 + i} ms`);
    assert.equal(api.sent.slice(from).filter((m) => m.text.includes('REPEATED ERROR')).length, 1, 'a repeated error should alert exactly once');
    await sql.query(`INSERT INTO stream_health (stream, last_message_at) VALUES ('solusdt@kline_5m', to_timestamp($1 / 1000.0))`, [now - 600_000]);
    await bridge.checkDataHealth();
    await bridge.checkDataHealth();
    assert.equal(api.sent.slice(from).filter((m) => m.text.startsWith('📉 DATA GAP')).length, 1, 'a data gap should alert once, not on every check');
    await bridge.modelPromoted('run 2025-12-03 beats the champion by 0.004 log loss');
    assert.ok(api.sent.some((m) => m.text.startsWith('🧠 MODEL PROMOTED')));
    await bridge.sendDailySummary();
    const summary = await api.waitFor((m) => m.text.startsWith('📊 DAILY SUMMARY'), from);
    assert.match(summary.text, /PnL since/);
    assert.equal(bridge.nextSummaryAt()?.toISOString().slice(11, 16), '00:05', 'the daily summary is scheduled at telegram.daily_summary_at UTC');
  });

  it('/forceexit SYMBOL asks /confirm and force-exits that symbol alone; /performance, /weekly, /count, /logs and /profit answer from the read model', async () => {
    const store = new BotStore(sql);
    assert.match(await ask('/forceexit XRPUSDT'), /does not trade XRPUSDT; it trades SOLUSDT/);
    assert.match(await ask('/fx solusdt'), /closes the SOLUSDT position at the next candle.*\/confirm/);
    assert.deepEqual((await store.control('tg'))?.flattenSymbols, [], 'the forced exit waits for /confirm');
    assert.match(await ask('/confirm'), /forced exit requested: the SOLUSDT position closes/);
    assert.deepEqual((await store.control('tg'))?.flattenSymbols, ['SOLUSDT']);
    const trades = (await store.fills('tg')).length;
    assert.match(await ask('/performance'), new RegExp(`^SOLUSDT: \\d+ trades, \\d+ won, net [+-]\\d+\\.\\d{2} USDT[^]*\\ntotal: `));
    assert.match(await ask('/weekly'), /^closed-trade P&L per ISO week:\n20\d\d-W\d\d: \d+ trades/);
    assert.match(await ask('/count'), /^[01] of 3 positions open/);
    assert.match(await ask('/logs'), /\d{4}-\d\d-\d\d \d\d:\d\d \w+/);
    assert.match(await ask('/profit'), /^PnL since/);
    stepped += BAR;
    await bot.stepThrough(stepped);
    assert.deepEqual((await store.control('tg'))?.flattenSymbols, [], 'the step carried out the forced exit and cleared it');
    assert.ok((await store.riskEvents('tg')).some((e) => e.kind === 'flatten' && e.symbol === 'SOLUSDT' && e.message.includes('force exit SOLUSDT')));
    assert.ok((await store.fills('tg')).length >= trades);
  });

  it('coalesces the alerts of one step into one message, and splits only at the 4096-character limit', async () => {
    const from = api.sent.length;
    const t = stepped + BAR;
    for (const symbol of ['SOLUSDT', 'BTCUSDT', 'ETHUSDT']) bot.events.emit('risk', { timeMs: t, kind: 'flatten', message: `flatten: burst test ${symbol}`, symbol });
    // (An earlier test's step may still be sending its own alerts: this burst is told apart by its words.)
    const message = await api.waitFor((m) => /burst test/.test(m.text), from);
    assert.deepEqual(message.text.split('\n\n').map((a) => a.split(':')[0]), ['⏹ FLATTEN SOLUSDT', '⏹ FLATTEN BTCUSDT', '⏹ FLATTEN ETHUSDT'], 'three alerts of one burst, in order, in one message');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(api.sent.slice(from).filter((m) => /burst test/.test(m.text)).length, 1, 'one message for the burst, not one per alert');
    const long = 'x'.repeat(3000);
    assert.deepEqual(coalesce(['a', 'b'], 4096), ['a\n\nb']);
    assert.deepEqual(coalesce([long, long], 4096).map((m) => m.length), [3000, 3000], 'two alerts that do not fit one message go in two');
    assert.equal(coalesce(['y'.repeat(5000)], 4096)[0].length, 4096, 'an alert beyond the limit is cut, not refused by Telegram');
  });

  it('/forcelong and /forceenter ask /confirm, name the symbol and side, and write a forced entry for the next step', async () => {
    const store = new BotStore(sql);
    assert.match(await ask('/forcelong'), /which symbol\? \/forcelong SOLUSDT/);
    assert.match(await ask('/forceenter solusdt sideways'), /which symbol and side/);
    assert.match(await ask('/forceshort XRPUSDT'), /does not trade XRPUSDT/);
    assert.match(await ask('/forceenter solusdt short'), /enters SOLUSDT short at the next candle.*\/confirm/);
    assert.deepEqual((await store.control('tg'))?.forceEntries, [], 'the forced entry waits for /confirm');
    assert.match(await ask('/confirm'), /forced entry requested: SOLUSDT short/);
    assert.deepEqual((await store.control('tg'))?.forceEntries, [{ symbol: 'SOLUSDT', side: 'short' }]);
    assert.match(await ask('/confirm'), /nothing to confirm/, 'a confirmation is used once');
  });
});

/**
 * An unreachable Telegram must not hang the bot's start-up (grammY retries a
 * network error forever by itself): the bridge's start ends at its deadline
 * with exit 2 naming the step, or at once on SIGINT/SIGTERM.
 */
describe('Telegram bridge: deadlines against an unreachable Bot API', () => {
  let sql: SqlExecutor;
  let silent: Server;
  let silentUrl: string;
  let refusedUrl: string;
  const sockets = new Set<Socket>();
  before(async () => {
    sql = await PgliteExecutor.open(undefined);
    await migrate(sql);
    // Accepts the connection and never answers: a firewall that drops, an overloaded proxy.
    silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    // A port nobody listens on: every attempt is refused at once, and grammY would retry it forever.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    refusedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((resolve) => probe.close(resolve));
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await sql.close();
  });
  const bridgeAt = (apiRoot: string, timeoutMs: number) => new TelegramBridge({ token: TOKEN, chatId: String(CHAT), apiRoot, sql, bot: 'tg', symbol: SAMPLE_SYMBOL, timeoutMs, log: silentLogger });
  const startedWithin = async (bridge: TelegramBridge, boundMs: number, signal?: AbortSignal) => {
    const t0 = performance.now();
    const error = await bridge.start(signal).then(
      () => undefined,
      (e: unknown) => e as OitraderError,
    );
    const tookMs = performance.now() - t0;
    assert.ok(tookMs < boundMs, `start() took ${tookMs.toFixed(0)} ms: it must end near its deadline, never hang`);
    await bridge.stop();
    return error;
  };

  it('a Bot API that never answers: start ends at the deadline with exit 2, naming the host, the deadline and the step', async () => {
    const error = await startedWithin(bridgeAt(silentUrl, 400), 5000);
    assert.ok(error instanceof OitraderError, `start() must fail, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, new RegExp(`the Bot API at ${silentUrl} did not answer within 0.4 s \\(getMe\\)`));
    assert.doesNotMatch(error.message, /TEST-telegram-token/, 'the token travels in the request path and must not reach the message');
  });

  it('a refused connection (grammY retries it forever): the same deadline ends it', async () => {
    const error = await startedWithin(bridgeAt(refusedUrl, 400), 5000);
    assert.equal(error?.exitCode, 2, String(error));
    assert.match(error.message, /did not answer within 0.4 s \(getMe\)/);
  });

  it('SIGINT/SIGTERM (the signal) ends a start still waiting, long before its deadline, with exit 1', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    const error = await startedWithin(bridgeAt(silentUrl, 60_000), 5000, stop.signal);
    assert.equal(error?.exitCode, 1, String(error));
    assert.match(error.message, /stopped while waiting for the Telegram Bot API \(getMe\)/);
  });

  it('an alert to an unreachable Bot API gives up at the deadline and reports false, never blocking the bot', async () => {
    const bridge = bridgeAt(silentUrl, 300);
    const t0 = performance.now();
    assert.equal(await bridge.send('hello'), false);
    assert.ok(performance.now() - t0 < 5000, 'send() must give up at its deadline');
  });
});
