import { isolatedLiquidationPrice } from '../../instrument/liquidation.ts';
import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/**
 * The position after the entry must liquidate at least min_liquidation_distance
 * stop distances from the price (Binance's isolated formula with the
 * instrument's brackets), so the stop always fills first.
 */
export const liquidationDistanceRule: RiskRule = {
  name: 'liquidation-distance',
  scope: 'instrument',
  entry(p, env) {
    const dir = p.side === 'long' ? 1 : -1;
    const held = env.position.qtyBase;
    const qty = held + dir * p.qtyBase;
    const entry = held === 0 ? p.entryPriceUsd : (held * env.position.entryPriceUsd + dir * p.qtyBase * p.entryPriceUsd) / qty;
    const margin = env.position.marginUsd + (p.qtyBase * p.entryPriceUsd) / p.leverage;
    const liquidationPriceUsd = isolatedLiquidationPrice(env.instrument.brackets, qty, entry, margin);
    const distance = Math.abs(p.entryPriceUsd - liquidationPriceUsd);
    const stopDistance = Math.abs(p.entryPriceUsd - p.stopPriceUsd);
    if (distance < env.limits.minLiquidationDistance * stopDistance) {
      return refusal(
        'liquidation_distance',
        `liquidation at ${liquidationPriceUsd.toFixed(4)} is ${distance.toFixed(4)} from the entry, under ${env.limits.minLiquidationDistance}× the stop distance ${stopDistance.toFixed(4)}: lower the leverage or tighten the stop`,
      );
    }
    return { ...p, liquidationPriceUsd };
  },
};
