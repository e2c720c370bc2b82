import { silentLogger, type Frame, type Logger } from '@oitrader/core';
import type { Intent, Strategy, StrategyContext } from '@oitrader/trading';
import { activeRun, activeStamp } from './champion-registry.ts';

export interface ChampionStrategyOptions {
  modelsDir: string;
  /** Builds the decision maker for a model run (the ML-signal wiring of the bot); called once per champion. */
  build: (runId: string) => Strategy;
  log?: Logger;
  /** Told after every swap (the Telegram bridge and the dashboard's log line). */
  onSwap?: (from: string | undefined, to: string, candleTimeMs: number) => void;
  /**
   * The run that decides the candle being stepped. Default: models/ACTIVE,
   * looked at once per candle. The bot's ML wiring passes its signal source's
   * run, so the probabilities and the strategy always come from the same model.
   */
  current?: () => string | undefined;
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

  constructor(options: ChampionStrategyOptions) {
    this.#o = options;
    this.#log = options.log ?? silentLogger;
  }

  /** The run whose strategy makes the decisions now. */
  get runId(): string | undefined {
    return this.#runId;
  }

  reset(frame: Frame): void {
    this.#inner?.reset?.(frame);
  }

  onBar(context: StrategyContext): readonly Intent[] | undefined {
    this.#maybeSwap(context);
    return this.#inner?.onBar(context);
  }

  #maybeSwap(context: StrategyContext): void {
    const next = this.#o.current ? this.#o.current() : this.#changedActive();
    if (next === undefined || next === this.#runId) return;
    const inner = this.#o.build(next);
    inner.reset?.(context.frame);
    const from = this.#runId;
    this.#inner = inner;
    this.#runId = next;
    this.#log.info(`model ${from === undefined ? 'loaded' : `swapped from ${from}`}: ${next} decides from the candle at ${new Date(context.timeMs).toISOString()}`);
    this.#o.onSwap?.(from, next, context.timeMs);
  }

  /** models/ACTIVE's run when the file changed since the last candle, else undefined. */
  #changedActive(): string | undefined {
    const stamp = activeStamp(this.#o.modelsDir);
    if (stamp === this.#stamp) return undefined;
    this.#stamp = stamp;
    return activeRun(this.#o.modelsDir);
  }
}
