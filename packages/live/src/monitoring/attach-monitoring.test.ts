import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { smaTrend } from '@oitrader/backtest';
import { riskLimitsFromConfig } from '@oitrader/trading';
import { createLogger, OitraderError, parseConfig, silentLogger, type Config } from '@oitrader/core';
import { MarketDataLoader, PgliteExecutor, migrate, type SqlExecutor } from '@oitrader/data';
import { TradingBot } from '../bot/trading-bot.ts';
import { BotStore } from '../state/bot-store.ts';
import { FakeTelegramApi } from '../testing/fake-telegram-api.ts';
import { importSample, SAMPLE_SYMBOL, sampleSpan } from '../testing/sample-store.ts';
import { attachMonitoring } from './attach-monitoring.ts';

const BAR = 300_000;
const TOKEN = '424242:attach-monitoring-token-never-logged';
const CHAT = 555001;

const configFor = (name: string, extra: Record<string, unknown> = {}): Config =>
  parseConfig({
    bot: { name },
    trading: { symbol: SAMPLE_SYMBOL, max_daily_loss: 0.03, max_drawdown: 0.5, stop_loss: 0.01, initial_balance: 2000 },
    dashboard: { port: 0 },
    ...extra,
  });

function makeBot(sql: SqlExecutor, config: Config): TradingBot {
  return new TradingBot({
    bot: config.bot.name,
    instruments: [{ symbol: config.trading.symbol, strategy: smaTrend() }],
    timeframe: config.bot.timeframe,
    mode: 'paper',
    risk: riskLimitsFromConfig(config.trading),
    stopLoss: config.trading.stop_loss,
    execution: { initialBalanceUsd: config.trading.initial_balance, leverage: config.trading.leverage },
    store: new BotStore(sql),
    loader: new MarketDataLoader(sql, silentLogger),
  });
}

describe('attachMonitoring: the bot process hosts the dashboard, /metrics and Telegram', () => {
  let sql: SqlExecutor;
  let span: { firstMs: number; lastMs: number };
  let api: FakeTelegramApi;
  const logLines: string[] = [];
  const log = createLogger('bot', { write: (l) => logLines.push(l), level: 'debug' });
  before(async () => {
    sql = await PgliteExecutor.open(undefined);
    await migrate(sql);
    await importSample(sql);
    span = await sampleSpan(sql, 3);
    api = new FakeTelegramApi(TOKEN);
    await api.start();
  });
  after(async () => {
    await api?.close();
    await sql?.close();
  });

  it('a running paper bot: /metrics counts its candles, the dashboard answers, Telegram alerts its trades; close() stops all of it', async () => {
    const config = configFor('mon', { telegram: { enabled: true, token: TOKEN, chat_id: String(CHAT), daily_summary_at: '00:05' } });
    const bot = makeBot(sql, config);
    await bot.start(span.firstMs);
    const monitoring = await attachMonitoring({ bot, store: new BotStore(sql), config, log, env: {}, telegramApiRoot: api.url, clock: () => span.firstMs + 400 * BAR });
    let closed = false;
    try {
      assert.match(monitoring.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/, 'dashboard.enabled defaults to true on 127.0.0.1');
      const from = api.sent.length;
      await bot.stepThrough(span.firstMs + 299 * BAR);
      const metrics = await (await fetch(new URL('metrics', monitoring.url))).text();
      assert.match(metrics, /^oitrader_candles_total\{bot="mon"\} 300$/m, `300 candles stepped in this process, /metrics says:\n${metrics.slice(0, 300)}`);
      assert.match(metrics, /^oitrader_orders_total\{intent="entry",status="NEW",bot="mon"\} \d+$/m, 'orders by outcome are counted from the bot events');
      const page = await fetch(monitoring.url!);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /oitrader mon/);
      const state = (await (await fetch(new URL('api/state', monitoring.url))).json()) as { control: { lastCandleMs: number } };
      assert.equal(state.control.lastCandleMs, span.firstMs + 299 * BAR, 'the dashboard reads the running bot');
      const entry = await api.waitFor((m) => m.text.split('\n\n').some((a) => a.startsWith('🟢 ENTRY')), from);
      assert.equal(entry.chatId, String(CHAT), 'alerts go to the configured chat');
      assert.equal(monitoring.telegram?.nextSummaryAt()?.toISOString().slice(11, 16), '00:05', 'the daily summary is scheduled in the bot process');
      const controls = await fetch(new URL('api/control/stop-entries', monitoring.url), { method: 'POST' });
      assert.equal(controls.status, 403, 'without OITRADER_DASHBOARD_TOKEN every control is refused');
      await monitoring.close();
      closed = true;
      await assert.rejects(fetch(new URL('metrics', monitoring.url)), 'the dashboard still answers after close()');
      assert.equal(monitoring.telegram?.nextSummaryAt(), undefined, 'the daily summary is still scheduled after close()');
      assert.deepEqual(logLines.filter((l) => l.includes(TOKEN)), [], 'the Telegram token reached the log');
    } finally {
      if (!closed) await monitoring.close();
    }
  });

  it('serves nothing when dashboard and Telegram are disabled, and leaves Telegram off during --replay', async () => {
    const off = configFor('off', { dashboard: { enabled: false }, telegram: { enabled: true, token: TOKEN, chat_id: String(CHAT) } });
    const bot = makeBot(sql, off);
    await bot.start(span.firstMs);
    const monitoring = await attachMonitoring({ bot, store: new BotStore(sql), config: off, log, replay: true, telegramApiRoot: api.url });
    assert.equal(monitoring.url, undefined);
    assert.equal(monitoring.telegram, undefined, 'a replay of stored candles must not alert the chat with every old trade');
    await monitoring.close();
  });

  it('a taken port or a missing Telegram token stops the start with a fix, and nothing is left listening', async () => {
    const blocker = await listenOn(0);
    const port = (blocker.address() as { port: number }).port;
    try {
      const taken = configFor('tkn', { dashboard: { port } });
      const bot = makeBot(sql, taken);
      await bot.start(span.firstMs);
      await assert.rejects(attachMonitoring({ bot, store: new BotStore(sql), config: taken, log }), (e: OitraderError) => /cannot listen/.test(e.message) && /dashboard\.port/.test(e.hint ?? ''));
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    // The dashboard starts first; when Telegram then fails, its port must be free again.
    const free = await listenOn(0);
    const freePort = (free.address() as { port: number }).port;
    await new Promise((r) => free.close(r));
    const noToken = configFor('ntk', { dashboard: { port: freePort }, telegram: { enabled: true, token: '', chat_id: String(CHAT) } });
    const bot = makeBot(sql, noToken);
    await bot.start(span.firstMs);
    await assert.rejects(attachMonitoring({ bot, store: new BotStore(sql), config: noToken, log }), (e: OitraderError) => /TELEGRAM_TOKEN/.test(e.hint ?? ''));
    const again = await listenOn(freePort).catch((e: Error) => e);
    assert.ok(!(again instanceof Error), `the dashboard started before the Telegram failure still holds its port: ${String(again)}`);
    await new Promise((r) => again.close(r));
  });
});

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
