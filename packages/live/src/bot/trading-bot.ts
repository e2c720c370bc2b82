import { existsSync } from 'node:fs';
import { Frame, OitraderError, silentLogger, timeframeMs, type Logger, type Timeframe } from '@oitrader/core';
import {
  bundledInstruments,
  isRefreshing,
  RiskEngine,
  stoppedOutBy,
  type ExecutionConfig,
  type InstrumentDecision,
  type InstrumentProvider,
  type InstrumentStep,
  type Intent,
  type OrderRequest,
  type PortfolioSnapshot,
  type RiskEvent,
  type RiskLimits,
  type Strategy,
  type StrategyContext,
} from '@oitrader/trading';
import { parseClientId } from '@oitrader/binance';
import type { MarketDataLoader } from '@oitrader/data';
import type { BotControl, BotMode, BotStore, ForceEntry, OrderIntent, StoredDecision, StoredFill, StoredFunding, StoredOrder, StoredPosition, StoredRiskEvent } from '../state/bot-store.ts';
import { JournalVenue } from '../venue/journal-venue.ts';
import { PaperVenue } from '../venue/paper-venue.ts';
import { positionIn, type RecoveredOrder, type Venue, type VenueAccount, type VenuePosition } from '../venue/venue.ts';
import { BotEvents, type ReconcileReport } from './bot-events.ts';
import { clientOrderId } from './client-id.ts';

/** The risk-event kind under which a start records the reconcile differences it reported. */
export const RECONCILE_DIFFERENCE = 'reconcile_difference';

/** Named points of one candle's step where the SIGKILL tests stop the process. */
export type CrashPoint = 'after-fill' | 'after-decide' | 'after-entry-fill' | 'after-send' | 'after-persist';

/** One symbol the bot trades: its strategy (a strategy keeps per-symbol state) and its per-candle inputs. */
export interface BotInstrument {
  symbol: string;
  /** The decision maker (a baseline, the ML-signal strategy, the RL agent); the risk engine turns its intents into orders. */
  strategy: Strategy;
  /** Per-candle inputs the strategy reads from frame columns (the ML model's probabilities); see BotSignals. */
  signals?: BotSignals;
}

export interface TradingBotOptions {
  /** bot.name: in client order ids and every state row. */
  bot: string;
  /** The symbols it trades on one account, all on `timeframe`. */
  instruments: readonly BotInstrument[];
  timeframe: Timeframe;
  mode: BotMode;
  risk: RiskLimits;
  /** trading.stop_loss: the stop of an entry whose strategy names none, as a fraction of its price. */
  stopLoss: number;
  /** The instruments' rules: the exchange's own (BinanceInstrumentProvider) on exchange venues; default the bundled snapshot (paper). */
  instrumentProvider?: InstrumentProvider;
  execution: Partial<ExecutionConfig>;
  store: BotStore;
  loader: MarketDataLoader;
  /** Default: paper trading by the shared execution model. */
  venue?: Venue;
  /** Candles before the session start loaded for the strategy's look-back (no decision is made on them). Default 0. */
  warmupBars?: number;
  /** Exchange venues: what start-up reconciliation does with a position the record does not know. */
  onUnknownPosition?: 'adopt' | 'close';
  onForeignOrders?: 'refuse' | 'ignore';
  /** Wall clock for the stale-data rule; default: each candle's close (replays and backtest parity). */
  clock?: () => number;
  /** A file whose existence engages the kill switch. */
  killFile?: string;
  /** False when a symbol's data feed is unhealthy (the collector's stream silent): no entries on it then. Asked once per symbol per live step. */
  dataHealthy?: (symbol: string) => Promise<boolean>;
  log?: Logger;
  /** Test hook: SIGKILL this process at the `count`-th time it reaches `point` (counting only steps that send orders when `ordersOnly`). */
  crashAt?: { point: CrashPoint; count: number; ordersOnly?: boolean };
}

/** What a signal source gave for one candle; kept in that candle's decision detail (JSON: NaN is stored as null). */
export interface CandleSignals {
  /** One value per column of the source; NaN = no signal (the strategy holds). */
  values: Record<string, number>;
  /** What produced them (the model run and its strategy parameters), stored with the decision. */
  source?: Record<string, unknown>;
}

/**
 * Fills frame columns for each closed candle right before the strategy decides
 * on it. On restart the bot replays its session with the values recorded live
 * (`stored`), so the replay rebuilds what ran without predicting again.
 */
export interface BotSignals {
  readonly columns: readonly string[];
  /** Values for row `index` of `frame`, the candle that just closed (rows after it must not be read); `stored` is given during replay. */
  prepare(frame: Frame, index: number, stored: CandleSignals | undefined): Promise<CandleSignals>;
}

/** Risk events that are commands (recorded at their candle's close and re-applied in replay). */
const COMMANDS = new Set(['kill', 'resume', 'flatten', 'stop_entries', 'force_entry']);

const intentOf = (order: OrderRequest): OrderIntent => (order.type === 'stop' ? 'stop' : order.type === 'take_profit' ? 'target' : order.reduceOnly ? 'exit' : 'entry');

/** One symbol of the running bot. */
interface Leg {
  symbol: string;
  strategy: Strategy;
  signals: BotSignals | undefined;
  frame: Frame | undefined;
  /** Row of `frame` holding the candle at the time of the step in progress. */
  row: number;
  /** The next row of `frame` not yet stepped. */
  next: number;
  context: StrategyContext;
  healthy: boolean;
}

/** The operator's one-off requests a step carried out (cleared from bot_control when it commits). */
interface Carried {
  all: boolean;
  symbols: string[];
  forced: ForceEntry[];
}

/** What one step records per symbol for its replay. */
interface Recorded {
  commands: Map<number, StoredRiskEvent[]>;
  decidedAt: Map<number, number>;
  /** `${t}|${symbol}` of the symbols stepped at each candle time. */
  stepped: Set<string>;
  unhealthy: Set<string>;
  exchangeFailed: Set<number>;
  signals: Map<string, CandleSignals>;
  accounts: Map<number, VenueAccount>;
}

const key = (t: number, symbol: string) => `${t}|${symbol}`;

/**
 * The bot loop's core: one step per closed candle across every symbol it
 * trades — venue fills per symbol → the account (one wallet) →
 * kill/resume/flatten/stop-entries commands → the risk engine marks equity →
 * each symbol's strategy gives intents → the risk engine turns them into
 * orders, ranking entries that compete for the budget → venue → one
 * transaction → notifications. On start it rebuilds itself from the database:
 * it replays the session's steps (strategy, engine and paper account are
 * functions of the candles and the recorded commands) and logs every
 * difference from what was stored.
 */
export class TradingBot {
  readonly events = new BotEvents();
  readonly engine: RiskEngine;
  readonly #o: TradingBotOptions;
  readonly #barMs: number;
  readonly #log: Logger;
  readonly #legs: Leg[];
  readonly #orders = new Map<string, StoredOrder>();
  readonly #instruments: InstrumentProvider;
  #control: BotControl | undefined;
  /** Open time of the last candle stepped (replayed or live). */
  #lastCandleMs = Number.NaN;
  /** During replay: what the live run recorded, by candle. */
  #recorded: Recorded | undefined;
  #crashCount = 0;
  #stepNowMs = 0;
  /** Funding settlements stepped (replayed or live), compared with the stored rows on start. */
  #fundingCount = 0;
  /** The account the step's decisions see, as the venue reported it and as the engine reads it. */
  #seen: VenueAccount = { equityUsd: 0, walletUsd: 0, availableUsd: 0, positions: [] };
  readonly #snapshot: PortfolioSnapshot & { positions: Array<PortfolioSnapshot['positions'][number]> } = { equityUsd: 0, availableUsd: 0, positions: [] };
  /** The venue orders go to; during an exchange bot's start-up replay, its own record (JournalVenue). */
  #venue: Venue;
  readonly #realVenue: Venue;

  constructor(options: TradingBotOptions) {
    if (options.instruments.length === 0) throw new OitraderError('the bot needs at least one symbol to trade', { hint: 'set trading.symbols', exitCode: 2 });
    if (new Set(options.instruments.map((i) => i.symbol)).size !== options.instruments.length) throw new OitraderError('each symbol may appear once in trading.symbols', { exitCode: 2 });
    this.#o = options;
    this.#barMs = timeframeMs(options.timeframe);
    this.#log = options.log ?? silentLogger;
    this.#instruments = options.instrumentProvider ?? bundledInstruments();
    this.#realVenue = options.venue ?? new PaperVenue({ ...options.execution, bot: options.bot, barMs: this.#barMs, instruments: this.#instruments });
    this.#venue = this.#realVenue;
    this.engine = new RiskEngine({
      limits: { ...options.risk, leverage: Math.min(options.risk.leverage, options.execution.leverage ?? options.risk.leverage) },
      instruments: this.#instruments,
      stopLoss: options.stopLoss,
      feeRate: options.execution.takerFeeRate ?? 0.0005,
    });
    this.#legs = options.instruments.map((i) => {
      // Unknown to the instrument provider (not listed, or not in the bundled snapshot): refused here, before any session starts.
      this.#instruments.instrument(i.symbol);
      const leg = { symbol: i.symbol, strategy: i.strategy, signals: i.signals, frame: undefined, row: -1, next: 0, healthy: true } as unknown as Leg;
      leg.context = this.#context(leg);
      return leg;
    });
  }

  get venue(): Venue {
    return this.#realVenue;
  }

  get symbols(): string[] {
    return this.#legs.map((l) => l.symbol);
  }

  get lastCandleMs(): number {
    return this.#lastCandleMs;
  }

  /**
   * Opens (or resumes) the session and reconciles: replays every step the
   * stored session made and compares the rebuilt orders, fills and positions
   * with the stored ones. `sessionStartMs` is used only for a new bot.
   */
  async start(sessionStartMs: number): Promise<ReconcileReport> {
    const o = this.#o;
    const existing = await o.store.control(o.bot);
    const symbols = this.symbols;
    if (existing && (existing.symbols.join(',') !== symbols.join(',') || existing.mode !== o.mode)) {
      throw new OitraderError(`bot "${o.bot}" is stored as ${existing.mode} ${existing.symbols.join(',')}, not ${o.mode} ${symbols.join(',')}`, {
        hint: 'give this run another bot.name, or run it with the stored mode and symbols',
        exitCode: 2,
      });
    }
    this.#control = existing ?? (await o.store.ensureSession(o.bot, o.mode, symbols, sessionStartMs));
    const report: ReconcileReport = { replayedBars: 0, differences: [] };
    const last = this.#control.lastCandleMs;
    if (last !== undefined) {
      const [stored, riskEvents, recorded] = await Promise.all([o.store.orders(o.bot), o.store.riskEvents(o.bot), this.#recordedDecisions()]);
      for (const e of riskEvents) if (COMMANDS.has(e.kind)) recorded.commands.set(e.timeMs, [...(recorded.commands.get(e.timeMs) ?? []), e]);
      this.#recorded = recorded;
      await this.#loadFrames(this.#warmupStartMs(), last);
      this.engine.reset();
      for (const leg of this.#legs) leg.strategy.reset?.(leg.frame!);
      // An exchange bot's account lives on the exchange: its replay plays back the record instead, sending nothing.
      if (this.#realVenue.kind === 'exchange') this.#venue = new JournalVenue(recorded.accounts, stored);
      const times = [...new Set([...recorded.stepped].map((k) => Number(k.split('|')[0])))].sort((a, b) => a - b);
      try {
        for (const t of times) await this.#step(t, false);
      } finally {
        this.#venue = this.#realVenue;
        this.#recorded = undefined;
      }
      report.replayedBars = times.length;
      const newest = Math.max(...this.#legs.map((l) => (l.frame && l.frame.length > 0 ? l.frame.time[l.frame.length - 1] : Number.NEGATIVE_INFINITY)));
      if (newest !== last) report.differences.push(`the stored session reached ${iso(last)} but the database has candles only to ${iso(newest)}`);
      report.differences.push(...(await this.#compare(stored)));
      this.#lastCandleMs = last;
    }
    if (this.#realVenue.resume) report.differences.push(...(await this.#settleWithExchange()));
    await this.#recordDifferences(report);
    for (const d of report.differences) this.#log.warn(`reconcile: ${d}`);
    this.events.emit('reconciled', report);
    return report;
  }

  /**
   * A difference is reported once: the new ones are recorded as one reconcile_difference risk event,
   * and those an earlier start recorded are counted, not repeated — a lasting one would otherwise
   * print at every restart and hide the new.
   */
  async #recordDifferences(report: ReconcileReport): Promise<void> {
    if (report.differences.length === 0) return;
    const o = this.#o;
    const known = new Set((await o.store.riskEvents(o.bot)).filter((e) => e.kind === RECONCILE_DIFFERENCE).flatMap((e) => e.message.split('\n')));
    const fresh = [...new Set(report.differences)].filter((d) => !known.has(d));
    report.knownDifferences = report.differences.length - fresh.length;
    report.differences = fresh;
    if (fresh.length > 0) await o.store.noteRiskEvent(o.bot, RECONCILE_DIFFERENCE, fresh.join('\n'));
  }

  /**
   * Before any decision: every order the record has open, and every id the
   * next (unstored) candle's step could have sent before a crash, is looked
   * up on the exchange; then every symbol's position, stops and the balance
   * are reconciled. What is found is stored with the next step.
   */
  async #settleWithExchange(): Promise<string[]> {
    const o = this.#o;
    const stored = await o.store.orders(o.bot);
    this.#orders.clear();
    for (const s of stored) this.#orders.set(s.clientOrderId, { ...s });
    const open = stored.filter((s) => s.status === 'NEW' || s.status === 'PARTIALLY_FILLED' || s.status === 'UNKNOWN' || s.status === 'PENDING').map((s) => s.clientOrderId);
    const next = Number.isNaN(this.#lastCandleMs) ? this.#control!.sessionStartMs : this.#lastCandleMs + this.#barMs;
    const inflight: string[] = [];
    for (const leg of this.#legs) for (const intent of ['entry', 'exit', 'stop', 'target'] as const) for (const attempt of [0, 1]) inflight.push(clientOrderId(o.bot, intent, leg.symbol, next, attempt));
    const ids = [...open, ...inflight.filter((id) => !this.#orders.has(id))];
    const instruments = await Promise.all(this.#legs.map(async (leg) => ({ symbol: leg.symbol, stored: await o.store.position(o.bot, leg.symbol), tickSize: this.#instruments.instrument(leg.symbol).tickSize })));
    const probe = await this.#realVenue.resume!({ clientOrderIds: ids, instruments, onUnknownPosition: o.onUnknownPosition ?? 'adopt', onForeignOrders: o.onForeignOrders ?? 'refuse', stopLoss: o.stopLoss, candleTimeMs: next });
    for (const r of probe.recovered) this.#recordVenueOrder(r, next).status = r.status;
    return probe.differences;
  }

  /** Steps every closed candle after the last one stepped, up to and including the candles opening at `lastClosedMs`. */
  async stepThrough(lastClosedMs: number): Promise<number> {
    if (!this.#control) throw new OitraderError('TradingBot.start must run before stepThrough');
    const from = Number.isNaN(this.#lastCandleMs) ? this.#control.sessionStartMs : this.#lastCandleMs + this.#barMs;
    if (lastClosedMs < from) return 0;
    const started = this.#legs[0].frame !== undefined;
    await this.#loadFrames(started ? from : this.#warmupStartMs(), lastClosedMs);
    if (!started) for (const leg of this.#legs) leg.strategy.reset?.(leg.frame!);
    const times = new Set<number>();
    for (const leg of this.#legs) for (let i = leg.next; i < leg.frame!.length; i++) if (leg.frame!.time[i] >= from) times.add(leg.frame!.time[i]);
    const ordered = [...times].sort((a, b) => a - b);
    for (const t of ordered) await this.#step(t, true);
    return ordered.length;
  }

  /**
   * Loads (or appends) every symbol's candles up to the one opening at `lastMs`, with the signal columns: one
   * query per source for all symbols. A symbol whose candles have not arrived keeps its frame (it is stepped
   * when they come; the others go on).
   */
  async #loadFrames(fromMs: number, lastMs: number): Promise<void> {
    const o = this.#o;
    const nextOf = (leg: Leg) => (leg.frame && leg.frame.length > 0 ? Math.max(fromMs, leg.frame.time[leg.frame.length - 1] + this.#barMs) : fromMs);
    const loaded = await o.loader.loadMany(
      this.#legs.map((l) => l.symbol),
      o.timeframe,
      Math.min(...this.#legs.map(nextOf)),
      lastMs + this.#barMs,
    );
    for (const leg of this.#legs) {
      const all = loaded.get(leg.symbol)!.frame;
      if (all.length === 0 && leg.frame) continue;
      const from = nextOf(leg);
      const start = all.indexAtOrAfter(from);
      const fresh = start <= 0 ? all : all.slice(start, all.length);
      const grown = leg.frame ? appendFrame(leg.frame, fresh) : fresh;
      const missing = (leg.signals?.columns ?? []).filter((c) => !grown.has(c));
      leg.frame = missing.length === 0 ? grown : grown.withColumns(Object.fromEntries(missing.map((c) => [c, new Float64Array(grown.length).fill(Number.NaN)])));
      if (leg.next === 0) leg.next = firstIndexFrom(leg.frame, this.#control!.sessionStartMs);
    }
  }

  /** The symbols with a candle at `t` (a replay: those the live step had), their rows set. */
  #legsAt(t: number, live: boolean): Leg[] {
    const at: Leg[] = [];
    for (const leg of this.#legs) {
      const f = leg.frame!;
      while (leg.next < f.length && f.time[leg.next] < t) leg.next++;
      if (leg.next >= f.length || f.time[leg.next] !== t) continue;
      if (!live && !this.#recorded!.stepped.has(key(t, leg.symbol))) continue;
      leg.row = leg.next++;
      at.push(leg);
    }
    return at;
  }

  async #step(t: number, live: boolean): Promise<void> {
    const o = this.#o;
    const legs = this.#legsAt(t, live);
    if (legs.length === 0) return;
    // The exchange's rules are re-read between steps (daily, or after a refusal that says one changed), never inside one.
    if (live && isRefreshing(this.#instruments)) await this.#instruments.refreshIfDue(o.clock?.() ?? t + this.#barMs);
    const closeMs = t + this.#barMs;
    const marks = new Map<string, number>();
    const fills: StoredFill[] = [];
    for (const leg of legs) {
      const f = leg.frame!;
      const i = leg.row;
      const close = f.column('close')[i];
      marks.set(leg.symbol, close);
      const bar = { timeMs: t, open: f.column('open')[i], high: f.column('high')[i], low: f.column('low')[i], close };
      fills.push(...(await this.#venue.onClosedBar(leg.symbol, bar, f.has('funding_rate') ? f.column('funding_rate')[i] : Number.NaN)));
    }
    const funding: StoredFunding[] = this.#venue.settledFunding?.() ?? [];
    this.#fundingCount += funding.length;
    if (fills.length > 0) this.#crash('after-fill', live);
    let account = await this.#venue.account(marks);
    this.#stepNowMs = live ? (o.clock?.() ?? closeMs) : (this.#recorded?.decidedAt.get(t) ?? closeMs);
    for (const leg of legs) leg.healthy = live ? ((await o.dataHealthy?.(leg.symbol)) ?? true) : !this.#recorded?.unhealthy.has(key(t, leg.symbol));
    const carried = live ? await this.#applyControl(closeMs, account.equityUsd, legs) : this.#replayCommands(closeMs, account.equityUsd);
    const seen = account;
    this.#seen = account;
    this.#syncSnapshot(account, marks);
    this.engine.mark(this.#stepNowMs, account.equityUsd);
    const steps: InstrumentStep[] = [];
    const signalsBy = new Map<string, CandleSignals>();
    for (const leg of legs) {
      const signals = await leg.signals?.prepare(leg.frame!, leg.row, live ? undefined : this.#recorded?.signals.get(key(t, leg.symbol)));
      if (signals) signalsBy.set(leg.symbol, signals);
      for (const c of leg.signals?.columns ?? []) leg.frame!.column(c)[leg.row] = signals?.values[c] ?? Number.NaN;
      const intents: readonly Intent[] = leg.strategy.onBar(leg.context) ?? [];
      steps.push({ symbol: leg.symbol, timeMs: t, closeUsd: marks.get(leg.symbol)!, intents, lastCandleCloseMs: closeMs, dataHealthy: leg.healthy, stoppedOut: stoppedOutBy(fills, leg.symbol), restingEntryQtyBase: positionIn(seen, leg.symbol).restingEntryQtyBase });
    }
    const decisions = this.engine.decide(this.#stepNowMs, this.#snapshot, steps);
    const sending = decisions.some((d) => d.orders.length > 0);
    this.#crash('after-decide', live, sending);
    const sent: Array<{ symbol: string; clientOrderId: string; intent: OrderIntent; order: OrderRequest }> = [];
    let failure: { clientOrderId: string; status: string; reason?: string } | undefined;
    let anyState = false;
    for (const [k, d] of decisions.entries()) {
      const leg = legs[k];
      for (const tag of d.cancelTags) await this.#venue.cancel(leg.symbol, tag);
      if (d.orders.length === 0) continue;
      const orders = d.orders.map((order) => ({ clientOrderId: clientOrderId(o.bot, intentOf(order), leg.symbol, t), intent: intentOf(order), order }));
      sent.push(...orders.map((x) => ({ ...x, symbol: leg.symbol })));
      const states = await this.#venue.submit(leg.symbol, orders, marks.get(leg.symbol)!, t);
      anyState ||= states.length > 0;
      // The circuit breaker: one result per step that sent orders — failed when any was refused or its outcome unknown.
      failure ??= states.find((state) => state.status === 'REJECTED' || state.status === 'UNKNOWN');
    }
    // Recorded with the decisions, so a replay (whose journal knows only the final statuses) counts the same.
    const exchangeOk = live ? failure === undefined : !this.#recorded?.exchangeFailed.has(t);
    if (this.#realVenue.kind === 'exchange' && anyState) this.engine.exchangeResult(this.#stepNowMs, account.equityUsd, exchangeOk, failure ? `${failure.clientOrderId} ${failure.status} ${failure.reason ?? ''}` : '');
    const riskEvents = this.engine.events.splice(0).map(storedEvent);
    this.#crash('after-send', live, sent.length > 0);
    for (const s of sent) {
      this.#orders.set(s.clientOrderId, {
        clientOrderId: s.clientOrderId,
        symbol: s.symbol,
        candleTimeMs: t,
        intent: s.intent,
        side: s.order.side,
        type: s.order.type,
        qtyBase: s.order.qtyBase,
        priceUsd: s.order.priceUsd,
        triggerUsd: s.order.triggerUsd,
        reduceOnly: s.order.reduceOnly === true,
        status: 'NEW',
      });
    }
    // Nothing sent and nothing filled: the account read before the decisions still holds (an exchange read costs request weight).
    if (sent.length > 0 || fills.length > 0) account = await this.#venue.account(marks);
    if (live && this.#venue.ensureProtected) {
      for (const leg of legs) {
        const p = positionIn(account, leg.symbol);
        await this.#venue.ensureProtected({ symbol: leg.symbol, qtyBase: p.qtyBase, entryPriceUsd: p.entryPriceUsd, candleTimeMs: t, stopLoss: o.stopLoss, tickSize: this.#instruments.instrument(leg.symbol).tickSize, lastStopUsd: this.#lastStopTrigger(leg.symbol, p.qtyBase) });
      }
    }
    const changed: StoredOrder[] = [];
    for (const state of this.#venue.changedOrders()) {
      // An order the venue placed on its own (a protection stop, an emergency close) joins the record here.
      const stored = 'intent' in state ? this.#recordVenueOrder(state as RecoveredOrder, t) : this.#orders.get(state.clientOrderId);
      if (!stored) continue;
      stored.status = state.status;
      if (!changed.includes(stored)) changed.push(stored);
    }
    const positions: StoredPosition[] = [];
    for (const leg of legs) {
      const p = positionIn(account, leg.symbol);
      const stops = await this.#venue.openStops(leg.symbol);
      positions.push({ symbol: leg.symbol, qtyBase: p.qtyBase, entryPriceUsd: p.entryPriceUsd, liquidationPriceUsd: p.liquidationPriceUsd, stopUsd: stops[0]?.triggerUsd });
    }
    fills.push(...(this.#venue.takeFills?.() ?? []));
    const detailOf = (leg: Leg) => ({
      nowMs: this.#stepNowMs,
      account: seen,
      ...(!leg.healthy && { dataHealthy: false }),
      ...(!exchangeOk && { exchangeOk: false }),
      ...(signalsBy.has(leg.symbol) && { signals: signalsBy.get(leg.symbol) }),
    });
    const stored: StoredDecision[] = decisions.map((d, k) => decisionRow(d, detailOf(legs[k])));
    const step = {
      candleTimeMs: t,
      decisions: stored,
      orders: changed.map((s) => ({ ...s })),
      fills,
      funding,
      positions,
      equity: { timeMs: closeMs, equityUsd: account.equityUsd, walletUsd: account.walletUsd, availableUsd: account.availableUsd, qtyBase: exposureOf(account, this.#legs.length) },
      riskEvents,
      state: { engine: this.engine.snapshot() },
      flattenDone: carried.all,
      flattenedSymbols: carried.symbols,
      forcedEntries: carried.forced,
    };
    this.#lastCandleMs = t;
    if (!live) return;
    await o.store.commitStep(o.bot, step);
    this.#crash('after-persist', live, step.orders.length > 0);
    for (const d of stored) this.events.emit('decision', d);
    for (const s of step.orders) this.events.emit('order', s);
    for (const f of funding) this.events.emit('funding', f);
    for (const f of fills) this.events.emit('fill', f);
    for (const r of riskEvents) {
      this.events.emit('risk', r);
      if (r.kind === 'day_start') this.#log.info(`risk: ${r.message}`);
      else this.#log.warn(`risk: ${r.message}`);
    }
    this.events.emit('equity', step.equity);
  }

  /** The operator's controls (bot_control, the kill file), applied before the step decides. Returns the flatten and forced-entry requests carried out. */
  async #applyControl(closeMs: number, equityUsd: number, legs: readonly Leg[]): Promise<Carried> {
    const o = this.#o;
    const control = (await o.store.control(o.bot))!;
    const killFile = o.killFile !== undefined && existsSync(o.killFile);
    const killed = control.killed || killFile;
    const halts = this.engine.state?.halts ?? [];
    const has = (code: string) => halts.some((h) => h.code === code);
    // resume releases both the kill switch and stop-entries; a command given after it is applied after it.
    if ((!killed && has('kill')) || (!control.entriesStopped && has('stop_entries'))) this.engine.resume(closeMs, equityUsd, 'oitrader bot resume');
    if (killed && !has('kill')) this.engine.kill(closeMs, equityUsd, killFile ? `kill file ${o.killFile}` : (control.killReason ?? 'oitrader bot kill'));
    if (control.entriesStopped && !has('stop_entries')) this.engine.stopEntries(closeMs, equityUsd, control.entriesStoppedReason ?? 'oitrader bot stop-entries');
    // A forced entry is decided at a step where its symbol has a candle; until then it waits in bot_control.
    const stepping = new Set(legs.map((l) => l.symbol));
    const forced = control.forceEntries.filter((e) => stepping.has(e.symbol));
    for (const e of forced) this.engine.requestEntry(closeMs, e.symbol, e.side, 'operator');
    if (control.flattenRequested) {
      this.engine.requestFlatten(closeMs, 'oitrader bot flatten');
      return { all: true, symbols: [], forced };
    }
    const symbols = control.flattenSymbols.filter((s) => this.symbols.includes(s));
    for (const s of symbols) this.engine.requestFlatten(closeMs, `force exit ${s}`, [s]);
    return { all: false, symbols, forced };
  }

  /** The commands the live run applied at this candle, from their recorded risk events (their own words, never parsed from the message). */
  #replayCommands(closeMs: number, equityUsd: number): Carried {
    for (const c of this.#recorded?.commands.get(closeMs) ?? []) {
      const why = c.why ?? c.message;
      if (c.kind === 'kill') this.engine.kill(closeMs, equityUsd, why);
      if (c.kind === 'resume') this.engine.resume(closeMs, equityUsd, why);
      if (c.kind === 'flatten') this.engine.requestFlatten(closeMs, why, c.symbol === undefined ? undefined : [c.symbol]);
      if (c.kind === 'stop_entries') this.engine.stopEntries(closeMs, equityUsd, why);
      if (c.kind === 'force_entry' && c.symbol !== undefined && c.side !== undefined) this.engine.requestEntry(closeMs, c.symbol, c.side, why);
    }
    return { all: false, symbols: [], forced: [] };
  }

  /** The account as the engine reads it: the bot's symbols, marked at the step's closes where the venue has no mark. */
  #syncSnapshot(account: VenueAccount, marks: ReadonlyMap<string, number>): void {
    const s = this.#snapshot;
    s.equityUsd = account.equityUsd;
    s.availableUsd = account.availableUsd;
    s.positions = this.#legs.map((leg) => {
      const p: VenuePosition = positionIn(account, leg.symbol);
      const mark = marks.get(leg.symbol) ?? (Number.isFinite(p.markPriceUsd) ? p.markPriceUsd : p.entryPriceUsd);
      return { symbol: leg.symbol, qtyBase: p.qtyBase, entryPriceUsd: p.entryPriceUsd, marginUsd: p.marginUsd, markUsd: mark };
    });
  }

  #context(leg: Leg): StrategyContext {
    // Getters read the step in progress; these closures reach the bot's private state (a getter's `this` is the context).
    const account = () => this.#snapshot;
    const seen = () => this.#seen;
    const risk = () => this.engine.riskView(leg.symbol, this.#stepNowMs, this.#snapshot.equityUsd);
    const leverage = this.#o.execution.leverage ?? 5;
    const instruments = this.#instruments;
    const snap = () => this.#snapshot.positions.find((p) => p.symbol === leg.symbol);
    const strategyName = leg.strategy.name;
    return {
      symbol: leg.symbol,
      get frame() {
        return leg.frame!;
      },
      get index() {
        return leg.row;
      },
      get timeMs() {
        return leg.frame!.time[leg.row];
      },
      get closeUsd() {
        return leg.frame!.column('close')[leg.row];
      },
      get qtyBase() {
        return snap()?.qtyBase ?? 0;
      },
      get entryPriceUsd() {
        return snap()?.entryPriceUsd ?? 0;
      },
      get liquidationPriceUsd() {
        return positionIn(seen(), leg.symbol).liquidationPriceUsd;
      },
      get equityUsd() {
        return account().equityUsd;
      },
      get availableUsd() {
        return account().availableUsd;
      },
      leverage,
      get instrument() {
        return instruments.instrument(leg.symbol);
      },
      get risk() {
        return risk();
      },
      check: (intent: Intent) =>
        this.engine.check(this.#stepNowMs, this.#snapshot, { symbol: leg.symbol, timeMs: leg.frame!.time[leg.row], closeUsd: leg.frame!.column('close')[leg.row], lastCandleCloseMs: leg.frame!.time[leg.row] + this.#barMs, dataHealthy: leg.healthy }, intent),
      value(column: string, barsAgo = 0): number {
        if (barsAgo < 0) throw new OitraderError(`strategy ${strategyName} asked for ${column} ${-barsAgo} bars in the future`);
        const i = leg.row - barsAgo;
        return i < 0 ? Number.NaN : leg.frame!.column(column)[i];
      },
    };
  }

  /**
   * The record's entry for an order a venue reported with its details (found on start-up, or placed on its
   * own); a new entry takes its symbol and candle from the client id.
   */
  #recordVenueOrder(r: RecoveredOrder, candleTimeMs: number): StoredOrder {
    const known = this.#orders.get(r.clientOrderId);
    if (known) return known;
    const parts = parseClientId(r.clientOrderId);
    const stored: StoredOrder = {
      clientOrderId: r.clientOrderId,
      symbol: parts?.symbol ?? this.#legs[0].symbol,
      candleTimeMs: parts?.candleTimeMs ?? candleTimeMs,
      intent: r.intent,
      side: r.side,
      type: r.type,
      qtyBase: r.qtyBase,
      triggerUsd: r.triggerUsd,
      reduceOnly: r.reduceOnly,
      status: r.status,
      exchangeOrderId: r.exchangeOrderId,
    };
    this.#orders.set(r.clientOrderId, stored);
    return stored;
  }

  /** The trigger of the newest stop the bot sent on the side that closes a position of `qtyBase` (for a stop re-placed by the protection check). */
  #lastStopTrigger(symbol: string, qtyBase: number): number | undefined {
    const closing = qtyBase > 0 ? 'sell' : 'buy';
    let found: StoredOrder | undefined;
    for (const order of this.#orders.values()) if (order.symbol === symbol && order.intent === 'stop' && order.side === closing && order.triggerUsd !== undefined && (!found || order.candleTimeMs >= found.candleTimeMs)) found = order;
    return found?.triggerUsd;
  }

  #warmupStartMs(): number {
    return this.#control!.sessionStartMs - (this.#o.warmupBars ?? 0) * this.#barMs;
  }

  /**
   * What each stored decision was made with — its clock, the account it saw (what an exchange bot's replay
   * plays back), its data-health and exchange answers, its signal values — in one read. JSON has no NaN:
   * null comes back as NaN.
   */
  async #recordedDecisions(): Promise<Recorded> {
    const rows = await this.#o.store.sql.query<{ t: number; symbol: string; now_ms: number | null; account: string | null; healthy: string | null; exchange_ok: string | null; signals: CandleSignals | string | null }>(
      `SELECT (extract(epoch FROM candle_time) * 1000)::float8 AS t, symbol, (detail->>'nowMs')::float8 AS now_ms, detail->>'account' AS account, detail->>'dataHealthy' AS healthy,
              detail->>'exchangeOk' AS exchange_ok, detail->'signals' AS signals
       FROM bot_decisions WHERE bot = $1`,
      [this.#o.bot],
    );
    const nanFromNull = (_k: string, v: unknown) => (v === null ? Number.NaN : v);
    const recorded: Recorded = { commands: new Map(), decidedAt: new Map(), stepped: new Set(), unhealthy: new Set(), exchangeFailed: new Set(), signals: new Map(), accounts: new Map() };
    for (const r of rows) {
      const t = Number(r.t);
      const symbol = String(r.symbol);
      recorded.stepped.add(key(t, symbol));
      if (r.healthy === 'false') recorded.unhealthy.add(key(t, symbol));
      if (r.exchange_ok === 'false') recorded.exchangeFailed.add(t);
      if (r.now_ms !== null) recorded.decidedAt.set(t, Number(r.now_ms));
      if (r.account && !recorded.accounts.has(t)) recorded.accounts.set(t, accountOf(JSON.parse(r.account, nanFromNull), symbol));
      const s = typeof r.signals === 'string' ? (JSON.parse(r.signals) as CandleSignals) : r.signals;
      if (s?.values) recorded.signals.set(key(t, symbol), { ...s, values: Object.fromEntries(Object.entries(s.values).map(([k, v]) => [k, v ?? Number.NaN])) });
    }
    return recorded;
  }

  /** Differences between the replayed venue and the stored record (orders, fills, positions). */
  async #compare(stored: StoredOrder[]): Promise<string[]> {
    const o = this.#o;
    const out: string[] = [];
    const replayed = new Map(this.#orders);
    // An exchange bot's replay only re-derives its decisions; the order statuses are the exchange's (settled next).
    const exchange = this.#realVenue.kind === 'exchange';
    for (const s of stored) {
      const r = replayed.get(s.clientOrderId);
      if (!r) {
        // Orders that venues place on their own (the emergency close, reconciliation's stop and close) are no decision's.
        if (!exchange || /-0$/.test(s.clientOrderId)) out.push(`order ${s.clientOrderId} (${s.intent} ${s.side} ${s.qtyBase}) is stored but the replay did not send it`);
      } else if (!exchange && r.status !== s.status) out.push(`order ${s.clientOrderId}: stored ${s.status}, venue ${r.status}`);
      replayed.delete(s.clientOrderId);
    }
    for (const r of replayed.values()) out.push(`order ${r.clientOrderId} (${r.intent} ${r.side} ${r.qtyBase}) was sent but never stored`);
    if (exchange) return out;
    const fills = await o.store.fills(o.bot);
    const venueFills = this.venue instanceof PaperVenue ? this.venue.exchange.portfolio.fills.length : fills.length;
    if (fills.length !== venueFills) out.push(`${fills.length} fills stored, the venue has ${venueFills}`);
    const funding = await o.store.funding(o.bot);
    if (funding.length !== this.#fundingCount) out.push(`${funding.length} funding settlements stored, the replay settled ${this.#fundingCount}`);
    const account = await this.venue.account(new Map());
    for (const leg of this.#legs) {
      const position = await o.store.position(o.bot, leg.symbol);
      const held = positionIn(account, leg.symbol).qtyBase;
      if (position && Math.abs(position.qtyBase - held) > 1e-9) out.push(`stored position ${position.qtyBase} ${leg.symbol}, the venue holds ${held}`);
    }
    return out;
  }

  #crash(point: CrashPoint, live: boolean, withOrders = false): void {
    const c = this.#o.crashAt;
    if (!live || !c || c.point !== point || (c.ordersOnly && !withOrders)) return;
    if (++this.#crashCount === c.count) process.kill(process.pid, 'SIGKILL');
  }
}

/** A decision as the bot's table stores it. */
function decisionRow(d: InstrumentDecision, detail: Record<string, unknown>): StoredDecision {
  return {
    symbol: d.symbol,
    candleTimeMs: d.timeMs,
    action: d.action,
    allowed: d.allowed,
    reason: d.reason,
    ...(d.code !== undefined && { code: d.code }),
    qtyBase: d.qtyBase,
    priceUsd: d.priceUsd,
    stopUsd: d.stopUsd,
    detail,
  };
}

function storedEvent(e: RiskEvent): StoredRiskEvent {
  return { timeMs: e.timeMs, kind: e.kind, message: e.message, ...(e.symbol !== undefined && { symbol: e.symbol }), ...(e.why !== undefined && { why: e.why }), ...(e.side !== undefined && { side: e.side }) };
}

/** The position of a one-symbol bot; a portfolio's Σ |notional| / equity. */
function exposureOf(account: VenueAccount, symbols: number): number {
  if (symbols === 1) return account.positions[0]?.qtyBase ?? 0;
  const gross = account.positions.reduce((sum, p) => sum + Math.abs(p.qtyBase) * (Number.isFinite(p.markPriceUsd) ? p.markPriceUsd : p.entryPriceUsd), 0);
  return account.equityUsd > 0 ? gross / account.equityUsd : 0;
}

/** A stored account; records made before the portfolio bot held one symbol's position in flat fields. */
function accountOf(raw: Record<string, unknown>, symbol: string): VenueAccount {
  if (Array.isArray(raw.positions)) return raw as unknown as VenueAccount;
  const n = (k: string) => Number(raw[k]);
  return { equityUsd: n('equityUsd'), walletUsd: n('walletUsd'), availableUsd: n('availableUsd'), positions: [{ symbol, qtyBase: n('qtyBase'), entryPriceUsd: n('entryPriceUsd'), liquidationPriceUsd: n('liquidationPriceUsd'), marginUsd: 0, markPriceUsd: Number.NaN }] };
}

/** The first row at or after `timeMs` (the frame's length when none is). */
function firstIndexFrom(frame: Frame, timeMs: number): number {
  let i = 0;
  while (i < frame.length && frame.time[i] < timeMs) i++;
  return i;
}

/** `b`'s rows after `a`'s: one session frame grown candle by candle (same columns, later times). */
export function appendFrame(a: Frame, b: Frame): Frame {
  if (b.length === 0) return a;
  if (a.length > 0 && b.time[0] <= a.time[a.length - 1]) throw new OitraderError(`appended candles start at ${iso(b.time[0])}, not after ${iso(a.time[a.length - 1])}`);
  const join = (x: Float64Array, y: Float64Array) => {
    const out = new Float64Array(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  const columns: Record<string, Float64Array> = {};
  for (const name of a.names) columns[name] = join(a.column(name), b.has(name) ? b.column(name) : new Float64Array(b.length).fill(Number.NaN));
  return new Frame(a.symbol, a.timeframe, join(a.time, b.time), columns);
}

const iso = (ms: number) => new Date(ms).toISOString();
