import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { configSchema, formatUtc, numberFlag, OitraderError, parseUtcTimeMs, type Config } from '@oitrader/core';
import { archiveSymbols, datasetSpan, loadReplayDataset, SimClock, SimServer } from '@oitrader/sim';
import { DirectorySource } from '@oitrader/binance';
import { importArchive, openStore } from '@oitrader/data';
import { BotStore } from '@oitrader/live';
import { commandContext, type GlobalOptions } from '../context.ts';
import { SAMPLE_ARCHIVE } from './demo.ts';
import { runBot } from './bot.ts';

interface PaperFlags extends GlobalOptions {
  symbols?: string;
  strategy?: string;
  speed: number;
  from?: string;
  for?: string;
  archive: string;
  db: string;
}

const DAY_MS = 86_400_000;
/** The paper bot's own name and database: never the configured bot's. */
const PAPER_BOT = 'paper';

export function registerPaperCommand(program: Command): void {
  program
    .command('paper')
    .description('paper trading offline in one command: the local exchange simulator replays real data and the bot trades it (sim mode), with the dashboard')
    .option('--symbols <list>', 'comma-separated symbols (default: every symbol of the archive, one wallet)')
    .option('--strategy <name|file>', 'what trades: a baseline, champion, agent, or ./strategies/<file>.ts (default: bot.strategy)')
    .option('--speed <n>', 'market seconds per real second (60: a 5-minute candle every 5 s)', numberFlag('--speed', 'positiveSeconds'), 60)
    .option('--from <time>', 'market time to start at, UTC (default: 3 days before the data ends)')
    .option('--for <seconds>', 'stop after this many seconds (default: until Ctrl-C)')
    .option('--archive <dir>', 'data in Binance archive layout to replay', SAMPLE_ARCHIVE)
    .option('--db <dir>', 'the paper bot\'s embedded database', 'data/paper/db')
    .addHelpText(
      'after',
      `
Examples:
  oitrader paper --for 60
  oitrader paper --symbols SOLUSDT,BTCUSDT --strategy ./strategies/my-breakout.ts --speed 300`,
    )
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<PaperFlags>();
      const { config, out } = commandContext(flags);
      const available = await archiveSymbols(flags.archive);
      const symbols = flags.symbols ? flags.symbols.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s.length > 0) : available;
      const missing = symbols.filter((s) => !available.includes(s));
      if (symbols.length === 0 || missing.length > 0) {
        throw new OitraderError(`${missing.join(', ') || 'no symbol'} not in ${flags.archive}`, { hint: `it holds ${available.join(', ') || 'nothing: point --archive at Binance archive files'}`, exitCode: 2 });
      }
      const datasets = await Promise.all(symbols.map((s) => loadReplayDataset(flags.archive, s)));
      const spans = datasets.map(datasetSpan);
      const end = Math.min(...spans.map((s) => s.end));
      const first = Math.max(...spans.map((s) => s.start));
      const from = flags.from ? parseUtcTimeMs(flags.from) : end - 3 * DAY_MS;
      if (from < first + DAY_MS || from >= end) {
        throw new OitraderError(`--from ${formatUtc(from)} is outside the replayable span ${formatUtc(first + DAY_MS)} … ${formatUtc(end)}`, { hint: 'the bot needs a day of candles before its start', exitCode: 2 });
      }
      await seedFromArchive(flags.archive, flags.db, symbols, from);
      const sim = await SimServer.start({ datasets, clock: new SimClock(from, flags.speed), weightPerMinute: 2400 * Math.max(1, flags.speed) });
      if (!process.env.OITRADER_DASHBOARD_TOKEN) process.env.OITRADER_DASHBOARD_TOKEN = randomBytes(24).toString('base64url');
      try {
        out.text(`paper trading ${symbols.join(', ')} on one wallet against the local simulator ${sim.restUrl} (market time ${formatUtc(from)}, ${flags.speed}× real time) — nothing reaches Binance`);
        out.text(`dashboard controls token: ${process.env.OITRADER_DASHBOARD_TOKEN} (OITRADER_DASHBOARD_TOKEN)`);
        out.result(await runBot(paperConfig(config, { symbols, strategy: flags.strategy, sim, fromMs: from, speed: flags.speed, db: flags.db }), out, { for: flags.for, config: flags.config }));
      } finally {
        await sim.close();
      }
    });
}

/**
 * The 30 days before the start come from the archive files straight into the paper database (the collector then
 * only fills what the simulator serves after them): the strategy has its history at once, and the start-up
 * check can backtest it on those days.
 */
async function seedFromArchive(archive: string, db: string, symbols: string[], fromMs: number): Promise<void> {
  const { sql } = await openStore({ embeddedPath: db });
  try {
    const report = await importArchive(sql, new DirectorySource(archive), { symbols, timeframes: ['5m'], datasets: ['klines', 'metrics', 'fundingRate'], startMs: fromMs - 30 * DAY_MS, endMs: fromMs - 1 });
    if (report.failed > 0) throw new OitraderError(`${report.failed} archive files under ${archive} could not be imported`, { hint: 'check them with oitrader data import --dir <archive>', exitCode: 2 });
    // The session's own candles come from the simulator as they close: nothing at or after the start may be stored yet.
    for (const table of ['ohlcv', 'open_interest', 'long_short_ratio', 'taker_volume', 'funding_rate']) await sql.query(`DELETE FROM ${table} WHERE time >= to_timestamp($1 / 1000.0)`, [fromMs]);
    // Each paper run is a new session on a new simulated account: the last run's record would not match it.
    await new BotStore(sql).deleteBot(PAPER_BOT);
  } finally {
    await sql.close();
  }
}

/** The configured bot and limits, pointed at the simulator: sim mode, its own collector, its own database and name. */
export function paperConfig(config: Config, o: { symbols: string[]; strategy?: string; sim: SimServer; fromMs: number; speed: number; db: string }): Config {
  const history = new Date(o.fromMs - DAY_MS).toISOString().slice(0, 10);
  return configSchema.parse({
    ...config,
    database: { ...config.database, url: '', embedded_path: o.db },
    binance: { ...config.binance, rest_url: o.sim.restUrl, ws_url: o.sim.wsUrl, trade_rest_url: o.sim.restUrl, private_ws_url: '' },
    // Stale data is judged on the market clock: at N× a real second of lag is N market seconds, and the simulator's
    // clock runs while the bot starts (its backtest verdict, reconciliation: seconds on a busy machine). 20 real
    // seconds of lag are tolerated, or the first candles are all refused as stale.
    trading: { ...config.trading, mode: 'sim', symbols: o.symbols, symbol: o.symbols[0], stale_after_seconds: Math.max(config.trading.stale_after_seconds, 20 * o.speed) },
    data: { ...config.data, symbols: o.symbols, timeframes: [config.bot.timeframe], start_date: history, archive: { ...config.data.archive, enabled: false } },
    collector: { ...config.collector, poll_delay_seconds: 0, close_grace_seconds: 0.5 },
    bot: { ...config.bot, name: PAPER_BOT, collector: 'in-process', strategy: o.strategy ?? config.bot.strategy, kill_file: join(dirname(o.db), 'KILL') },
    dashboard: { ...config.dashboard, enabled: true, port: 0 },
    telegram: { ...config.telegram, enabled: false },
  });
}
