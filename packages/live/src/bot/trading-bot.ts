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
import type { MarketDataLoader } from '@oitrader/data';
import type { BotControl, BotMode, BotStore, OrderIntent, StoredFill, StoredFunding, StoredOrder, StoredRiskEvent } from '../state/bot-store.ts';
import { PaperVenue } from '../venue/paper-venue.ts';
import type { Venue } from '../venue/venue.ts';
import { BotEvents, type ReconcileReport } from './bot-events.ts';
import { clientOrderId } from './client-id.ts';

/** Named points of one candle's step where the SIGKILL tests stop the process. */
export type CrashPoint = 'after-fill' | 'after-decide' | 'after-send' | 'after-persist';

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
  /** Wall clock for the stale-data rule; default: each candle's close (replays and backtest parity). */
  clock?: () => number;
  /** A file whose existence engages the kill switch. */
  killFile?: string;
  log?: Logger;
  /** Test hook: SIGKILL this process at the `count`-th time it reaches `point`. */
  crashAt?: { point: CrashPoint; count: number };
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
  readonly venue: Venue;
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
  #recorded: { commands: Map<number, StoredRiskEvent[]>; decidedAt: Map<number, number> } | undefined;
  #crashCount = 0;
  #stepNowMs = 0;
  /** Funding settlements stepped (replayed or live), compared with the stored rows on start. */
  #fundingCount = 0;

  constructor(options: TradingBotOptions) {
    this.#o = options;
    this.#barMs = timeframeMs(options.timeframe);
    this.#log = options.log ?? silentLogger;
    this.venue = options.venue ?? new PaperVenue({ ...options.execution, symbol: options.symbol, bot: options.bot, barMs: this.#barMs });
    this.gate = new RiskManagedStrategy(options.strategy, {
      limits: options.risk,
      stopLoss: options.stopLoss,
      filters: filtersFor(options.symbol),
      brackets: bracketsFor(options.symbol),
      barMs: this.#barMs,
      feeRate: options.execution.takerFeeRate ?? 0.0005,
      now: () => this.#stepNowMs,
    });
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
      const [stored, riskEvents, decisions] = await Promise.all([o.store.orders(o.bot), o.store.riskEvents(o.bot), this.#decisionTimes()]);
      const commands = new Map<number, StoredRiskEvent[]>();
      for (const e of riskEvents) if (COMMANDS.has(e.kind)) commands.set(e.timeMs, [...(commands.get(e.timeMs) ?? []), e]);
      this.#recorded = { commands, decidedAt: decisions };
      const frame = await o.loader.loadAllData(o.symbol, o.timeframe, this.#control.sessionStartMs, last + this.#barMs);
      this.#frame = frame;
      this.gate.reset(frame);
      for (let i = 0; i < frame.length; i++) await this.#step(frame, i, false);
      report.replayedBars = frame.length;
      this.#recorded = undefined;
      if (frame.time[frame.length - 1] !== last) report.differences.push(`the stored session reached ${iso(last)} but the database has candles only to ${iso(frame.time[frame.length - 1])}`);
      report.differences.push(...(await this.#compare(stored)));
      for (const d of report.differences) this.#log.warn(`reconcile: ${d}`);
    }
    this.events.emit('reconciled', report);
    return report;
  }

  /** Steps every closed candle after the last one stepped, up to and including the candle opening at `lastClosedMs`. */
  async stepThrough(lastClosedMs: number): Promise<number> {
    const o = this.#o;
    if (!this.#control) throw new OitraderError('TradingBot.start must run before stepThrough');
    const from = Number.isNaN(this.#lastCandleMs) ? this.#control.sessionStartMs : this.#lastCandleMs + this.#barMs;
    if (lastClosedMs < from) return 0;
    const fresh = await o.loader.loadAllData(o.symbol, o.timeframe, from, lastClosedMs + this.#barMs);
    const firstNew = this.#frame ? this.#frame.length : 0;
    this.#frame = this.#frame ? appendFrame(this.#frame, fresh) : fresh;
    if (firstNew === 0) this.gate.reset(this.#frame);
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
    const fills = await this.venue.onClosedBar(bar, fundingRate);
    const funding: StoredFunding[] = (this.venue.settledFunding?.() ?? []).map((f) => ({ ...f, symbol: o.symbol }));
    this.#fundingCount += funding.length;
    if (fills.length > 0) this.#crash('after-fill', live);
    let account = await this.venue.account(close);
    this.#stepNowMs = live ? (o.clock?.() ?? closeMs) : (this.#recorded?.decidedAt.get(t) ?? closeMs);
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
    const orders = this.gate.onBar(this.#context(frame, i, account));
    const decision = this.gate.lastDecision;
    const riskEvents = this.gate.events.splice(0).map((e) => ({ timeMs: e.timeMs, kind: e.kind, message: e.message }));
    this.#crash('after-decide', live);
    const sent = orders.map((order) => ({ clientOrderId: clientOrderId(o.bot, intentOf(order), o.symbol, t), intent: intentOf(order), order }));
    await this.venue.submit(sent, close, t);
    this.#crash('after-send', live);
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
    const changed: StoredOrder[] = [];
    for (const state of this.venue.changedOrders()) {
      const stored = this.#orders.get(state.clientOrderId);
      if (!stored) continue;
      stored.status = state.status;
      if (!changed.includes(stored)) changed.push(stored);
    }
    account = await this.venue.account(close);
    const stops = await this.venue.openStops();
    const storedFills: StoredFill[] = fills.map((f) => ({ ...f, symbol: o.symbol }));
    const step = {
      candleTimeMs: t,
      decision: decision && { symbol: o.symbol, candleTimeMs: t, ...decision, detail: { nowMs: this.#stepNowMs } },
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
    this.#crash('after-persist', live);
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
      pendingOrders: this.venue.pendingOrders(),
      cancel: (tag: string) => this.venue.cancel(tag),
      value(column: string, barsAgo = 0): number {
        if (barsAgo < 0) throw new OitraderError(`strategy ${strategyName} asked for ${column} ${-barsAgo} bars in the future`);
        const i = index - barsAgo;
        return i < 0 ? Number.NaN : frame.column(column)[i];
      },
    };
  }

  async #decisionTimes(): Promise<Map<number, number>> {
    const rows = await this.#o.store.sql.query<{ t: number; now_ms: number | null }>(
      `SELECT (extract(epoch FROM candle_time) * 1000)::float8 AS t, (detail->>'nowMs')::float8 AS now_ms FROM bot_decisions WHERE bot = $1`,
      [this.#o.bot],
    );
    return new Map(rows.filter((r) => r.now_ms !== null).map((r) => [Number(r.t), Number(r.now_ms)]));
  }

  /** Differences between the replayed venue and the stored record (orders, fills, position). */
  async #compare(stored: StoredOrder[]): Promise<string[]> {
    const o = this.#o;
    const out: string[] = [];
    const replayed = new Map(this.#orders);
    for (const s of stored) {
      const r = replayed.get(s.clientOrderId);
      if (!r) out.push(`order ${s.clientOrderId} (${s.intent} ${s.side} ${s.qtyBase}) is stored but the replay did not send it`);
      else if (r.status !== s.status) out.push(`order ${s.clientOrderId}: stored ${s.status}, venue ${r.status}`);
      replayed.delete(s.clientOrderId);
    }
    for (const r of replayed.values()) out.push(`order ${r.clientOrderId} (${r.intent} ${r.side} ${r.qtyBase}) was sent but never stored`);
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

  #crash(point: CrashPoint, live: boolean): void {
    const c = this.#o.crashAt;
    if (!live || !c || c.point !== point) return;
    if (++this.#crashCount === c.count) process.kill(process.pid, 'SIGKILL');
  }
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
