import type { Frame } from '@oitrader/core';
import { roundToStep, type SymbolFilters } from '../exchange/symbol-filters.ts';
import type { OrderRequest } from '../execution/exchange.ts';

/** What a strategy sees at the close of bar `index`: never anything later. */
export interface StrategyContext {
  readonly frame: Frame;
  readonly index: number;
  readonly timeMs: number;
  readonly closeUsd: number;
  readonly qtyBase: number;
  readonly entryPriceUsd: number;
  readonly liquidationPriceUsd: number;
  readonly equityUsd: number;
  readonly availableUsd: number;
  readonly leverage: number;
  /** The exchange's minimum order notional (MIN_NOTIONAL) for this symbol. */
  readonly minNotionalUsd: number;
  /** The symbol's exchange filters (tick, step, minimums): size orders with them, never send what they refuse. */
  readonly filters: SymbolFilters;
  /** Orders resting on the exchange (stops, targets, limits) after this bar. */
  readonly pendingOrders: readonly OrderRequest[];
  /** Cancels this strategy's resting orders tagged `tag` now (before the next bar); returns how many. */
  cancel(tag: string): number;
  /** `column` at `barsAgo` bars before this one (0 = this bar). Negative lags throw: that would be the future. */
  value(column: string, barsAgo?: number): number;
}

/**
 * The decision interface shared by baselines, the RL agent and the live bot:
 * called once per closed bar; returned orders execute from the next bar on.
 */
export interface Strategy {
  readonly name: string;
  /** Called once before the first bar. */
  reset?(frame: Frame): void;
  onBar(context: StrategyContext): readonly OrderRequest[] | undefined;
}

/**
 * Orders that move the position to `exposure` × equity × leverage of notional
 * (exposure in [-1, 1]; 0 = flat). Uses market orders.
 */
export function ordersForExposure(context: StrategyContext, exposure: number): OrderRequest[] {
  const targetQty = (exposure * context.equityUsd * context.leverage * 0.98) / context.closeUsd;
  // Sized in whole exchange steps (rounded toward zero), so what is sent is what the filters accept.
  const delta = Math.sign(targetQty - context.qtyBase) * roundToStep(Math.abs(targetQty - context.qtyBase), context.filters.stepSize, 'down');
  if (exposure === 0 && context.qtyBase !== 0) {
    return [{ type: 'market', side: context.qtyBase > 0 ? 'sell' : 'buy', qtyBase: Math.abs(context.qtyBase), reduceOnly: true }];
  }
  // Ignore changes under 5% of the target (rebalancing noise only pays fees) and
  // orders the exchange would refuse as too small (a broke account stops trading).
  if (Math.abs(delta) < Math.abs(targetQty) * 0.05 || Math.abs(delta) < context.filters.minQty || Math.abs(delta) * context.closeUsd < context.minNotionalUsd) return [];
  return [{ type: 'market', side: delta > 0 ? 'buy' : 'sell', qtyBase: Math.abs(delta) }];
}
