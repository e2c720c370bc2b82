import type { Command } from 'commander';
import { createLogger, OitraderError, redactSecret, timeframeMs, type Config } from '@oitrader/core';
import { openStore, storeTargetFromConfig } from '@oitrader/data';
import { championInfo, startDashboard, TelegramBridge, type RunningDashboard } from '@oitrader/live';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';

interface DashboardFlags extends GlobalOptions {
  host?: string;
  port?: string;
  for?: string;
  telegram?: boolean;
}

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve the bot dashboard (read-only; controls need OITRADER_DASHBOARD_TOKEN) and /metrics; with --telegram also the Telegram commands')
    .option('--host <host>', 'listen address (default: dashboard.host, 127.0.0.1)')
    .option('--port <port>', 'port (default: dashboard.port; 0 = any free port)')
    .option('--for <seconds>', 'stop after this many seconds (default: until SIGINT or SIGTERM)')
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
  try {
    dash = await startDashboard({
      sql,
      bot: config.bot.name,
      symbol: config.trading.symbol,
      timeframe: config.bot.timeframe,
      barMs: timeframeMs(config.bot.timeframe),
      host: flags.host ?? config.dashboard.host,
      port,
      token,
      maxDailyLoss: config.trading.max_daily_loss,
      champion: () => championInfo(config.models.dir),
      log,
    });
    out.text(`dashboard for bot ${config.bot.name}: ${dash.url} (metrics: ${dash.url}metrics)${token ? '' : '; controls disabled: set OITRADER_DASHBOARD_TOKEN to enable them'}`);
    if (flags.telegram) {
      const t = config.telegram;
      telegram = new TelegramBridge({ token: t.token, chatId: t.chat_id, sql, bot: config.bot.name, symbol: config.trading.symbol, dailySummaryAt: t.daily_summary_at, log: createLogger('telegram') });
      await telegram.start();
      out.text(`telegram: answering commands from chat ${t.chat_id}; daily summary at ${t.daily_summary_at} UTC`);
    }
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (seconds !== undefined) setTimeout(stop, seconds * 1000).unref();
    });
  } finally {
    await telegram?.stop();
    await dash?.close();
    await sql.close();
  }
}
