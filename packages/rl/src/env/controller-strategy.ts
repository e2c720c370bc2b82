import type { Frame } from '@oitrader/core';
import type { Intent, Strategy, StrategyContext } from '@oitrader/trading';
import { ACTION_COUNT } from './actions.ts';
import { TradingController, type ActionConfig, type MlSignal } from './controller.ts';
import { OBSERVATION_SIZE, type MarketColumns } from './observation.ts';

/** Chooses an action from the observation and mask at a bar's close. */
export type ActionChooser = (obs: Float32Array, mask: Uint8Array, index: number) => number;

export interface ControllerStrategyOptions {
  name: string;
  /** Market features and ML probabilities aligned with the frame the backtest runs on. */
  market: MarketColumns;
  ml: MlSignal;
  choose: ActionChooser;
  /** trading.max_daily_loss the agent observes its daily PnL against (the env's). */
  maxDailyLoss: number;
  actions?: ActionConfig;
  /**
   * The row of `market` / `ml` that holds the bar being decided. Default:
   * `ctx.index` (arrays aligned with the frame, lengths checked at reset). A
   * live caller whose frame grows fills one-row buffers here and returns 0.
   */
  row?: (ctx: StrategyContext) => number;
}

/** A Strategy driven by actions (`actions` records the one taken at each bar of the frame given to reset, −1 before the first decision). */
export interface ControllerStrategy extends Strategy {
  readonly actions: Int8Array;
  readonly actionHistogram: number[];
  /** The action taken at the latest bar (−1 before the first). */
  readonly lastAction: number;
  readonly controller: () => TradingController;
}

/**
 * The RL decision layer as a Strategy: the same TradingController as the
 * env (observation, the risk engine's mask, intents), fed from the runner's
 * StrategyContext — so a backtest or the bot trading an agent sends the risk
 * engine exactly the intents the env did.
 */
export function controllerStrategy(options: ControllerStrategyOptions): ControllerStrategy {
  let controller: TradingController | undefined;
  let actions = new Int8Array(0);
  let last = -1;
  const histogram = new Array<number>(ACTION_COUNT).fill(0);
  const obs = new Float32Array(OBSERVATION_SIZE);
  return {
    name: options.name,
    get actions() {
      return actions;
    },
    actionHistogram: histogram,
    get lastAction() {
      return last;
    },
    controller: () => {
      if (!controller) throw new Error('the strategy has not run yet');
      return controller;
    },
    reset(frame: Frame) {
      if (!options.row && (options.ml.pLong.length !== frame.length || options.market.columns[0].length !== frame.length)) {
        throw new Error(`strategy ${options.name}: features/predictions have ${options.ml.pLong.length} rows for ${frame.length} bars`);
      }
      controller = undefined;
      actions = new Int8Array(frame.length).fill(-1);
      histogram.fill(0);
      last = -1;
    },
    onBar(ctx: StrategyContext): readonly Intent[] {
      controller ??= new TradingController(options.market, options.ml, { initialBalanceUsd: ctx.equityUsd, leverage: ctx.leverage, maxDailyLoss: options.maxDailyLoss, actions: options.actions });
      controller.observe(ctx, options.row ? options.row(ctx) : ctx.index);
      const action = options.choose(controller.observation(obs), controller.actionMask(), ctx.index);
      if (ctx.index < actions.length) actions[ctx.index] = action;
      histogram[action]++;
      last = action;
      return controller.intents(action).intents;
    },
  };
}
