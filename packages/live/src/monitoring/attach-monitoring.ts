import { OitraderError, redact, redactSecret, timeframeMs, tradedSymbols, type Config, type Logger } from '@oitrader/core';
import type { TradingBot } from '../bot/trading-bot.ts';
import type { BotStore } from '../state/bot-store.ts';
import { portfolioLimitsOf } from '../state/bot-read-model.ts';
import { TelegramBridge } from '../telegram/telegram-bridge.ts';
import { championInfo } from './champion-info.ts';
import type { DashboardBacktests } from './dashboard-backtests.ts';
import { startDashboard, type RunningDashboard } from './dashboard-server.ts';

export interface AttachMonitoringOptions {
  /** The running bot (after `start`): its events feed the metrics, the live page and the alerts. */
  bot: TradingBot;
  store: BotStore;
  config: Config;
  log: Logger;
  /** `bot run --replay`: no Telegram, or every stored candle's trade would alert the chat. */
  replay?: boolean;
  /** The environment for OITRADER_DASHBOARD_TOKEN (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Tests: a local fake Bot API instead of telegram.api_root. */
  telegramApiRoot?: string;
  /** SIGINT/SIGTERM: ends a start-up still waiting for Telegram. */
  signal?: AbortSignal;
  /** How often the collector's streams are checked for data gaps (Telegram alert), default 30 s. */
  dataHealthEveryMs?: number;
  clock?: () => number;
  /** The dashboard's Backtest tab (the CLI gives it one that runs `oitrader backtest`). */
  backtests?: DashboardBacktests;
}

export interface Monitoring {
  dashboard: RunningDashboard | undefined;
  telegram: TelegramBridge | undefined;
  /** Where the dashboard listens (undefined when dashboard.enabled is false). */
  url: string | undefined;
  /** Stops the dashboard, the Telegram bridge and its daily summary; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Everything an operator watches, hosted by the bot's own process so the
 * counters and alerts hear the bot's events: the dashboard with /metrics
 * (dashboard.enabled, on dashboard.host:port) and the Telegram bridge with its
 * daily summary and data-gap checks (telegram.enabled). A configuration
 * mistake (port taken, no token, bad chat id) throws before the first candle
 * is stepped, so the bot never trades believing it is watched when it is not.
 */
export async function attachMonitoring(options: AttachMonitoringOptions): Promise<Monitoring> {
  const { bot, config, log } = options;
  const env = options.env ?? process.env;
  let dashboard: RunningDashboard | undefined;
  let telegram: TelegramBridge | undefined;
  let health: NodeJS.Timeout | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (health) clearInterval(health);
    await telegram?.stop();
    await dashboard?.close();
  };
  try {
    if (config.dashboard.enabled) {
      const token = env.OITRADER_DASHBOARD_TOKEN || undefined;
      redactSecret(token);
      dashboard = await startDashboard({
        sql: options.store.sql,
        bot: config.bot.name,
        symbol: tradedSymbols(config.trading)[0],
        symbols: tradedSymbols(config.trading),
        limits: portfolioLimitsOf(config.trading),
        timeframe: config.bot.timeframe,
        barMs: timeframeMs(config.bot.timeframe),
        host: config.dashboard.host,
        port: config.dashboard.port,
        allowRemote: config.dashboard.allow_remote,
        allowedHosts: config.dashboard.allowed_hosts,
        token,
        maxDailyLoss: config.trading.max_daily_loss,
        events: bot.events,
        champion: () => championInfo(config.models.dir),
        strategy: config.bot.strategy,
        clock: options.clock,
        backtests: options.backtests,
        log,
      });
      log.info(`dashboard: ${dashboard.url} (metrics: ${dashboard.url}metrics)${token ? '' : '; controls disabled: set OITRADER_DASHBOARD_TOKEN to enable them'}`);
    }
    if (config.telegram.enabled && options.replay) log.info('telegram: off during --replay (it would alert every replayed trade)');
    else if (config.telegram.enabled) {
      const t = config.telegram;
      telegram = new TelegramBridge({
        token: t.token,
        chatId: t.chat_id,
        apiRoot: options.telegramApiRoot ?? t.api_root,
        timeoutMs: t.timeout_seconds * 1000,
        sql: options.store.sql,
        bot: config.bot.name,
        symbol: tradedSymbols(config.trading)[0],
        timeframe: config.bot.timeframe,
        limits: portfolioLimitsOf(config.trading),
        events: bot.events,
        dailySummaryAt: t.daily_summary_at,
        notify: t.notify,
        clock: options.clock,
        log,
      });
      const bridge = telegram;
      await bridge.start(options.signal).catch((e: Error) => {
        if (e instanceof OitraderError) throw e;
        throw new OitraderError(`telegram is enabled but the Bot API refused or did not answer: ${redact(e.message)}`, {
          hint: 'check TELEGRAM_TOKEN (from @BotFather) and the network, or set telegram.enabled: false',
          exitCode: 2,
        });
      });
      health = setInterval(() => void bridge.checkDataHealth().catch((e: Error) => log.warn(`telegram: data health check failed: ${e.message}`)), options.dataHealthEveryMs ?? 30_000);
      health.unref();
      log.info(`telegram: alerts and commands for chat ${t.chat_id}; daily summary at ${t.daily_summary_at} UTC, next ${bridge.nextSummaryAt()?.toISOString()}`);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { dashboard, telegram, url: dashboard?.url, close };
}
