import type { RiskRule } from '../risk-rule.ts';
import { haltOf, nextUtcDayMs, utcDayStartMs, withHalt, type RiskEvent } from '../risk-state.ts';

/**
 * The daily loss limit: the first mark of a UTC day is that day's start
 * equity; a loss of max_daily_loss of it (realised + unrealised) flattens the
 * book and refuses entries until the next UTC day (a resume does not lift it).
 */
export const dailyLossRule: RiskRule = {
  name: 'daily-loss',
  scope: 'account',
  mark(state, { nowMs, equityUsd, limits }) {
    const events: RiskEvent[] = [];
    let next = state;
    const day = utcDayStartMs(nowMs);
    if (day > state.dayStartMs) {
      next = { ...next, dayStartMs: day, dayStartEquityUsd: equityUsd };
      events.push({ timeMs: nowMs, kind: 'day_start', message: `UTC day ${new Date(day).toISOString().slice(0, 10)} starts at equity ${equityUsd.toFixed(2)} USDT` });
    }
    const lossUsd = next.dayStartEquityUsd - equityUsd;
    if (!haltOf(next, 'daily_loss', nowMs) && lossUsd >= limits.maxDailyLoss * next.dayStartEquityUsd) {
      const untilMs = nextUtcDayMs(nowMs);
      const message = `daily loss ${lossUsd.toFixed(2)} USDT reached the limit of ${(limits.maxDailyLoss * 100).toFixed(1)}% of ${next.dayStartEquityUsd.toFixed(2)} USDT: flattening, no entries until ${new Date(untilMs).toISOString()}`;
      next = withHalt(next, { code: 'daily_loss', sinceMs: nowMs, untilMs, message });
      events.push({ timeMs: nowMs, kind: 'daily_loss', message });
    }
    return { state: next, events };
  },
};
