import { smaTrend } from '@oitrader/backtest';
import { timeframeMs, type Logger, type Timeframe } from '@oitrader/core';
import type { MarketDataLoader, SqlExecutor } from '@oitrader/data';
import type { ExecutionConfig, InstrumentProvider, RiskLimits } from '@oitrader/trading';
import { TradingBot } from '../bot/trading-bot.ts';
import { BotStore } from '../state/bot-store.ts';
import { drillEvidence, DRILL_BOTS, type GoLiveItem } from './golive-evidence.ts';

export interface GoLiveDrillOptions {
  sql: SqlExecutor;
  loader: MarketDataLoader;
  symbols: readonly string[];
  timeframe: Timeframe;
  /** The configured limits: each drill tightens only the one limit it proves. */
  limits: RiskLimits;
  stopLoss: number;
  execution: Partial<ExecutionConfig>;
  instrumentProvider?: InstrumentProvider;
  /** Days of the newest stored candles each drill replays (default 3). */
  days?: number;
  log?: Logger;
}

const DAY_MS = 86_400_000;

/**
 * Replays the newest stored candles through the bot's own risk engine and
 * paper venue three times, each a fresh paper bot that is always in the
 * market (sma-trend): once with a daily-loss limit of 0.2 %, once with a
 * drawdown limit of 0.3 % (so each halt must fire within days), and once
 * with the kill switch engaged half-way. Their stored risk events and fills
 * are the evidence `golive check` reads: the halt fired, no entry followed
 * it, the kill left the book flat.
 */
export async function runGoLiveDrill(o: GoLiveDrillOptions): Promise<GoLiveItem[]> {
  const store = new BotStore(o.sql);
  const barMs = timeframeMs(o.timeframe);
  const newest = await store.latestClosedCandles(o.symbols, o.timeframe, barMs, Number.MAX_SAFE_INTEGER / 2);
  if (newest.size < o.symbols.length) throw new Error(`no stored ${o.timeframe} candles of ${o.symbols.filter((s) => !newest.has(s)).join(', ')}: import or collect them first`);
  const endMs = Math.min(...newest.values());
  const startMs = Math.floor((endMs - (o.days ?? 3) * DAY_MS) / barMs) * barMs;
  const loose = { maxDailyLoss: 0.99, maxDrawdown: 0.99 };
  const drill = async (bot: string, limits: RiskLimits, killAtMs?: number) => {
    await store.deleteBot(bot);
    const trading = new TradingBot({
      bot,
      instruments: o.symbols.map((symbol) => ({ symbol, strategy: smaTrend() })),
      timeframe: o.timeframe,
      mode: 'paper',
      risk: limits,
      stopLoss: o.stopLoss,
      execution: o.execution,
      instrumentProvider: o.instrumentProvider,
      store,
      loader: o.loader,
      log: o.log,
    });
    await trading.start(startMs);
    if (killAtMs !== undefined) {
      await trading.stepThrough(killAtMs);
      await store.setKilled(bot, true, 'oitrader golive drill');
    }
    await trading.stepThrough(endMs);
  };
  await drill(DRILL_BOTS.dailyLoss, { ...o.limits, ...loose, maxDailyLoss: 0.002 });
  await drill(DRILL_BOTS.drawdown, { ...o.limits, ...loose, maxDrawdown: 0.003 });
  await drill(DRILL_BOTS.kill, { ...o.limits, ...loose }, startMs + Math.floor((endMs - startMs) / barMs / 2) * barMs);
  return drillEvidence(store);
}
