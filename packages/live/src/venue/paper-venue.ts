import { advanceBar, bundledInstruments, SimulatedExchange, type Bar, type BarFeed, type ExecutionConfig, type InstrumentProvider, type OrderRequest } from '@oitrader/trading';
import type { OrderState, Venue, VenueAccount, VenueFill, VenueFunding, VenueOrder } from './venue.ts';

export interface PaperVenueOptions extends Partial<ExecutionConfig> {
  /** Prefix of the deterministic fill ids. */
  bot: string;
  barMs: number;
  /** Funding settles at multiples of this (Binance: 8 h). */
  fundingIntervalMs?: number;
  instruments?: InstrumentProvider;
}

interface PaperBook {
  feed: BarFeed;
  /** Pending order objects (as the exchange normalised them) → client id. */
  pending: Map<OrderRequest, VenueOrder>;
}

/**
 * Paper trading: the bot's orders fill by the one execution model — one
 * SimulatedExchange, one wallet, a market per symbol — bar by bar, exactly as
 * the backtester fills them: market orders at the next bar's open, stops and
 * liquidation along the adverse path of the bar, funding at its settlement
 * times. So paper and a backtest of the same decisions make the same trades.
 */
export class PaperVenue implements Venue {
  readonly kind = 'paper' as const;
  readonly exchange: SimulatedExchange;
  readonly #bot: string;
  readonly #fundingIntervalMs: number;
  readonly #fundingsPerBar: number;
  readonly #books = new Map<string, PaperBook>();
  readonly #states = new Map<string, OrderState>();
  #changed: OrderState[] = [];
  #fillsSeen = 0;
  #funding: VenueFunding[] = [];

  constructor(options: PaperVenueOptions) {
    const { bot, barMs, fundingIntervalMs, instruments, ...execution } = options;
    this.exchange = new SimulatedExchange(execution, instruments ?? bundledInstruments());
    this.#bot = bot;
    this.#fundingIntervalMs = fundingIntervalMs ?? 8 * 3_600_000;
    this.#fundingsPerBar = Math.max(1, Math.floor(barMs / this.#fundingIntervalMs));
  }

  #book(symbol: string): PaperBook {
    let book = this.#books.get(symbol);
    if (!book) {
      const one = () => new Float64Array(1);
      book = { feed: { time: one(), open: one(), high: one(), low: one(), close: one(), funding: one(), fundingIntervalMs: this.#fundingIntervalMs, fundingsPerBar: this.#fundingsPerBar }, pending: new Map() };
      this.#books.set(symbol, book);
    }
    return book;
  }

  async onClosedBar(symbol: string, bar: Bar, fundingRate: number): Promise<VenueFill[]> {
    const market = this.exchange.market(symbol);
    const book = this.#book(symbol);
    const portfolio = this.exchange.portfolio;
    const f = book.feed;
    [f.time[0], f.open[0], f.high[0], f.low[0], f.close[0], f.funding![0]] = [bar.timeMs, bar.open, bar.high, bar.low, bar.close, fundingRate];
    const before = [...book.pending.entries()];
    const [paidBefore, heldQty] = [market.position.fundingPaidUsd, market.position.qtyBase];
    // The backtester's own bar step: funding for the position carried in, then fills, stops and liquidation.
    advanceBar(market, f, 0);
    // advanceBar settles at the bar's open, on the position carried in; a bar longer than the
    // funding interval settles several times at once and is recorded as one row.
    const paidUsd = market.position.fundingPaidUsd - paidBefore;
    if (paidUsd !== 0) this.#funding.push({ symbol, timeMs: bar.timeMs, rate: fundingRate, markPriceUsd: bar.open, qtyBase: heldQty, incomeUsd: -paidUsd });
    const fresh = portfolio.fills.slice(this.#fillsSeen);
    const fills: VenueFill[] = fresh.map((x, i) => ({
      fillId: `${this.#bot}-f${this.#fillsSeen + i}`,
      symbol,
      clientOrderId: undefined,
      timeMs: x.timeMs,
      side: x.side,
      qtyBase: x.qtyBase,
      priceUsd: x.priceUsd,
      feeUsd: x.feeUsd,
      liquidity: x.liquidity,
      reason: x.reason,
    }));
    this.#fillsSeen = portfolio.fills.length;
    // Attribute fills to the orders that left the book: market orders in the order sent, stops by side.
    const still = new Set(market.pendingOrders);
    const unclaimed = fills.map((x, i) => ({ fill: x, model: fresh[i] }));
    for (const [object, sent] of before) {
      if (still.has(object)) continue;
      book.pending.delete(object);
      const market = object.type === 'market' || object.type === 'limit';
      const k = unclaimed.findIndex((u) => (market ? u.model.reason !== 'stop' && u.model.reason !== 'target' && u.model.reason !== 'liquidation' : u.model.reason === (object.type === 'stop' ? 'stop' : 'target')) && u.fill.side === object.side);
      if (k >= 0) {
        unclaimed[k].fill.clientOrderId = sent.clientOrderId;
        unclaimed.splice(k, 1);
        this.#set({ clientOrderId: sent.clientOrderId, status: 'FILLED' });
      } else {
        this.#set({ clientOrderId: sent.clientOrderId, status: object.reduceOnly && object.type !== 'market' ? 'CANCELED' : 'REJECTED' });
      }
    }
    return fills;
  }

  async account(): Promise<VenueAccount> {
    const p = this.exchange.portfolio;
    return {
      equityUsd: p.equityUsd(),
      walletUsd: p.walletUsd,
      availableUsd: p.availableUsd(),
      positions: p.positions.map((x) => ({ symbol: x.symbol, qtyBase: x.qtyBase, entryPriceUsd: x.entryPriceUsd, liquidationPriceUsd: x.liquidationPriceUsd, marginUsd: x.marginUsd, markPriceUsd: x.markUsd })),
    };
  }

  async submit(symbol: string, orders: VenueOrder[], referencePriceUsd: number, timeMs: number): Promise<OrderState[]> {
    const market = this.exchange.market(symbol);
    const book = this.#book(symbol);
    return orders.map((sent) => {
      const existing = this.#states.get(sent.clientOrderId);
      if (existing) return existing; // the same decision again: never a second order
      const accepted = market.submit(timeMs, sent.order, referencePriceUsd);
      if (accepted) book.pending.set(market.pendingOrders[market.pendingOrders.length - 1], sent);
      const reason = accepted ? undefined : this.exchange.rejections[this.exchange.rejections.length - 1]?.reason;
      return this.#set({ clientOrderId: sent.clientOrderId, status: accepted ? 'NEW' : 'REJECTED', reason });
    });
  }

  async cancel(symbol: string, tag: string): Promise<number> {
    const market = this.exchange.market(symbol);
    const book = this.#book(symbol);
    for (const o of market.pendingOrders.filter((x) => x.tag === tag)) {
      const sent = book.pending.get(o);
      book.pending.delete(o);
      if (sent) this.#set({ clientOrderId: sent.clientOrderId, status: 'CANCELED' });
    }
    return market.cancel(tag);
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

  async findOrder(_symbol: string, clientOrderId: string): Promise<OrderState | undefined> {
    return this.#states.get(clientOrderId);
  }

  async openStops(symbol: string): Promise<Array<{ clientOrderId: string; triggerUsd: number; side: 'buy' | 'sell' }>> {
    return [...this.#book(symbol).pending.entries()]
      .filter(([o]) => o.type === 'stop')
      .map(([o, sent]) => ({ clientOrderId: sent.clientOrderId, triggerUsd: o.triggerUsd!, side: o.side }));
  }

  #set(state: OrderState): OrderState {
    this.#states.set(state.clientOrderId, state);
    this.#changed.push(state);
    return state;
  }
}
