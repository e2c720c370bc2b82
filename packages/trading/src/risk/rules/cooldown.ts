import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/** After a stop-out or liquidation, no new entry on that instrument for cooldown_after_stop_minutes (freqtrade's StoplossGuard, per pair). */
export const cooldownRule: RiskRule = {
  name: 'cooldown',
  scope: 'instrument',
  entry(p, env) {
    const { cooldownAfterStopMs } = env.limits;
    const since = env.book.stoppedOutAtMs;
    if (p.kind !== 'enter' || cooldownAfterStopMs <= 0 || since <= 0 || env.nowMs >= since + cooldownAfterStopMs) return p;
    return refusal('cooldown', `${p.symbol} was stopped out at ${new Date(since).toISOString()}: no entry until ${new Date(since + cooldownAfterStopMs).toISOString()} (trading.cooldown_after_stop_minutes)`);
  },
};
