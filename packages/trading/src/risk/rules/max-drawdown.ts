import type { RiskRule } from '../risk-rule.ts';
import { haltOf, withHalt, type RiskEvent } from '../risk-state.ts';

/** The drawdown stop: equity max_drawdown below its peak flattens the book and halts trading until `resume` (which restarts the peak). */
export const maxDrawdownRule: RiskRule = {
  name: 'max-drawdown',
  scope: 'account',
  mark(state, { nowMs, equityUsd, limits }) {
    const events: RiskEvent[] = [];
    let next = equityUsd > state.peakEquityUsd ? { ...state, peakEquityUsd: equityUsd } : state;
    const drawdown = next.peakEquityUsd > 0 ? 1 - equityUsd / next.peakEquityUsd : 0;
    if (!haltOf(next, 'drawdown', nowMs) && drawdown >= limits.maxDrawdown) {
      const message = `drawdown ${(drawdown * 100).toFixed(1)}% from the peak ${next.peakEquityUsd.toFixed(2)} USDT reached the limit of ${(limits.maxDrawdown * 100).toFixed(1)}%: flattening, halted until resume`;
      next = withHalt(next, { code: 'drawdown', sinceMs: nowMs, message });
      events.push({ timeMs: nowMs, kind: 'drawdown', message });
    }
    return { state: next, events };
  },
};
