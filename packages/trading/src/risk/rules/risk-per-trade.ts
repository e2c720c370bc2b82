import type { RiskRule } from '../risk-rule.ts';

/**
 * The size whose stop fill loses risk_per_trade (× the intent's risk scale)
 * of equity; a strategy's size hint (exposure × equity × leverage, with the
 * 2 % buffer exposure sizing keeps) is an upper bound.
 */
export const riskPerTradeRule: RiskRule = {
  name: 'risk-per-trade',
  scope: 'instrument',
  entry(p, env) {
    const distance = Math.abs(p.entryPriceUsd - p.stopPriceUsd);
    let qty = (env.equityUsd * env.limits.riskPerTrade * p.riskScale) / distance;
    if (p.exposure !== undefined) qty = Math.min(qty, (p.exposure * env.equityUsd * env.limits.leverage * 0.98) / p.entryPriceUsd);
    return { ...p, qtyBase: qty };
  },
};
