import { applyFilters, roundToStep } from '../instrument/instrument.ts';
import type { InstrumentProvider } from '../instrument/instrument-provider.ts';
import type { OrderRequest } from '../execution/simulated-exchange.ts';
import type { ExitReason } from '../portfolio/portfolio.ts';
import { enter, type Intent } from '../strategy/intent.ts';
import type { IntentExecutor } from '../strategy/intent-executor.ts';
import type { RiskView } from '../strategy/strategy.ts';
import { isRefusal, refusal, type Refusal, type RefusalCode } from './refusal.ts';
import type { EntryEnv, EntryProposal, InstrumentRiskState, RiskRule } from './risk-rule.ts';
import { leverageOf, type RiskLimits } from './risk-limits.ts';
import {
  activeHalts,
  HALT_EFFECT,
  HALT_PRIORITY,
  initialRiskState,
  mustBeFlat,
  tradingState,
  withHalt,
  withoutHalts,
  type AccountRiskState,
  type RiskEvent,
  type TradingState,
} from './risk-state.ts';
import { haltRefusal } from './rules/halts.ts';
import { DEFAULT_RULES } from './rules/index.ts';

/** One open position of the portfolio, as every runner can report it (the execution model or the exchange). */
export interface PositionSnapshot {
  symbol: string;
  qtyBase: number;
  entryPriceUsd: number;
  marginUsd: number;
  /** The latest price (the bar's close). */
  markUsd: number;
}

/** The account at a decision: one wallet, every position. */
export interface PortfolioSnapshot {
  equityUsd: number;
  availableUsd: number;
  positions: readonly PositionSnapshot[];
}

/** One instrument's input to a decision step. */
export interface InstrumentStep {
  symbol: string;
  /** Open time of the bar decided on; the decision happens at its close. */
  timeMs: number;
  closeUsd: number;
  intents: readonly Intent[];
  /** Close time (ms) of the newest closed candle the decision used. */
  lastCandleCloseMs: number;
  /** False when the feed is known unhealthy. Default true. */
  dataHealthy?: boolean;
  /** The runner saw the position end at a stop or a liquidation since the last step (else the engine infers it). */
  stoppedOut?: boolean;
  /**
   * Signed quantity of entry orders still resting unfilled on the exchange (an exchange that acknowledged a
   * MARKET order NEW and fills it later). Exposure the position does not show yet. Default 0.
   */
  restingEntryQtyBase?: number;
}

export type DecisionAction = 'hold' | 'enter' | 'scale_in' | 'scale_out' | 'exit' | 'flatten';

/** What the engine made of one instrument's intents: data for the decisions table, and the orders. */
export interface InstrumentDecision {
  symbol: string;
  timeMs: number;
  action: DecisionAction;
  side: 'long' | 'short' | undefined;
  allowed: boolean;
  reason: string;
  /** Set when an intent was refused. */
  code?: RefusalCode;
  qtyBase: number;
  priceUsd: number;
  stopUsd: number;
  score?: number;
  /** Tags of this instrument's resting orders to cancel before `orders` are sent (a scale-in replaces the position's stop). */
  cancelTags: string[];
  orders: OrderRequest[];
}

/** Whether the engine would take an intent now, and at what size (the RL agent's mask asks this). */
export interface Verdict {
  allowed: boolean;
  qtyBase: number;
  refusal?: Refusal;
  /** An allowed entry as the rules sized it (its leverage, stop and liquidation price). */
  proposal?: EntryProposal;
}

export interface RiskEngineOptions {
  limits: RiskLimits;
  instruments: InstrumentProvider;
  /** trading.stop_loss: the stop of an entry whose intent names none, as a fraction of its price. */
  stopLoss: number;
  /** Taker fee rate, so margin + fee fit the available balance. */
  feeRate: number;
  /** The rules, in the order entries pass them. Default: DEFAULT_RULES. */
  rules?: readonly RiskRule[];
}

export interface RiskEngineSnapshot {
  state: AccountRiskState | undefined;
  books: Record<string, InstrumentRiskState>;
  flattenAll: boolean;
}

const NONE: OrderRequest[] = [];
export const STOP_TAG = 'stop';
export const TARGET_TAG = 'target';

const newBook = (): InstrumentRiskState => ({ lastQtyBase: 0, closing: false, flattenDue: false, stopUsd: Number.NaN, scaleIns: 0, stoppedOutAtMs: 0 });

interface Candidate {
  step: InstrumentStep;
  decision: InstrumentDecision;
  proposal: EntryProposal;
  order: number;
}

interface Totals {
  equityUsd: number;
  availableUsd: number;
  openPositions: number;
  grossExposureUsd: number;
  openRiskUsd: number;
  riskBySymbol: Map<string, number>;
}

/**
 * The one risk engine: the backtester, the RL environment, paper and live
 * trading put every intent through it. It keeps the account's risk state
 * (halts → one trading state) and each instrument's (its stop, scale-ins,
 * stop-outs), marks equity once per step, and turns intents into orders:
 * exits and flattening always pass; entries pass the rules in order — each
 * rule one file (rules/) — and come out sized, with their stop, or refused
 * with a typed code. When a step has more entries than the budget takes, the
 * strategy's score ranks them. Pure computation: the caller passes the clock
 * and the account, and persists `snapshot()`.
 */
export class RiskEngine implements IntentExecutor {
  readonly limits: RiskLimits;
  readonly rules: readonly RiskRule[];
  readonly instruments: InstrumentProvider;
  readonly stopLoss: number;
  readonly feeRate: number;
  /** Risk events since the caller last drained them (`events.splice(0)`). */
  readonly events: RiskEvent[] = [];
  #state: AccountRiskState | undefined;
  #books = new Map<string, InstrumentRiskState>();
  #flattenAll = false;
  /** The latest mark: whether a halt demands a flat book, and what it raised. */
  #markFlatten = false;
  #markEvents: RiskEvent[] = [];

  constructor(options: RiskEngineOptions) {
    this.limits = options.limits;
    this.rules = options.rules ?? DEFAULT_RULES;
    this.instruments = options.instruments;
    this.stopLoss = options.stopLoss;
    this.feeRate = options.feeRate;
  }

  /** The account's risk state (undefined before the first mark or command). */
  get state(): AccountRiskState | undefined {
    return this.#state;
  }

  /** The latest mark (or kill) demands a flat book: the next decision flattens every position. */
  get flattening(): boolean {
    return this.#markFlatten;
  }

  tradingState(nowMs: number): TradingState {
    return this.#state ? tradingState(this.#state, nowMs) : 'ACTIVE';
  }

  riskView(symbol: string, nowMs: number, equityUsd: number): RiskView {
    const book = this.#books.get(symbol);
    return {
      tradingState: this.tradingState(nowMs),
      flattening: this.#markFlatten,
      stopUsd: book?.stopUsd ?? Number.NaN,
      scaleIns: book?.scaleIns ?? 0,
      peakEquityUsd: this.#state?.peakEquityUsd ?? equityUsd,
      dayStartEquityUsd: this.#state?.dayStartEquityUsd ?? equityUsd,
    };
  }

  book(symbol: string): InstrumentRiskState {
    let b = this.#books.get(symbol);
    if (!b) this.#books.set(symbol, (b = newBook()));
    return b;
  }

  reset(): void {
    this.#state = undefined;
    this.#books.clear();
    this.#flattenAll = false;
    this.#markFlatten = false;
    this.#markEvents = [];
    this.events.length = 0;
  }

  snapshot(): RiskEngineSnapshot {
    return structuredClone({ state: this.#state, books: Object.fromEntries(this.#books), flattenAll: this.#flattenAll });
  }

  restore(snapshot: RiskEngineSnapshot): void {
    const s = structuredClone(snapshot);
    this.#state = s.state;
    this.#books = new Map(Object.entries(s.books));
    this.#flattenAll = s.flattenAll;
  }

  /**
   * Marks the account's equity at `nowMs` (once per step, before the
   * strategies decide): the account rules roll the UTC day, track the peak
   * and raise the daily-loss and drawdown halts. Returns whether the book
   * must be flat now.
   */
  mark(nowMs: number, equityUsd: number): boolean {
    let state = this.#risk(equityUsd, nowMs);
    const events: RiskEvent[] = [];
    for (const rule of this.rules) {
      if (!rule.mark) continue;
      const out = rule.mark(state, { nowMs, equityUsd, limits: this.limits });
      state = out.state;
      events.push(...out.events);
    }
    this.#state = state;
    this.events.push(...events);
    this.#markEvents = events;
    this.#markFlatten = mustBeFlat(state, nowMs);
    return this.#markFlatten;
  }

  /** The kill switch (oitrader bot kill, the kill file): every position is flattened and nothing enters until `resume`. */
  kill(nowMs: number, equityUsd: number, why: string): void {
    const state = this.#risk(equityUsd, nowMs);
    if (activeHalts(state, nowMs).some((h) => h.code === 'kill')) return;
    const message = `kill switch: ${why}`;
    this.#state = withHalt(state, { code: 'kill', sinceMs: nowMs, message });
    this.events.push({ timeMs: nowMs, kind: 'kill', message, why });
    this.#markFlatten = true;
  }

  /** Stop-entries (oitrader bot stop-entries): nothing new enters until `resume`; open positions keep their stops and exits. */
  stopEntries(nowMs: number, equityUsd: number, why: string): void {
    const state = this.#risk(equityUsd, nowMs);
    if (activeHalts(state, nowMs).some((h) => h.code === 'stop_entries')) return;
    const message = `entries stopped: ${why}`;
    this.#state = withHalt(state, { code: 'stop_entries', sinceMs: nowMs, message });
    this.events.push({ timeMs: nowMs, kind: 'stop_entries', message, why });
  }

  /**
   * Clears the kill switch, stop-entries, the drawdown halt and the circuit
   * breaker; the peak restarts at the current equity so the drawdown stop does
   * not fire again at once. The daily-loss halt stays until the next UTC day.
   */
  resume(nowMs: number, equityUsd: number, why: string): void {
    const state = withoutHalts(this.#risk(equityUsd, nowMs), ['kill', 'stop_entries', 'drawdown', 'circuit_breaker']);
    this.#state = { ...state, consecutiveErrors: 0, peakEquityUsd: equityUsd };
    this.events.push({ timeMs: nowMs, kind: 'resume', message: `resumed: ${why}`, why });
    this.#markFlatten = mustBeFlat(this.#state, nowMs);
  }

  /** Closes positions at the next decision without halting (every instrument, or the ones named): the strategy may enter again on its next signal. */
  requestFlatten(nowMs: number, why: string, symbols?: readonly string[]): void {
    if (symbols === undefined) this.#flattenAll = true;
    else for (const s of symbols) this.book(s).flattenDue = true;
    this.events.push({ timeMs: nowMs, kind: 'flatten', message: `flatten: ${why}`, why, ...(symbols?.length === 1 && { symbol: symbols[0] }) });
  }

  /**
   * An operator's forced entry (freqtrade's forceenter): at the next decision
   * `symbol` enters `side` in place of what its strategy asks, through every
   * entry rule like any other entry (a halt, the budget or the filters still
   * refuse it), ranked first. Refused while the instrument holds a position:
   * force-exit it first. After that the strategy manages the position.
   */
  requestEntry(nowMs: number, symbol: string, side: 'long' | 'short', why: string): void {
    this.book(symbol).forcedEntry = { side, why };
    this.events.push({ timeMs: nowMs, kind: 'force_entry', message: `force entry ${side} ${symbol}: ${why}`, why, symbol, side });
  }

  /** Feeds the circuit breaker: circuit_breaker_errors failed steps in a row refuse entries for the cooldown; a success resets the count. */
  exchangeResult(nowMs: number, equityUsd: number, ok: boolean, detail = ''): void {
    const state = this.#risk(equityUsd, nowMs);
    if (ok) {
      if (state.consecutiveErrors !== 0) this.#state = { ...state, consecutiveErrors: 0 };
      return;
    }
    const errors = state.consecutiveErrors + 1;
    if (errors < this.limits.circuitBreakerErrors) {
      this.#state = { ...state, consecutiveErrors: errors };
      return;
    }
    const untilMs = nowMs + this.limits.circuitBreakerCooldownMs;
    const message = `${errors} exchange errors in a row${detail ? ` (last: ${detail})` : ''}: no entries until ${new Date(untilMs).toISOString()}`;
    this.#state = withHalt({ ...state, consecutiveErrors: 0 }, { code: 'circuit_breaker', sinceMs: nowMs, untilMs, message });
    this.events.push({ timeMs: nowMs, kind: 'circuit_breaker', message });
  }

  /** Would `intent` pass now? The same evaluation `decide` runs, without committing anything. */
  check(nowMs: number, portfolio: PortfolioSnapshot, step: Omit<InstrumentStep, 'intents'>, intent: Intent): Verdict {
    this.#risk(portfolio.equityUsd, nowMs);
    const book = this.#books.get(step.symbol) ?? newBook();
    const position = portfolio.positions.find((p) => p.symbol === step.symbol);
    const q = position?.qtyBase ?? 0;
    if (this.#markFlatten || this.#flattenAll || book.flattenDue) {
      const halted = this.#state ? haltRefusal(activeHalts(this.#state, nowMs), this.limits) : undefined;
      return { allowed: false, qtyBase: 0, refusal: halted ?? refusal('flattening', 'a flatten is due at this decision') };
    }
    switch (intent.kind) {
      case 'exit':
        return { allowed: q !== 0, qtyBase: Math.abs(q), ...(q === 0 && { refusal: refusal('no_position', 'no position to exit') }) };
      case 'scale_out': {
        const out = this.#scaleOutQty(step.symbol, q, intent.fraction, step.closeUsd);
        return isRefusal(out) ? { allowed: false, qtyBase: 0, refusal: out } : { allowed: true, qtyBase: out };
      }
      case 'enter':
      case 'scale_in': {
        if (intent.kind === 'enter' && q !== 0) return { allowed: false, qtyBase: 0, refusal: refusal('no_position', `${step.symbol} already has a position`) };
        if (intent.kind === 'scale_in' && q === 0) return { allowed: false, qtyBase: 0, refusal: refusal('no_position', `${step.symbol} has no position to scale into`) };
        const proposal = this.#proposal(step, intent, q);
        const out = this.#evaluate(proposal, nowMs, step, book, position, this.#totals(portfolio));
        return isRefusal(out) ? { allowed: false, qtyBase: 0, refusal: out } : { allowed: true, qtyBase: out.qtyBase, proposal: out };
      }
    }
  }

  /**
   * One decision step over every instrument that has a bar now: exits,
   * flips, scale-outs and halts' flattening first (never refused), then the
   * entries — ranked by score when several compete — through the rules, each
   * seeing the budget the entries before it took.
   */
  decide(nowMs: number, portfolio: PortfolioSnapshot, steps: readonly InstrumentStep[]): InstrumentDecision[] {
    this.#risk(portfolio.equityUsd, nowMs);
    const flattenAll = this.#flattenAll;
    this.#flattenAll = false;
    const decisions: InstrumentDecision[] = [];
    const candidates: Candidate[] = [];
    const forced = new Map<string, string>();
    for (const given of steps) {
      let step = this.#withForcedEntry(given, forced);
      // Never stacked or flipped: on a held symbol the strategy's own decision stands (its exit too) and the request is refused beside it.
      const refusedForce = forced.has(step.symbol) && (positionOf(portfolio, step.symbol)?.qtyBase ?? 0) !== 0 && !(this.#markFlatten || flattenAll || this.book(step.symbol).flattenDue) ? forced.get(step.symbol) : undefined;
      if (refusedForce !== undefined) {
        forced.delete(step.symbol);
        step = given;
      }
      const decision = this.#decideInstrument(nowMs, portfolio, step, flattenAll);
      if (refusedForce !== undefined) {
        decision.reason = `${decision.reason}; force entry (${refusedForce}) refused: ${step.symbol} already has a position (force-exit it first)`;
        if (decision.action === 'hold') Object.assign(decision, { allowed: false, code: 'no_position' });
      }
      decisions.push(decision);
      if (decision.action === 'enter' || decision.action === 'scale_in') {
        if (decision.allowed) candidates.push({ step, decision, proposal: this.#proposal(step, lastIntent(step.intents)!, positionOf(portfolio, step.symbol)?.qtyBase ?? 0), order: candidates.length });
      }
    }
    if (candidates.length > 0) this.#admit(nowMs, portfolio, candidates);
    if (forced.size === 0) return decisions;
    for (const d of decisions) {
      // A forced entry's decision says so, accepted or refused (by a halt, a rule or the budget).
      const why = forced.get(d.symbol);
      if (why === undefined) continue;
      const outcome = d.allowed && d.action === 'enter' ? 'ok' : d.allowed ? `not entered, ${d.action} at this step (${d.reason})` : `refused, ${d.reason}`;
      d.reason = `force entry (${why}): ${outcome}`;
    }
    return decisions;
  }

  /** The allowed entries through the rules, ranked by score (equal scores keep the caller's order), each seeing the budget the ones before it took. */
  #admit(nowMs: number, portfolio: PortfolioSnapshot, candidates: Candidate[]): void {
    candidates.sort((a, b) => (b.decision.score ?? 0) - (a.decision.score ?? 0) || a.order - b.order);
    const totals = this.#totals(portfolio);
    for (const c of candidates) {
      const book = this.book(c.step.symbol);
      const position = positionOf(portfolio, c.step.symbol);
      const out = this.#evaluate(c.proposal, nowMs, c.step, book, position, totals);
      const d = c.decision;
      if (isRefusal(out)) {
        Object.assign(d, { allowed: false, reason: out.message, code: out.code, qtyBase: 0 });
        continue;
      }
      this.#accept(d, out, book, totals);
    }
  }

  /** The step with an operator's forced entry in place of the strategy's intents (the request is used up). */
  #withForcedEntry(step: InstrumentStep, forced: Map<string, string>): InstrumentStep {
    const book = this.#books.get(step.symbol);
    const request = book?.forcedEntry;
    if (!book || !request) return step;
    delete book.forcedEntry;
    forced.set(step.symbol, request.why);
    return { ...step, intents: [enter(request.side, { score: Number.MAX_VALUE })] };
  }

  #decideInstrument(nowMs: number, portfolio: PortfolioSnapshot, step: InstrumentStep, flattenAll: boolean): InstrumentDecision {
    const b = this.book(step.symbol);
    const q = positionOf(portfolio, step.symbol)?.qtyBase ?? 0;
    // A position that vanished without our close was stopped out (or liquidated, or hit its target).
    const vanished = b.lastQtyBase !== 0 && q === 0 && !b.closing;
    if (step.stoppedOut === true || (step.stoppedOut === undefined && vanished)) b.stoppedOutAtMs = nowMs;
    b.closing = false;
    b.lastQtyBase = q;
    if (q === 0) {
      b.stopUsd = Number.NaN;
      b.scaleIns = 0;
    }
    const intent = lastIntent(step.intents);
    const side = intent?.kind === 'enter' ? intent.side : q !== 0 && intent?.kind === 'scale_in' ? (q > 0 ? 'long' : 'short') : undefined;
    const decision = (action: DecisionAction, allowed: boolean, reason: string, qtyBase = 0, stopUsd = Number.NaN, orders: OrderRequest[] = NONE): InstrumentDecision => ({
      symbol: step.symbol,
      timeMs: step.timeMs,
      action,
      side,
      allowed,
      reason,
      qtyBase,
      priceUsd: step.closeUsd,
      stopUsd,
      cancelTags: [],
      orders,
    });
    const close = (reason: ExitReason): OrderRequest[] => [reason === 'signal' ? closeOrder(q) : { ...closeOrder(q), reason }];
    if (this.#markFlatten || flattenAll || b.flattenDue) {
      const why = this.#flattenReason(nowMs, b.flattenDue || flattenAll);
      b.flattenDue = false;
      if (q === 0) {
        // An entry asked for while a halt demands a flat book is refused by that halt.
        const halted = intent && intent.kind !== 'exit' && this.#state ? haltRefusal(activeHalts(this.#state, nowMs), this.limits) : undefined;
        return halted ? { ...decision('hold', false, halted.message), code: halted.code } : decision('hold', false, 'halted');
      }
      b.closing = true;
      return decision('flatten', true, this.#markEvents.map((e) => e.message).join('; ') || 'halted', Math.abs(q), Number.NaN, close(why));
    }
    if (intent === undefined) return decision('hold', true, 'no change');
    switch (intent.kind) {
      case 'exit':
        if (q === 0) return decision('hold', true, 'no change');
        b.closing = true;
        return decision('exit', true, 'strategy exit', Math.abs(q), Number.NaN, close('signal'));
      case 'scale_out': {
        if (q === 0) return decision('hold', true, 'no change');
        const qty = this.#scaleOutQty(step.symbol, q, intent.fraction, step.closeUsd);
        if (isRefusal(qty)) return { ...decision('scale_out', false, qty.message), code: qty.code };
        return decision('scale_out', true, `close ${qty} of ${Math.abs(q)}`, qty, b.stopUsd, [{ ...closeOrder(q), qtyBase: qty }]);
      }
      case 'enter': {
        const dir = intent.side === 'long' ? 1 : -1;
        if (q !== 0 && Math.sign(q) === dir) return decision('hold', true, 'no change');
        if (q !== 0) {
          b.closing = true;
          return decision('exit', true, 'strategy flip: close now, enter on a later bar', Math.abs(q), Number.NaN, close('signal'));
        }
        return { ...decision('enter', true, 'pending'), ...(intent.score !== undefined && { score: intent.score }) };
      }
      case 'scale_in':
        if (q === 0) return { ...decision('scale_in', false, `${step.symbol} has no position to scale into`), code: 'no_position' };
        return { ...decision('scale_in', true, 'pending'), ...(intent.score !== undefined && { score: intent.score }) };
    }
  }

  /** An entry's proposal before the rules: its stop (the intent's, else trading.stop_loss from the price) on the instrument's tick. */
  #proposal(step: Omit<InstrumentStep, 'intents'>, intent: Intent, q: number): EntryProposal {
    const instrument = this.instruments.instrument(step.symbol);
    const side: 'long' | 'short' = intent.kind === 'enter' ? intent.side : q > 0 ? 'long' : 'short';
    const dir = side === 'long' ? 1 : -1;
    const stopIn = intent.kind === 'enter' || intent.kind === 'scale_in' ? intent.stopUsd : undefined;
    const stopPriceUsd = roundToStep(stopIn ?? step.closeUsd * (1 - dir * this.stopLoss), instrument.tickSize, 'nearest');
    const targetIn = intent.kind === 'enter' ? intent.targetUsd : undefined;
    const targetOk = targetIn !== undefined && (side === 'long' ? targetIn > step.closeUsd : targetIn < step.closeUsd);
    return {
      symbol: step.symbol,
      kind: intent.kind === 'enter' ? 'enter' : 'scale_in',
      side,
      entryPriceUsd: step.closeUsd,
      stopPriceUsd,
      targetUsd: targetOk ? roundToStep(targetIn, instrument.tickSize, 'nearest') : undefined,
      riskScale: intent.kind === 'scale_in' ? intent.riskScale : 1,
      exposure: intent.kind === 'enter' ? intent.exposure : undefined,
      qtyBase: Number.NaN,
      leverage: leverageOf(this.limits, step.symbol),
      liquidationPriceUsd: Number.NaN,
    };
  }

  #evaluate(proposal: EntryProposal, nowMs: number, step: Omit<InstrumentStep, 'intents'>, book: InstrumentRiskState, position: PositionSnapshot | undefined, totals: Totals): EntryProposal | Refusal {
    const env: EntryEnv = {
      limits: this.limits,
      state: this.#state!,
      nowMs,
      lastCandleCloseMs: step.lastCandleCloseMs,
      dataHealthy: step.dataHealthy ?? true,
      restingEntryQtyBase: step.restingEntryQtyBase ?? 0,
      feeRate: this.feeRate,
      equityUsd: totals.equityUsd,
      availableUsd: totals.availableUsd,
      instrument: this.instruments.instrument(step.symbol),
      position: { qtyBase: position?.qtyBase ?? 0, entryPriceUsd: position?.entryPriceUsd ?? 0, marginUsd: position?.marginUsd ?? 0 },
      book,
      portfolio: { openPositions: totals.openPositions, grossExposureUsd: totals.grossExposureUsd, openRiskUsd: totals.openRiskUsd, instrumentRiskUsd: totals.riskBySymbol.get(step.symbol) ?? 0 },
    };
    let p: EntryProposal | Refusal = proposal;
    for (const rule of this.rules) {
      if (!rule.entry) continue;
      p = rule.entry(p, env);
      if (isRefusal(p)) return p;
    }
    return p;
  }

  /** Books an accepted entry: its orders, the instrument's stop and scale-ins, and what it takes of the step's budget. */
  #accept(d: InstrumentDecision, p: EntryProposal, book: InstrumentRiskState, totals: Totals): void {
    const open = p.side === 'long' ? 'buy' : 'sell';
    const exitSide = p.side === 'long' ? 'sell' : 'buy';
    const held = Math.abs(book.lastQtyBase);
    const orders: OrderRequest[] = [
      { type: 'market', side: open, qtyBase: p.qtyBase },
      { type: 'stop', side: exitSide, qtyBase: held + p.qtyBase, triggerUsd: p.stopPriceUsd, reduceOnly: true, tag: STOP_TAG },
    ];
    if (p.targetUsd !== undefined) orders.push({ type: 'take_profit', side: exitSide, qtyBase: p.qtyBase, triggerUsd: p.targetUsd, reduceOnly: true, tag: TARGET_TAG });
    Object.assign(d, { allowed: true, reason: 'ok', qtyBase: p.qtyBase, stopUsd: p.stopPriceUsd, orders, cancelTags: p.kind === 'scale_in' ? [STOP_TAG] : [] });
    book.stopUsd = p.stopPriceUsd;
    book.scaleIns = p.kind === 'scale_in' ? book.scaleIns + 1 : 0;
    const notional = p.qtyBase * p.entryPriceUsd;
    totals.availableUsd -= notional / p.leverage + notional * this.feeRate;
    if (p.kind === 'enter') totals.openPositions++;
    totals.grossExposureUsd += notional;
    const risk = p.qtyBase * Math.abs(p.entryPriceUsd - p.stopPriceUsd);
    totals.openRiskUsd += risk;
    totals.riskBySymbol.set(p.symbol, (totals.riskBySymbol.get(p.symbol) ?? 0) + risk);
  }

  /** The budget already used by the open positions: count, gross notional, and risk to each position's stop. */
  #totals(portfolio: PortfolioSnapshot): Totals {
    const totals: Totals = { equityUsd: portfolio.equityUsd, availableUsd: portfolio.availableUsd, openPositions: 0, grossExposureUsd: 0, openRiskUsd: 0, riskBySymbol: new Map() };
    for (const p of portfolio.positions) {
      if (p.qtyBase === 0) continue;
      totals.openPositions++;
      totals.grossExposureUsd += Math.abs(p.qtyBase) * p.markUsd;
      const stop = this.#books.get(p.symbol)?.stopUsd;
      const distance = stop !== undefined && Number.isFinite(stop) ? Math.max(0, (p.markUsd - stop) * Math.sign(p.qtyBase)) : p.markUsd * this.stopLoss;
      const risk = Math.abs(p.qtyBase) * distance;
      totals.openRiskUsd += risk;
      totals.riskBySymbol.set(p.symbol, risk);
    }
    return totals;
  }

  #scaleOutQty(symbol: string, q: number, fraction: number, priceUsd: number): number | Refusal {
    if (q === 0) return refusal('no_position', `${symbol} has no position to scale out of`);
    if (!(fraction > 0 && fraction < 1)) return refusal('exchange_filters', `a scale-out closes a fraction in (0, 1) of the position, got ${fraction}`);
    const checked = applyFilters(this.instruments.instrument(symbol), q > 0 ? 'sell' : 'buy', Math.abs(q) * fraction, priceUsd, true);
    if (!checked.ok || !(checked.qtyBase > 0) || checked.qtyBase >= Math.abs(q)) return refusal('exchange_filters', `${fraction} of ${Math.abs(q)} ${symbol} is no valid order: ${checked.ok ? 'it would close all of it' : checked.reason}`);
    return checked.qtyBase;
  }

  #flattenReason(nowMs: number, oneOff: boolean): ExitReason {
    const halts = this.#state ? activeHalts(this.#state, nowMs) : [];
    for (const code of HALT_PRIORITY) {
      if (!HALT_EFFECT[code].flatten || !halts.some((h) => h.code === code)) continue;
      return code === 'kill' ? 'kill' : code === 'drawdown' ? 'drawdown' : 'daily_loss';
    }
    return oneOff ? 'flatten' : 'signal';
  }

  #risk(equityUsd: number, nowMs: number): AccountRiskState {
    return (this.#state ??= initialRiskState(equityUsd, nowMs));
  }
}

/**
 * Whether `symbol`'s position ended at its stop or a liquidation among a
 * step's fills (for InstrumentStep.stoppedOut): true; other fills only:
 * false; no fill of the symbol: undefined (the engine then infers it).
 */
export function stoppedOutBy(fills: ReadonlyArray<{ symbol: string; reason: string }>, symbol: string, from = 0): boolean | undefined {
  let any = false;
  for (let i = from; i < fills.length; i++) {
    const f = fills[i];
    if (f.symbol !== symbol) continue;
    any = true;
    if (f.reason === 'stop' || f.reason === 'liquidation') return true;
  }
  return any ? false : undefined;
}

function lastIntent(intents: readonly Intent[]): Intent | undefined {
  // An exit anywhere in the list wins: a strategy that both exits and enters means "get out".
  return intents.find((i) => i.kind === 'exit') ?? intents[intents.length - 1];
}

function positionOf(portfolio: PortfolioSnapshot, symbol: string): PositionSnapshot | undefined {
  for (const p of portfolio.positions) if (p.symbol === symbol) return p;
  return undefined;
}

function closeOrder(qtyBase: number): OrderRequest {
  return { type: 'market', side: qtyBase > 0 ? 'sell' : 'buy', qtyBase: Math.abs(qtyBase), reduceOnly: true };
}
