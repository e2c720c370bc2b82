import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/** No entry on a decision whose newest closed candle is older than stale_after_seconds. */
export const staleDataRule: RiskRule = {
  name: 'stale-data',
  scope: 'instrument',
  entry(p, env) {
    const ageMs = env.nowMs - env.lastCandleCloseMs;
    if (ageMs <= env.limits.staleAfterMs) return p;
    return refusal('stale_data', `stale data: the newest closed candle is ${(ageMs / 1000).toFixed(0)} s old (limit ${env.limits.staleAfterMs / 1000} s)`);
  },
};
