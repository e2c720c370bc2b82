/**
 * The account's risk state: what the rules remember between decisions.
 * One trading state, derived from the halts in force (NautilusTrader's
 * TradingState): ACTIVE trades; REDUCING takes exits only; HALTED takes exits
 * only and demands a flat book. A halt says which rule raised it, until when,
 * and whether the book must be flat meanwhile.
 */
export type TradingState = 'ACTIVE' | 'REDUCING' | 'HALTED';

export type HaltCode = 'kill' | 'stop_entries' | 'drawdown' | 'daily_loss' | 'circuit_breaker';

export interface Halt {
  code: HaltCode;
  sinceMs: number;
  /** In force until this time; undefined = until `resume`. */
  untilMs?: number;
  message: string;
}

/** What each halt does: the state it puts the account in and whether every position must be closed while it lasts. */
export const HALT_EFFECT: Record<HaltCode, { state: Exclude<TradingState, 'ACTIVE'>; flatten: boolean }> = {
  kill: { state: 'HALTED', flatten: true },
  drawdown: { state: 'HALTED', flatten: true },
  daily_loss: { state: 'REDUCING', flatten: true },
  stop_entries: { state: 'REDUCING', flatten: false },
  circuit_breaker: { state: 'REDUCING', flatten: false },
};

/** Which halt's refusal an entry reports when several are in force. */
export const HALT_PRIORITY: readonly HaltCode[] = ['kill', 'stop_entries', 'drawdown', 'daily_loss', 'circuit_breaker'];

export interface AccountRiskState {
  /** Start (UTC midnight, ms) of the day `dayStartEquityUsd` belongs to. */
  dayStartMs: number;
  dayStartEquityUsd: number;
  peakEquityUsd: number;
  consecutiveErrors: number;
  halts: Halt[];
}

export type RiskEventKind = 'day_start' | 'daily_loss' | 'drawdown' | 'circuit_breaker' | 'kill' | 'resume' | 'flatten' | 'stop_entries' | 'force_entry';

export interface RiskEvent {
  timeMs: number;
  kind: RiskEventKind;
  message: string;
  /** A command's own words (kill, stop-entries, resume, flatten, force entry), kept apart from the message so a replay never parses text. */
  why?: string;
  /** The instrument a per-instrument event belongs to. */
  symbol?: string;
  /** A forced entry's side. */
  side?: 'long' | 'short';
}

const DAY_MS = 86_400_000;

export const utcDayStartMs = (timeMs: number): number => Math.floor(timeMs / DAY_MS) * DAY_MS;
export const nextUtcDayMs = (timeMs: number): number => utcDayStartMs(timeMs) + DAY_MS;

export function initialRiskState(equityUsd: number, nowMs: number): AccountRiskState {
  return { dayStartMs: utcDayStartMs(nowMs), dayStartEquityUsd: equityUsd, peakEquityUsd: equityUsd, consecutiveErrors: 0, halts: [] };
}

/** The halts still in force at `nowMs` (a timed halt ends at its `untilMs`). */
export function activeHalts(state: AccountRiskState, nowMs: number): Halt[] {
  return state.halts.filter((h) => h.untilMs === undefined || nowMs < h.untilMs);
}

export function haltOf(state: AccountRiskState, code: HaltCode, nowMs: number): Halt | undefined {
  return activeHalts(state, nowMs).find((h) => h.code === code);
}

export function tradingState(state: AccountRiskState, nowMs: number): TradingState {
  let worst: TradingState = 'ACTIVE';
  for (const h of activeHalts(state, nowMs)) {
    const s = HALT_EFFECT[h.code].state;
    if (s === 'HALTED') return 'HALTED';
    worst = s;
  }
  return worst;
}

/** True while a halt that demands a flat book is in force (kill, drawdown, daily loss). */
export function mustBeFlat(state: AccountRiskState, nowMs: number): boolean {
  return activeHalts(state, nowMs).some((h) => HALT_EFFECT[h.code].flatten);
}

/** The state with `halt` raised (replacing one of the same code). */
export function withHalt(state: AccountRiskState, halt: Halt): AccountRiskState {
  return { ...state, halts: [...state.halts.filter((h) => h.code !== halt.code), halt] };
}

/** The state without the halts whose codes are given. */
export function withoutHalts(state: AccountRiskState, codes: readonly HaltCode[]): AccountRiskState {
  return { ...state, halts: state.halts.filter((h) => !codes.includes(h.code)) };
}
