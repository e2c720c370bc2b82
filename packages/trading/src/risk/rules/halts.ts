import { refusal, type Refusal, type RefusalCode } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';
import { activeHalts, HALT_PRIORITY, type Halt, type HaltCode } from '../risk-state.ts';
import type { RiskLimits } from '../risk-limits.ts';

const CODE: Record<HaltCode, RefusalCode> = {
  kill: 'kill_switch',
  stop_entries: 'entries_stopped',
  drawdown: 'max_drawdown',
  daily_loss: 'daily_loss',
  circuit_breaker: 'circuit_breaker',
};

function message(halt: Halt, limits: RiskLimits): string {
  switch (halt.code) {
    case 'kill':
      return 'kill switch engaged: run `oitrader bot resume` to trade again';
    case 'stop_entries':
      return 'entries stopped (oitrader bot stop-entries): the open position keeps its stop; run `oitrader bot resume` to enter again';
    case 'drawdown':
      return `max drawdown (${(limits.maxDrawdown * 100).toFixed(1)}%) halt: run \`oitrader bot resume\` to trade again`;
    case 'daily_loss':
      return `daily loss limit halt until ${new Date(halt.untilMs!).toISOString()}`;
    case 'circuit_breaker':
      return `circuit breaker open after repeated exchange errors until ${new Date(halt.untilMs!).toISOString()}`;
  }
}

/** The refusal for an entry while a halt is in force (the highest-priority halt speaks), or undefined. */
export function haltRefusal(halts: readonly Halt[], limits: RiskLimits): Refusal | undefined {
  for (const code of HALT_PRIORITY) {
    const halt = halts.find((h) => h.code === code);
    if (halt) return refusal(CODE[code], message(halt, limits));
  }
  return undefined;
}

/** No entry while the account is HALTED or REDUCING: kill switch, stop-entries, drawdown, daily loss, circuit breaker. */
export const haltsRule: RiskRule = {
  name: 'halts',
  scope: 'account',
  entry: (p, env) => haltRefusal(activeHalts(env.state, env.nowMs), env.limits) ?? p,
};
