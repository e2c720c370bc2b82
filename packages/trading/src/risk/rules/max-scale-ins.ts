import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/** At most max_scale_ins adds on top of one entry. */
export const maxScaleInsRule: RiskRule = {
  name: 'max-scale-ins',
  scope: 'instrument',
  entry(p, env) {
    if (p.kind !== 'scale_in' || env.book.scaleIns < env.limits.maxScaleIns) return p;
    return refusal('max_scale_ins', `${p.symbol} already has ${env.book.scaleIns} scale-ins (trading.max_scale_ins: ${env.limits.maxScaleIns})`);
  },
};
