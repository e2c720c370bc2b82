import {
  BinanceOrderError,
  OrderNotPlacedError,
  parseClientId,
  UnknownOutcomeError,
  type AlgoOrder,
  type Order,
  type OrderIntent,
  type UsdmTradingApi,
} from '@oitrader/binance';
import { roundToStep, type Bar } from '@oitrader/trading';
import { silentLogger, type Logger } from '@oitrader/core';
import { clientOrderId } from '../bot/client-id.ts';
import { reconcileWithExchange } from './reconcile.ts';
import type { OrderState, ProtectionInput, RecoveredOrder, ResumeInput, ResumeReport, Venue, VenueAccount, VenueFill, VenueFunding, VenueOrder } from './venue.ts';

export interface ExchangeVenueOptions {
  client: UsdmTradingApi;
  bot: string;
  /** Every symbol the bot trades on this account. */
  symbols: readonly string[];
  /** The fee estimate of a fill whose trades cannot be read (GET /fapi/v1/userTrades failed, or a fee paid in BNB). */
  takerFeeRate: number;
  log?: Logger;
  /** Test hook of the SIGKILL tests: called between an entry's fill and the placing of its stop. */
  afterEntryFill?: () => void;
  /** Told every refusal the exchange gave (the instrument provider re-reads rules a refusal says changed). */
  onRefusal?: (error: unknown) => void;
  /**
   * How long a MARKET order acknowledged NEW is watched for its fill before the step goes on (default 3 s).
   * An entry still unfilled then rests: its stop is placed when it fills, and at the next candle it is
   * cancelled (and the cancel confirmed) before anything is decided. A function is asked at each order (a
   * stepped simulator's market stands still while the bot decides: nothing can fill by waiting there).
   */
  fillWaitMs?: number | (() => number);
  /**
   * An entry still unfilled this long after the candle it was decided on (ms; candle time, not wall time) is
   * cancelled before the next decision. Until then it blocks new entries on the symbol. Default: one candle
   * (cancelled at the next candle: a MARKET order not filled by then was decided on an old price).
   */
  unfilledEntryTimeoutMs?: number;
  /** Waits between fill look-ups (tests inject an instant one). */
  sleep?: (ms: number) => Promise<void>;
}

/** A regular order acknowledged but not (wholly) filled: watched until it ends. */
interface RestingOrder {
  clientOrderId: string;
  symbol: string;
  side: 'buy' | 'sell';
  /** Opens or adds to a position (an entry or scale-in), as opposed to a reduce-only exit. */
  opening: boolean;
  unfilledQtyBase: number;
  /** Open time of the candle it was decided on. */
  candleTimeMs: number;
  /** Stops and targets sent with an entry that had not filled yet: placed when any of it fills. */
  deferred: VenueOrder[];
}

interface RestingStop {
  clientAlgoId: string;
  symbol: string;
  side: 'buy' | 'sell';
  triggerUsd: number;
  type: 'stop' | 'take_profit';
  tag: string | undefined;
}

const SIDE = { buy: 'BUY', sell: 'SELL' } as const;
const side = (s: string): 'buy' | 'sell' => (s === 'BUY' ? 'buy' : 'sell');
const isOpen = (status: string) => status === 'NEW' || status === 'PARTIALLY_FILLED';
const HOUR_MS = 3_600_000;
/** Start of the UTC hour holding `ms`. */
const hourOf = (ms: number) => ms - (ms % HOUR_MS);

/**
 * Orders through the signed USDⓈ-M trading client (sim, demo or live: the same
 * wire), for every symbol the bot trades on one account. An entry is a MARKET order; its stop goes on right after the fill as
 * an Algo Order API STOP_MARKET with closePosition (Binance refuses conditional
 * types on /fapi/v1/order since 2025-12-09); if the stop cannot be placed the
 * position is closed at once. Every order is first looked up by its client id,
 * so a step re-run after a crash never sends it twice; an unknown outcome is
 * left to the next step's lookup, never re-sent blind.
 */
export class ExchangeVenue implements Venue {
  readonly kind = 'exchange' as const;
  readonly #o: ExchangeVenueOptions;
  readonly #log: Logger;
  readonly #stops = new Map<string, RestingStop>();
  #changed: OrderState[] = [];
  #fills: VenueFill[] = [];
  /** Fills whose price and fee still come from the order's trades: the slice of the order's executed quantity each covers. */
  readonly #fromTrades = new Map<VenueFill, { orderId: number; fromQty: number; toQty: number }>();
  /** The newest funding settlement already reported, per symbol (GET /fapi/v1/income is read from just after it). */
  readonly #fundingSeenMs = new Map<string, number>();
  #funding: VenueFunding[] = [];
  readonly #unknown = new Set<string>();
  readonly #resting = new Map<string, RestingOrder>();
  /** Executed quantity and notional already recorded, per exchange order id: a partly filled order records each part once. */
  readonly #recorded = new Map<number, { qtyBase: number; notionalUsd: number }>();

  constructor(options: ExchangeVenueOptions) {
    this.#o = options;
    this.#log = options.log ?? silentLogger;
  }

  /** Collects the fills of the symbol's stops and targets that triggered since the previous candle. */
  async onClosedBar(symbol: string, bar: Bar, fundingRate: number): Promise<VenueFill[]> {
    const { client } = this.#o;
    await this.#resolveUnknown(symbol);
    await this.#settleResting(symbol, bar.timeMs);
    let closed = false;
    for (const stop of [...this.#stops.values()]) {
      if (stop.symbol !== symbol) continue;
      const algo = await client.queryAlgoOrder({ clientAlgoId: stop.clientAlgoId });
      if (algo === undefined) continue;
      const status = await this.#settleAlgo(algo);
      if (status === 'NEW') continue;
      this.#set({ clientOrderId: stop.clientAlgoId, status });
      if (status === 'FILLED') closed = true;
    }
    // A stop or target fired: its siblings (the target, or a stop) must not stay to close a later position.
    if (closed) await this.#cancelStopsIfFlat(symbol);
    await this.#settleFromTrades();
    await this.#readFunding(symbol, bar, fundingRate);
    return this.#takeSettled((f) => f.symbol === symbol);
  }

  /** Funding settlements read from the exchange's income history since the previous call. */
  settledFunding(): VenueFunding[] {
    const out = this.#funding;
    this.#funding = [];
    return out;
  }

  async account(): Promise<VenueAccount> {
    const { client, symbols } = this.#o;
    const [account, positions] = await Promise.all([client.account(), symbols.length === 1 ? client.positions(symbols[0]) : client.positions()]);
    return {
      equityUsd: account.totalMarginBalanceUsd,
      walletUsd: account.totalWalletBalanceUsd,
      availableUsd: account.availableBalanceUsd,
      positions: symbols.map((symbol) => {
        const p = positions.find((x) => x.symbol === symbol);
        return {
          symbol,
          qtyBase: p?.qtyBase ?? 0,
          entryPriceUsd: p?.entryPriceUsd ?? 0,
          liquidationPriceUsd: p && p.qtyBase !== 0 ? p.liquidationPriceUsd : Number.NaN,
          marginUsd: p?.isolatedMarginUsd ?? 0,
          markPriceUsd: p?.markPriceUsd ?? Number.NaN,
          ...this.#restingEntry(symbol),
        };
      }),
    };
  }

  async submit(symbol: string, orders: VenueOrder[], _referencePriceUsd: number, timeMs: number): Promise<OrderState[]> {
    const out: OrderState[] = [];
    const entry = (i: number) => orders.slice(0, i).findIndex((o) => o.intent === 'entry');
    for (const [i, sent] of orders.entries()) {
      const conditional = sent.order.type === 'stop' || sent.order.type === 'take_profit';
      // A stop or target for an entry that did not fill would rest on a flat book and close a later position.
      const e = conditional ? entry(i) : -1;
      if (e >= 0 && (out[e].status === 'REJECTED' || out[e].status === 'CANCELED' || out[e].status === 'EXPIRED')) {
        out.push(this.#set({ clientOrderId: sent.clientOrderId, status: 'CANCELED', reason: 'its entry did not fill' }));
        continue;
      }
      // Acknowledged but nothing filled yet: a closePosition stop now would rest on a flat book; it goes on at the fill.
      const resting = e >= 0 && out[e].status === 'NEW' ? this.#resting.get(orders[e].clientOrderId) : undefined;
      if (resting) {
        resting.deferred.push(sent);
        out.push(this.#set({ clientOrderId: sent.clientOrderId, status: 'PENDING', reason: 'placed when its entry fills' }));
        continue;
      }
      if (sent.intent === 'stop' && out.some((state) => state.status === 'FILLED')) this.#o.afterEntryFill?.();
      out.push(conditional ? await this.#placeConditional(symbol, sent, timeMs) : await this.#placeRegular(symbol, sent, timeMs));
    }
    await this.#settleFromTrades();
    return out;
  }

  /** The fills of the last submit, priced; a fill whose price the exchange has not told yet stays until it has. */
  takeFills(): VenueFill[] {
    return this.#takeSettled(() => true);
  }

  /** Removes and returns the priced fills `which` selects; an unpriced one stays for a later step. */
  #takeSettled(which: (f: VenueFill) => boolean): VenueFill[] {
    const taken = this.#fills.filter((f) => which(f) && this.#settled(f));
    this.#fills = this.#fills.filter((f) => !taken.includes(f));
    return taken;
  }

  #settled(f: VenueFill): boolean {
    return Number.isFinite(f.priceUsd) && f.priceUsd > 0;
  }

  /** The configured taker rate's fee: the fallback when the trades do not tell the commission in USDT. */
  #estimatedFee(f: VenueFill): number {
    return f.qtyBase * f.priceUsd * this.#o.takerFeeRate;
  }

  /**
   * Each fill's price and fee from the order's own trades (GET /fapi/v1/userTrades): the commission the
   * exchange charged, not the configured rate; the price it traded at, also when the order answer carried
   * no average price (Binance's 2026 SDKs dropped avgPrice from the place/cancel answers: never stored as 0).
   */
  async #settleFromTrades(): Promise<void> {
    const byOrder = new Map<number, Awaited<ReturnType<UsdmTradingApi['userTrades']>> | undefined>();
    for (const [fill, part] of this.#fromTrades) {
      if (!byOrder.has(part.orderId)) {
        byOrder.set(
          part.orderId,
          await this.#o.client.userTrades(fill.symbol, { orderId: part.orderId }).catch((error: Error) => {
            this.#log.warn(`trades of order ${part.orderId} (${fill.symbol}) could not be read (${error.message}): ${this.#settled(fill) ? 'the fee is estimated at the taker rate' : 'its fill waits for the next step'}`);
            return undefined;
          }),
        );
      }
      const trades = [...(byOrder.get(part.orderId) ?? [])].sort((a, b) => a.tradeId - b.tradeId);
      // The slice (fromQty, toQty] of the order's executed quantity is this fill; each trade covers its own slice.
      let cum = 0;
      let qty = 0;
      let quote = 0;
      let fee = 0;
      let feeInUsdt = true;
      for (const t of trades) {
        const lo = Math.max(cum, part.fromQty);
        const hi = Math.min(cum + t.qtyBase, part.toQty);
        cum += t.qtyBase;
        if (hi <= lo) continue;
        const share = (hi - lo) / t.qtyBase;
        qty += hi - lo;
        quote += (hi - lo) * t.priceUsd;
        fee += share * t.commission;
        if (t.commissionAsset !== 'USDT') feeInUsdt = false;
      }
      if (qty + 1e-9 < fill.qtyBase) {
        // Trades not (yet) readable: a priced fill keeps its estimated fee; an unpriced one waits for the next step.
        if (this.#settled(fill)) {
          fill.feeUsd = Number.isFinite(fill.feeUsd) ? fill.feeUsd : this.#estimatedFee(fill);
          this.#fromTrades.delete(fill);
        }
        continue;
      }
      fill.priceUsd = quote / qty;
      if (feeInUsdt) fill.feeUsd = fee;
      else {
        this.#log.warn(`order ${part.orderId}: the commission was paid in ${trades.find((t) => t.commissionAsset !== 'USDT')?.commissionAsset}; the fee is recorded at the taker rate`);
        fill.feeUsd = this.#estimatedFee(fill);
      }
      this.#fromTrades.delete(fill);
    }
  }

  /**
   * The symbol's funding settlements since the last one seen, from the income history (FUNDING_FEE):
   * what the exchange really credited or debited. Read once an hour of candles (funding settles on the
   * hour, every 1, 4 or 8 hours by symbol), and at the first candle.
   */
  async #readFunding(symbol: string, bar: Bar, fundingRate: number): Promise<void> {
    const seen = this.#fundingSeenMs.get(symbol);
    if (seen !== undefined && hourOf(bar.timeMs) === hourOf(seen)) return;
    const since = seen ?? bar.timeMs - 8 * HOUR_MS;
    let rows;
    try {
      rows = await this.#o.client.income({ symbol, incomeType: 'FUNDING_FEE', startTimeMs: since + 1, limit: 1000 });
    } catch (error) {
      this.#log.warn(`funding of ${symbol} could not be read (${(error as Error).message}): it shows in equity now and is read at the next hour`);
      return;
    }
    const settlements = rows.filter((r) => r.symbol === symbol && r.incomeType === 'FUNDING_FEE' && r.timeMs > since);
    // The position that paid: read only when there is a settlement to record.
    const position = settlements.length > 0 ? (await this.#o.client.positions(symbol)).find((p) => p.symbol === symbol) : undefined;
    for (const r of settlements) {
      // Binance stamps a settlement a few ms past the hour; the row belongs to the hour.
      this.#funding.push({ symbol, timeMs: hourOf(r.timeMs), rate: Number.isFinite(fundingRate) ? fundingRate : 0, markPriceUsd: position?.markPriceUsd ?? bar.open, qtyBase: position?.qtyBase ?? 0, incomeUsd: r.income });
    }
    this.#fundingSeenMs.set(symbol, Math.max(since, bar.timeMs, ...settlements.map((r) => r.timeMs)));
  }

  changedOrders(): OrderState[] {
    const out = this.#changed;
    this.#changed = [];
    return out;
  }

  async findOrder(symbol: string, id: string): Promise<OrderState | undefined> {
    const { client } = this.#o;
    const order = await client.queryOrder(symbol, { clientOrderId: id });
    if (order) return { clientOrderId: id, status: order.status };
    const algo = await client.queryAlgoOrder({ clientAlgoId: id });
    return algo ? { clientOrderId: id, status: algo.algoStatus } : undefined;
  }

  /**
   * Cancels the symbol's resting conditional orders of a kind, and waits for the exchange to confirm: the risk
   * engine replaces a position's stop this way (tag `stop`: every resting stop of the symbol, adopted ones too —
   * Binance keeps one closePosition stop per side), so the old one is gone before the new one is placed.
   */
  async cancel(symbol: string, tag: string): Promise<number> {
    const matching = [...this.#stops.values()].filter((s) => s.symbol === symbol && (s.tag === tag || (tag === 'stop' && s.type === 'stop')));
    for (const s of matching) {
      await this.#o.client.cancelAlgoOrder({ clientAlgoId: s.clientAlgoId });
      this.#stops.delete(s.clientAlgoId);
      this.#set({ clientOrderId: s.clientAlgoId, status: 'CANCELED' });
    }
    return matching.length;
  }

  async openStops(symbol: string): Promise<Array<{ clientOrderId: string; triggerUsd: number; side: 'buy' | 'sell' }>> {
    return [...this.#stops.values()].filter((s) => s.symbol === symbol && s.type === 'stop').map((s) => ({ clientOrderId: s.clientAlgoId, triggerUsd: s.triggerUsd, side: s.side }));
  }

  async resume(input: ResumeInput): Promise<ResumeReport> {
    const { client } = this.#o;
    const recovered: RecoveredOrder[] = [];
    const traded = new Set(input.instruments.map((i) => i.symbol));
    for (const id of input.clientOrderIds) {
      const parts = parseClientId(id);
      if (!parts || !traded.has(parts.symbol)) continue;
      if (parts.intent === 'stop' || parts.intent === 'target') {
        const algo = await client.queryAlgoOrder({ clientAlgoId: id });
        if (!algo) {
          // A stop the record holds PENDING (its entry had not filled) was never sent; the protection check covers the position now.
          if (parts.candleTimeMs < input.candleTimeMs) recovered.push(this.#set({ clientOrderId: id, status: 'CANCELED', reason: 'never placed: its entry had not filled before the restart', intent: parts.intent, side: 'sell', type: parts.intent === 'stop' ? 'stop' : 'take_profit', qtyBase: 0, reduceOnly: true }));
          continue;
        }
        const status = await this.#settleAlgo(algo);
        recovered.push(this.#set({ clientOrderId: id, status, intent: parts.intent, side: side(algo.side), type: parts.intent === 'stop' ? 'stop' : 'take_profit', qtyBase: algo.qtyBase, triggerUsd: algo.triggerPriceUsd, reduceOnly: true, exchangeOrderId: String(algo.algoId) }));
      } else {
        const order = await client.queryOrder(parts.symbol, { clientOrderId: id });
        if (!order) continue;
        if (order.executedQtyBase > 0) this.#fill(order, id, 'signal');
        if (isOpen(order.status)) this.#rest(order, id, !order.reduceOnly, parts.candleTimeMs);
        recovered.push(this.#set({ clientOrderId: id, status: order.status, intent: parts.intent, side: side(order.side), type: order.type === 'LIMIT' ? 'limit' : 'market', qtyBase: order.origQtyBase, reduceOnly: order.reduceOnly, exchangeOrderId: String(order.orderId) }));
      }
    }
    const differences: string[] = [];
    for (const instrument of input.instruments) {
      const { symbol } = instrument;
      // The record's position plus the fills it never stored (found above) is what the bot should hold.
      const unstored = this.#fills.filter((f) => f.symbol === symbol).reduce((q, f) => q + (f.side === 'buy' ? f.qtyBase : -f.qtyBase), 0);
      const stored = unstored === 0 ? instrument.stored : { symbol, entryPriceUsd: 0, liquidationPriceUsd: Number.NaN, stopUsd: undefined, ...instrument.stored, qtyBase: Math.round(((instrument.stored?.qtyBase ?? 0) + unstored) * 1e8) / 1e8 };
      const report = await reconcileWithExchange({ client, bot: this.#o.bot, symbol, stored, onUnknownPosition: input.onUnknownPosition, onForeignOrders: input.onForeignOrders ?? 'refuse', stopLoss: input.stopLoss, tickSize: instrument.tickSize, candleTimeMs: input.candleTimeMs, log: this.#log });
      differences.push(...report.differences);
      if (report.closedWith && report.closedWith.executedQtyBase > 0) this.#fill(report.closedWith, report.closedWith.clientOrderId, 'reconcile');
      if (report.qtyBase === 0) {
        // Reconciliation cancelled every conditional order left on a flat book.
        for (const [id, stop] of this.#stops) if (stop.symbol === symbol) this.#set({ clientOrderId: id, status: 'CANCELED' });
        for (const [id, stop] of [...this.#stops]) if (stop.symbol === symbol) this.#stops.delete(id);
      }
      for (const stop of report.stops) {
        if (this.#stops.has(stop.clientAlgoId)) continue;
        this.adoptStop(stop);
        const parts = parseClientId(stop.clientAlgoId);
        if (parts) recovered.push(this.#set({ clientOrderId: stop.clientAlgoId, status: 'NEW', intent: 'stop', side: side(stop.side), type: 'stop', qtyBase: stop.qtyBase, triggerUsd: stop.triggerPriceUsd, reduceOnly: true, exchangeOrderId: String(stop.algoId) }));
      }
    }
    return { recovered, differences };
  }

  /**
   * The rule "every open position has an exchange-side stop", checked at every
   * step and not only when an entry fills: a stop whose placement had an
   * unknown outcome, one the exchange cancelled or expired, or a refused one
   * whose emergency close failed all end here. Looks for a resting stop on
   * the closing side; else places one (`trading.stop_loss` from the entry,
   * or the last known trigger when it still protects); if that is refused,
   * closes the position; if the close fails too, says so loudly and tries
   * again at the next step.
   */
  async ensureProtected(input: ProtectionInput): Promise<void> {
    const { client } = this.#o;
    const { symbol } = input;
    const closing = input.qtyBase > 0 ? 'sell' : 'buy';
    if (input.qtyBase === 0 || [...this.#stops.values()].some((s) => s.symbol === symbol && s.type === 'stop' && s.side === closing)) return;
    const resting = (await client.openAlgoOrders(symbol)).find((a) => a.orderType === 'STOP_MARKET' && side(a.side) === closing && (a.closePosition || a.qtyBase >= Math.abs(input.qtyBase)));
    if (resting) {
      this.adoptStop(resting);
      return;
    }
    const usable = input.lastStopUsd !== undefined && (input.qtyBase > 0 ? input.lastStopUsd < input.entryPriceUsd : input.lastStopUsd > input.entryPriceUsd);
    const trigger = usable ? input.lastStopUsd! : roundToStep(input.entryPriceUsd * (1 - Math.sign(input.qtyBase) * input.stopLoss), input.tickSize, 'nearest');
    const id = clientOrderId(this.#o.bot, 'stop', symbol, input.candleTimeMs, 3);
    this.#log.error(`the ${input.qtyBase} ${symbol} position has no stop on the exchange: placing STOP_MARKET closePosition at ${trigger} (${id})`);
    const stop: VenueOrder = { clientOrderId: id, intent: 'stop', order: { type: 'stop', side: closing, qtyBase: Math.abs(input.qtyBase), triggerUsd: trigger, reduceOnly: true } };
    const state = await this.#placeConditional(symbol, stop, input.candleTimeMs);
    this.#recordVenueOrder(stop, state);
    if (state.status === 'UNKNOWN') this.#unknown.add(id);
  }

  /** Looks up an order acknowledged NEW every 250 ms until it fills or `fillWaitMs` has passed. */
  async #awaitFill(symbol: string, order: Order): Promise<Order> {
    const wait = this.#o.fillWaitMs ?? 3000;
    const waitMs = typeof wait === 'function' ? wait() : wait;
    const pause = this.#o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let current = order;
    for (let waited = 0; waited < waitMs && isOpen(current.status); waited += 250) {
      await pause(250);
      current = (await this.#o.client.queryOrder(symbol, { clientOrderId: order.clientOrderId })) ?? current;
    }
    return current;
  }

  #rest(order: Order, id: string, opening: boolean, candleTimeMs: number): void {
    const known = this.#resting.get(id);
    const unfilledQtyBase = Math.max(0, order.origQtyBase - order.executedQtyBase);
    if (known) known.unfilledQtyBase = unfilledQtyBase;
    else this.#resting.set(id, { clientOrderId: id, symbol: order.symbol, side: side(order.side), opening, unfilledQtyBase, candleTimeMs, deferred: [] });
    this.#log.warn(`order ${id} rests ${order.status} with ${unfilledQtyBase} of ${order.origQtyBase} ${order.symbol} unfilled${opening ? ': no new entry on the symbol until it ends' : ''}`);
  }

  /** Unfilled entries resting on the symbol, signed: exposure the position does not show yet. */
  #restingEntry(symbol: string): { restingEntryQtyBase?: number } {
    let qty = 0;
    for (const r of this.#resting.values()) if (r.symbol === symbol && r.opening) qty += r.side === 'buy' ? r.unfilledQtyBase : -r.unfilledQtyBase;
    return qty === 0 ? {} : { restingEntryQtyBase: Math.round(qty * 1e8) / 1e8 };
  }

  /**
   * Before the symbol's next decision: every regular order that was resting is looked up; what it executed
   * since is recorded; an entry still unfilled past `unfilledEntryTimeoutMs` is cancelled and the cancel
   * confirmed (a MARKET order that did not fill within a candle was decided on an old price); a stop deferred
   * to an entry's fill is placed once any of it filled. An exit still resting stays: it only reduces the position.
   */
  async #settleResting(symbol: string, timeMs: number): Promise<void> {
    const { client } = this.#o;
    for (const r of [...this.#resting.values()]) {
      if (r.symbol !== symbol) continue;
      let order: Order | undefined;
      try {
        order = await client.queryOrder(symbol, { clientOrderId: r.clientOrderId });
        const expired = timeMs - r.candleTimeMs >= (this.#o.unfilledEntryTimeoutMs ?? 1);
        if (order && isOpen(order.status) && r.opening && expired) {
          await client.cancelOrder(symbol, { clientOrderId: r.clientOrderId }).catch((error: unknown) => {
            // -2011: it ended (filled) between the look-up and the cancel; the look-up below says how.
            if (!(error instanceof BinanceOrderError && error.code === -2011)) throw error;
          });
          order = await client.queryOrder(symbol, { clientOrderId: r.clientOrderId });
        }
      } catch (error) {
        this.#log.warn(`resting order ${r.clientOrderId}: ${(error as Error).message}; it still counts as exposure, asked again at the next candle`);
        continue;
      }
      if (!order) {
        this.#resting.delete(r.clientOrderId);
        this.#set({ clientOrderId: r.clientOrderId, status: 'REJECTED', reason: 'the exchange no longer knows it' });
        continue;
      }
      if (order.executedQtyBase > 0) this.#fill(order, r.clientOrderId, 'signal');
      if (isOpen(order.status)) {
        r.unfilledQtyBase = Math.max(0, order.origQtyBase - order.executedQtyBase);
      } else {
        this.#resting.delete(r.clientOrderId);
        this.#set({ clientOrderId: r.clientOrderId, status: order.status, ...(order.status === 'CANCELED' && r.opening && { reason: 'not filled within a candle: cancelled before the next decision' }) });
      }
      const deferred = order.executedQtyBase > 0 || !isOpen(order.status) ? r.deferred.splice(0) : [];
      for (const sent of deferred) {
        if (order.executedQtyBase > 0) this.#set(await this.#placeConditional(symbol, sent, timeMs));
        else this.#set({ clientOrderId: sent.clientOrderId, status: 'CANCELED', reason: 'its entry did not fill' });
      }
    }
  }

  /** The symbol's orders whose outcome was unknown: looked up at every step until the exchange answers. */
  async #resolveUnknown(symbol: string): Promise<void> {
    const { client } = this.#o;
    for (const id of [...this.#unknown]) {
      const parts = parseClientId(id);
      if (parts?.symbol !== symbol) continue;
      try {
        if (parts?.intent === 'stop' || parts?.intent === 'target') {
          const algo = await client.queryAlgoOrder({ clientAlgoId: id });
          this.#set({ clientOrderId: id, status: algo ? await this.#settleAlgo(algo) : 'REJECTED', reason: algo ? undefined : 'never reached the exchange' });
        } else {
          const order = await client.queryOrder(symbol, { clientOrderId: id });
          if (order && order.executedQtyBase > 0) this.#fill(order, id, 'signal');
          this.#set({ clientOrderId: id, status: order ? order.status : 'REJECTED', reason: order ? undefined : 'never reached the exchange' });
        }
        this.#unknown.delete(id);
      } catch (error) {
        this.#log.warn(`order ${id}: outcome still unknown (${(error as Error).message}); asking again at the next candle`);
      }
    }
  }

  /**
   * A conditional order as the exchange has it now, in the bot's words: NEW
   * (resting: tracked), FILLED (triggered: the fill of the market order it
   * became is recorded), CANCELED or REJECTED (no longer tracked). One reading
   * for the per-candle check, the start-up look-ups, unknown outcomes and an
   * order found again by its client id.
   */
  async #settleAlgo(algo: AlgoOrder, tag = this.#stops.get(algo.clientAlgoId)?.tag): Promise<'NEW' | 'FILLED' | 'CANCELED' | 'REJECTED'> {
    if (algo.algoStatus === 'NEW' || algo.algoStatus === 'TRIGGERING') {
      this.adoptStop(algo, tag);
      return 'NEW';
    }
    this.#stops.delete(algo.clientAlgoId);
    if (algo.algoStatus === 'TRIGGERED' || algo.algoStatus === 'FINISHED') {
      const actual = algo.actualOrderId === undefined ? undefined : await this.#o.client.queryOrder(algo.symbol, { orderId: algo.actualOrderId });
      if (actual && actual.executedQtyBase > 0) this.#fill(actual, algo.clientAlgoId, algo.orderType === 'TAKE_PROFIT_MARKET' ? 'target' : 'stop');
      return 'FILLED';
    }
    return algo.algoStatus === 'REJECTED' ? 'REJECTED' : 'CANCELED';
  }

  /** An order the venue placed on its own (protection stop, emergency close): reported with its details so the bot's record has it. */
  #recordVenueOrder(sent: VenueOrder, state: OrderState): void {
    const o = sent.order;
    this.#set({ ...state, intent: sent.intent, side: o.side, type: o.type, qtyBase: o.qtyBase, triggerUsd: o.triggerUsd, reduceOnly: o.reduceOnly === true } satisfies RecoveredOrder);
  }

  /** Starts tracking a stop found on the exchange (reconciliation adopts it). */
  adoptStop(algo: AlgoOrder, tag?: string): void {
    this.#stops.set(algo.clientAlgoId, { clientAlgoId: algo.clientAlgoId, symbol: algo.symbol, side: side(algo.side), triggerUsd: algo.triggerPriceUsd, type: algo.orderType === 'TAKE_PROFIT_MARKET' ? 'take_profit' : 'stop', tag });
  }

  async #placeRegular(symbol: string, sent: VenueOrder, timeMs: number): Promise<OrderState> {
    const { client } = this.#o;
    const o = sent.order;
    try {
      // ensureOrder: known to the exchange already (a re-run step after a crash) → adopted, never sent a second time.
      let order = await client.ensureOrder({ symbol, side: SIDE[o.side], type: o.type === 'limit' ? 'LIMIT' : 'MARKET', qtyBase: o.qtyBase, priceUsd: o.priceUsd, reduceOnly: o.reduceOnly, clientOrderId: sent.clientOrderId });
      if (o.type === 'market' && isOpen(order.status)) order = await this.#awaitFill(symbol, order);
      if (isOpen(order.status)) this.#rest(order, sent.clientOrderId, o.reduceOnly !== true, timeMs);
      if (order.executedQtyBase > 0) this.#fill(order, sent.clientOrderId, 'signal');
      // A position is gone: its stops on the exchange go with it.
      if (o.reduceOnly && order.status === 'FILLED') await this.#cancelStopsIfFlat(symbol);
      return this.#set({ clientOrderId: sent.clientOrderId, status: order.status });
    } catch (error) {
      const state = this.#set(this.#failure(sent.clientOrderId, error));
      if (state.status === 'UNKNOWN') this.#unknown.add(sent.clientOrderId);
      return state;
    }
  }

  async #placeConditional(symbol: string, sent: VenueOrder, timeMs: number): Promise<OrderState> {
    const { client } = this.#o;
    const o = sent.order;
    try {
      const algo = await client.ensureAlgoOrder({
          symbol,
          side: SIDE[o.side],
          type: o.type === 'stop' ? 'STOP_MARKET' : 'TAKE_PROFIT_MARKET',
          triggerPriceUsd: o.triggerUsd!,
          closePosition: true,
          workingType: 'MARK_PRICE',
          priceProtect: true,
          clientAlgoId: sent.clientOrderId,
        });
      // Found from an earlier attempt but no longer resting: settled as it is (the protection check places a fresh stop).
      return this.#set({ clientOrderId: sent.clientOrderId, status: await this.#settleAlgo(algo, o.tag) });
    } catch (error) {
      const state = this.#set(this.#failure(sent.clientOrderId, error));
      if (state.status === 'UNKNOWN') this.#unknown.add(sent.clientOrderId);
      // The rule: a position without an exchange-side stop is closed at once (an unknown one: the protection check decides).
      if (o.type === 'stop' && state.status === 'REJECTED') await this.#emergencyClose(symbol, sent, timeMs, state.reason ?? '');
      return state;
    }
  }

  async #emergencyClose(symbol: string, stop: VenueOrder, timeMs: number, why: string): Promise<void> {
    const { client } = this.#o;
    const [p] = (await client.positions(symbol)).filter((x) => x.symbol === symbol && x.qtyBase !== 0);
    if (!p) return;
    const intent: OrderIntent = 'exit';
    const id = clientOrderId(this.#o.bot, intent, symbol, timeMs, 1);
    this.#log.error(`stop ${stop.clientOrderId} could not be placed (${why}): closing the ${p.qtyBase} ${symbol} position`);
    const close: VenueOrder = { clientOrderId: id, intent, order: { type: 'market', side: p.qtyBase > 0 ? 'sell' : 'buy', qtyBase: Math.abs(p.qtyBase), reduceOnly: true } };
    const state = await this.#placeRegular(symbol, close, timeMs);
    this.#recordVenueOrder(close, state);
    if (state.status !== 'FILLED') this.#log.error(`the emergency close ${id} of an unprotected ${p.qtyBase} ${symbol} position did not fill (${state.status} ${state.reason ?? ''}): the next step tries again`);
  }

  async #cancelStopsIfFlat(symbol: string): Promise<void> {
    const { client } = this.#o;
    const mine = [...this.#stops.values()].filter((s) => s.symbol === symbol);
    if (mine.length === 0) return;
    const flat = (await client.positions(symbol)).every((p) => p.symbol !== symbol || p.qtyBase === 0);
    if (!flat) return;
    await client.cancelAllAlgoOrders(symbol);
    for (const s of mine) {
      this.#set({ clientOrderId: s.clientAlgoId, status: 'CANCELED' });
      this.#stops.delete(s.clientAlgoId);
    }
  }

  #failure(id: string, error: unknown): OrderState {
    if (error instanceof BinanceOrderError || error instanceof OrderNotPlacedError) this.#o.onRefusal?.(error);
    if (error instanceof UnknownOutcomeError) return { clientOrderId: id, status: 'UNKNOWN', reason: error.message };
    if (error instanceof OrderNotPlacedError) return { clientOrderId: id, status: 'REJECTED', reason: error.message };
    if (error instanceof BinanceOrderError) return { clientOrderId: id, status: 'REJECTED', reason: `${error.code} ${error.message}` };
    throw error;
  }

  /**
   * Records what an order executed since it was last recorded, however many look-ups find it: the first part
   * under `<bot>-<orderId>`, later parts of a partly filled order under `<bot>-<orderId>-<executed so far>`,
   * at the price the part itself traded (from the change in the average price).
   */
  #fill(order: Order, id: string, reason: string): void {
    const before = this.#recorded.get(order.orderId) ?? { qtyBase: 0, notionalUsd: 0 };
    const qtyBase = Math.round((order.executedQtyBase - before.qtyBase) * 1e8) / 1e8;
    if (qtyBase <= 0) return;
    const notionalUsd = order.executedQtyBase * order.avgPriceUsd;
    // An answer without an average price (absent or 0) leaves the price to the order's trades.
    const priced = order.avgPriceUsd > 0 && (before.qtyBase === 0 || before.notionalUsd > 0);
    const priceUsd = !priced ? Number.NaN : before.qtyBase === 0 ? order.avgPriceUsd : (notionalUsd - before.notionalUsd) / qtyBase;
    this.#recorded.set(order.orderId, { qtyBase: order.executedQtyBase, notionalUsd: order.avgPriceUsd > 0 ? notionalUsd : 0 });
    const fill: VenueFill = {
      fillId: before.qtyBase === 0 ? `${this.#o.bot}-${order.orderId}` : `${this.#o.bot}-${order.orderId}-${order.executedQtyBase}`,
      symbol: order.symbol,
      clientOrderId: id,
      timeMs: order.updateTimeMs,
      side: side(order.side),
      qtyBase,
      priceUsd,
      feeUsd: priced ? qtyBase * priceUsd * this.#o.takerFeeRate : Number.NaN,
      liquidity: 'taker',
      reason,
    };
    this.#fills.push(fill);
    this.#fromTrades.set(fill, { orderId: order.orderId, fromQty: before.qtyBase, toQty: order.executedQtyBase });
  }

  #set<T extends OrderState>(state: T): T {
    this.#changed.push(state);
    return state;
  }
}
