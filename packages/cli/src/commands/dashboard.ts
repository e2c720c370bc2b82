import type { Command } from 'commander';
import { baselineByName } from '@oitrader/backtest';
import { riskLimitsFromConfig } from '@oitrader/trading';
import { configSchema, createLogger, OitraderError, redactSecret, silentLogger, timeframeMs, tradedSymbols, type Config } from '@oitrader/core';
import { MarketDataLoader, openStore, storeTargetFromConfig, type SqlExecutor } from '@oitrader/data';
import { prepareAccount, UsdmClient } from '@oitrader/binance';
import { BinanceInstrumentProvider, BotStore, championInfo, ExchangeVenue, newestStoredCandle, portfolioLimitsOf, startDashboard, TelegramBridge, TradingBot, type RunningDashboard } from '@oitrader/live';
import { loadReplayDataset, SIM_API_KEY, SIM_SECRET, SimClock, SimServer } from '@oitrader/sim';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';
import { dashboardBacktests } from '../dashboard-backtests.ts';
import { stopSignals } from '../stop-signals.ts';

interface DashboardFlags extends GlobalOptions {
  host?: string;
  port?: string;
  for?: string;
  telegram?: boolean;
  allowRemote?: boolean;
}

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve the bot dashboard (read-only; controls need OITRADER_DASHBOARD_TOKEN) and /metrics; with --telegram also the Telegram commands')
    .option('--host <host>', 'listen address (default: dashboard.host, 127.0.0.1)')
    .option('--port <port>', 'port (default: dashboard.port; 0 = any free port)')
    .option('--for <seconds>', 'stop after this many seconds (default: until SIGINT or SIGTERM)')
    .option('--allow-remote', 'let --host be an address beyond this machine (needs OITRADER_DASHBOARD_TOKEN of 24+ characters; put TLS in front)')
    .option('--telegram', 'also answer Telegram commands from telegram.chat_id (needs TELEGRAM_TOKEN)')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<DashboardFlags>();
      const { config, out } = commandContext(flags);
      await runDashboard(config, out, flags);
    });
}

export async function runDashboard(config: Config, out: Output, flags: DashboardFlags): Promise<void> {
  const port = flags.port === undefined ? config.dashboard.port : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OitraderError(`--port expects 0-65535, got ${flags.port}`, { exitCode: 2 });
  const seconds = flags.for === undefined ? undefined : Number(flags.for);
  if (seconds !== undefined && !(seconds > 0)) throw new OitraderError(`--for expects a number of seconds > 0, got ${flags.for}`, { exitCode: 2 });
  const token = process.env.OITRADER_DASHBOARD_TOKEN || undefined;
  redactSecret(token);
  const log = createLogger('dashboard');
  const { sql } = await openStore(storeTargetFromConfig(config));
  let dash: RunningDashboard | undefined;
  let telegram: TelegramBridge | undefined;
  // Signals first: Ctrl-C also ends a start-up that still waits for Telegram.
  const stopped = stopSignals(seconds);
  try {
    dash = await startDashboard({
      sql,
      bot: config.bot.name,
      symbol: tradedSymbols(config.trading)[0],
      symbols: tradedSymbols(config.trading),
      limits: portfolioLimitsOf(config.trading),
      timeframe: config.bot.timeframe,
      barMs: timeframeMs(config.bot.timeframe),
      host: flags.host ?? config.dashboard.host,
      port,
      allowRemote: flags.allowRemote === true || config.dashboard.allow_remote,
      allowedHosts: config.dashboard.allowed_hosts,
      token,
      maxDailyLoss: config.trading.max_daily_loss,
      champion: () => championInfo(config.models.dir),
      strategy: config.bot.strategy,
      backtests: dashboardBacktests(config, flags.config),
      log,
    });
    out.text(`dashboard for bot ${config.bot.name}: ${dash.url} (metrics: ${dash.url}metrics)${token ? '' : '; controls disabled: set OITRADER_DASHBOARD_TOKEN to enable them'}`);
    if (flags.telegram) {
      const t = config.telegram;
      telegram = new TelegramBridge({ token: t.token, chatId: t.chat_id, apiRoot: t.api_root, timeoutMs: t.timeout_seconds * 1000, sql, bot: config.bot.name, symbol: tradedSymbols(config.trading)[0], timeframe: config.bot.timeframe, limits: portfolioLimitsOf(config.trading), dailySummaryAt: t.daily_summary_at, notify: t.notify, log: createLogger('telegram') });
      await telegram.start(stopped.signal);
      out.text(`telegram: answering commands from chat ${t.chat_id}; daily summary at ${t.daily_summary_at} UTC`);
    }
    if (!stopped.signal.aborted) await new Promise((resolve) => stopped.signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    stopped.dispose();
    await telegram?.stop();
    await dash?.close();
    await sql.close();
  }
}

/**
 * The demo's last step: the portfolio bot (sma-trend, the default risk limits, every symbol on one wallet)
 * trades the trading simulator over the wire — signed REST, MARKET entries, Algo Order API stops —
 * replaying the newest `days` of the sample candle by candle, with the dashboard attached so the page
 * fills while it trades. Ends by comparing, symbol by symbol, the bot's stored fills with the simulator's.
 * `keepUp`: leave the dashboard running until Ctrl-C; otherwise it closes after the replay.
 */
export async function runDemoBot(
  sql: SqlExecutor,
  out: Output,
  options: { symbols: readonly string[]; days: number; keepUp: boolean; modelsDir?: string; archiveDir: string },
): Promise<{ url: string; fills: number; equityUsd: number | undefined; matchesExchange: boolean }> {
  const symbols = [...options.symbols];
  const config = configSchema.parse({ bot: { name: 'demo' }, trading: { symbols } });
  const t = config.trading;
  const barMs = timeframeMs(config.bot.timeframe);
  const store = new BotStore(sql);
  await store.deleteBot('demo');
  const newest = await Promise.all(symbols.map((s) => newestStoredCandle(sql, s, config.bot.timeframe)));
  const missing = symbols.filter((_, i) => newest[i] === undefined);
  if (missing.length > 0) throw new OitraderError(`no ${config.bot.timeframe} ${missing.join(', ')} candles to replay`, { hint: 'import data first (oitrader data import)', exitCode: 2 });
  const last = Math.min(...(newest as number[]));
  const start = last - options.days * 86_400_000;
  // Stepped by this function: each candle's close comes only when the bot has committed the one before.
  const datasets = await Promise.all(symbols.map((s) => loadReplayDataset(options.archiveDir, s)));
  const sim = await SimServer.start({ datasets, clock: new SimClock(start + 1000, 0), weightPerMinute: 1_000_000 });
  const trades = new Map<string, string[]>(symbols.map((s) => [s, []]));
  const key = (side: string, qty: number, price: number) => `${side} ${qty.toFixed(8)} @ ${price.toFixed(4)}`;
  sim.trading.engine.onEvent((e) => {
    if (e.e === 'ORDER_TRADE_UPDATE' && e.o.x === 'TRADE') trades.get(e.o.s)?.push(key(e.o.S.toLowerCase(), Number(e.o.l), Number(e.o.L)));
  });
  const client = new UsdmClient({ restUrl: sim.restUrl, apiKey: SIM_API_KEY, secret: SIM_SECRET, clock: sim.clock });
  await prepareAccount(client, symbols, t.leverage);
  const instruments = await BinanceInstrumentProvider.load({ client, symbols, clock: () => sim.clock.now() });
  const bot = new TradingBot({
    bot: 'demo',
    instruments: symbols.map((symbol) => ({ symbol, strategy: baselineByName(config.bot.strategy) })),
    timeframe: config.bot.timeframe,
    mode: 'sim',
    risk: riskLimitsFromConfig(t),
    stopLoss: t.stop_loss,
    execution: { initialBalanceUsd: t.initial_balance, leverage: t.leverage },
    store,
    loader: new MarketDataLoader(sql, silentLogger),
    instrumentProvider: instruments,
    venue: new ExchangeVenue({ client, bot: 'demo', symbols, onRefusal: (e) => instruments.noteRefusal(e), takerFeeRate: (await client.commissionRate(symbols[0])).takerRate }),
    clock: () => sim.clock.now(),
  });
  const dash = await startDashboard({
    sql,
    bot: 'demo',
    symbol: symbols[0],
    symbols,
    limits: portfolioLimitsOf(t),
    timeframe: config.bot.timeframe,
    barMs,
    maxDailyLoss: t.max_daily_loss,
    events: bot.events,
    champion: options.modelsDir ? () => championInfo(options.modelsDir!) : undefined,
  });
  out.text(`dashboard: ${dash.url} (a ${config.bot.strategy} portfolio bot trades ${symbols.join(', ')} on one wallet against the simulator at ${sim.restUrl}, over the wire, on the last ${options.days} days; controls need OITRADER_DASHBOARD_TOKEN)`);
  try {
    await bot.start(start);
    for (let candle = start; candle <= last; candle += barMs) {
      sim.clock.set(candle + barMs + 1000);
      await bot.stepThrough(candle);
    }
    const [fills, equity, orders] = await Promise.all([store.fills('demo'), store.latestEquity('demo'), store.orders('demo')]);
    const lines: string[] = [];
    let matchesExchange = true;
    for (const symbol of symbols) {
      const stored = fills.filter((f) => f.symbol === symbol).map((f) => key(f.side, f.qtyBase, f.priceUsd));
      const exchange = trades.get(symbol)!;
      const same = stored.join('|') === exchange.join('|');
      matchesExchange &&= same;
      const unprotected = orders.filter((e) => e.symbol === symbol && e.intent === 'entry' && e.status === 'FILLED' && !orders.some((o) => o.symbol === symbol && o.intent === 'stop' && o.candleTimeMs === e.candleTimeMs)).length;
      lines.push(`  ${symbol.padEnd(9)} ${String(stored.length).padStart(3)} fills stored, ${String(exchange.length).padStart(3)} on the simulator: ${same ? 'equal' : 'DIFFERENT'}${unprotected > 0 ? `; ${unprotected} entries without a stop` : ''}`);
    }
    out.text(`sim bot: ${fills.length} fills on ${symbols.length} symbols, equity ${equity?.equityUsd.toFixed(2) ?? '?'} USDT after the replay (one wallet); stored fills vs the simulator's, per symbol:\n${lines.join('\n')}`);
    if (options.keepUp) {
      out.text(`dashboard stays up at ${dash.url} — Ctrl-C to stop`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    return { url: dash.url, fills: fills.length, equityUsd: equity?.equityUsd, matchesExchange };
  } finally {
    await dash.close();
    await sim.close();
  }
}
