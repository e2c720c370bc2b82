import { silentLogger, timeframeMs, type Logger, type Timeframe } from '@oitrader/core';
import type { BotStore } from '../state/bot-store.ts';
import type { TradingBot } from './trading-bot.ts';

export interface BotLoopOptions {
  store: BotStore;
  symbol: string;
  timeframe: Timeframe;
  /** How often to look for a newly closed candle. */
  pollMs: number;
  /** The exchange's clock (ms): this machine's, or the simulator's market clock. */
  clock?: () => number;
  /** Called at the top of every turn, before the clock is read (the simulator's clock is re-read from it). */
  sync?: () => Promise<void>;
  /** Stops the loop (SIGINT/SIGTERM, --for). */
  signal?: AbortSignal;
  /** Replay: step every stored closed candle, then return (no waiting for new ones). */
  untilCaughtUp?: boolean;
  log?: Logger;
  /** Called after each batch of stepped candles with close → step-done latency of the newest one (ms). */
  onStepped?: (candles: number, latencyMs: number) => void;
}

/**
 * Drives the bot: waits for the next closed candle in the database (written by
 * the collector), steps the bot through every candle that closed since, and
 * repeats. A candle counts as closed only when its close time has passed on
 * the wall clock, so a decision never sees a forming candle.
 */
export async function runBotLoop(bot: TradingBot, options: BotLoopOptions): Promise<{ candles: number }> {
  const clock = options.clock ?? Date.now;
  const barMs = timeframeMs(options.timeframe);
  const log = options.log ?? silentLogger;
  let candles = 0;
  while (!options.signal?.aborted) {
    await options.sync?.();
    const latest = await options.store.latestClosedCandle(options.symbol, options.timeframe, barMs, clock());
    if (latest !== undefined && (Number.isNaN(bot.lastCandleMs) || latest > bot.lastCandleMs)) {
      const n = await bot.stepThrough(latest);
      candles += n;
      options.onStepped?.(n, clock() - (latest + barMs));
      if (n > 1 && !options.untilCaughtUp) log.info(`stepped ${n} candles to ${new Date(latest).toISOString()} (catching up)`);
      continue;
    }
    if (options.untilCaughtUp) break;
    await sleep(options.pollMs, options.signal);
  }
  return { candles };
}

/** Waits `ms`, or less when `signal` aborts first (resolves either way: the caller looks at the signal). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
