import { existsSync } from 'node:fs';
import { Frame, OitraderError, silentLogger, timeframeMs, type Logger, type Timeframe } from '@oitrader/core';
import {
  bracketsFor,
  filtersFor,
  RiskManagedStrategy,
  type ExecutionConfig,
  type OrderRequest,
  type RiskLimits,
  type Strategy,
  type StrategyContext,
} from '@oitrader/backtest';
import { parseClientId } from '@oitrader/binance';
import type { MarketDataLoader } from '@oitrader/data';
import type { BotControl, BotMode, BotStore, OrderIntent, StoredFill, StoredFunding, StoredOrder, StoredRiskEvent } from '../state/bot-store.ts';
import { JournalVenue } from '../venue/journal-venue.ts';
import { PaperVenue } from '../venue/paper-venue.ts';
import type { RecoveredOrder, Venue, VenueAccount } from '../venue/venue.ts';
import { BotEvents, type ReconcileReport } from './bot-events.ts';
import { clientOrderId } from './client-id.ts';

/** Named points of one candle's step where the SIGKILL tests stop the process. */
export type CrashPoint = 'after-fill' | 'after-decide' | 'after-entry-fill' | 'after-send' | 'after-persist';

export interface TradingBotOptions {
  /** bot.name: in client order ids and every state row. */
  bot: string;
  symbol: string;
  timeframe: Timeframe;
  mode: BotMode;
  /** The decision maker (a baseline, the ML-signal strategy, later the RL agent); the risk manager wraps it. */
  strategy: Strategy;
  risk: RiskLimits;
  /** trading.stop_loss: the stop of every entry as a fraction of its price. */
  stopLoss: number;
  execution: Partial<Omit<ExecutionConfig, 'symbol'>>;
  store: BotStore;
  loader: MarketDataLoader;
  /** Default: paper trading by the shared execution model. */
  venue?: Venue;
  /** Candles before the session start loaded for the strategy's look-back (no decision is made on them). Default 0. */
  warmupBars?: number;
  /** Exchange venues: what start-up reconciliation does with a position the record does not know. */
  onUnknownPosition?: 'adopt' | 'close';
  /** Wall clock for the stale-data rule; default: each candle's close (replays and backtest parity). */
  clock?: () => number;
  /** A file whose existence engages the kill switch. */
  killFile?: string;
  /** False when the data feed is unhealthy (the collector's stream silent): no entries then. Asked once per live step. */
  dataHealthy?: () => Promise<boolean>;
  log?: Logger;
  /** Test hook: SIGKILL this process at the `count`-th time it reaches `point` (counting only steps that send orders when `ordersOnly`). */
  crashAt?: { point: CrashPoint; count: number; ordersOnly?: boolean };
  /** Per-candle inputs the strategy reads from frame columns (the ML model's probabilities); see BotSignals. */
  signals?: BotSignals;
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
const COMMANDS = new Set(['kill', 'resume', 'flatten', 'stop_entries']);

const intentOf = (order: OrderRequest): OrderIntent => (order.type === 'stop' ? 'stop' : order.type === 'take_profit' ? 'target' : order.reduceOnly ? 'exit' : 'entry');

/**
 * The bot loop's core: one step per closed candle — venue fills → equity →
 * kill/resume/flatten commands → strategy + risk manager → orders → one
 * transaction → notifications. On start it rebuilds itself from the database:
 * it replays the session's candles through the same steps (strategy state and
 * paper account are functions of the candles and the recorded commands) and
 * logs every difference from what was stored.
 */
export class TradingBot {
  readonly events = new BotEvents();
  readonly gate: RiskManagedStrategy;
  readonly #o: TradingBotOptions;
  readonly #barMs: number;
  readonly #log: Logger;
  readonly #orders = new Map<string, StoredOrder>();
  #frame: Frame | undefined;
  #control: BotControl | undefined;
  /** Open time of the last candle stepped (replayed or live). */
  #lastCandleMs = Number.NaN;
  /** During replay: the commands and decision times recorded live, by candle close. */
  #recorded: { commands: Map<number, StoredRiskEvent[]>; decidedAt: Map<number, number>; unhealthy: Set<number>; exchangeFailed: Set<number>; signals: Map<number, CandleSignals> } | undefined;
  /** The data-health answer of the step in progress (the gate asks it synchronously). */
  #healthy = true;
  #crashCount = 0;
  #stepNowMs = 0;
  /** Funding settlements stepped (replayed or live), compared with the stored rows on start. */
  #fundingCount = 0;
  /** The venue orders go to; during an exchange bot's start-up replay, its own record (JournalVenue). */
  #venue: Venue;
  readonly #realVenue: Venue;

  constructor(options: TradingBotOptions) {
    this.#o = options;
    this.#barMs = timeframeMs(options.timeframe);
    this.#log = options.log ?? silentLogger;
    this.#realVenue = options.venue ?? new PaperVenue({ ...options.execution, symbol: options.symbol, bot: options.bot, barMs: this.#barMs });
    this.#venue = this.#realVenue;
    this.gate = new RiskManagedStrategy(options.strategy, {
      limits: options.risk,
      stopLoss: options.stopLoss,
      filters: filtersFor(options.symbol),
      brackets: bracketsFor(options.symbol),
      barMs: this.#barMs,
      feeRate: options.execution.takerFeeRate ?? 0.0005,
      now: () => this.#stepNowMs,
      dataHealthy: () => this.#healthy,
    });
  }

  get venue(): Venue {
    return this.#realVenue;
  }

  get lastCandleMs(): number {
    return this.#lastCandleMs;
  }

  /**
   * Opens (or resumes) the session and reconciles: replays every candle the
   * stored session already stepped and compares the rebuilt orders, fills and
   * position with the stored ones. `sessionStartMs` is used only for a new bot.
   */
  async start(sessionStartMs: number): Promise<ReconcileReport> {
    const o = this.#o;
    const existing = await o.store.control(o.bot);
    if (existing && (existing.symbol !== o.symbol || existing.mode !== o.mode)) {
      throw new OitraderError(`bot "${o.bot}" is stored as ${existing.mode} ${existing.symbol}, not ${o.mode} ${o.symbol}`, {
        hint: 'give this run another bot.name, or run it with the stored mode and symbol',
        exitCode: 2,
      });
    }
    this.#control = existing ?? (await o.store.ensureSession(o.bot, o.mode, o.symbol, sessionStartMs));
    const report: ReconcileReport = { replayedBars: 0, differences: [] };
    const last = this.#control.lastCandleMs;
    if (last !== undefined) {
      const [stored, riskEvents, decisions] = await Promise.all([o.store.orders(o.bot), o.store.riskEvents(o.bot), this.#recordedDecisions()]);
      const commands = new Map<number, StoredRiskEvent[]>();
      for (const e of riskEvents) if (COMMANDS.has(e.kind)) commands.set(e.timeMs, [...(commands.get(e.timeMs) ?? []), e]);
      this.#recorded = { commands, ...decisions };
      const frame = this.#withSignalColumns(await o.loader.loadAllData(o.symbol, o.timeframe, this.#warmupStartMs(), last + this.#barMs));
      const first = firstIndexFrom(frame, this.#control.sessionStartMs);
      this.#frame = frame;
      this.gate.reset(frame);
      // An exchange bot's account lives on the exchange: its replay plays back the record instead, sending nothing.
      if (this.#realVenue.kind === 'exchange') this.#venue = new JournalVenue(decisions.accounts, stored);
      try {
        for (let i = first; i < frame.length; i++) {
          // An exchange bot replays only what it decided on: a candle the collector filled into a gap later was never stepped.
          if (this.#venue instanceof JournalVenue && !decisions.accounts.has(frame.time[i])) continue;
          await this.#step(frame, i, false);
        }
      } finally {
        this.#venue = this.#realVenue;
        this.#recorded = undefined;
      }
      report.replayedBars = frame.length - first;
      if (frame.time[frame.length - 1] !== last) report.differences.push(`the stored session reached ${iso(last)} but the database has candles only to ${iso(frame.time[frame.length - 1])}`);
      report.differences.push(...(await this.#compare(stored)));
      for (const d of report.differences) this.#log.warn(`reconcile: ${d}`);
      this.#lastCandleMs = last;
    }
    if (this.#realVenue.resume) report.differences.push(...(await this.#settleWithExchange()));
    this.events.emit('reconciled', report);
    return report;
  }

  /**
   * Before any decision: every order the record has open, and every id the
   * next (unstored) candle's step could have sent before a crash, is looked
   * up on the exchange; then position, stops and balance are reconciled.
   * What is found is stored with the next step.
   */
  async #settleWithExchange(): Promise<string[]> {
    const o = this.#o;
    const stored = await o.store.orders(o.bot);
    this.#orders.clear();
    for (const s of stored) this.#orders.set(s.clientOrderId, { ...s });
    const open = stored.filter((s) => s.status === 'NEW' || s.status === 'PARTIALLY_FILLED' || s.status === 'UNKNOWN').map((s) => s.clientOrderId);
    const next = Number.isNaN(this.#lastCandleMs) ? this.#control!.sessionStartMs : this.#lastCandleMs + this.#barMs;
    const inflight: string[] = [];
    for (const intent of ['entry', 'exit', 'stop', 'target'] as const) for (const attempt of [0, 1]) inflight.push(clientOrderId(o.bot, intent, o.symbol, next, attempt));
    const ids = [...open, ...inflight.filter((id) => !this.#orders.has(id))];
    const position = await o.store.position(o.bot, o.symbol);
    // The record's position plus fills it never stored (found below) is what the bot should hold.
    const probe = await this.#realVenue.resume!({
      clientOrderIds: ids,
      stored: position,
      onUnknownPosition: o.onUnknownPosition ?? 'adopt',
      stopLoss: o.stopLoss,
      tickSize: filtersFor(o.symbol).tickSize,
      candleTimeMs: next,
    });
    for (const r of probe.recovered) this.#recordVenueOrder(r, next).status = r.status;
    return probe.differences;
  }

  /** Steps every closed candle after the last one stepped, up to and including the candle opening at `lastClosedMs`. */
  async stepThrough(lastClosedMs: number): Promise<number> {
    const o = this.#o;
    if (!this.#control) throw new OitraderError('TradingBot.start must run before stepThrough');
    const from = Number.isNaN(this.#lastCandleMs) ? this.#control.sessionStartMs : this.#lastCandleMs + this.#barMs;
    if (lastClosedMs < from) return 0;
    const fresh = await o.loader.loadAllData(o.symbol, o.timeframe, this.#frame ? from : this.#warmupStartMs(), lastClosedMs + this.#barMs);
    const firstNew = this.#frame ? this.#frame.length : firstIndexFrom(fresh, from);
    const started = this.#frame !== undefined;
    this.#frame = this.#withSignalColumns(this.#frame ? appendFrame(this.#frame, fresh) : fresh);
    if (!started) this.gate.reset(this.#frame);
    for (let i = firstNew; i < this.#frame.length; i++) await this.#step(this.#frame, i, true);
    return this.#frame.length - firstNew;
  }

  async #step(frame: Frame, i: number, live: boolean): Promise<void> {
    const o = this.#o;
    const t = frame.time[i];
    const closeMs = t + this.#barMs;
    const close = frame.column('close')[i];
    const bar = { timeMs: t, open: frame.column('open')[i], high: frame.column('high')[i], low: frame.column('low')[i], close };
    const fundingRate = frame.has('funding_rate') ? frame.column('funding_rate')[i] : Number.NaN;
    const fills = await this.#venue.onClosedBar(bar, fundingRate);
    const funding: StoredFunding[] = (this.#venue.settledFunding?.() ?? []).map((f) => ({ ...f, symbol: o.symbol }));
    this.#fundingCount += funding.length;
    if (fills.length > 0) this.#crash('after-fill', live);
    let account = await this.#venue.account(close);
    this.#stepNowMs = live ? (o.clock?.() ?? closeMs) : (this.#recorded?.decidedAt.get(t) ?? closeMs);
    this.#healthy = live ? ((await o.dataHealthy?.()) ?? true) : !this.#recorded?.unhealthy.has(t);
    let flattenDone = false;
    if (live) {
      const control = (await o.store.control(o.bot))!;
      const killFile = o.killFile !== undefined && existsSync(o.killFile);
      const killed = control.killed || killFile;
      const risk = this.gate.riskState;
      // resume releases both the kill switch and stop-entries; a command given after it is applied after it.
      if ((!killed && risk?.killed) || (!control.entriesStopped && risk?.entriesStopped === true)) this.gate.resume(closeMs, account.equityUsd, 'oitrader bot resume');
      if (killed && !this.gate.riskState?.killed) this.gate.kill(closeMs, account.equityUsd, killFile ? `kill file ${o.killFile}` : (control.killReason ?? 'oitrader bot kill'));
      if (control.entriesStopped && this.gate.riskState?.entriesStopped !== true) this.gate.stopEntries(closeMs, account.equityUsd, control.entriesStoppedReason ?? 'oitrader bot stop-entries');
      if (control.flattenRequested) {
        this.gate.requestFlatten(closeMs, 'oitrader bot flatten');
        flattenDone = true;
      }
    } else {
      for (const c of this.#recorded?.commands.get(closeMs) ?? []) {
        if (c.kind === 'kill') this.gate.kill(closeMs, account.equityUsd, c.message.replace(/^kill switch: /, ''));
        if (c.kind === 'resume') this.gate.resume(closeMs, account.equityUsd, c.message.replace(/^resumed: /, ''));
        if (c.kind === 'flatten') this.gate.requestFlatten(closeMs, c.message.replace(/^flatten: /, ''));
        if (c.kind === 'stop_entries') this.gate.stopEntries(closeMs, account.equityUsd, c.message.replace(/^entries stopped: /, ''));
      }
    }
    const seen = { qtyBase: account.qtyBase, entryPriceUsd: account.entryPriceUsd, liquidationPriceUsd: account.liquidationPriceUsd, equityUsd: account.equityUsd, walletUsd: account.walletUsd, availableUsd: account.availableUsd };
    const signals = await o.signals?.prepare(frame, i, live ? undefined : this.#recorded?.signals.get(t));
    for (const c of o.signals?.columns ?? []) frame.column(c)[i] = signals?.values[c] ?? Number.NaN;
    const orders = this.gate.onBar(this.#context(frame, i, account));
    const decision = this.gate.lastDecision;
    this.#crash('after-decide', live, orders.length > 0);
    const sent = orders.map((order) => ({ clientOrderId: clientOrderId(o.bot, intentOf(order), o.symbol, t), intent: intentOf(order), order }));
    const states = await this.#venue.submit(sent, close, t);
    // The circuit breaker: one result per step that sent orders — failed when any was refused or its outcome
    // unknown. Recorded with the decision, so a replay (whose journal knows only the final statuses) counts the same.
    const failure = states.find((state) => state.status === 'REJECTED' || state.status === 'UNKNOWN');
    const exchangeOk = live ? failure === undefined : !this.#recorded?.exchangeFailed.has(t);
    if (this.#realVenue.kind === 'exchange' && states.length > 0) this.gate.exchangeResult(this.#stepNowMs, account.equityUsd, exchangeOk, failure ? `${failure.clientOrderId} ${failure.status} ${failure.reason ?? ''}` : '');
    const riskEvents = this.gate.events.splice(0).map((e) => ({ timeMs: e.timeMs, kind: e.kind, message: e.message }));
    this.#crash('after-send', live, sent.length > 0);
    for (const s of sent) {
      this.#orders.set(s.clientOrderId, {
        clientOrderId: s.clientOrderId,
        symbol: o.symbol,
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
    // Nothing sent and nothing filled: the account read before the decision still holds (an exchange read costs request weight).
    if (sent.length > 0 || fills.length > 0) account = await this.#venue.account(close);
    if (live && this.#venue.ensureProtected) {
      await this.#venue.ensureProtected({ qtyBase: account.qtyBase, entryPriceUsd: account.entryPriceUsd, candleTimeMs: t, stopLoss: o.stopLoss, tickSize: filtersFor(o.symbol).tickSize, lastStopUsd: this.#lastStopTrigger(account.qtyBase) });
    }
    const changed: StoredOrder[] = [];
    for (const state of this.#venue.changedOrders()) {
      // An order the venue placed on its own (a protection stop, an emergency close) joins the record here.
      const stored = 'intent' in state ? this.#recordVenueOrder(state as RecoveredOrder, t) : this.#orders.get(state.clientOrderId);
      if (!stored) continue;
      stored.status = state.status;
      if (!changed.includes(stored)) changed.push(stored);
    }
    const stops = await this.#venue.openStops();
    const storedFills: StoredFill[] = [...fills, ...(this.#venue.takeFills?.() ?? [])].map((f) => ({ ...f, symbol: o.symbol }));
    const step = {
      candleTimeMs: t,
      decision: decision && { symbol: o.symbol, candleTimeMs: t, ...decision, detail: { nowMs: this.#stepNowMs, account: seen, ...(!this.#healthy && { dataHealthy: false }), ...(!exchangeOk && { exchangeOk: false }), ...(signals && { signals }) } },
      orders: changed.map((s) => ({ ...s })),
      fills: storedFills,
      funding,
      position: { symbol: o.symbol, qtyBase: account.qtyBase, entryPriceUsd: account.entryPriceUsd, liquidationPriceUsd: account.liquidationPriceUsd, stopUsd: stops[0]?.triggerUsd },
      equity: { timeMs: closeMs, equityUsd: account.equityUsd, walletUsd: account.walletUsd, availableUsd: account.availableUsd, qtyBase: account.qtyBase },
      riskEvents,
      state: { gate: this.gate.snapshot() },
      flattenDone,
    };
    this.#lastCandleMs = t;
    if (!live) return;
    await o.store.commitStep(o.bot, step);
    this.#crash('after-persist', live, step.orders.length > 0);
    if (step.decision) this.events.emit('decision', step.decision);
    for (const s of step.orders) this.events.emit('order', s);
    for (const f of funding) this.events.emit('funding', f);
    for (const f of storedFills) this.events.emit('fill', f);
    for (const r of riskEvents) {
      this.events.emit('risk', r);
      if (r.kind === 'day_start') this.#log.info(`risk: ${r.message}`);
      else this.#log.warn(`risk: ${r.message}`);
    }
    this.events.emit('equity', step.equity);
  }

  #context(frame: Frame, index: number, account: { qtyBase: number; entryPriceUsd: number; liquidationPriceUsd: number; equityUsd: number; availableUsd: number }): StrategyContext {
    const o = this.#o;
    const strategyName = o.strategy.name;
    return {
      frame,
      index,
      timeMs: frame.time[index],
      closeUsd: frame.column('close')[index],
      qtyBase: account.qtyBase,
      entryPriceUsd: account.entryPriceUsd,
      liquidationPriceUsd: account.liquidationPriceUsd,
      equityUsd: account.equityUsd,
      availableUsd: account.availableUsd,
      leverage: o.execution.leverage ?? 5,
      minNotionalUsd: filtersFor(o.symbol).minNotionalUsd,
      filters: filtersFor(o.symbol),
      pendingOrders: this.#venue.pendingOrders(),
      cancel: (tag: string) => this.#venue.cancel(tag),
      value(column: string, barsAgo = 0): number {
        if (barsAgo < 0) throw new OitraderError(`strategy ${strategyName} asked for ${column} ${-barsAgo} bars in the future`);
        const i = index - barsAgo;
        return i < 0 ? Number.NaN : frame.column(column)[i];
      },
    };
  }

  /**
   * The record's entry for an order a venue reported with its details (found on start-up, or placed on its
   * own); a new entry takes its candle from the client id, else `candleTimeMs`.
   */
  #recordVenueOrder(r: RecoveredOrder, candleTimeMs: number): StoredOrder {
    const known = this.#orders.get(r.clientOrderId);
    if (known) return known;
    const stored: StoredOrder = {
      clientOrderId: r.clientOrderId,
      symbol: this.#o.symbol,
      candleTimeMs: parseClientId(r.clientOrderId)?.candleTimeMs ?? candleTimeMs,
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
  #lastStopTrigger(qtyBase: number): number | undefined {
    const closing = qtyBase > 0 ? 'sell' : 'buy';
    let found: StoredOrder | undefined;
    for (const order of this.#orders.values()) if (order.intent === 'stop' && order.side === closing && order.triggerUsd !== undefined && (!found || order.candleTimeMs >= found.candleTimeMs)) found = order;
    return found?.triggerUsd;
  }

  #warmupStartMs(): number {
    return this.#control!.sessionStartMs - (this.#o.warmupBars ?? 0) * this.#barMs;
  }

  /**
   * What each stored decision was made with, by candle open time — its clock, the account it saw (what an
   * exchange bot's replay plays back), its data-health and exchange answers, its signal values — in one read.
   * JSON has no NaN: null comes back as NaN.
   */
  async #recordedDecisions(): Promise<{ decidedAt: Map<number, number>; accounts: Map<number, VenueAccount>; unhealthy: Set<number>; exchangeFailed: Set<number>; signals: Map<number, CandleSignals> }> {
    const rows = await this.#o.store.sql.query<{ t: number; now_ms: number | null; account: string | null; healthy: string | null; exchange_ok: string | null; signals: CandleSignals | string | null }>(
      `SELECT (extract(epoch FROM candle_time) * 1000)::float8 AS t, (detail->>'nowMs')::float8 AS now_ms, detail->>'account' AS account, detail->>'dataHealthy' AS healthy,
              detail->>'exchangeOk' AS exchange_ok, detail->'signals' AS signals
       FROM bot_decisions WHERE bot = $1`,
      [this.#o.bot],
    );
    const nanFromNull = (_k: string, v: unknown) => (v === null ? Number.NaN : v);
    const decidedAt = new Map<number, number>();
    const accounts = new Map<number, VenueAccount>();
    const unhealthy = new Set<number>();
    const exchangeFailed = new Set<number>();
    const signals = new Map<number, CandleSignals>();
    for (const r of rows) {
      const t = Number(r.t);
      if (r.healthy === 'false') unhealthy.add(t);
      if (r.exchange_ok === 'false') exchangeFailed.add(t);
      if (r.now_ms !== null) decidedAt.set(t, Number(r.now_ms));
      if (r.account) accounts.set(t, JSON.parse(r.account, nanFromNull) as VenueAccount);
      const s = typeof r.signals === 'string' ? (JSON.parse(r.signals) as CandleSignals) : r.signals;
      if (s?.values) signals.set(t, { ...s, values: Object.fromEntries(Object.entries(s.values).map(([k, v]) => [k, v ?? Number.NaN])) });
    }
    return { decidedAt, accounts, unhealthy, exchangeFailed, signals };
  }

  /** The session frame with the signal source's columns (NaN until a candle's step fills them). */
  #withSignalColumns(frame: Frame): Frame {
    const missing = (this.#o.signals?.columns ?? []).filter((c) => !frame.has(c));
    return missing.length === 0 ? frame : frame.withColumns(Object.fromEntries(missing.map((c) => [c, new Float64Array(frame.length).fill(Number.NaN)])));
  }

  /** Differences between the replayed venue and the stored record (orders, fills, position). */
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
    const venueFills = this.venue instanceof PaperVenue ? this.venue.exchange.account.fills.length : fills.length;
    if (fills.length !== venueFills) out.push(`${fills.length} fills stored, the venue has ${venueFills}`);
    const funding = await o.store.funding(o.bot);
    if (funding.length !== this.#fundingCount) out.push(`${funding.length} funding settlements stored, the replay settled ${this.#fundingCount}`);
    const position = await o.store.position(o.bot, o.symbol);
    const account = await this.venue.account(this.#frame ? this.#frame.column('close')[this.#frame.length - 1] : 0);
    if (position && Math.abs(position.qtyBase - account.qtyBase) > 1e-9) out.push(`stored position ${position.qtyBase} ${o.symbol}, the venue holds ${account.qtyBase}`);
    return out;
  }

  #crash(point: CrashPoint, live: boolean, withOrders = false): void {
    const c = this.#o.crashAt;
    if (!live || !c || c.point !== point || (c.ordersOnly && !withOrders)) return;
    if (++this.#crashCount === c.count) process.kill(process.pid, 'SIGKILL');
  }
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
