import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/** At most max_open_positions positions at once across every instrument (freqtrade's max_open_trades). */
export const maxOpenPositionsRule: RiskRule = {
  name: 'max-open-positions',
  scope: 'account',
  entry(p, env) {
    if (p.kind !== 'enter' || env.portfolio.openPositions < env.limits.maxOpenPositions) return p;
    return refusal('max_open_positions', `${env.portfolio.openPositions} positions are open, the limit is ${env.limits.maxOpenPositions} (trading.max_open_positions)`);
  },
};
