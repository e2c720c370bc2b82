import { maxNotionalAtLeverage } from '../../instrument/leverage-brackets.ts';
import { refusal } from '../refusal.ts';
import { leverageOf } from '../risk-limits.ts';
import type { RiskRule } from '../risk-rule.ts';

/**
 * The size fits the account's leverage (trading.leverage), the exchange's
 * bracket table and the available balance: at leverage L Binance allows a
 * position up to the cap of the highest bracket whose maximum leverage is at
 * least L (beyond it: -2027), the notional stays within L × equity, and the
 * margin (notional / L) plus the fee fits what is available.
 */
export const leverageAndMarginRule: RiskRule = {
  name: 'leverage-and-margin',
  scope: 'instrument',
  entry(p, env) {
    const entry = p.entryPriceUsd;
    const held = Math.abs(env.position.qtyBase);
    const leverage = leverageOf(env.limits, p.symbol);
    const maxByMargin = env.availableUsd / (entry * (1 / leverage + env.feeRate));
    const maxByLeverage = (env.equityUsd * leverage) / entry - held;
    const maxByBracket = maxNotionalAtLeverage(env.instrument.brackets, leverage) / entry - held;
    const qty = Math.min(p.qtyBase, maxByMargin, maxByLeverage, maxByBracket);
    if (maxByBracket <= 0) return refusal('no_margin', `${p.symbol} at ${leverage}x allows at most ${maxNotionalAtLeverage(env.instrument.brackets, leverage).toFixed(0)} USDT of position (the exchange's bracket table): lower trading.leverage`);
    if (!(qty > 0)) return refusal('no_margin', `no margin available (${env.availableUsd.toFixed(2)} USDT)`);
    return { ...p, qtyBase: qty, leverage };
  },
};
