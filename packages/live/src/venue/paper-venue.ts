import { advanceBar, SimulatedExchange, type Bar, type BarFeed, type ExecutionConfig, type OrderRequest } from '@oitrader/backtest';
import type { OrderState, Venue, VenueAccount, VenueFill, VenueFunding, VenueOrder } from './venue.ts';

export interface PaperVenueOptions extends Partial<Omit<ExecutionConfig, 'symbol'>> {
  symbol: string;
  /** Prefix of the deterministic fill ids. */
  bot: string;
  barMs: number;
  /** Funding settles at multiples of this (Binance: 8 h). */
  fundingIntervalMs?: number;
}

/**
 * Paper trading: the bot's orders fill by the one execution model
 * (SimulatedExchange + IsolatedAccount), bar by bar, exactly as the
 * backtester fills them — market orders at the next bar's open, stops and
 * liquidation along the adverse path of the bar, funding at its settlement
 * times — so paper and backtest of the same decisions make the same trades.
 */
export class PaperVenue implements Venue {
  readonly kind = 'paper' as const;
  readonly exchange: SimulatedExchange;
  readonly #bot: string;
  readonly #feed: BarFeed;
  /** Pending order objects (as the exchange normalised them) → client id. */
  readonly #pending = new Map<OrderRequest, VenueOrder>();
  readonly #states = new Map<string, OrderState>();
  #changed: OrderState[] = [];
  #fillsSeen = 0;
  #funding: VenueFunding[] = [];

  constructor(options: PaperVenueOptions) {
    this.exchange = new SimulatedExchange(options);
    this.#bot = options.bot;
    const fundingIntervalMs = options.fundingIntervalMs ?? 8 * 3_600_000;
    const one = () => new Float64Array(1);
    this.#feed = { time: one(), open: one(), high: one(), low: one(), close: one(), funding: one(), fundingIntervalMs, fundingsPerBar: Math.max(1, Math.floor(options.barMs / fundingIntervalMs)) };
  }

  async onClosedBar(bar: Bar, fundingRate: number): Promise<VenueFill[]> {
    const account = this.exchange.account;
    const f = this.#feed;
    [f.time[0], f.open[0], f.high[0], f.low[0], f.close[0], f.funding![0]] = [bar.timeMs, bar.open, bar.high, bar.low, bar.close, fundingRate];
    const before = [...this.#pending.entries()];
    const [paidBefore, heldQty] = [account.fundingPaidUsd, account.qtyBase];
    // The backtester's own bar step: funding for the position carried in, then fills, stops and liquidation.
    advanceBar(this.exchange, f, 0);
    // advanceBar settles at the bar's open, on the position carried in; a bar longer than the
    // funding interval settles several times at once and is recorded as one row.
    const paidUsd = account.fundingPaidUsd - paidBefore;
    if (paidUsd !== 0) this.#funding.push({ timeMs: bar.timeMs, rate: fundingRate, markPriceUsd: bar.open, qtyBase: heldQty, incomeUsd: -paidUsd });
    const fresh = account.fills.slice(this.#fillsSeen);
    const fills: VenueFill[] = fresh.map((f, i) => ({
      fillId: `${this.#bot}-f${this.#fillsSeen + i}`,
      clientOrderId: undefined,
      timeMs: f.timeMs,
      side: f.side,
      qtyBase: f.qtyBase,
      priceUsd: f.priceUsd,
      feeUsd: f.feeUsd,
      liquidity: f.liquidity,
      reason: f.reason,
    }));
    this.#fillsSeen = account.fills.length;
    // Attribute fills to the orders that left the book: market orders in the order sent, stops by side.
    const still = new Set(this.exchange.pendingOrders);
    const unclaimed = [...fills];
    for (const [object, sent] of before) {
      if (still.has(object)) continue;
      this.#pending.delete(object);
      const reason = object.type === 'market' || object.type === 'limit' ? 'signal' : object.type === 'stop' ? 'stop' : 'target';
      const k = unclaimed.findIndex((f) => f.reason === reason && f.side === object.side);
      if (k >= 0) {
        unclaimed[k].clientOrderId = sent.clientOrderId;
        unclaimed.splice(k, 1);
        this.#set({ clientOrderId: sent.clientOrderId, status: 'FILLED' });
      } else {
        this.#set({ clientOrderId: sent.clientOrderId, status: object.reduceOnly && object.type !== 'market' ? 'CANCELED' : 'REJECTED' });
      }
    }
    return fills;
  }

  async account(markPriceUsd: number): Promise<VenueAccount> {
    const a = this.exchange.account;
    return {
      equityUsd: a.equityUsd(markPriceUsd),
      walletUsd: a.walletUsd,
      availableUsd: a.availableUsd(),
      qtyBase: a.qtyBase,
      entryPriceUsd: a.entryPriceUsd,
      liquidationPriceUsd: a.liquidationPriceUsd,
    };
  }

  async submit(orders: VenueOrder[], referencePriceUsd: number, timeMs: number): Promise<OrderState[]> {
    return orders.map((sent) => {
      const existing = this.#states.get(sent.clientOrderId);
      if (existing) return existing; // the same decision again: never a second order
      const accepted = this.exchange.submit(timeMs, sent.order, referencePriceUsd);
      if (accepted) this.#pending.set(this.exchange.pendingOrders[this.exchange.pendingOrders.length - 1], sent);
      const reason = accepted ? undefined : this.exchange.rejections[this.exchange.rejections.length - 1]?.reason;
      return this.#set({ clientOrderId: sent.clientOrderId, status: accepted ? 'NEW' : 'REJECTED', reason });
    });
  }

  pendingOrders(): readonly OrderRequest[] {
    return this.exchange.pendingOrders;
  }

  cancel(tag: string): number {
    const cancelled = this.exchange.pendingOrders.filter((o) => o.tag === tag);
    for (const o of cancelled) {
      const sent = this.#pending.get(o);
      this.#pending.delete(o);
      if (sent) this.#set({ clientOrderId: sent.clientOrderId, status: 'CANCELED' });
    }
    return this.exchange.cancel(tag);
  }

  changedOrders(): OrderState[] {
    const out = this.#changed;
    this.#changed = [];
    return out;
  }

  settledFunding(): VenueFunding[] {
    const out = this.#funding;
    this.#funding = [];
    return out;
  }

  async findOrder(clientOrderId: string): Promise<OrderState | undefined> {
    return this.#states.get(clientOrderId);
  }

  async openStops(): Promise<Array<{ clientOrderId: string; triggerUsd: number; side: 'buy' | 'sell' }>> {
    return [...this.#pending.entries()]
      .filter(([o]) => o.type === 'stop')
      .map(([o, sent]) => ({ clientOrderId: sent.clientOrderId, triggerUsd: o.triggerUsd!, side: o.side }));
  }

  #set(state: OrderState): OrderState {
    this.#states.set(state.clientOrderId, state);
    this.#changed.push(state);
    return state;
  }
}
