import type { LeverageBracket } from './leverage-brackets.ts';

/** The exchange filters that decide whether an order is valid (Binance exchangeInfo: PRICE_FILTER, LOT_SIZE, MIN_NOTIONAL). */
export interface SymbolFilters {
  symbol: string;
  /** PRICE_FILTER.tickSize */
  tickSize: number;
  /** LOT_SIZE.stepSize (MARKET_LOT_SIZE is assumed equal) */
  stepSize: number;
  /** LOT_SIZE.minQty */
  minQty: number;
  /** MIN_NOTIONAL.notional, USDT */
  minNotionalUsd: number;
}

/**
 * One tradable contract as the venue defines it: its order filters and its
 * maintenance-margin brackets. Comes from an InstrumentProvider — the
 * exchange's own tables for live trading, the bundled snapshot offline.
 */
export interface Instrument extends SymbolFilters {
  /** Maintenance-margin brackets (Binance GET /fapi/v1/leverageBracket), lowest notional first. */
  brackets: LeverageBracket[];
}

const decimalsCache = new Map<number, number>();

/** Number of decimals in a step like 0.001 (so rounding can be exact in decimal). */
export function stepDecimals(step: number): number {
  const cached = decimalsCache.get(step);
  if (cached !== undefined) return cached;
  const d = countDecimals(step);
  decimalsCache.set(step, d);
  return d;
}

function countDecimals(step: number): number {
  const text = step.toString();
  if (text.includes('e-')) return Number(text.split('e-')[1]);
  return text.includes('.') ? text.split('.')[1].length : 0;
}

/**
 * The one rounding function for money that crosses to the exchange: quantities
 * round down to the step (never more than asked), prices to the tick in the
 * direction that is never worse for the trader's intent (buy limits down,
 * sell limits up) unless `mode` says otherwise.
 */
export function roundToStep(value: number, step: number, mode: 'down' | 'up' | 'nearest'): number {
  const d = stepDecimals(step);
  const units = value / step;
  // The epsilon absorbs binary noise such as 0.3 / 0.1 = 2.9999999999999996.
  const rounded = mode === 'down' ? Math.floor(units + 1e-9) : mode === 'up' ? Math.ceil(units - 1e-9) : Math.round(units);
  const scale = 10 ** d;
  return Math.round(rounded * step * scale) / scale;
}

export type OrderCheck = { ok: true; qtyBase: number; priceUsd: number } | { ok: false; reason: string };

/** Applies LOT_SIZE, PRICE_FILTER and MIN_NOTIONAL to an order. Reduce-only orders are exempt from MIN_NOTIONAL, as on Binance. */
export function applyFilters(filters: SymbolFilters, side: 'buy' | 'sell', qtyBase: number, priceUsd: number, reduceOnly: boolean): OrderCheck {
  const qty = roundToStep(qtyBase, filters.stepSize, 'down');
  const price = roundToStep(priceUsd, filters.tickSize, side === 'buy' ? 'down' : 'up');
  if (!(qty >= filters.minQty)) return { ok: false, reason: `quantity ${qtyBase} is below the minimum ${filters.minQty} after rounding to step ${filters.stepSize}` };
  if (!reduceOnly && qty * price < filters.minNotionalUsd) {
    return { ok: false, reason: `notional ${(qty * price).toFixed(2)} USDT is below the minimum ${filters.minNotionalUsd} USDT` };
  }
  return { ok: true, qtyBase: qty, priceUsd: price };
}
