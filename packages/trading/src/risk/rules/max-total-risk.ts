import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/**
 * The risk budget: Σ |size| × stop distance over every position stays within
 * max_total_risk of equity, and one instrument holds at most
 * max_instrument_risk_share of that budget. An entry is cut to fit, or refused.
 */
export const maxTotalRiskRule: RiskRule = {
  name: 'max-total-risk',
  scope: 'account',
  entry(p, env) {
    const budgetUsd = env.limits.maxTotalRisk * env.equityUsd;
    const distance = Math.abs(p.entryPriceUsd - p.stopPriceUsd);
    const wantUsd = p.qtyBase * distance;
    const totalRoom = budgetUsd - env.portfolio.openRiskUsd;
    const instrumentRoom = env.limits.maxInstrumentRiskShare * budgetUsd - env.portfolio.instrumentRiskUsd;
    const room = Math.min(totalRoom, instrumentRoom);
    if (wantUsd <= room * (1 + 1e-9)) return p;
    if (!(room > 0)) {
      return totalRoom <= instrumentRoom
        ? refusal('max_total_risk', `open risk ${env.portfolio.openRiskUsd.toFixed(2)} USDT uses the whole risk budget of ${(env.limits.maxTotalRisk * 100).toFixed(1)}% of equity (trading.max_total_risk)`)
        : refusal('instrument_risk_share', `${p.symbol} already holds ${env.portfolio.instrumentRiskUsd.toFixed(2)} USDT of risk, its share of the budget is ${(env.limits.maxInstrumentRiskShare * 100).toFixed(0)}% (trading.max_instrument_risk_share)`);
    }
    return { ...p, qtyBase: room / distance };
  },
};
