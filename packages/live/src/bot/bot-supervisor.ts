import { BinanceBannedError, BinanceOrderError, OrderNotPlacedError, UnknownOutcomeError } from '@oitrader/binance';
import { OitraderError, silentLogger, sleep, type Logger } from '@oitrader/core';
import type { ReconcileReport } from './bot-events.ts';
import { runBotLoop, type BotLoopOptions } from './bot-loop.ts';
import type { TradingBot } from './trading-bot.ts';

export interface BotSupervisorOptions {
  /** A fresh bot from its record (a new strategy and TradingBot, not yet started). Called at start and after every failed step. */
  build: () => Promise<TradingBot>;
  /** The session start of a new bot (ignored by a stored one). */
  sessionStartMs: number;
  /** After every (re)start: re-point monitoring at the new bot, print its differences. `first` is the initial start. */
  onStarted?: (bot: TradingBot, report: ReconcileReport, first: boolean) => Promise<void>;
  loop: Omit<BotLoopOptions, 'signal'>;
  signal: AbortSignal;
  /**
   * Exchange venues: a failed step that a rebuild can get past (the exchange, the network, the database) rebuilds
   * the bot after a back-off instead of ending the run. Paper: any failure ends it (nothing outside can fail there).
   */
  rebuildOnFailure: boolean;
  /** Waits between rebuilds (tests inject an instant one). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  log?: Logger;
}

export interface SupervisedRun {
  bot: TradingBot;
  /** The first start's reconciliation. */
  report: ReconcileReport;
  candles: number;
  rebuilds: number;
}

/** Back-off before the n-th rebuild in a row: 2, 4, 8 … 60 s, or longer when the exchange banned the IP until a time. */
export function rebuildDelayMs(failures: number, error: unknown): number {
  const banned = error instanceof BinanceBannedError ? error.retryAfterMs : 0;
  return Math.max(banned, Math.min(60_000, 1000 * 2 ** Math.min(failures, 6)));
}

/**
 * Failures a rebuilt bot can get past: the exchange or the network (unknown outcomes, refusals, rate limits,
 * a ban once it expires), the database, a bug in one step. Not usage and configuration errors (exit code 2),
 * which no retry fixes.
 */
export function worthRetrying(error: unknown): boolean {
  if (error instanceof UnknownOutcomeError || error instanceof BinanceOrderError || error instanceof OrderNotPlacedError || error instanceof BinanceBannedError) return true;
  return !(error instanceof OitraderError) || error.exitCode !== 2;
}

/**
 * Runs a bot until the signal stops it (or, in a replay, until it has caught
 * up). A step that fails half-way is never patched up in place: the bot is
 * rebuilt exactly as after a crash — replay, look up what was sent,
 * reconcile — then goes on. A bot that exits instead would leave its positions
 * with nothing but their stops: no exits, no halts, no kill switch.
 */
export async function superviseBot(o: BotSupervisorOptions): Promise<SupervisedRun> {
  const log = o.log ?? silentLogger;
  const pause = o.sleep ?? sleep;
  const start = async (first: boolean) => {
    const bot = await o.build();
    const report = await bot.start(o.sessionStartMs);
    await o.onStarted?.(bot, report, first);
    return { bot, report };
  };
  let { bot, report } = await start(true);
  const first = report;
  let candles = 0;
  let failures = 0;
  let rebuilds = 0;
  let rebuild = false;
  for (;;) {
    try {
      if (rebuild) {
        ({ bot, report } = await start(false));
        rebuilds++;
        rebuild = false;
      }
      const result = await runBotLoop(bot, {
        ...o.loop,
        signal: o.signal,
        onStepped: (n, latencyMs) => {
          failures = 0;
          o.loop.onStepped?.(n, latencyMs);
        },
      });
      candles += result.candles;
      return { bot, report: first, candles, rebuilds };
    } catch (error) {
      if (!o.rebuildOnFailure || !worthRetrying(error) || o.signal.aborted) throw error;
      failures++;
      const waitMs = rebuildDelayMs(failures, error);
      log.error(`step failed (${failures} in a row): ${(error as Error).message}; rebuilding the bot from its record in ${Math.round(waitMs / 1000)} s`);
      await pause(waitMs, o.signal);
      if (o.signal.aborted) return { bot, report: first, candles, rebuilds };
      rebuild = true;
    }
  }
}
