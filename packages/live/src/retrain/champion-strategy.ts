import { statSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger, type Frame, type Logger } from '@oitrader/core';
import type { OrderRequest, Strategy, StrategyContext } from '@oitrader/backtest';
import { ACTIVE_FILE, activeRun } from './champion-registry.ts';

export interface ChampionStrategyOptions {
  modelsDir: string;
  /** Builds the decision maker for a model run (the ML-signal wiring of the bot); called once per champion. */
  build: (runId: string) => Strategy;
  log?: Logger;
  /** Told after every swap (the Telegram bridge and the dashboard's log line). */
  onSwap?: (from: string | undefined, to: string, candleTimeMs: number) => void;
}

/**
 * The bot's strategy when a model drives it: delegates to the champion's
 * strategy and, at the first candle after models/ACTIVE changes (a promotion
 * by `oitrader retrain` or a rollback), swaps to the new champion — no
 * restart, and only ever between two candles, so one decision never mixes two
 * models. It looks at ACTIVE's modification time once per candle.
 */
export class ChampionStrategy implements Strategy {
  readonly name = 'champion';
  readonly #o: ChampionStrategyOptions;
  readonly #log: Logger;
  #runId: string | undefined;
  #inner: Strategy | undefined;
  #stamp = '';
  #frame: Frame | undefined;

  constructor(options: ChampionStrategyOptions) {
    this.#o = options;
    this.#log = options.log ?? silentLogger;
  }

  /** The run whose strategy makes the decisions now. */
  get runId(): string | undefined {
    return this.#runId;
  }

  reset(frame: Frame): void {
    this.#frame = frame;
    this.#inner?.reset?.(frame);
  }

  onBar(context: StrategyContext): readonly OrderRequest[] | undefined {
    this.#maybeSwap(context);
    return this.#inner?.onBar(context);
  }

  #maybeSwap(context: StrategyContext): void {
    const stamp = this.#activeStamp();
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    const next = activeRun(this.#o.modelsDir);
    if (next === undefined || next === this.#runId) return;
    const inner = this.#o.build(next);
    inner.reset?.(this.#frame ?? context.frame);
    const from = this.#runId;
    this.#inner = inner;
    this.#runId = next;
    this.#log.info(`model ${from === undefined ? 'loaded' : `swapped from ${from}`}: ${next} decides from the candle at ${new Date(context.timeMs).toISOString()}`);
    this.#o.onSwap?.(from, next, context.timeMs);
  }

  #activeStamp(): string {
    try {
      const s = statSync(join(this.#o.modelsDir, ACTIVE_FILE));
      return `${s.mtimeMs}:${s.size}:${activeRun(this.#o.modelsDir)}`;
    } catch {
      return 'none';
    }
  }
}
