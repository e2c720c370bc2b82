import { bracketForNotional, type LeverageBracket } from './leverage-brackets.ts';

/**
 * Binance isolated-margin liquidation price, one-way mode:
 *   LP = (WB + cum − side·Q·EP) / (Q·MMR − side·Q)
 * WB = the position's isolated wallet (margin), Q = |qty|, EP = entry price,
 * side = +1 long / −1 short, MMR and cum from the maintenance bracket of the
 * position's notional. The bracket depends on the notional at LP, so the
 * formula is solved per bracket and the consistent solution is kept.
 */
export function isolatedLiquidationPrice(brackets: LeverageBracket[], qtyBase: number, entryPriceUsd: number, isolatedWalletUsd: number): number {
  if (qtyBase === 0) return Number.NaN;
  const side = qtyBase > 0 ? 1 : -1;
  const q = Math.abs(qtyBase);
  let fallback = Number.NaN;
  for (const bracket of brackets) {
    const lp = (isolatedWalletUsd + bracket.cumUsd - side * q * entryPriceUsd) / (q * bracket.maintMarginRatio - side * q);
    const price = Math.max(lp, 0);
    if (Number.isNaN(fallback)) fallback = price;
    if (bracketForNotional(brackets, q * price) === bracket) return price;
  }
  return fallback;
}

/** Maintenance margin of a position at a mark price (bracket MMR·notional − cum). */
export function maintenanceMarginUsd(brackets: LeverageBracket[], qtyBase: number, markPriceUsd: number): number {
  const notional = Math.abs(qtyBase) * markPriceUsd;
  const b = bracketForNotional(brackets, notional);
  return notional * b.maintMarginRatio - b.cumUsd;
}
