import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/**
 * No entry while an earlier entry of the instrument rests unfilled on the exchange: that order is exposure the
 * position does not show yet, and entering again on every candle until it fills stacks positions (seen with
 * fills delayed past a candle). The venue cancels a stale entry before the next decision; this refuses only
 * while one could not be cancelled.
 */
export const restingEntryRule: RiskRule = {
  name: 'resting-entry',
  scope: 'instrument',
  entry: (p, env) => (env.restingEntryQtyBase === 0 ? p : refusal('entry_resting', `an entry of ${env.restingEntryQtyBase} ${p.symbol} still rests unfilled on the exchange`)),
};
