import type { Config } from '@oitrader/core';
import { maxLeverageFor, type LeverageBracket } from '../exchange/leverage-brackets.ts';
import { applyFilters, type SymbolFilters } from '../exchange/symbol-filters.ts';
import { isolatedLiquidationPrice } from '../execution/liquidation.ts';

/**
 * The one risk manager: pure functions over plain data, shared by the
 * backtester (`withRisk`), the RL environment and the live bot. Nothing here
 * does I/O or reads a clock; the caller passes `nowMs` and persists the state.
 * Reduce-only orders (exits, stops, flattening) are never vetoed: a halted
 * bot must still be able to get out.
 */
export interface RiskLimits {
  /** Fraction of equity lost if the stop fills (trading.risk_per_trade). */
  riskPerTrade: number;
  /** Account leverage ceiling (trading.leverage); the exchange bracket may lower it. */
  leverage: number;
  /** Fraction of the UTC-day start equity (realised + unrealised) that halts entries till the next UTC day and flattens. */
  maxDailyLoss: number;
  /** Fraction below the peak equity that halts entries and flattens until an explicit resume. */
  maxDrawdown: number;
  /** The liquidation price must be at least this many stop distances from the entry (1 = just beyond the stop). */
  minLiquidationDistance: number;
  /** No entries when the newest closed candle is older than this (ms after its close). */
  staleAfterMs: number;
  /** Consecutive exchange errors that open the circuit breaker. */
  circuitBreakerErrors: number;
  /** How long an open circuit breaker refuses entries. */
  circuitBreakerCooldownMs: number;
}

export const DEFAULT_RISK_LIMITS: RiskLimits = {
  riskPerTrade: 0.02,
  leverage: 5,
  maxDailyLoss: 0.03,
  maxDrawdown: 0.15,
  minLiquidationDistance: 2,
  staleAfterMs: 120_000,
  circuitBreakerErrors: 5,
  circuitBreakerCooldownMs: 15 * 60_000,
};

/** Everything the rules remember between decisions. Persist it; restore it on restart. */
export interface RiskState {
  /** Start (UTC midnight, ms) of the day `dayStartEquityUsd` belongs to. */
  dayStartMs: number;
  dayStartEquityUsd: number;
  peakEquityUsd: number;
  /** Entries refused until this time (ms) because the daily loss limit fired; 0 = not halted. */
  dailyHaltUntilMs: number;
  /** The drawdown stop fired; only `resume` clears it. */
  drawdownHalted: boolean;
  consecutiveErrors: number;
  /** Entries refused until this time (ms) because of repeated exchange errors; 0 = closed. */
  breakerOpenUntilMs: number;
  /** The kill switch: cancel all, flatten, no entries until `resume`. */
  killed: boolean;
  /**
   * Stop-entries (freqtrade's /stopentry): no new positions until `resume`, but
   * the open one keeps its stop and may still exit or be flattened. Absent in
   * states saved before the rule existed, which reads as false.
   */
  entriesStopped?: boolean;
}

export type RiskEventKind = 'day_start' | 'daily_loss' | 'drawdown' | 'circuit_breaker' | 'kill' | 'resume' | 'flatten' | 'stop_entries';

export interface RiskEvent {
  timeMs: number;
  kind: RiskEventKind;
  message: string;
}

/** The outcome of a rule step: the new state, what happened, and whether the position must be closed now. */
export interface RiskUpdate {
  state: RiskState;
  events: RiskEvent[];
  flatten: boolean;
}

const DAY_MS = 86_400_000;

export const utcDayStartMs = (timeMs: number): number => Math.floor(timeMs / DAY_MS) * DAY_MS;

export function initialRiskState(equityUsd: number, nowMs: number): RiskState {
  return {
    dayStartMs: utcDayStartMs(nowMs),
    dayStartEquityUsd: equityUsd,
    peakEquityUsd: equityUsd,
    dailyHaltUntilMs: 0,
    drawdownHalted: false,
    consecutiveErrors: 0,
    breakerOpenUntilMs: 0,
    killed: false,
    entriesStopped: false,
  };
}

/**
 * Marks equity (wallet + unrealised PnL) at `nowMs`: rolls the UTC day (a new
 * day's first mark is its start equity), tracks the peak, and fires the daily
 * loss and drawdown stops. `flatten` is true when a stop fires now or a halt
 * that demands a flat book is in force.
 */
export function observeEquity(state: RiskState, limits: RiskLimits, nowMs: number, equityUsd: number): RiskUpdate {
  const events: RiskEvent[] = [];
  let next = state;
  const day = utcDayStartMs(nowMs);
  if (day > state.dayStartMs) {
    next = { ...next, dayStartMs: day, dayStartEquityUsd: equityUsd };
    events.push({ timeMs: nowMs, kind: 'day_start', message: `UTC day ${new Date(day).toISOString().slice(0, 10)} starts at equity ${equityUsd.toFixed(2)} USDT` });
  }
  if (equityUsd > next.peakEquityUsd) next = { ...next, peakEquityUsd: equityUsd };
  const dailyLossUsd = next.dayStartEquityUsd - equityUsd;
  const dailyHalted = nowMs < next.dailyHaltUntilMs;
  if (!dailyHalted && dailyLossUsd >= limits.maxDailyLoss * next.dayStartEquityUsd) {
    next = { ...next, dailyHaltUntilMs: day + DAY_MS };
    events.push({
      timeMs: nowMs,
      kind: 'daily_loss',
      message: `daily loss ${dailyLossUsd.toFixed(2)} USDT reached the limit of ${(limits.maxDailyLoss * 100).toFixed(1)}% of ${next.dayStartEquityUsd.toFixed(2)} USDT: flattening, no entries until ${new Date(day + DAY_MS).toISOString()}`,
    });
  }
  const drawdown = next.peakEquityUsd > 0 ? 1 - equityUsd / next.peakEquityUsd : 0;
  if (!next.drawdownHalted && drawdown >= limits.maxDrawdown) {
    next = { ...next, drawdownHalted: true };
    events.push({
      timeMs: nowMs,
      kind: 'drawdown',
      message: `drawdown ${(drawdown * 100).toFixed(1)}% from the peak ${next.peakEquityUsd.toFixed(2)} USDT reached the limit of ${(limits.maxDrawdown * 100).toFixed(1)}%: flattening, halted until resume`,
    });
  }
  return { state: next, events, flatten: mustBeFlat(next, nowMs) };
}

/** True while a halt that demands a flat book is in force (daily loss, drawdown, kill switch). */
export function mustBeFlat(state: RiskState, nowMs: number): boolean {
  return state.killed || state.drawdownHalted || nowMs < state.dailyHaltUntilMs;
}

/** Counts exchange errors: `circuitBreakerErrors` in a row open the breaker for the cooldown; a success resets the count. */
export function recordExchangeResult(state: RiskState, limits: RiskLimits, nowMs: number, ok: boolean, detail = ''): RiskUpdate {
  if (ok) return { state: state.consecutiveErrors === 0 ? state : { ...state, consecutiveErrors: 0 }, events: [], flatten: mustBeFlat(state, nowMs) };
  const errors = state.consecutiveErrors + 1;
  if (errors < limits.circuitBreakerErrors) return { state: { ...state, consecutiveErrors: errors }, events: [], flatten: mustBeFlat(state, nowMs) };
  const until = nowMs + limits.circuitBreakerCooldownMs;
  const event: RiskEvent = {
    timeMs: nowMs,
    kind: 'circuit_breaker',
    message: `${errors} exchange errors in a row${detail ? ` (last: ${detail})` : ''}: no entries until ${new Date(until).toISOString()}`,
  };
  return { state: { ...state, consecutiveErrors: 0, breakerOpenUntilMs: until }, events: [event], flatten: mustBeFlat(state, nowMs) };
}

/** The kill switch: entries stop and the book must be flattened until `resume`. */
export function kill(state: RiskState, nowMs: number, why: string): RiskUpdate {
  const events: RiskEvent[] = state.killed ? [] : [{ timeMs: nowMs, kind: 'kill', message: `kill switch: ${why}` }];
  return { state: { ...state, killed: true }, events, flatten: true };
}

/**
 * Stop-entries: refuses every new entry until `resume`. Unlike the kill switch
 * it never demands a flat book, so the open position keeps its stop and its
 * exits; `flatten` stays whatever the other halts say.
 */
export function stopEntries(state: RiskState, nowMs: number, why: string): RiskUpdate {
  const events: RiskEvent[] = state.entriesStopped === true ? [] : [{ timeMs: nowMs, kind: 'stop_entries', message: `entries stopped: ${why}` }];
  return { state: { ...state, entriesStopped: true }, events, flatten: mustBeFlat(state, nowMs) };
}

/**
 * Clears the kill switch, stop-entries, the drawdown halt and the circuit breaker; the
 * peak restarts at the current equity so the drawdown stop does not fire
 * again at once. The daily loss halt stays until the next UTC day.
 */
export function resume(state: RiskState, nowMs: number, equityUsd: number, why: string): RiskUpdate {
  const next: RiskState = { ...state, killed: false, entriesStopped: false, drawdownHalted: false, breakerOpenUntilMs: 0, consecutiveErrors: 0, peakEquityUsd: equityUsd };
  return { state: next, events: [{ timeMs: nowMs, kind: 'resume', message: `resumed: ${why}` }], flatten: mustBeFlat(next, nowMs) };
}

export interface EntryRequest {
  side: 'long' | 'short';
  /** The price the entry is expected to fill at (the last close for a market order). */
  entryPriceUsd: number;
  /** The exchange-side stop that goes on right after the fill. */
  stopPriceUsd: number;
  /** Wallet + unrealised PnL now. */
  equityUsd: number;
  /** Balance free for new margin and fees. */
  availableUsd: number;
  /** Close time (ms) of the newest closed candle the decision used. */
  lastCandleCloseMs: number;
  nowMs: number;
  /** False when the data feed is known unhealthy (collector heartbeat missing). */
  dataHealthy?: boolean;
  filters: SymbolFilters;
  brackets: LeverageBracket[];
  /** Taker fee rate, so margin + fee fit the available balance. */
  feeRate?: number;
}

/** A risk decision: data, never an action. `qtyBase` is already on the exchange's step and passes its filters. */
export interface RiskDecision {
  allowed: boolean;
  qtyBase: number;
  reason: string;
  /** Leverage the entry is sized for: min(trading.leverage, the bracket's maximum). */
  leverage: number;
  /** Isolated liquidation price of the sized position (NaN when refused). */
  liquidationPriceUsd: number;
}

const refuse = (reason: string): RiskDecision => ({ allowed: false, qtyBase: 0, reason, leverage: 0, liquidationPriceUsd: Number.NaN });

/** Reasons that block every entry regardless of its size, or undefined. */
export function entryBlock(state: RiskState, limits: RiskLimits, nowMs: number, lastCandleCloseMs: number, dataHealthy = true): string | undefined {
  if (state.killed) return 'kill switch engaged: run `oitrader bot resume` to trade again';
  if (state.entriesStopped === true) return 'entries stopped (oitrader bot stop-entries): the open position keeps its stop; run `oitrader bot resume` to enter again';
  if (state.drawdownHalted) return `max drawdown (${(limits.maxDrawdown * 100).toFixed(1)}%) halt: run \`oitrader bot resume\` to trade again`;
  if (nowMs < state.dailyHaltUntilMs) return `daily loss limit halt until ${new Date(state.dailyHaltUntilMs).toISOString()}`;
  if (nowMs < state.breakerOpenUntilMs) return `circuit breaker open after repeated exchange errors until ${new Date(state.breakerOpenUntilMs).toISOString()}`;
  if (!dataHealthy) return 'market data feed unhealthy (collector heartbeat missing)';
  const ageMs = nowMs - lastCandleCloseMs;
  if (!(ageMs <= limits.staleAfterMs)) return `stale data: the newest closed candle is ${(ageMs / 1000).toFixed(0)} s old (limit ${limits.staleAfterMs / 1000} s)`;
  return undefined;
}

/**
 * Sizes a new entry so that a fill at the stop loses `riskPerTrade` of
 * equity, then caps it by leverage (config and bracket) and the available
 * margin, rounds it DOWN to the symbol's step and refuses what LOT_SIZE /
 * MIN_NOTIONAL would refuse, and refuses a size whose liquidation price is
 * not at least `minLiquidationDistance` stop distances from the entry.
 */
export function decideEntry(state: RiskState, limits: RiskLimits, request: EntryRequest): RiskDecision {
  const block = entryBlock(state, limits, request.nowMs, request.lastCandleCloseMs, request.dataHealthy);
  if (block !== undefined) return refuse(block);
  const { side, entryPriceUsd: entry, stopPriceUsd: stop, equityUsd } = request;
  if (!(entry > 0) || !(stop > 0) || !(equityUsd > 0)) return refuse(`entry ${entry}, stop ${stop} and equity ${equityUsd} must be positive`);
  const stopDistance = side === 'long' ? entry - stop : stop - entry;
  if (!(stopDistance > 0)) return refuse(`a ${side} stop must be on the losing side of the entry (entry ${entry}, stop ${stop})`);
  const feeRate = request.feeRate ?? 0;
  let qty = (equityUsd * limits.riskPerTrade) / stopDistance;
  let leverage = limits.leverage;
  // The bracket's ceiling falls as notional grows and a cap lowers notional: shrink until the size fits its own bracket.
  for (let i = 0; i <= request.brackets.length; i++) {
    leverage = Math.min(limits.leverage, maxLeverageFor(request.brackets, qty * entry));
    const maxByMargin = request.availableUsd / (entry * (1 / leverage + feeRate));
    const maxByLeverage = (equityUsd * leverage) / entry;
    const cap = Math.min(maxByMargin, maxByLeverage);
    if (qty <= cap) break;
    qty = cap;
  }
  if (!(qty > 0)) return refuse(`no margin available (${request.availableUsd.toFixed(2)} USDT)`);
  const checked = applyFilters(request.filters, side === 'long' ? 'buy' : 'sell', qty, entry, false);
  if (!checked.ok) return refuse(`the exchange would refuse the size: ${checked.reason}`);
  const qtyBase = checked.qtyBase;
  const signed = side === 'long' ? qtyBase : -qtyBase;
  const liquidationPriceUsd = isolatedLiquidationPrice(request.brackets, signed, entry, (qtyBase * entry) / leverage);
  const liquidationDistance = Math.abs(entry - liquidationPriceUsd);
  if (liquidationDistance < limits.minLiquidationDistance * stopDistance) {
    return {
      ...refuse(
        `liquidation at ${liquidationPriceUsd.toFixed(4)} is ${liquidationDistance.toFixed(4)} from the entry, under ${limits.minLiquidationDistance}× the stop distance ${stopDistance.toFixed(4)}: lower the leverage or tighten the stop`,
      ),
      liquidationPriceUsd,
    };
  }
  return { allowed: true, qtyBase, reason: 'ok', leverage, liquidationPriceUsd };
}

/** The risk limits a `trading:` config section sets (config.yaml keys documented in docs/phase-5-live.md). */
export function riskLimitsFromConfig(trading: Config['trading']): RiskLimits {
  return {
    riskPerTrade: trading.risk_per_trade,
    leverage: trading.leverage,
    maxDailyLoss: trading.max_daily_loss,
    maxDrawdown: trading.max_drawdown,
    minLiquidationDistance: trading.min_liquidation_distance,
    staleAfterMs: trading.stale_after_seconds * 1000,
    circuitBreakerErrors: trading.circuit_breaker_errors,
    circuitBreakerCooldownMs: trading.circuit_breaker_cooldown_seconds * 1000,
  };
}
