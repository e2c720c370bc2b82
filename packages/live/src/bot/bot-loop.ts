import { silentLogger, sleep, timeframeMs, type Logger, type Timeframe } from '@oitrader/core';
import type { BotStore } from '../state/bot-store.ts';
import type { TradingBot } from './trading-bot.ts';

export interface BotLoopOptions {
  store: BotStore;
  /** Every symbol the bot trades (one timeframe). */
  symbols: readonly string[];
  timeframe: Timeframe;
  /**
   * How long after a candle's close the loop waits for a symbol whose candle has not been stored yet (the
   * collector writes symbols one after another) before stepping the others without it. Default 30 s.
   */
  waitForAllMs?: number;
  /** How often to look for a newly closed candle. */
  pollMs: number;
  /** The exchange's clock (ms): this machine's, or the simulator's market clock. */
  clock?: () => number;
  /** Called at the top of every turn, before the clock is read (the simulator's clock is re-read from it). */
  sync?: () => Promise<void>;
  /** Waits between looks (default: `pollMs` of real time); a stepped simulator's clock answers as soon as it moves. */
  idle?: (ms: number, signal?: AbortSignal) => Promise<void>;
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
    const latest = await options.store.latestClosedCandles(options.symbols, options.timeframe, barMs, clock());
    const target = readyCandle(latest, options, barMs, clock());
    if (target !== undefined && (Number.isNaN(bot.lastCandleMs) || target > bot.lastCandleMs)) {
      const n = await bot.stepThrough(target);
      candles += n;
      options.onStepped?.(n, clock() - (target + barMs));
      if (n > 1 && !options.untilCaughtUp) log.info(`stepped ${n} candles to ${new Date(target).toISOString()} (catching up)`);
      if (n > 0) continue;
    }
    if (options.untilCaughtUp) break;
    await (options.idle ?? sleep)(options.pollMs, options.signal);
  }
  return { candles };
}

/**
 * The newest candle the bot may step to now: the newest any symbol has — but while a symbol is exactly one
 * candle behind (its collector has not written the candle yet) and the wait is under `waitForAllMs`, the one
 * before it, so no symbol's candle is stepped past for a race of seconds. A symbol further behind is stale:
 * the others go on without it (it gets no entries until its data returns). A replay steps whatever is stored.
 */
export function readyCandle(latest: ReadonlyMap<string, number>, options: Pick<BotLoopOptions, 'symbols' | 'untilCaughtUp' | 'waitForAllMs'>, barMs: number, nowMs: number): number | undefined {
  if (latest.size === 0) return undefined;
  const newest = Math.max(...latest.values());
  if (options.untilCaughtUp) return newest;
  const late = options.symbols.some((s) => latest.get(s) === newest - barMs);
  return late && nowMs - (newest + barMs) < (options.waitForAllMs ?? 30_000) ? newest - barMs : newest;
}

