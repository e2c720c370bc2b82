import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/** Σ |notional| across every position stays within max_gross_exposure × equity: an entry is cut to fit, or refused when nothing fits. */
export const maxGrossExposureRule: RiskRule = {
  name: 'max-gross-exposure',
  scope: 'account',
  entry(p, env) {
    const roomUsd = env.limits.maxGrossExposure * env.equityUsd - env.portfolio.grossExposureUsd;
    const wantUsd = p.qtyBase * p.entryPriceUsd;
    // A relative tolerance keeps float noise in a size that fits exactly from cutting it.
    if (wantUsd <= roomUsd * (1 + 1e-9)) return p;
    if (!(roomUsd > 0)) return refusal('max_gross_exposure', `gross exposure ${env.portfolio.grossExposureUsd.toFixed(0)} USDT is at the limit of ${env.limits.maxGrossExposure}× equity (trading.max_gross_exposure)`);
    return { ...p, qtyBase: roomUsd / p.entryPriceUsd };
  },
};
