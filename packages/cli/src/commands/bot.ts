import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { loadStrategySource, runPortfolioBacktest } from '@oitrader/backtest';
import { bundledInstruments, riskLimitsFromConfig } from '@oitrader/trading';
import { createLogger, leverageBySymbol, OitraderError, parseUtcTimeMs, sleep, systemClock, timeframeMs, tradedSymbols, type Config, type Logger } from '@oitrader/core';
import { Collector, describeTarget, MarketDataLoader, openStore, readStreamHealth, storeTargetFromConfig, type SqlExecutor } from '@oitrader/data';
import { accountLeaseKey, AGENT_STRATEGY, attachMonitoring, BotLease, portfolioLimitsOf, portfolioLines, readPortfolio, BinanceInstrumentProvider, LEASE_HEARTBEAT_MS, BotStore, buildBotStrategy, CHAMPION_STRATEGY, ExchangeVenue, SimMarketClock, superviseBot, TradingBot, UNCLEAN_EXIT, wallClock, type BotStrategy, type CrashPoint, type MarketClock, type Monitoring } from '@oitrader/live';
import { dashboardBacktests } from '../dashboard-backtests.ts';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';
import { IP_WEIGHT_PER_MINUTE, streamNames, WeightBudget } from '@oitrader/binance';
import { connectExchange, tradingEndpoint, type ExchangeMode } from './bot-exchange.ts';
import { goLiveCheck } from './golive.ts';
import { collectorOptions, latencyPercentiles } from './collect.ts';

interface RunFlags extends GlobalOptions {
  live?: boolean;
  replay?: boolean;
  from?: string;
  for?: string;
  logFile?: string;
  collector?: string;
  dashboardHost?: string;
  allowRemote?: boolean;
}

export function registerBotCommands(program: Command): void {
  const bot = program.command('bot').description('the trading bot: paper by default; live needs trading.mode: live AND --live');
  bot
    .command('run')
    .description('trade on every closed candle the collector stores: strategy → risk manager → venue → database → events')
    .option('--live', 'allow real-money trading (also needs trading.mode: live in config.yaml)')
    .option('--replay', 'step every stored closed candle of the session, then exit (decisions on each candle close)')
    .option('--from <time>', 'session start for a new bot (UTC date or ISO time; default: the newest closed candle)')
    .option('--for <seconds>', 'stop after this many seconds (default: until SIGINT or SIGTERM)')
    .option('--log-file <path>', 'also append the log lines (secrets redacted) to this file')
    .option('--collector <where>', 'where the candles come from: auto | in-process | external (default: bot.collector)')
    .option('--dashboard-host <host>', "the dashboard's listening address (default: dashboard.host, 127.0.0.1); the container listens on 0.0.0.0 behind a port published on the host's 127.0.0.1")
    .option('--allow-remote', 'let the dashboard listen beyond this machine (needs OITRADER_DASHBOARD_TOKEN of 24+ characters; put TLS in front)')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<RunFlags>();
      const { config, out } = commandContext(flags);
      const configured = {
        ...config,
        dashboard: { ...config.dashboard, host: flags.dashboardHost ?? config.dashboard.host, allow_remote: flags.allowRemote === true || config.dashboard.allow_remote },
      };
      out.result(await runBot(configured, out, flags));
    });
  bot
    .command('status')
    .description('mode, session, kill switch, position, equity and the latest risk events')
    .action(async (_flags, command: Command) => {
      const { config, out } = commandContext(command.optsWithGlobals<GlobalOptions>());
      await withStore(config, async (store) => out.result(await printStatus(config, out, store)));
    });
  controlCommand(bot, 'kill', 'engage the kill switch: cancel all, flatten, no entries until `oitrader bot resume`', async (store, config, flags) => {
    await store.setKilled(config.bot.name, true, flags.reason ?? 'oitrader bot kill');
    return [`kill switch engaged for bot ${config.bot.name}: the running bot flattens and stops entering at its next step`, { killed: true }];
  }).option('--reason <text>', 'recorded with the risk event', 'oitrader bot kill');
  controlCommand(bot, 'stop-entries', 'no new positions from the next step; the open one keeps its stop and may still exit or be flattened (`oitrader bot resume` releases it)', async (store, config, flags) => {
    await store.stopEntries(config.bot.name, flags.reason ?? 'oitrader bot stop-entries');
    return [`bot ${config.bot.name} opens no new positions from its next step; the open position keeps its stop`, { entriesStopped: true }];
  }).option('--reason <text>', 'recorded with the risk event', 'oitrader bot stop-entries');
  controlCommand(bot, 'resume', 'release the kill switch, stop-entries and a drawdown halt; the daily-loss halt still lasts until the next UTC day', async (store, config) => {
    if (existsSync(config.bot.kill_file)) {
      throw new OitraderError(`the kill file ${config.bot.kill_file} exists, so the bot stays killed`, { hint: `remove it (rm ${config.bot.kill_file}), then run oitrader bot resume`, exitCode: 2 });
    }
    await store.resume(config.bot.name);
    return [`bot ${config.bot.name} resumes trading at its next step`, { killed: false, entriesStopped: false }];
  });
  controlCommand(bot, 'flatten', 'close every position (or one symbol\'s: --symbol) at the next step without halting (the strategy may enter again)', async (store, config, flags) => {
    if (flags.symbol !== undefined) {
      await store.requestFlatten(config.bot.name, flags.symbol.toUpperCase());
      return [`bot ${config.bot.name} closes its ${flags.symbol.toUpperCase()} position at its next step (a forced exit; the other symbols trade on)`, { flattenSymbols: [flags.symbol.toUpperCase()] }];
    }
    await store.requestFlatten(config.bot.name);
    return [`bot ${config.bot.name} closes its positions at its next step`, { flattenRequested: true }];
  })
    .option('--symbol <symbol>', 'force-exit only this symbol');
  controlCommand(bot, 'force-entry', 'enter --symbol on --side at the next step, sized and stopped by the risk limits (which may refuse it); the strategy manages the position afterwards', async (store, config, flags) => {
    const symbol = flags.symbol?.toUpperCase();
    if (symbol === undefined) throw new OitraderError('bot force-entry needs --symbol', { hint: 'e.g. oitrader bot force-entry --symbol BTCUSDT --side long', exitCode: 2 });
    if (flags.side !== 'long' && flags.side !== 'short') throw new OitraderError(`--side must be long or short, got "${flags.side ?? ''}"`, { hint: 'e.g. oitrader bot force-entry --symbol BTCUSDT --side short', exitCode: 2 });
    await store.requestForceEntry(config.bot.name, symbol, flags.side);
    return [`bot ${config.bot.name} enters ${symbol} ${flags.side} at its next step unless the risk limits refuse it (oitrader bot status shows the decision)`, { forceEntry: { symbol, side: flags.side } }];
  })
    .requiredOption('--symbol <symbol>', 'the symbol to enter')
    .requiredOption('--side <side>', 'long or short');
}

/** A command that changes a stored bot's control row (read by the running bot at its next step). */
function controlCommand(
  parent: Command,
  name: string,
  description: string,
  act: (store: BotStore, config: Config, flags: GlobalOptions & { reason?: string; symbol?: string; side?: string }) => Promise<[string, Record<string, unknown>]>,
): Command {
  return parent
    .command(name)
    .description(description)
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { reason?: string; symbol?: string; side?: string }>();
      const { config, out } = commandContext(flags);
      await withStore(config, async (store) => {
        if (!(await store.control(config.bot.name))) {
          throw new OitraderError(`no bot named "${config.bot.name}" in ${describeTarget(storeTargetFromConfig(config))}`, { hint: 'start it with oitrader bot run (or set bot.name)', exitCode: 2 });
        }
        const [text, result] = await act(store, config, flags);
        out.text(text);
        out.result({ bot: config.bot.name, ...result });
      });
    });
}

async function withStore<T>(config: Config, work: (store: BotStore) => Promise<T>): Promise<T> {
  const { sql } = await openStore(storeTargetFromConfig(config));
  try {
    return await work(new BotStore(sql));
  } finally {
    await sql.close();
  }
}

/** The refusal rules for modes: live needs both switches; exchange venues need the signed trading client. */
export function checkMode(config: Config, live: boolean): void {
  const mode = config.trading.mode;
  if (mode === 'live' && !live) {
    throw new OitraderError('trading.mode is live but --live is missing: refusing to trade real money', {
      hint: 'run oitrader bot run --live to trade live, or set trading.mode: paper (the default) or demo',
      exitCode: 2,
    });
  }
  if (live && mode !== 'live') {
    throw new OitraderError(`--live given but trading.mode is ${mode}: refusing to guess`, { hint: 'set trading.mode: live in config.yaml as well, or drop --live', exitCode: 2 });
  }
}

export interface BotRunSummary {
  bot: string;
  mode: string;
  symbols: string[];
  candles: number;
  replayedBars: number;
  differences: string[];
  fills: number;
  /** Each symbol's position at the end. */
  positions: Record<string, number>;
  equityUsd: number | undefined;
  /** Candle close → step committed, ms (meaningful in live operation; in --replay it is the age of the replayed candle). */
  stepLatencyMs: { p50: number; p99: number; samples: number };
}

export async function runBot(config: Config, out: Output, flags: RunFlags): Promise<BotRunSummary> {
  checkMode(config, flags.live === true);
  const t = config.trading;
  const b = config.bot;
  const symbols = tradedSymbols(t);
  if (t.mode !== 'paper' && flags.replay) {
    throw new OitraderError(`--replay steps stored candles on the paper venue; trading.mode ${t.mode} trades only closed candles as they come`, { hint: 'drop --replay, or set trading.mode: paper to replay', exitCode: 2 });
  }
  if ((b.strategy === CHAMPION_STRATEGY || b.strategy === AGENT_STRATEGY) && symbols.length > 1) {
    throw new OitraderError(`bot.strategy ${b.strategy} trades the one symbol its model run was trained on, but trading.symbols lists ${symbols.join(', ')}`, {
      hint: 'trade one symbol with a model (trading.symbols: [<the run\'s symbol>]), or a baseline strategy on several',
      exitCode: 2,
    });
  }
  const seconds = flags.for === undefined ? undefined : Number(flags.for);
  if (seconds !== undefined && !(seconds > 0)) throw new OitraderError(`--for expects a number of seconds > 0, got ${flags.for}`, { exitCode: 2 });
  const collectorMode = flags.collector ?? b.collector;
  if (collectorMode !== 'auto' && collectorMode !== 'in-process' && collectorMode !== 'external') {
    throw new OitraderError(`--collector expects auto, in-process or external, got ${collectorMode}`, { exitCode: 2 });
  }
  // Where orders may go, checked before anything is opened or printed: a refused configuration makes no database.
  const account = t.mode === 'paper' ? undefined : tradingEndpoint(t.mode as ExchangeMode, config.binance);
  const target = storeTargetFromConfig(config);
  const log = createLogger('bot', flags.logFile ? { write: teeTo(flags.logFile) } : {});
  printLimits(config, out);
  if (flags.live) {
    // The verdict is printed, not enforced: the operator decided with --live; the checklist says what is unproven.
    const items = await goLiveCheck(config);
    const failed = items.filter((i) => !i.pass);
    out.text(failed.length === 0 ? `golive check: all ${items.length} items pass` : `golive check: NOT READY, ${failed.length} of ${items.length} items fail (oitrader golive check):`);
    for (const i of failed) out.text(`  FAIL ${i.item}: ${i.evidence}`);
  }
  const { sql } = await openStore(target);
  // Before anything reaches the exchange: one running bot per bot name and per account.
  const lease = await BotLease.acquire(sql, { bot: b.name, mode: t.mode, account: account && accountLeaseKey(t.mode, account.restUrl, account.apiKey) }).catch(async (error: unknown) => {
    await sql.close();
    throw error;
  });
  // A lease left behind means its run never reached its clean shutdown: `golive check` counts these.
  for (const line of lease.tookOver) {
    out.text(line);
    await new BotStore(sql).noteRiskEvent(b.name, UNCLEAN_EXIT, line);
  }
  let leaseLost: unknown;
  const store = new BotStore(sql);
  const barMs = timeframeMs(b.timeframe);
  const abort = new AbortController();
  const stop = () => abort.abort();
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const s of signals) process.once(s, stop);
  if (seconds !== undefined) setTimeout(stop, seconds * 1000).unref();
  const heartbeat = setInterval(() => {
    lease.heartbeat().catch((error: unknown) => {
      if (!(error instanceof OitraderError)) return log.warn(`lease heartbeat failed (${(error as Error).message}); retrying in ${LEASE_HEARTBEAT_MS / 1000} s`);
      leaseLost = error;
      stop();
    });
  }, LEASE_HEARTBEAT_MS);
  heartbeat.unref();
  const latencies: number[] = [];
  let monitoring: Monitoring | undefined;
  const crashAt = crashPointFromEnv();
  const entryFill = entryFillCrash(crashAt);
  let collector: Collector | undefined;
  let chosen: BotStrategy[] = [];
  const disposeStrategies = () => {
    for (const c of chosen) c.dispose();
    chosen = [];
  };
  try {
    // Binance counts request weight per IP: the collector in this process and the trading client spend one budget when they reach the same host.
    const ipBudget = new WeightBudget(IP_WEIGHT_PER_MINUTE, 60_000, systemClock);
    const exchange = t.mode === 'paper' ? undefined : await connectExchange(config, out, log, ipBudget);
    const clock = exchange?.clock ?? wallClock;
    // On an exchange the instruments' rules are the exchange's own (refreshed daily and after a refusal); paper uses the bundled snapshot.
    const instruments = exchange ? await BinanceInstrumentProvider.load({ client: exchange.client, symbols, clock: () => clock.now(), log }) : bundledInstruments();
    for (const symbol of symbols) instruments.instrument(symbol);
    out.text(`instrument rules: ${instruments.source}`);
    const latest = [...(await store.latestClosedCandles(symbols, b.timeframe, barMs, clock.now())).values()];
    const sessionStart = flags.from !== undefined ? parseUtcTimeMs(flags.from) : latest.length > 0 ? Math.max(...latest) : undefined;
    const existing = await store.control(b.name);
    if (!existing && sessionStart === undefined && (flags.replay || collectorMode === 'external')) {
      throw new OitraderError(`no closed ${b.timeframe} ${symbols.join(', ')} candles in ${describeTarget(target)}`, { hint: 'run oitrader collect (or oitrader data import) first', exitCode: 2 });
    }
    if (!flags.replay && (await wantsOwnCollector(collectorMode, config, sql))) {
      const options = collectorOptions(config, sql);
      if (t.mode === 'paper') await ensureReachable(options.restUrl, abort.signal);
      const sameHost = exchange !== undefined && new URL(options.restUrl).host === new URL(exchange.client.restUrl).host;
      collector = new Collector({ ...options, rest: sameHost ? { ...options.rest, ipBudget } : options.rest, symbols: [...new Set([...symbols, ...config.data.symbols])], log: createLogger('collector') });
      out.text(`collecting ${symbols.join(', ')} in this process (bot.collector: ${collectorMode}) from ${options.restUrl}`);
      await collector.start();
    }
    const loader = new MarketDataLoader(sql, onceLogger(log));
    if (!flags.replay) await warnIfLosingToFlat(config, loader, out, symbols, sessionStart ?? clock.now());
    // A rebuilt bot (after a failed step) gets fresh strategies: their state is rebuilt by the replay, never carried over.
    const newBot = async () => {
      disposeStrategies();
      for (const symbol of symbols) {
        chosen.push(
          await buildBotStrategy(config, {
            loader,
            log,
            symbol,
            // The log line is the strategy's own; the operator hears it on Telegram too.
            onSwap: (from, to, candleTimeMs) => void monitoring?.telegram?.send(`model ${from === undefined ? 'loaded' : `swapped from ${from}`}: ${to} decides from the candle at ${new Date(candleTimeMs).toISOString()}`),
          }),
        );
      }
      return new TradingBot({
        bot: b.name,
        instruments: symbols.map((symbol, k) => ({ symbol, strategy: chosen[k].strategy, signals: chosen[k].signals })),
        timeframe: b.timeframe,
        mode: t.mode,
        risk: riskLimitsFromConfig(t),
        stopLoss: t.stop_loss,
        execution: { initialBalanceUsd: t.initial_balance, leverage: t.leverage, leverageBySymbol: leverageBySymbol(t) },
        store,
        loader,
        warmupBars: b.history_bars,
        instrumentProvider: instruments,
        venue:
          exchange &&
          new ExchangeVenue({
            client: exchange.client,
            bot: b.name,
            symbols,
            takerFeeRate: exchange.takerFeeRate,
            log,
            afterEntryFill: entryFill,
            onRefusal: (e) => (instruments as BinanceInstrumentProvider).noteRefusal(e),
            unfilledEntryTimeoutMs: b.unfilled_entry_timeout_candles * barMs,
            // A stepped simulator moves only between the bot's steps: a fill cannot come while the bot waits for it.
            fillWaitMs: () => (clock instanceof SimMarketClock && clock.speed === 0 ? 0 : 3000),
          }),
        onUnknownPosition: b.on_unknown_position,
        onForeignOrders: b.on_foreign_orders,
        clock: flags.replay ? undefined : () => clock.now(),
        killFile: b.kill_file,
        dataHealthy: flags.replay ? undefined : (symbol) => klineStreamHealthy(config, sql, symbol),
        log,
        crashAt,
      });
    };
    const start = sessionStart ?? existing?.sessionStartMs ?? (await waitForFirstCandle(store, config, clock, abort.signal));
    const run = await superviseBot({
      build: newBot,
      sessionStartMs: start,
      // The first start and every rebuild after a failed step: monitoring re-pointed at the new bot.
      onStarted: async (next, report, first) => {
        next.events.on('fill', (f) => out.text(`fill ${new Date(f.timeMs).toISOString()} ${f.side} ${f.qtyBase} ${f.symbol} @ ${f.priceUsd} (${f.reason})`));
        next.events.on('risk', (r) => out.text(`risk ${new Date(r.timeMs).toISOString()} ${r.kind}: ${r.message}`));
        await monitoring?.close();
        const backtests = config.dashboard.enabled ? dashboardBacktests(config, flags.config) : undefined;
        monitoring = await attachMonitoring({ bot: next, store, config, log, replay: flags.replay, signal: abort.signal, backtests });
        if (first) {
          out.text(`strategy: ${chosen.map((c, k) => (symbols.length > 1 ? `${symbols[k]} ${c.description}` : c.description)).join('; ')}`);
          out.text(report.replayedBars > 0 ? `reconciled: replayed ${report.replayedBars} candles, ${report.differences.length} differences` : `session from ${new Date(start).toISOString()}${report.differences.length > 0 ? `, ${report.differences.length} differences with the exchange` : ''}`);
        }
        for (const d of report.differences) out.text(`  difference: ${d}`);
        if (report.knownDifferences) out.text(`  (${report.knownDifferences} difference${report.knownDifferences === 1 ? '' : 's'} an earlier start reported and recorded, not repeated: bot status lists the risk events)`);
      },
      loop: {
        store,
        symbols,
        timeframe: b.timeframe,
        pollMs: pollMs(b.poll_seconds * 1000, barMs, exchange?.clock),
        clock: () => clock.now(),
        sync: () => clock.sync(),
        idle: (ms, signal) => clock.idle(ms, signal),
        untilCaughtUp: flags.replay,
        log,
        onStepped: (_n, latencyMs) => latencies.push(latencyMs),
      },
      signal: abort.signal,
      rebuildOnFailure: exchange !== undefined,
      log,
    });
    if (leaseLost) throw leaseLost;
    const equity = await store.latestEquity(b.name);
    const positions: Record<string, number> = {};
    for (const symbol of symbols) positions[symbol] = (await store.position(b.name, symbol))?.qtyBase ?? 0;
    const summary: BotRunSummary = {
      bot: b.name,
      mode: t.mode,
      symbols,
      candles: run.candles,
      replayedBars: run.report.replayedBars,
      differences: run.report.differences,
      fills: (await store.fills(b.name)).length,
      positions,
      equityUsd: equity?.equityUsd,
      stepLatencyMs: latencyPercentiles(latencies),
    };
    out.text(`bot ${b.name} stopped after ${run.candles} candles: ${summary.fills} fills, positions ${symbols.map((s) => `${positions[s]} ${s}`).join(', ')}, equity ${equity?.equityUsd.toFixed(2) ?? '?'} USDT`);
    return summary;
  } finally {
    await monitoring?.close();
    for (const s of signals) process.removeListener(s, stop);
    disposeStrategies();
    if (collector) await collector.stop();
    clearInterval(heartbeat);
    await lease.release().catch((error: unknown) => log.warn(`could not release the bot's lease (${(error as Error).message}): the next run takes it over once this process is gone`));
    await sql.close();
  }
}

/**
 * A paper bot that collects its own candles needs the market-data host: one look with a 5 s deadline before
 * the collector's patient retries, so a machine without network hears it at once, with the offline ways.
 */
async function ensureReachable(restUrl: string, signal: AbortSignal): Promise<void> {
  try {
    await fetch(new URL('/fapi/v1/time', restUrl), { signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]) });
  } catch (error) {
    if (signal.aborted) throw new OitraderError('stopped before the collector started', { exitCode: 1 });
    throw new OitraderError(`cannot reach ${restUrl} (${(error as Error).cause ?? (error as Error).message}): the paper bot collects live candles from it`, {
      hint: 'offline: oitrader paper (the bot against the local simulator on the bundled sample), or oitrader bot run --replay on stored candles',
      exitCode: 2,
    });
  }
}

const VERDICT_DAYS = 30;

/**
 * Before a baseline or a strategy file trades: its backtest on the last 30 days of stored candles, through the
 * bot's own risk engine, after fees and funding. A loss (flat makes 0) is said out loud before anything trades:
 * the default strategy is a demonstration, not an edge. Models are judged by `models promote`; too little
 * stored data (under 3 days) says nothing.
 */
export async function warnIfLosingToFlat(config: Config, loader: MarketDataLoader, out: Output, symbols: readonly string[], endMs: number): Promise<void> {
  const spec = config.bot.strategy;
  if (spec === CHAMPION_STRATEGY || spec === AGENT_STRATEGY || spec === 'flat') return;
  const barMs = timeframeMs(config.bot.timeframe);
  const loaded = await loader.loadMany(symbols, config.bot.timeframe, endMs - VERDICT_DAYS * 86_400_000, endMs + barMs);
  const frames = [...loaded.values()].map((l) => l.frame).filter((f) => f.length * barMs >= 3 * 86_400_000);
  if (frames.length === 0) return;
  const source = await loadStrategySource(spec);
  const result = runPortfolioBacktest(frames, (symbol) => source.create(symbol), {
    leverage: config.trading.leverage,
    initialBalanceUsd: config.trading.initial_balance,
    leverageBySymbol: leverageBySymbol(config.trading),
    risk: { limits: riskLimitsFromConfig(config.trading), stopLoss: config.trading.stop_loss },
  }).portfolio;
  const days = Math.round(((Math.max(...frames.map((f) => f.time[f.length - 1])) - Math.min(...frames.map((f) => f.time[0]))) / 86_400_000) * 10) / 10;
  const pct = (result.equity[result.equity.length - 1] / config.trading.initial_balance - 1) * 100;
  if (pct >= 0) return;
  out.text(
    `warning: ${source.name} LOST ${(-pct).toFixed(2)}% over the last ${days} days of stored ${frames.map((f) => f.symbol).join(', ')} candles ` +
      `(${result.trades.length} trades through this bot's risk engine, after fees and funding; flat: 0%). It is not an edge: ` +
      `oitrader backtest --strategy ${spec} --symbols ${frames.map((f) => f.symbol).join(',')} compares it with the baselines.`,
  );
}

/** bot.collector: `in-process` always, `external` never, `auto` unless another collector's heartbeat in the database is fresh. */
async function wantsOwnCollector(mode: Config['bot']['collector'], config: Config, sql: SqlExecutor): Promise<boolean> {
  if (mode !== 'auto') return mode === 'in-process';
  const health = await readStreamHealth(sql);
  // Heartbeats are written on the collector's machine clock, every collector.heartbeat_seconds.
  return !health.some((row) => Date.now() - row.updatedAtMs < 3 * config.collector.heartbeat_seconds * 1000);
}

/**
 * The collector's heartbeat for the traded candles: unhealthy when the kline stream has been silent for
 * longer than trading.stale_after_seconds (plus two heartbeats, the write interval). No heartbeat row at
 * all (nothing collects on this machine) leaves the stale-candle rule to judge the data.
 */
async function klineStreamHealthy(config: Config, sql: SqlExecutor, symbol: string): Promise<boolean> {
  const stream = streamNames.kline(symbol, config.bot.timeframe);
  const row = (await readStreamHealth(sql)).find((r) => r.stream === stream);
  return row === undefined || Date.now() - row.lastMessageAtMs <= config.trading.stale_after_seconds * 1000 + 2 * config.collector.heartbeat_seconds * 1000;
}

/** A new bot with no stored candles waits for the first one its collector stores. */
async function waitForFirstCandle(store: BotStore, config: Config, clock: MarketClock, signal: AbortSignal): Promise<number> {
  const barMs = timeframeMs(config.bot.timeframe);
  const symbols = tradedSymbols(config.trading);
  for (;;) {
    await clock.sync();
    const latest = [...(await store.latestClosedCandles(symbols, config.bot.timeframe, barMs, clock.now())).values()];
    if (latest.length > 0) return Math.max(...latest);
    if (signal.aborted) throw new OitraderError(`stopped before the first closed ${config.bot.timeframe} ${symbols.join(', ')} candle arrived`, { exitCode: 1 });
    await sleep(500, signal);
  }
}

/** How often to look for a new candle: bot.poll_seconds, but at least 5 looks per candle of a fast replay (real time). */
function pollMs(configuredMs: number, barMs: number, clock: MarketClock | undefined): number {
  const speed = clock instanceof SimMarketClock ? clock.speed : 1;
  if (speed === 0) return 20;
  return Math.max(20, Math.min(configuredMs, barMs / speed / 5));
}

/** What the bot will trade with, printed before its first order (never a key or secret). */
function printLimits(config: Config, out: Output): void {
  const t = config.trading;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const overrides = Object.entries(leverageBySymbol(t)).map(([s, l]) => `${s} ${l}x`);
  out.text(`bot ${config.bot.name}: ${t.mode} ${tradedSymbols(t).join(', ')} ${config.bot.timeframe}, strategy ${config.bot.strategy}, account ${t.mode === 'paper' ? `paper ${t.initial_balance} USDT` : `Binance ${t.mode}`}`);
  out.text(
    `limits: leverage ≤ ${t.leverage}x${overrides.length > 0 ? ` (${overrides.join(', ')})` : ''}, risk ${pct(t.risk_per_trade)}/trade, stop ${pct(t.stop_loss)}, daily loss ${pct(t.max_daily_loss)}, max drawdown ${pct(t.max_drawdown)}, ` +
      `liquidation ≥ ${t.min_liquidation_distance}× stop, stale after ${t.stale_after_seconds} s, kill file ${config.bot.kill_file}`,
  );
  out.text(`portfolio: ≤ ${t.max_open_positions} positions, gross exposure ≤ ${t.max_gross_exposure ?? t.leverage}× equity, risk budget ${pct(t.max_total_risk)} of equity (≤ ${pct(t.max_instrument_risk_share)} of it per symbol), cooldown after a stop ${t.cooldown_after_stop_minutes} min, ≤ ${t.max_scale_ins} scale-ins`);
}

async function printStatus(config: Config, out: Output, store: BotStore): Promise<unknown> {
  const name = config.bot.name;
  const view = await readPortfolio(store, { bot: name, timeframe: config.bot.timeframe, limits: portfolioLimitsOf(config.trading) });
  if (!view) {
    out.text(`no bot named "${name}" yet (oitrader bot run starts one)`);
    return { bot: name, exists: false };
  }
  const killFile = existsSync(config.bot.kill_file);
  for (const line of portfolioLines(view)) out.text(line);
  if (killFile && !view.control.killed) out.text(`kill switch: ENGAGED by the kill file ${config.bot.kill_file} (the running bot acts on it at its next step)`);
  for (const e of view.riskEvents.slice(-5)) out.text(`  ${new Date(e.timeMs).toISOString()} ${e.kind}: ${e.message}`);
  return { exists: true, killFile, ...view };
}

/**
 * Test hook for the SIGKILL recovery tests: OITRADER_BOT_CRASH_AT=after-send:3 kills the process the 3rd
 * time it gets there; after-send:3:orders counts only steps that send orders.
 */
function crashPointFromEnv(): { point: CrashPoint; count: number; ordersOnly: boolean } | undefined {
  const value = process.env.OITRADER_BOT_CRASH_AT;
  if (!value) return undefined;
  const [point, count, which] = value.split(':');
  return { point: point as CrashPoint, count: Number(count ?? 1), ordersOnly: which === 'orders' };
}

/** The venue's hook between an entry's fill and its stop: SIGKILL at the `count`-th entry. */
function entryFillCrash(crashAt: ReturnType<typeof crashPointFromEnv>): (() => void) | undefined {
  if (crashAt?.point !== 'after-entry-fill') return undefined;
  let seen = 0;
  return () => {
    if (++seen === crashAt.count) process.kill(process.pid, 'SIGKILL');
  };
}

/** Log lines (already redacted by the logger) to stderr and appended to `file`. */
function teeTo(file: string): (line: string) => void {
  mkdirSync(dirname(file), { recursive: true });
  return (line) => {
    process.stderr.write(`${line}\n`);
    appendFileSync(file, `${line}\n`);
  };
}

/** The loader warns about absent series on every load; once per message is enough for a loop. */
function onceLogger(log: Logger): Logger {
  const seen = new Set<string>();
  const once = (f: (m: string) => void) => (m: string) => {
    const key = m.replace(/\d+/g, '#');
    if (seen.has(key)) return;
    seen.add(key);
    f(m);
  };
  return { debug: once(log.debug.bind(log)), info: once(log.info.bind(log)), warn: once(log.warn.bind(log)), error: log.error.bind(log) };
}
