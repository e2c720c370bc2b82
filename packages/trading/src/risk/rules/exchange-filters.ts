import { applyFilters } from '../../instrument/instrument.ts';
import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/** The size goes DOWN to the instrument's step; what LOT_SIZE or MIN_NOTIONAL would refuse is refused here instead of being sent. */
export const exchangeFiltersRule: RiskRule = {
  name: 'exchange-filters',
  scope: 'instrument',
  entry(p, env) {
    const checked = applyFilters(env.instrument, p.side === 'long' ? 'buy' : 'sell', p.qtyBase, p.entryPriceUsd, false);
    if (!checked.ok) return refusal('exchange_filters', `the exchange would refuse the size: ${checked.reason}`);
    return { ...p, qtyBase: checked.qtyBase };
  },
};
