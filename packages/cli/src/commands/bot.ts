import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { riskLimitsFromConfig } from '@oitrader/trading';
import { createLogger, OitraderError, parseUtcTimeMs, timeframeMs, type Config, type Logger } from '@oitrader/core';
import { Collector, describeTarget, MarketDataLoader, openStore, readStreamHealth, storeTargetFromConfig, type SqlExecutor } from '@oitrader/data';
import { attachMonitoring, BinanceInstrumentProvider, BotStore, buildBotStrategy, ExchangeVenue, runBotLoop, SimMarketClock, sleep, TradingBot, wallClock, type BotStrategy, type CrashPoint, type MarketClock, type Monitoring } from '@oitrader/live';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';
import { BinanceBannedError, BinanceOrderError, OrderNotPlacedError, streamNames, UnknownOutcomeError } from '@oitrader/binance';
import { connectExchange } from './bot-exchange.ts';
import { collectorOptions, latencyPercentiles } from './collect.ts';

interface RunFlags extends GlobalOptions {
  live?: boolean;
  replay?: boolean;
  from?: string;
  for?: string;
  logFile?: string;
  collector?: string;
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
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<RunFlags>();
      const { config, out } = commandContext(flags);
      out.result(await runBot(config, out, flags));
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
  controlCommand(bot, 'flatten', 'close the position at the next step without halting (the strategy may enter again)', async (store, config) => {
    await store.requestFlatten(config.bot.name);
    return [`bot ${config.bot.name} closes its position at its next step`, { flattenRequested: true }];
  });
}

/** A command that changes a stored bot's control row (read by the running bot at its next step). */
function controlCommand(
  parent: Command,
  name: string,
  description: string,
  act: (store: BotStore, config: Config, flags: GlobalOptions & { reason?: string }) => Promise<[string, Record<string, unknown>]>,
): Command {
  return parent
    .command(name)
    .description(description)
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { reason?: string }>();
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
  symbol: string;
  candles: number;
  replayedBars: number;
  differences: string[];
  fills: number;
  qtyBase: number;
  equityUsd: number | undefined;
  /** Candle close → step committed, ms (meaningful in live operation; in --replay it is the age of the replayed candle). */
  stepLatencyMs: { p50: number; p99: number; samples: number };
}

export async function runBot(config: Config, out: Output, flags: RunFlags): Promise<BotRunSummary> {
  checkMode(config, flags.live === true);
  const t = config.trading;
  const b = config.bot;
  if (t.mode !== 'paper' && flags.replay) {
    throw new OitraderError(`--replay steps stored candles on the paper venue; trading.mode ${t.mode} trades only closed candles as they come`, { hint: 'drop --replay, or set trading.mode: paper to replay', exitCode: 2 });
  }
  const seconds = flags.for === undefined ? undefined : Number(flags.for);
  if (seconds !== undefined && !(seconds > 0)) throw new OitraderError(`--for expects a number of seconds > 0, got ${flags.for}`, { exitCode: 2 });
  const collectorMode = flags.collector ?? b.collector;
  if (collectorMode !== 'auto' && collectorMode !== 'in-process' && collectorMode !== 'external') {
    throw new OitraderError(`--collector expects auto, in-process or external, got ${collectorMode}`, { exitCode: 2 });
  }
  const target = storeTargetFromConfig(config);
  const log = createLogger('bot', flags.logFile ? { write: teeTo(flags.logFile) } : {});
  printLimits(config, out);
  const exchange = t.mode === 'paper' ? undefined : await connectExchange(config, out, log);
  const clock = exchange?.clock ?? wallClock;
  // On an exchange the instruments' rules are the exchange's own (refreshed daily and after a refusal); paper uses the bundled snapshot.
  const instruments = exchange && (await BinanceInstrumentProvider.load({ client: exchange.client, symbols: [t.symbol], clock: () => clock.now(), log }));
  if (instruments) out.text(`instrument rules: ${instruments.source}`);
  const { sql } = await openStore(target);
  const store = new BotStore(sql);
  const barMs = timeframeMs(b.timeframe);
  const abort = new AbortController();
  const stop = () => abort.abort();
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const s of signals) process.once(s, stop);
  if (seconds !== undefined) setTimeout(stop, seconds * 1000).unref();
  const latencies: number[] = [];
  let monitoring: Monitoring | undefined;
  const crashAt = crashPointFromEnv();
  const entryFill = entryFillCrash(crashAt);
  let collector: Collector | undefined;
  let chosen: BotStrategy | undefined;
  try {
    const latest = await store.latestClosedCandle(t.symbol, b.timeframe, barMs, clock.now());
    const sessionStart = flags.from !== undefined ? parseUtcTimeMs(flags.from) : latest;
    const existing = await store.control(b.name);
    if (!existing && sessionStart === undefined && (flags.replay || collectorMode === 'external')) {
      throw new OitraderError(`no closed ${b.timeframe} ${t.symbol} candles in ${describeTarget(target)}`, { hint: 'run oitrader collect (or oitrader data import) first', exitCode: 2 });
    }
    if (!flags.replay && (await wantsOwnCollector(collectorMode, config, sql))) {
      const options = collectorOptions(config, sql);
      collector = new Collector({ ...options, symbols: [...new Set([t.symbol, ...config.data.symbols])], log: createLogger('collector') });
      out.text(`collecting ${t.symbol} in this process (bot.collector: ${collectorMode}) from ${options.restUrl}`);
      await collector.start();
    }
    const loader = new MarketDataLoader(sql, onceLogger(log));
    // A rebuilt bot (after a failed step) gets a fresh strategy: its state is rebuilt by the replay, never carried over.
    const newBot = async () => {
      chosen?.dispose();
      chosen = await buildBotStrategy(config, {
        loader,
        log,
        // The log line is the strategy's own; the operator hears it on Telegram too.
        onSwap: (from, to, candleTimeMs) => void monitoring?.telegram?.send(`model ${from === undefined ? 'loaded' : `swapped from ${from}`}: ${to} decides from the candle at ${new Date(candleTimeMs).toISOString()}`),
      });
      return new TradingBot({
        bot: b.name,
        instruments: [{ symbol: t.symbol, strategy: chosen.strategy, signals: chosen.signals }],
        timeframe: b.timeframe,
        mode: t.mode,
        risk: riskLimitsFromConfig(t),
        stopLoss: t.stop_loss,
        execution: { initialBalanceUsd: t.initial_balance, leverage: t.leverage },
        store,
        loader,
        warmupBars: b.history_bars,
        instrumentProvider: instruments,
        venue: exchange && new ExchangeVenue({ client: exchange.client, bot: b.name, symbols: [t.symbol], takerFeeRate: exchange.takerFeeRate, log, afterEntryFill: entryFill, onRefusal: (e) => instruments?.noteRefusal(e) }),
        onUnknownPosition: b.on_unknown_position,
        clock: flags.replay ? undefined : () => clock.now(),
        killFile: b.kill_file,
        dataHealthy: flags.replay ? undefined : (symbol) => klineStreamHealthy(config, sql, symbol),
        log,
        crashAt,
      });
    };
    const listen = (running: TradingBot) => {
      running.events.on('fill', (f) => out.text(`fill ${new Date(f.timeMs).toISOString()} ${f.side} ${f.qtyBase} ${t.symbol} @ ${f.priceUsd} (${f.reason})`));
      running.events.on('risk', (r) => out.text(`risk ${new Date(r.timeMs).toISOString()} ${r.kind}: ${r.message}`));
    };
    const start = sessionStart ?? existing?.sessionStartMs ?? (await waitForFirstCandle(store, config, clock, abort.signal));
    // The first start and every rebuild after a failed step: a fresh bot from the record, monitoring re-pointed at it.
    const startBot = async () => {
      const next = await newBot();
      listen(next);
      const report = await next.start(start);
      await monitoring?.close();
      monitoring = await attachMonitoring({ bot: next, store, config, log, replay: flags.replay });
      return { bot: next, report };
    };
    const first = await startBot();
    const report = first.report;
    let bot = first.bot;
    out.text(`strategy: ${chosen!.description}`);
    out.text(report.replayedBars > 0 ? `reconciled: replayed ${report.replayedBars} candles, ${report.differences.length} differences` : `session from ${new Date(start).toISOString()}${report.differences.length > 0 ? `, ${report.differences.length} differences with the exchange` : ''}`);
    for (const d of report.differences) out.text(`  difference: ${d}`);
    let candles = 0;
    let failures = 0;
    let rebuild = false;
    for (;;) {
      try {
        if (rebuild) {
          const rebuilt = await startBot();
          bot = rebuilt.bot;
          for (const d of rebuilt.report.differences) out.text(`  difference: ${d}`);
          rebuild = false;
        }
        const result = await runBotLoop(bot, {
          store,
          symbol: t.symbol,
          timeframe: b.timeframe,
          pollMs: pollMs(b.poll_seconds * 1000, barMs, exchange?.clock),
          clock: () => clock.now(),
          sync: () => clock.sync(),
          signal: abort.signal,
          untilCaughtUp: flags.replay,
          log,
          onStepped: (n, latencyMs) => {
            failures = 0;
            latencies.push(latencyMs);
          },
        });
        candles += result.candles;
        break;
      } catch (error) {
        // A step that failed half-way (the exchange or the database went away) is never patched up in place:
        // the bot is rebuilt exactly as after a crash — replay, look up what was sent, reconcile — then goes on.
        // A bot that exits instead leaves its position with nothing but its stop: no exits, no halts, no kill switch.
        if (!exchange || !worthRetrying(error) || abort.signal.aborted) throw error;
        failures++;
        const banned = error instanceof BinanceBannedError ? error.retryAfterMs : 0;
        const waitMs = Math.max(banned, Math.min(60_000, 1000 * 2 ** Math.min(failures, 6)));
        log.error(`step failed (${failures} in a row): ${(error as Error).message}; rebuilding the bot from its record in ${Math.round(waitMs / 1000)} s`);
        await sleep(waitMs, abort.signal);
        if (abort.signal.aborted) break;
        rebuild = true;
      }
    }
    const equity = await store.latestEquity(b.name);
    const summary: BotRunSummary = {
      bot: b.name,
      mode: t.mode,
      symbol: t.symbol,
      candles,
      replayedBars: report.replayedBars,
      differences: report.differences,
      fills: (await store.fills(b.name)).length,
      qtyBase: equity?.qtyBase ?? 0,
      equityUsd: equity?.equityUsd,
      stepLatencyMs: latencyPercentiles(latencies),
    };
    out.text(`bot ${b.name} stopped after ${candles} candles: ${summary.fills} fills, position ${summary.qtyBase} ${t.symbol}, equity ${equity?.equityUsd.toFixed(2) ?? '?'} USDT`);
    return summary;
  } finally {
    await monitoring?.close();
    for (const s of signals) process.removeListener(s, stop);
    chosen?.dispose();
    if (collector) await collector.stop();
    await sql.close();
  }
}

/**
 * Failures a rebuilt bot can get past: the exchange or the network (unknown outcomes, refusals, rate limits,
 * a ban once it expires), the database, a bug in one step. Not: usage and configuration errors (exit code 2),
 * which no retry fixes.
 */
function worthRetrying(error: unknown): boolean {
  if (error instanceof UnknownOutcomeError || error instanceof BinanceOrderError || error instanceof OrderNotPlacedError || error instanceof BinanceBannedError) return true;
  return !(error instanceof OitraderError) || error.exitCode !== 2;
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
  for (;;) {
    await clock.sync();
    const latest = await store.latestClosedCandle(config.trading.symbol, config.bot.timeframe, barMs, clock.now());
    if (latest !== undefined) return latest;
    if (signal.aborted) throw new OitraderError(`stopped before the first closed ${config.bot.timeframe} ${config.trading.symbol} candle arrived`, { exitCode: 1 });
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
  out.text(`bot ${config.bot.name}: ${t.mode} ${t.symbol} ${config.bot.timeframe}, strategy ${config.bot.strategy}, account ${t.mode === 'paper' ? `paper ${t.initial_balance} USDT` : `Binance ${t.mode}`}`);
  out.text(
    `limits: leverage ≤ ${t.leverage}x, risk ${pct(t.risk_per_trade)}/trade, stop ${pct(t.stop_loss)}, daily loss ${pct(t.max_daily_loss)}, max drawdown ${pct(t.max_drawdown)}, ` +
      `liquidation ≥ ${t.min_liquidation_distance}× stop, stale after ${t.stale_after_seconds} s, kill file ${config.bot.kill_file}`,
  );
}

async function printStatus(config: Config, out: Output, store: BotStore): Promise<unknown> {
  const name = config.bot.name;
  const control = await store.control(name);
  if (!control) {
    out.text(`no bot named "${name}" yet (oitrader bot run starts one)`);
    return { bot: name, exists: false };
  }
  const [position, equity, events] = await Promise.all([store.position(name, control.symbols[0]), store.latestEquity(name), store.riskEvents(name)]);
  const killFile = existsSync(config.bot.kill_file);
  const last = control.lastCandleMs === undefined ? 'none' : new Date(control.lastCandleMs).toISOString();
  out.text(`bot ${name}: ${control.mode} ${control.symbols.join(',')}, session from ${new Date(control.sessionStartMs).toISOString()}, last candle ${last}`);
  out.text(`kill switch: ${control.killed ? `ENGAGED (${control.killReason ?? ''})` : killFile ? `ENGAGED (kill file ${config.bot.kill_file})` : 'off'}${control.flattenRequested ? ', flatten requested' : ''}`);
  out.text(`entries: ${control.entriesStopped ? `STOPPED (${control.entriesStoppedReason ?? ''}): the open position keeps its stop; oitrader bot resume releases it` : 'allowed'}`);
  out.text(`position: ${position ? `${position.qtyBase} @ ${position.entryPriceUsd}, stop ${position.stopUsd ?? 'none'}, liquidation ${position.liquidationPriceUsd}` : 'flat'}`);
  if (equity) out.text(`equity ${equity.equityUsd.toFixed(2)} USDT (wallet ${equity.walletUsd.toFixed(2)}, available ${equity.availableUsd.toFixed(2)}) at ${new Date(equity.timeMs).toISOString()}`);
  for (const e of events.slice(-5)) out.text(`  ${new Date(e.timeMs).toISOString()} ${e.kind}: ${e.message}`);
  return { bot: name, exists: true, control, killFile, position, equity, riskEvents: events.slice(-20) };
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
