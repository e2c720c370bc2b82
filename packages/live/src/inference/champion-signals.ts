import { join } from 'node:path';
import { mlRuleStrategy, PROBABILITY_COLUMNS, type MlRuleParams, type MlSignalParams } from '@oitrader/backtest';
import { OitraderError, silentLogger, type Frame, type Logger } from '@oitrader/core';
import type { BotSignals, CandleSignals } from '../bot/trading-bot.ts';
import { activeRun, activeStamp } from '../retrain/champion-registry.ts';
import { ChampionStrategy } from '../retrain/champion-strategy.ts';
import { RunSignals, type RunSignalsOptions } from './run-signals.ts';

export interface ChampionSignalsOptions extends Omit<RunSignalsOptions, 'runDir'> {
  /** models.dir: models/ACTIVE names the champion. */
  modelsDir: string;
  /** Told after every live swap (not during a restart's replay). */
  onSwap?: (from: string | undefined, to: string, candleTimeMs: number) => void;
}

/** What a candle's decision records about the model that made it (bot_decisions.detail.signals.source). */
export interface ChampionSource {
  run: string;
  /** The rule and its parameters; a decision stored before the cost-aware rule holds bare ML-signal parameters. */
  params: MlRuleParams | MlSignalParams;
}

/**
 * `bot.strategy: champion`: the one object that decides, at each closed
 * candle, which model run drives the bot. `prepare` (called by TradingBot
 * before the strategy) looks at models/ACTIVE, loads a newly promoted run,
 * predicts the candle with the current run and names that run; `strategy`
 * (the ML-signal strategy, through ChampionStrategy) follows the run named
 * for the same candle. So a promotion takes effect at the next candle for the
 * probabilities and the strategy together, and one decision never mixes two
 * models. During a restart's replay the stored run, parameters and
 * probabilities are reused: the replay rebuilds what ran, whatever the
 * champion is now, without an inference per candle.
 */
export class ChampionSignals implements BotSignals {
  readonly columns = PROBABILITY_COLUMNS;
  readonly strategy: ChampionStrategy;
  readonly #o: ChampionSignalsOptions;
  readonly #log: Logger;
  /** ML rule parameters of every run that decided a candle in this process. */
  readonly #params = new Map<string, MlRuleParams | MlSignalParams>();
  #model: RunSignals | undefined;
  #stamp = '';
  /** The run that decides the candle being stepped (read by the strategy in the same step). */
  #deciding: string | undefined;
  #replaying = false;

  private constructor(o: ChampionSignalsOptions) {
    this.#o = o;
    this.#log = o.log ?? silentLogger;
    this.strategy = new ChampionStrategy({
      modelsDir: o.modelsDir,
      build: (runId) => mlRuleStrategy(this.#params.get(runId)!),
      current: () => this.#deciding,
      log: this.#log,
      onSwap: (from, to, t) => {
        if (!this.#replaying) o.onSwap?.(from, to, t);
      },
    });
  }

  /** Loads the current champion; refuses to start without one that can drive this bot. */
  static async open(o: ChampionSignalsOptions): Promise<ChampionSignals> {
    const signals = new ChampionSignals(o);
    await signals.#refresh(true);
    return signals;
  }

  /** The champion loaded for live candles. */
  get model(): RunSignals {
    return this.#model!;
  }

  async prepare(frame: Frame, index: number, stored: CandleSignals | undefined): Promise<CandleSignals> {
    const source = stored?.source as Partial<ChampionSource> | undefined;
    if (stored && typeof source?.run === 'string' && source.params) {
      this.#replaying = true;
      this.#params.set(source.run, source.params);
      this.#deciding = source.run;
      return stored;
    }
    this.#replaying = false;
    await this.#refresh(false);
    const model = this.#model!;
    const { values } = await model.predict(frame, index);
    this.#deciding = model.runId;
    const made: ChampionSource = { run: model.runId, params: model.params };
    return { values, source: { ...made } };
  }

  dispose(): void {
    this.#model?.dispose();
  }

  /** Loads the run models/ACTIVE names when the file changed; a run that cannot be loaded leaves the current champion deciding. */
  async #refresh(first: boolean): Promise<void> {
    const dir = this.#o.modelsDir;
    const stamp = activeStamp(dir);
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    const next = activeRun(dir);
    if (next === undefined) {
      if (first) {
        throw new OitraderError(`bot.strategy is champion but ${dir} has no champion (no ${join(dir, 'ACTIVE')})`, {
          hint: 'train a run (oitrader train), then promote it: oitrader models promote <run-id>',
          exitCode: 2,
        });
      }
      this.#log.warn(`${join(dir, 'ACTIVE')} is gone: ${this.#model!.runId} keeps deciding`);
      return;
    }
    if (next === this.#model?.runId) return;
    try {
      const model = await RunSignals.open({ ...this.#o, runDir: join(dir, next) });
      this.#model?.dispose();
      this.#model = model;
      this.#params.set(next, model.params);
    } catch (error) {
      if (first || !this.#model) throw error;
      this.#log.error(`champion ${next} cannot drive the bot, ${this.#model.runId} keeps deciding: ${(error as Error).message}`);
    }
  }
}
