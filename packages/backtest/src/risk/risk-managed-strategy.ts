import type { Frame } from '@oitrader/core';
import type { LeverageBracket } from '../exchange/leverage-brackets.ts';
import { roundToStep, type SymbolFilters } from '../exchange/symbol-filters.ts';
import type { OrderRequest } from '../execution/exchange.ts';
import type { Strategy, StrategyContext } from '../engine/strategy.ts';
import {
  decideEntry,
  initialRiskState,
  kill,
  observeEquity,
  recordExchangeResult,
  resume,
  stopEntries,
  type RiskEvent,
  type RiskLimits,
  type RiskState,
  type RiskUpdate,
} from './risk-manager.ts';

export interface RiskManagedOptions {
  limits: RiskLimits;
  /** The stop of every entry, as a fraction of the entry price (trading.stop_loss). */
  stopLoss: number;
  filters: SymbolFilters;
  brackets: LeverageBracket[];
  /** Bar length: a bar's close is its open time + barMs. */
  barMs: number;
  /** Taker fee rate included in the margin check. */
  feeRate?: number;
  /** The decision's clock. Default: the bar's close (backtests and replays); the live bot passes the wall clock. */
  now?: (context: StrategyContext) => number;
  /** False when the data feed is unhealthy (the live bot reads the collector's heartbeat). */
  dataHealthy?: () => boolean;
}

export type GateAction = 'hold' | 'enter' | 'exit' | 'flatten';

/** What the risk manager made of one bar: data for the bot's decisions table. */
export interface GateDecision {
  timeMs: number;
  action: GateAction;
  side: 'long' | 'short' | undefined;
  allowed: boolean;
  reason: string;
  qtyBase: number;
  priceUsd: number;
  stopUsd: number;
}

/** Everything the wrapper remembers besides the inner strategy's own state. */
export interface GateSnapshot {
  risk: RiskState | undefined;
  /** The direction the inner strategy last asked for: -1, 0, 1. */
  desired: number;
  lastQtyBase: number;
  closing: boolean;
  /** A one-off flatten (oitrader bot flatten) is due at the next bar. */
  flattenDue: boolean;
}

const NONE: readonly OrderRequest[] = [];

/**
 * Wraps any Strategy so that its orders pass the risk manager: the inner
 * strategy only says which direction it wants; this wrapper sizes the entry
 * from risk_per_trade and a stop `stopLoss` away, sends the stop with it,
 * refuses what the rules refuse, and flattens when a halt demands it. The
 * backtester, paper trading and the live bot run the same wrapper, so their
 * trades agree. A flip is done as close now, enter on the next bar: the old
 * stop must be gone before the new position exists.
 */
export class RiskManagedStrategy implements Strategy {
  readonly name: string;
  readonly #inner: Strategy;
  readonly #options: RiskManagedOptions;
  #state: GateSnapshot = { risk: undefined, desired: 0, lastQtyBase: 0, closing: false, flattenDue: false };
  /** Risk events since the caller last drained them. */
  readonly events: RiskEvent[] = [];
  /** The decision of the latest bar. */
  lastDecision: GateDecision | undefined;

  constructor(inner: Strategy, options: RiskManagedOptions) {
    this.#inner = inner;
    this.#options = options;
    this.name = `${inner.name}+risk`;
  }

  get riskState(): RiskState | undefined {
    return this.#state.risk;
  }

  snapshot(): GateSnapshot {
    return structuredClone(this.#state);
  }

  restore(snapshot: GateSnapshot): void {
    this.#state = structuredClone(snapshot);
  }

  reset(frame: Frame): void {
    this.#state = { risk: undefined, desired: 0, lastQtyBase: 0, closing: false, flattenDue: false };
    this.events.length = 0;
    this.lastDecision = undefined;
    this.#inner.reset?.(frame);
  }

  /** The kill switch (oitrader bot kill, the kill file): the next bar flattens and nothing enters until `resume`. */
  kill(nowMs: number, equityUsd: number, why: string): void {
    this.#apply(kill(this.#risk(equityUsd, nowMs), nowMs, why));
  }

  /** Stop-entries (oitrader bot stop-entries): nothing new enters until `resume`; the open position keeps its stop and exits. */
  stopEntries(nowMs: number, equityUsd: number, why: string): void {
    this.#apply(stopEntries(this.#risk(equityUsd, nowMs), nowMs, why));
  }

  resume(nowMs: number, equityUsd: number, why: string): void {
    this.#apply(resume(this.#risk(equityUsd, nowMs), nowMs, equityUsd, why));
  }

  /** Closes the position at the next bar without halting: the strategy may enter again on its next signal. */
  requestFlatten(nowMs: number, why: string): void {
    this.#state.flattenDue = true;
    this.events.push({ timeMs: nowMs, kind: 'flatten', message: `flatten: ${why}` });
  }

  /** Feeds the circuit breaker with the outcome of an exchange request. */
  exchangeResult(nowMs: number, equityUsd: number, ok: boolean, detail = ''): void {
    this.#apply(recordExchangeResult(this.#risk(equityUsd, nowMs), this.#options.limits, nowMs, ok, detail));
  }

  onBar(ctx: StrategyContext): readonly OrderRequest[] {
    const o = this.#options;
    const s = this.#state;
    const now = o.now ? o.now(ctx) : ctx.timeMs + o.barMs;
    // A position that vanished without our close was stopped out (or liquidated): wait for a fresh signal.
    if (s.lastQtyBase !== 0 && ctx.qtyBase === 0 && !s.closing) s.desired = 0;
    s.closing = false;
    s.lastQtyBase = ctx.qtyBase;
    const mark = this.#apply(observeEquity(this.#risk(ctx.equityUsd, now), o.limits, now, ctx.equityUsd));
    // The inner strategy sees every bar, halted or not, so its own state stays what a backtest would have.
    const asked = this.#inner.onBar(ctx) ?? NONE;
    const entries = asked.filter((order) => order.type === 'market' || order.type === 'limit');
    if (entries.length > 0) s.desired = Math.sign(entries.reduce((qty, order) => qty + (order.side === 'buy' ? order.qtyBase : -order.qtyBase), ctx.qtyBase));
    const current = Math.sign(ctx.qtyBase);
    const decision = (action: GateAction, allowed: boolean, reason: string, qtyBase = 0, stopUsd = Number.NaN): GateDecision =>
      (this.lastDecision = { timeMs: ctx.timeMs, action, side: s.desired > 0 ? 'long' : s.desired < 0 ? 'short' : undefined, allowed, reason, qtyBase, priceUsd: ctx.closeUsd, stopUsd });
    if (mark.flatten || s.flattenDue) {
      s.flattenDue = false;
      s.desired = 0;
      if (current === 0) {
        decision('hold', false, 'halted');
        return NONE;
      }
      s.closing = true;
      decision('flatten', true, mark.events.map((e) => e.message).join('; ') || 'halted', Math.abs(ctx.qtyBase));
      return [closeOrder(ctx.qtyBase)];
    }
    if (s.desired === current) {
      decision('hold', true, 'no change');
      return NONE;
    }
    if (current !== 0) {
      s.closing = true;
      decision('exit', true, s.desired === 0 ? 'strategy exit' : 'strategy flip: close now, enter next bar', Math.abs(ctx.qtyBase));
      return [closeOrder(ctx.qtyBase)];
    }
    const side = s.desired > 0 ? 'long' : 'short';
    // The inner strategy may name its own stop and target (e.g. ATR multiples) next to its entry; else the configured stop-loss fraction.
    const innerStop = entries.length > 0 ? asked.find((order) => order.type === 'stop')?.triggerUsd : undefined;
    const innerTarget = entries.length > 0 ? asked.find((order) => order.type === 'take_profit')?.triggerUsd : undefined;
    const stopUsd = roundToStep(innerStop ?? ctx.closeUsd * (1 - s.desired * o.stopLoss), o.filters.tickSize, 'nearest');
    const d = decideEntry(this.#risk(ctx.equityUsd, now), o.limits, {
      side,
      entryPriceUsd: ctx.closeUsd,
      stopPriceUsd: stopUsd,
      equityUsd: ctx.equityUsd,
      availableUsd: ctx.availableUsd,
      lastCandleCloseMs: ctx.timeMs + o.barMs,
      nowMs: now,
      dataHealthy: o.dataHealthy?.() ?? true,
      filters: o.filters,
      brackets: o.brackets,
      feeRate: o.feeRate,
    });
    decision('enter', d.allowed, d.reason, d.qtyBase, stopUsd);
    if (!d.allowed) return NONE;
    const exitSide = side === 'long' ? 'sell' : 'buy';
    const orders: OrderRequest[] = [
      { type: 'market', side: side === 'long' ? 'buy' : 'sell', qtyBase: d.qtyBase },
      { type: 'stop', side: exitSide, qtyBase: d.qtyBase, triggerUsd: stopUsd, reduceOnly: true },
    ];
    const targetOk = innerTarget !== undefined && (side === 'long' ? innerTarget > ctx.closeUsd : innerTarget < ctx.closeUsd);
    if (targetOk) orders.push({ type: 'take_profit', side: exitSide, qtyBase: d.qtyBase, triggerUsd: roundToStep(innerTarget, o.filters.tickSize, 'nearest'), reduceOnly: true });
    return orders;
  }

  #risk(equityUsd: number, nowMs: number): RiskState {
    return (this.#state.risk ??= initialRiskState(equityUsd, nowMs));
  }

  #apply(update: RiskUpdate): RiskUpdate {
    this.#state.risk = update.state;
    this.events.push(...update.events);
    return update;
  }
}

function closeOrder(qtyBase: number): OrderRequest {
  return { type: 'market', side: qtyBase > 0 ? 'sell' : 'buy', qtyBase: Math.abs(qtyBase), reduceOnly: true };
}
