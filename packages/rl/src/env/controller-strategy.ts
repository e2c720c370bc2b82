import { timeframeMs, type Frame } from '@oitrader/core';
import type { OrderRequest, Strategy, StrategyContext } from '@oitrader/backtest';
import { filtersFor, bracketsFor } from '@oitrader/backtest';
import { ACTION_COUNT } from './actions.ts';
import { TradingController, type ActionConfig, type MlSignal } from './controller.ts';
import { OBSERVATION_SIZE, type MarketColumns } from './observation.ts';
import type { RiskLimits } from '@oitrader/backtest';

/** Chooses an action from the observation and mask at a bar's close. */
export type ActionChooser = (obs: Float32Array, mask: Uint8Array, index: number) => number;

export interface ControllerStrategyOptions {
  name: string;
  /** Market features and ML probabilities aligned with the frame the backtest runs on. */
  market: MarketColumns;
  ml: MlSignal;
  choose: ActionChooser;
  takerFeeRate?: number;
  risk?: RiskLimits;
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
 * Runs the RL decision layer inside the backtester: the same
 * TradingController as the env (observation, mask, risk rules, orders), fed
 * from the backtest's StrategyContext, so a backtest of an agent executes the
 * orders the env would have sent.
 */
export function controllerStrategy(options: ControllerStrategyOptions): ControllerStrategy {
  let controller: TradingController | undefined;
  let actions = new Int8Array(0);
  let last = -1;
  const histogram = new Array<number>(ACTION_COUNT).fill(0);
  const obs = new Float32Array(OBSERVATION_SIZE);
  const make = (frame: Frame, ctx: StrategyContext) =>
    new TradingController(options.market, options.ml, {
      initialBalanceUsd: ctx.equityUsd,
      leverage: ctx.leverage,
      barMs: timeframeMs(frame.timeframe),
      takerFeeRate: options.takerFeeRate ?? 0.0005,
      filters: filtersFor(frame.symbol),
      brackets: bracketsFor(frame.symbol),
      risk: options.risk,
      actions: options.actions,
    });
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
    onBar(ctx: StrategyContext): readonly OrderRequest[] {
      if (!controller) {
        controller = make(ctx.frame, ctx);
        controller.reset(ctx.equityUsd, ctx.timeMs);
      }
      const row = options.row ? options.row(ctx) : ctx.index;
      controller.observe({
        index: row,
        timeMs: ctx.timeMs,
        closeUsd: ctx.closeUsd,
        qtyBase: ctx.qtyBase,
        entryPriceUsd: ctx.entryPriceUsd,
        liquidationPriceUsd: ctx.liquidationPriceUsd,
        equityUsd: ctx.equityUsd,
        availableUsd: ctx.availableUsd,
      });
      const mask = controller.actionMask();
      const action = options.choose(controller.observation(obs), mask, ctx.index);
      if (ctx.index < actions.length) actions[ctx.index] = action;
      histogram[action]++;
      last = action;
      return controller.orders(action).orders;
    },
  };
}
