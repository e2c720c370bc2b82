import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/**
 * Every position carries an exchange-side stop on its losing side: an entry
 * whose stop is missing, not positive or on the winning side is refused (the
 * engine has already put trading.stop_loss in where the intent named none).
 */
export const protectiveStopRule: RiskRule = {
  name: 'protective-stop',
  scope: 'instrument',
  entry(p, env) {
    const { entryPriceUsd: entry, stopPriceUsd: stop } = p;
    if (!(entry > 0) || !(stop > 0) || !(env.equityUsd > 0)) return refusal('invalid_stop', `entry ${entry}, stop ${stop} and equity ${env.equityUsd} must be positive`);
    const distance = p.side === 'long' ? entry - stop : stop - entry;
    if (!(distance > 0)) return refusal('invalid_stop', `a ${p.side} stop must be on the losing side of the entry (entry ${entry}, stop ${stop})`);
    return p;
  },
};
