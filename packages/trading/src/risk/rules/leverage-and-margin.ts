import { maxLeverageFor } from '../../instrument/leverage-brackets.ts';
import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/**
 * The size fits trading.leverage and the exchange's bracket for the
 * position's notional after the entry, and its margin plus fee fits the
 * available balance. The bracket's ceiling falls as notional grows and a cap
 * lowers notional, so the size shrinks until it fits its own bracket.
 */
export const leverageAndMarginRule: RiskRule = {
  name: 'leverage-and-margin',
  scope: 'instrument',
  entry(p, env) {
    const entry = p.entryPriceUsd;
    const held = Math.abs(env.position.qtyBase);
    const brackets = env.instrument.brackets;
    let qty = p.qtyBase;
    let leverage = env.limits.leverage;
    for (let i = 0; i <= brackets.length; i++) {
      leverage = Math.min(env.limits.leverage, maxLeverageFor(brackets, (held + qty) * entry));
      const maxByMargin = env.availableUsd / (entry * (1 / leverage + env.feeRate));
      const maxByLeverage = (env.equityUsd * leverage) / entry - held;
      const cap = Math.min(maxByMargin, maxByLeverage);
      if (qty <= cap) break;
      qty = cap;
    }
    if (!(qty > 0)) return refusal('no_margin', `no margin available (${env.availableUsd.toFixed(2)} USDT)`);
    return { ...p, qtyBase: qty, leverage };
  },
};
