import { bundledInstruments, DEFAULT_EXECUTION, roundToStep, SimulatedExchange, type Fill, type InstrumentMarket, type InstrumentProvider, type SymbolFilters } from '@oitrader/trading';
import type { Kline, WireAccount, WireAccountUpdate, WireAlgoOrder, WireAlgoUpdate, WireOrder, WireOrderTradeUpdate, WirePosition, WireSymbolConfig, WireUserEvent } from '@oitrader/binance';
import { datasetSpan, type ReplayDataset } from '../replay-dataset.ts';
import { SimApiError } from '../rest-routes.ts';

/**
 * The simulator's matching engine. It owns order and algo-order records with
 * Binance's ids and statuses; prices, fees, slippage, funding, margin and
 * liquidation are the backtester's execution model — one SimulatedExchange:
 * one wallet (Portfolio) and one InstrumentMarket per symbol, so margin one
 * position holds is not available to another (-2019), as on Binance:
 * - a MARKET order (or a marketable LIMIT) fills at once at the current price
 *   (the forming candle's open) through the model's taker price;
 * - at each candle close, resting LIMIT orders and untriggered conditional
 *   orders are handed to the model for that candle (`processBar`: the adverse
 *   leg first, a stop that gaps fills at the open); each fill is mapped back to
 *   its order by tag. A triggered algo order becomes a new MARKET order with a
 *   new order id, linked by ALGO_UPDATE `ai`, as on Binance.
 * Candle resolution: an order placed during a candle is matched against that
 * whole candle. Mark price = last price of the replay (no separate mark series).
 */

export interface TradingOptions {
  apiKey: string;
  secret: string;
  initialBalanceUsd?: number;
  /** Binance's default for a new symbol is 20x cross; the bot's start-up checks change both. */
  defaultLeverage?: number;
  /** The instruments it trades (filters and brackets, served on exchangeInfo and leverageBracket); default the bundled snapshot. */
  instruments?: InstrumentProvider;
}

interface OrderRec {
  orderId: number;
  clientOrderId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  type: string;
  origType: string;
  priceUsd: number;
  stopPriceUsd: number;
  qtyBase: number;
  executedQtyBase: number;
  cumQuoteUsd: number;
  status: string;
  reduceOnly: boolean;
  closePosition: boolean;
  timeInForce: string;
  timeMs: number;
  updateTimeMs: number;
}

interface AlgoRec {
  algoId: number;
  clientAlgoId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  orderType: 'STOP_MARKET' | 'TAKE_PROFIT_MARKET';
  triggerPriceUsd: number;
  qtyBase: number;
  closePosition: boolean;
  reduceOnly: boolean;
  priceProtect: boolean;
  workingType: string;
  status: string;
  actualOrderId: number | undefined;
  executedQtyBase: number;
  avgPriceUsd: number;
  failReason: string;
  createTimeMs: number;
  updateTimeMs: number;
  triggerTimeMs: number;
}

interface Book {
  ds: ReplayDataset;
  bars: Kline[];
  filters: SymbolFilters;
  market: InstrumentMarket;
  leverage: number;
  marginType: 'ISOLATED' | 'CROSSED';
  /** Index of the next candle to match. */
  next: number;
}

export interface NewOrderParams {
  symbol: string;
  side: 'BUY' | 'SELL';
  type: string;
  qtyBase: number;
  priceUsd?: number;
  timeInForce?: string;
  reduceOnly: boolean;
  clientOrderId: string;
  positionSide?: string;
}

export interface NewAlgoParams {
  symbol: string;
  side: 'BUY' | 'SELL';
  type: string;
  triggerPriceUsd: number;
  qtyBase?: number;
  closePosition: boolean;
  reduceOnly: boolean;
  priceProtect: boolean;
  workingType: string;
  clientAlgoId: string;
}

/** Open conditional (algo) orders an account may hold across all symbols (Binance, since 2025-12-29). */
export const MAX_OPEN_ALGO_ORDERS = 200;
const OPEN = new Set(['NEW', 'PARTIALLY_FILLED']);
/** Refused on /fapi/v1/order since 2025-12-09 (-4120): they go through the Algo Order API. */
export const CONDITIONAL_TYPES = new Set(['STOP', 'STOP_MARKET', 'TAKE_PROFIT', 'TAKE_PROFIT_MARKET', 'TRAILING_STOP_MARKET']);
export const ALGO_ONLY_MESSAGE = 'Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.';

export class TradingEngine {
  readonly apiKey: string;
  readonly secret: string;
  /** Account modes the start-up checks refuse; tests switch them on. */
  hedgeMode = false;
  multiAssetsMode = false;
  /** Real-time delay before a MARKET order fills (fault "delay fills"); 0 = at once. */
  fillDelayMs = 0;
  /**
   * Market-time delay before a MARKET order fills: it fills when the clock has moved this far past the order
   * (at that time's price, after the candles that closed before it). Unlike `fillDelayMs` it does not depend on
   * how fast anyone steps a stepped clock, and nothing fills while the clock stands still.
   */
  fillDelayMarketMs = 0;
  /** Split the next MARKET fills in two trades (PARTIALLY_FILLED, then FILLED). */
  partialFills = false;
  readonly #books = new Map<string, Book>();
  readonly #orders: OrderRec[] = [];
  readonly #algos: AlgoRec[] = [];
  /** MARKET orders waiting out `fillDelayMarketMs`, in due order. */
  readonly #dueFills: { order: OrderRec; dueMs: number }[] = [];
  readonly #listeners = new Set<(event: WireUserEvent) => void>();
  readonly #exchange: SimulatedExchange;
  readonly instruments: InstrumentProvider;
  #nextOrderId = 8_100_000_001;
  #nextAlgoId = 3_000_001;
  #nextTradeId = 1;
  #nextTranId = 1;
  /** Every trade of the account, as GET /fapi/v1/userTrades answers them. */
  readonly #userTrades: Record<string, unknown>[] = [];
  /** The income history (FUNDING_FEE, COMMISSION, REALIZED_PNL), as GET /fapi/v1/income answers it. */
  readonly #income: Record<string, unknown>[] = [];

  readonly #now: () => number;

  constructor(datasets: Map<string, ReplayDataset>, options: TradingOptions, clock: { now(): number }) {
    this.#now = () => clock.now();
    const nowMs = clock.now();
    this.apiKey = options.apiKey;
    this.secret = options.secret;
    this.instruments = options.instruments ?? bundledInstruments();
    const leverage = options.defaultLeverage ?? 20;
    this.#exchange = new SimulatedExchange({ ...DEFAULT_EXECUTION, initialBalanceUsd: options.initialBalanceUsd ?? 2000, leverage }, this.instruments);
    for (const ds of datasets.values()) {
      // No exchange rules for this symbol: market data only.
      if (!this.instruments.has(ds.symbol)) continue;
      const market = this.#exchange.market(ds.symbol);
      const bars = ds.klines.get(datasetSpan(ds).interval) ?? [];
      const book: Book = { ds, bars, filters: market.instrument, market, leverage, marginType: 'CROSSED', next: 0 };
      book.next = Math.max(0, barIndexAt(bars, nowMs));
      this.#books.set(ds.symbol, book);
    }
  }

  onEvent(listener: (event: WireUserEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  symbols(): string[] {
    return [...this.#books.keys()];
  }

  book(symbol: string): Book {
    const book = this.#books.get(symbol);
    if (!book) throw new SimApiError(400, -1121, 'Invalid symbol.');
    return book;
  }

  /** The price a market order would get now: the forming candle's open (what the replay knows). */
  price(symbol: string, nowMs: number): number {
    const { bars } = this.book(symbol);
    const i = barIndexAt(bars, nowMs);
    if (i < 0) throw new SimApiError(400, -1121, 'Symbol has no price in this replay yet.');
    return bars[Math.min(i, bars.length - 1)].open;
  }

  /** Matches every candle that closed by `nowMs`. */
  advance(nowMs: number): void {
    while (this.#dueFills.length > 0 && this.#dueFills[0].dueMs <= nowMs) {
      const { order, dueMs } = this.#dueFills.shift()!;
      this.#matchBars(dueMs);
      this.#fillNow(order, dueMs);
    }
    this.#matchBars(nowMs);
  }

  #matchBars(nowMs: number): void {
    for (const book of this.#books.values()) {
      while (book.next < book.bars.length && book.bars[book.next].closeTime < nowMs) {
        this.#processBar(book, book.bars[book.next]);
        book.next++;
      }
    }
  }

  // ------------------------------------------------------------------ account

  walletUsd(): number {
    return this.#exchange.portfolio.walletUsd;
  }

  account(nowMs: number): WireAccount {
    let upnl = 0;
    let margin = 0;
    const positions: WireAccount['positions'] = [];
    for (const [symbol, b] of this.#books) {
      const a = b.market.position;
      const u = a.qtyBase === 0 ? 0 : a.unrealisedPnlUsd(this.price(symbol, nowMs));
      upnl += u;
      margin += a.marginUsd;
      positions.push({ symbol, positionSide: 'BOTH', positionAmt: str(a.qtyBase), unrealizedProfit: str(u), isolatedMargin: str(a.marginUsd + u), notional: str(a.qtyBase * this.price(symbol, nowMs)), isolatedWallet: str(a.marginUsd), initialMargin: str(a.marginUsd), maintMargin: '0', updateTime: nowMs });
    }
    const wallet = this.walletUsd();
    const available = wallet - margin;
    return {
      totalInitialMargin: str(margin),
      totalMaintMargin: '0',
      totalWalletBalance: str(wallet),
      totalUnrealizedProfit: str(upnl),
      totalMarginBalance: str(wallet + upnl),
      totalPositionInitialMargin: str(margin),
      totalOpenOrderInitialMargin: '0',
      totalCrossWalletBalance: str(wallet),
      totalCrossUnPnl: '0',
      availableBalance: str(available),
      maxWithdrawAmount: str(available),
      assets: [
        { asset: 'USDT', walletBalance: str(wallet), unrealizedProfit: str(upnl), marginBalance: str(wallet + upnl), maintMargin: '0', initialMargin: str(margin), positionInitialMargin: str(margin), openOrderInitialMargin: '0', crossWalletBalance: str(wallet), crossUnPnl: '0', availableBalance: str(available), maxWithdrawAmount: str(available), updateTime: nowMs },
      ],
      positions,
    };
  }

  /** positionRisk v3: only symbols with a position or an open order, as Binance lists them. */
  positionRisk(symbol: string | undefined, nowMs: number): WirePosition[] {
    const out: WirePosition[] = [];
    for (const [s, b] of this.#books) {
      if (symbol !== undefined && s !== symbol) continue;
      const a = b.market.position;
      const hasOrders = this.#orders.some((o) => o.symbol === s && OPEN.has(o.status)) || this.#algos.some((o) => o.symbol === s && o.status === 'NEW');
      if (a.qtyBase === 0 && !hasOrders) continue;
      const mark = this.price(s, nowMs);
      const u = a.qtyBase === 0 ? 0 : a.unrealisedPnlUsd(mark);
      out.push({
        symbol: s,
        positionSide: 'BOTH',
        positionAmt: str(a.qtyBase),
        entryPrice: str(a.entryPriceUsd),
        breakEvenPrice: str(a.entryPriceUsd),
        markPrice: str(mark),
        unRealizedProfit: str(u),
        liquidationPrice: Number.isFinite(a.liquidationPriceUsd) ? str(a.liquidationPriceUsd) : '0',
        isolatedMargin: str(a.qtyBase === 0 ? 0 : a.marginUsd + u),
        notional: str(a.qtyBase * mark),
        marginAsset: 'USDT',
        isolatedWallet: str(a.marginUsd),
        initialMargin: str(a.marginUsd),
        maintMargin: '0',
        positionInitialMargin: str(a.marginUsd),
        openOrderInitialMargin: '0',
        adl: 0,
        bidNotional: '0',
        askNotional: '0',
        updateTime: nowMs,
      });
    }
    return out;
  }

  symbolConfig(symbol: string | undefined): WireSymbolConfig[] {
    return [...this.#books.entries()]
      .filter(([s]) => symbol === undefined || s === symbol)
      .map(([s, b]) => ({ symbol: s, marginType: b.marginType, isAutoAddMargin: 'false', leverage: b.leverage, maxNotionalValue: '1000000' }));
  }

  setLeverage(symbol: string, leverage: number): Record<string, unknown> {
    const b = this.book(symbol);
    if (!Number.isInteger(leverage) || leverage < 1 || leverage > b.market.instrument.brackets[0].initialLeverage) throw new SimApiError(400, -4028, `Leverage ${leverage} is not valid`);
    if (leverage !== b.leverage) {
      // The execution model's position keeps its leverage while open (its margin was locked at it).
      if (b.market.position.qtyBase !== 0) throw new SimApiError(400, -4161, 'Leverage reduction is not supported in Isolated Margin Mode with open positions.');
      b.market.position.setLeverage(leverage);
      b.leverage = leverage;
    }
    return { leverage, maxNotionalValue: '1000000', symbol };
  }

  setMarginType(symbol: string, marginType: string): void {
    const b = this.book(symbol);
    if (marginType !== 'ISOLATED' && marginType !== 'CROSSED') throw new SimApiError(400, -1102, "Mandatory parameter 'marginType' was not sent, was empty/null, or malformed.");
    if (b.marginType === marginType) throw new SimApiError(400, -4046, 'No need to change margin type.');
    if (b.market.position.qtyBase !== 0) throw new SimApiError(400, -4048, 'Margin type cannot be changed if there exists position.');
    if (this.#orders.some((o) => o.symbol === symbol && OPEN.has(o.status))) throw new SimApiError(400, -4047, 'Margin type cannot be changed if there exists open orders.');
    b.marginType = marginType;
  }

  commission(symbol: string): Record<string, unknown> {
    this.book(symbol);
    const { config } = this.#exchange;
    return { symbol, makerCommissionRate: String(config.makerFeeRate), takerCommissionRate: String(config.takerFeeRate) };
  }

  // ------------------------------------------------------------------ regular orders

  placeOrder(p: NewOrderParams, nowMs: number): WireOrder {
    const b = this.book(p.symbol);
    if (CONDITIONAL_TYPES.has(p.type)) throw new SimApiError(400, -4120, ALGO_ONLY_MESSAGE);
    if (p.type !== 'MARKET' && p.type !== 'LIMIT') throw new SimApiError(400, -1116, 'Invalid orderType.');
    if (this.hedgeMode !== (p.positionSide !== undefined && p.positionSide !== 'BOTH')) throw new SimApiError(400, -4061, "Order's position side does not match user's setting.");
    this.#checkClientId(p.clientOrderId, p.symbol);
    const price = this.price(p.symbol, nowMs);
    this.#checkQuantity(b, p.qtyBase);
    if (p.type === 'LIMIT') {
      if (p.priceUsd === undefined) throw new SimApiError(400, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.");
      if (!onStep(p.priceUsd, b.filters.tickSize)) throw new SimApiError(400, -1111, 'Precision is over the maximum defined for this asset.');
    }
    const a = b.market.position;
    const closable = p.side === 'BUY' ? Math.max(0, -a.qtyBase) : Math.max(0, a.qtyBase);
    if (p.reduceOnly && closable === 0) throw new SimApiError(400, -2022, 'ReduceOnly Order is rejected.');
    const refPrice = p.type === 'LIMIT' ? p.priceUsd! : price;
    if (!p.reduceOnly && p.qtyBase * refPrice < b.filters.minNotionalUsd) {
      throw new SimApiError(400, -4164, `Order's notional must be no smaller than ${b.filters.minNotionalUsd} (unless you choose reduce only).`);
    }
    const marketable = p.type === 'MARKET' || (p.side === 'BUY' ? p.priceUsd! >= price : p.priceUsd! <= price);
    if (p.type === 'LIMIT' && p.timeInForce === 'GTX' && marketable) {
      throw new SimApiError(400, -5022, 'Due to the order could not be executed as maker, the Post Only order will be rejected.');
    }
    if (!p.reduceOnly) this.#checkMargin(b, p.side, p.qtyBase, marketable ? price : refPrice);
    const order = this.#newInternalOrder(p.symbol, p.side, p.type, p.type, p.qtyBase, p.clientOrderId, p.reduceOnly, false, nowMs);
    if (p.type === 'LIMIT') {
      order.priceUsd = p.priceUsd!;
      order.timeInForce = p.timeInForce ?? 'GTC';
    }
    this.#emitOrder(order, 'NEW', nowMs);
    if (marketable) {
      if (p.type === 'MARKET' && this.fillDelayMarketMs > 0) {
        // In due order (the delay may change between orders): advance() fills from the front.
        const dueMs = nowMs + this.fillDelayMarketMs;
        const at = this.#dueFills.findIndex((d) => d.dueMs > dueMs);
        this.#dueFills.splice(at === -1 ? this.#dueFills.length : at, 0, { order, dueMs });
      } else if (p.type === 'MARKET' && this.fillDelayMs > 0) {
        setTimeout(() => this.#fillNow(order, this.#now()), this.fillDelayMs);
      } else {
        this.#fillNow(order, nowMs);
      }
    }
    return wireOrder(order);
  }

  queryOrder(symbol: string, ref: { orderId?: number; clientOrderId?: string }): WireOrder {
    const order = this.#findOrder(symbol, ref);
    if (!order) throw new SimApiError(400, -2013, 'Order does not exist.');
    return wireOrder(order);
  }

  cancelOrder(symbol: string, ref: { orderId?: number; clientOrderId?: string }, nowMs: number): WireOrder {
    const order = this.#findOrder(symbol, ref);
    if (!order || !OPEN.has(order.status)) throw new SimApiError(400, -2011, 'Unknown order sent.');
    order.status = 'CANCELED';
    order.updateTimeMs = nowMs;
    this.#emitOrder(order, 'CANCELED', nowMs);
    return wireOrder(order);
  }

  openOrders(symbol: string | undefined): WireOrder[] {
    return this.#orders.filter((o) => OPEN.has(o.status) && (symbol === undefined || o.symbol === symbol)).map(wireOrder);
  }

  cancelAll(symbol: string, nowMs: number): void {
    this.book(symbol);
    for (const o of this.#orders) if (o.symbol === symbol && OPEN.has(o.status)) this.cancelOrder(symbol, { orderId: o.orderId }, nowMs);
  }

  // ------------------------------------------------------------------ algo orders

  placeAlgo(p: NewAlgoParams, nowMs: number): WireAlgoOrder {
    const b = this.book(p.symbol);
    if (p.type !== 'STOP_MARKET' && p.type !== 'TAKE_PROFIT_MARKET') throw new SimApiError(400, -1116, `Invalid orderType: the simulator supports STOP_MARKET and TAKE_PROFIT_MARKET algo orders, got ${p.type}.`);
    if (this.#algos.some((a) => a.clientAlgoId === p.clientAlgoId && a.status === 'NEW')) throw new SimApiError(400, -4116, 'ClientOrderId is duplicated.');
    // Since 2025-12-29 Binance caps open conditional orders per account across every symbol (the per-symbol MAX_NUM_ALGO_ORDERS filter is gone).
    if (this.#algos.filter((a) => a.status === 'NEW').length >= MAX_OPEN_ALGO_ORDERS) throw new SimApiError(400, -4045, 'Reach max stop order limit.');
    if (p.closePosition && p.qtyBase !== undefined) throw new SimApiError(400, -1106, "Parameter 'quantity' sent when not required.");
    if (!p.closePosition) this.#checkQuantity(b, p.qtyBase ?? 0);
    if (!onStep(p.triggerPriceUsd, b.filters.tickSize) || !(p.triggerPriceUsd > 0)) throw new SimApiError(400, -1111, 'Precision is over the maximum defined for this asset.');
    const price = this.price(p.symbol, nowMs);
    // A sell stop below the price, a buy stop above; take-profits the other way. Otherwise it would trigger at once.
    const above = p.triggerPriceUsd > price;
    const valid = p.type === 'STOP_MARKET' ? (p.side === 'SELL' ? !above && p.triggerPriceUsd < price : above) : p.side === 'SELL' ? above : !above && p.triggerPriceUsd < price;
    if (!valid) throw new SimApiError(400, -2021, 'Order would immediately trigger.');
    const algo: AlgoRec = {
      algoId: this.#nextAlgoId++,
      clientAlgoId: p.clientAlgoId,
      symbol: p.symbol,
      side: p.side,
      orderType: p.type,
      triggerPriceUsd: p.triggerPriceUsd,
      qtyBase: p.closePosition ? 0 : (p.qtyBase ?? 0),
      closePosition: p.closePosition,
      reduceOnly: p.reduceOnly,
      priceProtect: p.priceProtect,
      workingType: p.workingType,
      status: 'NEW',
      actualOrderId: undefined,
      executedQtyBase: 0,
      avgPriceUsd: 0,
      failReason: '',
      createTimeMs: nowMs,
      updateTimeMs: nowMs,
      triggerTimeMs: 0,
    };
    this.#algos.push(algo);
    this.#emitAlgo(algo, nowMs);
    return wireAlgo(algo);
  }

  queryAlgo(ref: { algoId?: number; clientAlgoId?: string }): WireAlgoOrder {
    const algo = this.#findAlgo(ref);
    if (!algo) throw new SimApiError(400, -2013, 'Order does not exist.');
    return wireAlgo(algo);
  }

  cancelAlgo(ref: { algoId?: number; clientAlgoId?: string }, nowMs: number): Record<string, unknown> {
    const algo = this.#findAlgo(ref);
    if (!algo || algo.status !== 'NEW') throw new SimApiError(400, -2011, 'Unknown order sent.');
    algo.status = 'CANCELED';
    algo.updateTimeMs = nowMs;
    this.#emitAlgo(algo, nowMs);
    return { algoId: algo.algoId, clientAlgoId: algo.clientAlgoId, code: '200', msg: 'success' };
  }

  openAlgos(symbol: string | undefined): WireAlgoOrder[] {
    return this.#algos.filter((a) => a.status === 'NEW' && (symbol === undefined || a.symbol === symbol)).map(wireAlgo);
  }

  cancelAllAlgos(symbol: string, nowMs: number): void {
    this.book(symbol);
    for (const a of this.#algos) if (a.symbol === symbol && a.status === 'NEW') this.cancelAlgo({ algoId: a.algoId }, nowMs);
  }

  // ------------------------------------------------------------------ matching

  /** The leverage bracket table the engine trades `symbol` under (served on GET /fapi/v1/leverageBracket). */
  brackets(symbol: string) {
    return this.book(symbol).market.instrument.brackets;
  }

  #checkClientId(id: string, symbol: string): void {
    if (!/^[.A-Z:/a-z0-9_-]{1,36}$/.test(id)) throw new SimApiError(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.");
    if (this.#orders.some((o) => o.symbol === symbol && o.clientOrderId === id && OPEN.has(o.status))) throw new SimApiError(400, -4116, 'ClientOrderId is duplicated.');
  }

  #checkQuantity(b: Book, qty: number): void {
    if (!(qty > 0)) throw new SimApiError(400, -4003, 'Quantity less than or equal to zero.');
    if (!onStep(qty, b.filters.stepSize)) throw new SimApiError(400, -1111, 'Precision is over the maximum defined for this asset.');
  }

  /** The execution model's own margin and bracket rule (the one wallet across every symbol), mapped to Binance's codes. */
  #checkMargin(b: Book, side: 'BUY' | 'SELL', qty: number, price: number): void {
    const refusal = this.#exchange.portfolio.refusal(b.ds.symbol, side === 'BUY' ? qty : -qty, price, this.#exchange.config.takerFeeRate);
    if (refusal === undefined) return;
    if (refusal.code === 'bracket_leverage') throw new SimApiError(400, -2027, 'Exceeded the maximum allowable position at current leverage.');
    throw new SimApiError(400, -2019, 'Margin is insufficient.');
  }

  /** Fills a marketable order now at the current price, through the execution model's taker price. */
  #fillNow(order: OrderRec, nowMs: number): void {
    if (!OPEN.has(order.status)) return;
    const b = this.book(order.symbol);
    const price = this.price(order.symbol, nowMs);
    const remaining = order.qtyBase - order.executedQtyBase;
    const parts = this.partialFills && remaining / b.filters.stepSize >= 2 ? [roundToStep(remaining / 2, b.filters.stepSize, 'down')] : [];
    parts.push(roundToStep(remaining - (parts[0] ?? 0), b.filters.stepSize, 'nearest'));
    for (const qty of parts) {
      this.#runModel(b, [{ type: 'market', side: lower(order.side), qtyBase: qty, reduceOnly: order.reduceOnly, tag: `o:${order.orderId}` }], { timeMs: nowMs, open: price, high: price, low: price, close: price }, price);
    }
    if (order.status === 'NEW' && order.executedQtyBase === 0) this.#expire(order, nowMs);
  }

  #processBar(b: Book, bar: Kline): void {
    const ex = b.market;
    for (const f of b.ds.funding) {
      // Binance's funding times can carry a few ms past the hour: a funding inside the candle settles at its open.
      if (f.time >= bar.openTime && f.time <= bar.closeTime && ex.position.qtyBase !== 0) {
        const paidBefore = ex.position.fundingPaidUsd;
        ex.settleFunding(f.fundingRate, f.markPrice ?? bar.open);
        this.#book('FUNDING_FEE', b.ds.symbol, paidBefore - ex.position.fundingPaidUsd, f.time, '');
        this.#emitAccount(b, 'FUNDING_FEE', bar.openTime);
      }
    }
    const requests: Parameters<InstrumentMarket['submit']>[1][] = [];
    for (const o of this.#orders) {
      if (o.symbol !== b.ds.symbol || o.type !== 'LIMIT' || !OPEN.has(o.status) || o.timeMs > bar.closeTime) continue;
      requests.push({ type: 'limit', side: lower(o.side), qtyBase: o.qtyBase - o.executedQtyBase, priceUsd: o.priceUsd, reduceOnly: o.reduceOnly, tag: `o:${o.orderId}` });
    }
    const pos = ex.position.qtyBase;
    for (const a of this.#algos) {
      if (a.symbol !== b.ds.symbol || a.status !== 'NEW' || a.createTimeMs > bar.closeTime) continue;
      // closePosition closes whatever position there is when it triggers; with none (or on the wrong side) it waits.
      const qty = a.closePosition ? (a.side === 'SELL' ? Math.max(0, pos) : Math.max(0, -pos)) : a.qtyBase;
      if (qty <= 0) continue;
      requests.push({ type: a.orderType === 'STOP_MARKET' ? 'stop' : 'take_profit', side: lower(a.side), qtyBase: qty, triggerUsd: a.triggerPriceUsd, reduceOnly: a.closePosition || a.reduceOnly, tag: `a:${a.algoId}` });
    }
    if (requests.length > 0) this.#runModel(b, requests, { timeMs: bar.closeTime, open: bar.open, high: bar.high, low: bar.low, close: bar.close }, bar.open);
    else if (ex.position.qtyBase !== 0) this.#runModel(b, [], { timeMs: bar.closeTime, open: bar.open, high: bar.high, low: bar.low, close: bar.close }, bar.open);
  }

  /** Hands `requests` to the execution model for one bar and maps its fills back to orders. */
  #runModel(b: Book, requests: Parameters<InstrumentMarket['submit']>[1][], bar: { timeMs: number; open: number; high: number; low: number; close: number }, refPrice: number): void {
    const ex = b.market;
    const portfolio = this.#exchange.portfolio;
    ex.cancelAll();
    for (const r of requests) ex.submit(bar.timeMs, r, refPrice);
    const fillsBefore = portfolio.fills.length;
    let shadow = { qty: ex.position.qtyBase, entry: ex.position.entryPriceUsd };
    ex.processBar(bar);
    ex.cancelAll();
    const fills = portfolio.fills.slice(fillsBefore);
    for (const fill of fills) {
      const signed = fill.side === 'buy' ? fill.qtyBase : -fill.qtyBase;
      const closing = shadow.qty !== 0 && Math.sign(signed) !== Math.sign(shadow.qty) ? Math.min(Math.abs(signed), Math.abs(shadow.qty)) : 0;
      const realised = closing * (fill.priceUsd - shadow.entry) * Math.sign(shadow.qty);
      shadow = nextShadow(shadow, signed, fill.priceUsd);
      this.#applyFill(b, fill, realised, bar.timeMs);
    }
    if (fills.length > 0) this.#emitAccount(b, 'ORDER', bar.timeMs);
  }

  #applyFill(b: Book, fill: Fill, realisedUsd: number, timeMs: number): void {
    const [kind, idText] = (fill.tag ?? ':').split(':');
    const id = Number(idText);
    let order: OrderRec | undefined;
    if (kind === 'o') order = this.#orders.find((o) => o.orderId === id);
    if (kind === 'a') {
      const algo = this.#algos.find((a) => a.algoId === id)!;
      // The trigger creates a regular MARKET order with its own id; ALGO_UPDATE `ai` links the two.
      order = this.#newInternalOrder(b.ds.symbol, algo.side, 'MARKET', algo.orderType, fill.qtyBase, algo.clientAlgoId, algo.reduceOnly, algo.closePosition, timeMs);
      order.stopPriceUsd = algo.triggerPriceUsd;
      algo.status = 'TRIGGERED';
      algo.actualOrderId = order.orderId;
      algo.triggerTimeMs = timeMs;
      algo.updateTimeMs = timeMs;
      this.#emitAlgo(algo, timeMs);
      this.#emitOrder(order, 'NEW', timeMs);
      this.#trade(order, fill, realisedUsd, timeMs);
      algo.status = 'FINISHED';
      algo.executedQtyBase = order.executedQtyBase;
      algo.avgPriceUsd = order.cumQuoteUsd / order.executedQtyBase;
      this.#emitAlgo(algo, timeMs);
      return;
    }
    if (!order && fill.reason === 'liquidation') {
      order = this.#newInternalOrder(b.ds.symbol, fill.side === 'buy' ? 'BUY' : 'SELL', 'LIQUIDATION', 'LIQUIDATION', fill.qtyBase, `autoclose-${timeMs}`, true, false, timeMs);
      this.#trade(order, fill, realisedUsd, timeMs, 'CALCULATED');
      return;
    }
    if (order) this.#trade(order, fill, realisedUsd, timeMs);
  }

  #newInternalOrder(symbol: string, side: 'BUY' | 'SELL', type: string, origType: string, qty: number, clientOrderId: string, reduceOnly: boolean, closePosition: boolean, timeMs: number): OrderRec {
    const order: OrderRec = { orderId: this.#nextOrderId++, clientOrderId, symbol, side, type, origType, priceUsd: 0, stopPriceUsd: 0, qtyBase: qty, executedQtyBase: 0, cumQuoteUsd: 0, status: 'NEW', reduceOnly, closePosition, timeInForce: 'GTC', timeMs, updateTimeMs: timeMs };
    this.#orders.push(order);
    return order;
  }

  #trade(order: OrderRec, fill: Fill, realisedUsd: number, timeMs: number, executionType = 'TRADE'): void {
    order.executedQtyBase = round8(order.executedQtyBase + fill.qtyBase);
    order.cumQuoteUsd += fill.qtyBase * fill.priceUsd;
    order.status = order.executedQtyBase + 1e-12 >= order.qtyBase ? 'FILLED' : 'PARTIALLY_FILLED';
    order.updateTimeMs = timeMs;
    const tradeId = this.#nextTradeId++;
    this.#userTrades.push({
      symbol: order.symbol,
      id: tradeId,
      orderId: order.orderId,
      side: order.side,
      price: str(fill.priceUsd),
      qty: str(fill.qtyBase),
      realizedPnl: str(realisedUsd),
      quoteQty: str(fill.qtyBase * fill.priceUsd),
      commission: str(fill.feeUsd),
      commissionAsset: 'USDT',
      time: timeMs,
      positionSide: 'BOTH',
      buyer: order.side === 'BUY',
      maker: fill.liquidity === 'maker',
    });
    if (realisedUsd !== 0) this.#book('REALIZED_PNL', order.symbol, realisedUsd, timeMs, String(tradeId));
    this.#book('COMMISSION', order.symbol, -fill.feeUsd, timeMs, String(tradeId));
    this.#emitOrder(order, executionType, timeMs, { fill, realisedUsd }, tradeId);
  }

  /** One row of the income history, as GET /fapi/v1/income lists it. */
  #book(incomeType: string, symbol: string, income: number, timeMs: number, tradeId: string): void {
    this.#income.push({ symbol, incomeType, income: str(income), asset: 'USDT', info: '', time: timeMs, tranId: this.#nextTranId++, tradeId });
  }

  /**
   * GET /fapi/v1/userTrades: the account's trades of `symbol`, oldest first; of one order with `orderId`,
   * else from `fromId`, or within [startTime, endTime] (at most 7 days: -4160 beyond, as Binance).
   */
  userTrades(symbol: string, q: { orderId?: number; startTime?: number; endTime?: number; fromId?: number; limit?: number }): Record<string, unknown>[] {
    this.book(symbol);
    if (q.startTime !== undefined && q.endTime !== undefined && q.endTime - q.startTime > 7 * 86_400_000) throw new SimApiError(400, -4160, 'The time between startTime and endTime can not be longer than 7 days.');
    const limit = Math.min(1000, q.limit ?? 500);
    return this.#userTrades
      .filter((t) => t.symbol === symbol)
      .filter((t) => q.orderId === undefined || t.orderId === q.orderId)
      .filter((t) => q.fromId === undefined || (t.id as number) >= q.fromId)
      .filter((t) => (q.startTime === undefined || (t.time as number) >= q.startTime) && (q.endTime === undefined || (t.time as number) <= q.endTime))
      .slice(0, limit);
  }

  /** GET /fapi/v1/income: oldest first from startTime (default: the last 7 days), 100 rows by default, 1000 at most. */
  income(q: { symbol?: string; incomeType?: string; startTime?: number; endTime?: number; limit?: number }, nowMs: number): Record<string, unknown>[] {
    const start = q.startTime ?? nowMs - 7 * 86_400_000;
    const limit = Math.min(1000, q.limit ?? 100);
    return this.#income
      .filter((r) => (q.symbol === undefined || r.symbol === q.symbol) && (q.incomeType === undefined || r.incomeType === q.incomeType))
      .filter((r) => (r.time as number) >= start && (q.endTime === undefined || (r.time as number) <= q.endTime))
      .slice(0, limit);
  }

  #expire(order: OrderRec, nowMs: number): void {
    order.status = 'EXPIRED';
    order.updateTimeMs = nowMs;
    this.#emitOrder(order, 'EXPIRED', nowMs);
  }

  #findOrder(symbol: string, ref: { orderId?: number; clientOrderId?: string }): OrderRec | undefined {
    this.book(symbol);
    if (ref.orderId === undefined && ref.clientOrderId === undefined) throw new SimApiError(400, -1102, "Either 'orderId' or 'origClientOrderId' must be sent.");
    // A client id is unique among open orders only; Binance answers with the latest order that carried it.
    for (let i = this.#orders.length - 1; i >= 0; i--) {
      const o = this.#orders[i];
      if (o.symbol === symbol && (ref.orderId !== undefined ? o.orderId === ref.orderId : o.clientOrderId === ref.clientOrderId)) return o;
    }
    return undefined;
  }

  #findAlgo(ref: { algoId?: number; clientAlgoId?: string }): AlgoRec | undefined {
    if (ref.algoId === undefined && ref.clientAlgoId === undefined) throw new SimApiError(400, -1102, "Either 'algoId' or 'clientAlgoId' must be sent.");
    for (let i = this.#algos.length - 1; i >= 0; i--) {
      const a = this.#algos[i];
      if (ref.algoId !== undefined ? a.algoId === ref.algoId : a.clientAlgoId === ref.clientAlgoId) return a;
    }
    return undefined;
  }

  // ------------------------------------------------------------------ events

  #emit(event: WireUserEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  #emitOrder(o: OrderRec, executionType: string, timeMs: number, trade?: { fill: Fill; realisedUsd: number }, tradeId = 0): void {
    const event: WireOrderTradeUpdate = {
      e: 'ORDER_TRADE_UPDATE',
      E: timeMs,
      T: timeMs,
      o: {
        s: o.symbol,
        c: o.clientOrderId,
        S: o.side,
        o: o.type,
        f: o.timeInForce,
        q: str(o.qtyBase),
        p: str(o.priceUsd),
        ap: str(o.executedQtyBase > 0 ? o.cumQuoteUsd / o.executedQtyBase : 0),
        sp: str(o.stopPriceUsd),
        x: executionType,
        X: o.status,
        i: o.orderId,
        l: str(trade?.fill.qtyBase ?? 0),
        z: str(o.executedQtyBase),
        L: str(trade?.fill.priceUsd ?? 0),
        N: 'USDT',
        n: str(trade?.fill.feeUsd ?? 0),
        T: timeMs,
        t: tradeId,
        b: '0',
        a: '0',
        m: trade?.fill.liquidity === 'maker',
        R: o.reduceOnly,
        wt: 'CONTRACT_PRICE',
        ot: o.origType,
        ps: 'BOTH',
        cp: o.closePosition,
        rp: str(trade?.realisedUsd ?? 0),
        pP: false,
        si: 0,
        ss: 0,
        V: 'EXPIRE_MAKER',
        pm: 'NONE',
        gtd: 0,
      },
    };
    this.#emit(event);
  }

  #emitAlgo(a: AlgoRec, timeMs: number): void {
    const event: WireAlgoUpdate = {
      e: 'ALGO_UPDATE',
      T: timeMs,
      E: timeMs,
      o: {
        caid: a.clientAlgoId,
        aid: a.algoId,
        at: 'CONDITIONAL',
        o: a.orderType,
        s: a.symbol,
        S: a.side,
        ps: 'BOTH',
        f: 'GTC',
        q: str(a.qtyBase),
        X: a.status,
        ai: a.actualOrderId === undefined ? '' : String(a.actualOrderId),
        ap: str(a.avgPriceUsd),
        aq: str(a.executedQtyBase),
        act: a.actualOrderId === undefined ? '0' : 'MARKET',
        tp: str(a.triggerPriceUsd),
        p: '0',
        V: 'EXPIRE_MAKER',
        wt: a.workingType,
        pm: 'NONE',
        cp: a.closePosition,
        pP: a.priceProtect,
        R: a.reduceOnly,
        tt: a.triggerTimeMs,
        gtd: 0,
        rm: a.failReason,
      },
    };
    this.#emit(event);
  }

  #emitAccount(b: Book, reason: string, timeMs: number): void {
    const a = b.market.position;
    const event: WireAccountUpdate = {
      e: 'ACCOUNT_UPDATE',
      E: timeMs,
      T: timeMs,
      a: {
        m: reason,
        B: [{ a: 'USDT', wb: str(this.walletUsd()), cw: str(this.walletUsd()), bc: '0' }],
        P: [{ s: b.ds.symbol, pa: str(a.qtyBase), ep: str(a.entryPriceUsd), bep: str(a.entryPriceUsd), cr: str(a.realisedPnlUsd), up: '0', mt: 'isolated', iw: str(a.marginUsd), ps: 'BOTH' }],
      },
    };
    this.#emit(event);
  }
}

function wireOrder(o: OrderRec): WireOrder {
  return {
    avgPrice: str(o.executedQtyBase > 0 ? o.cumQuoteUsd / o.executedQtyBase : 0),
    clientOrderId: o.clientOrderId,
    cumQuote: str(o.cumQuoteUsd),
    cumQty: str(o.executedQtyBase),
    executedQty: str(o.executedQtyBase),
    orderId: o.orderId,
    origQty: str(o.qtyBase),
    origType: o.origType,
    price: str(o.priceUsd),
    reduceOnly: o.reduceOnly,
    side: o.side,
    positionSide: 'BOTH',
    status: o.status,
    stopPrice: str(o.stopPriceUsd),
    closePosition: o.closePosition,
    symbol: o.symbol,
    time: o.timeMs,
    timeInForce: o.timeInForce,
    type: o.type,
    updateTime: o.updateTimeMs,
    workingType: 'CONTRACT_PRICE',
    priceProtect: false,
    priceMatch: 'NONE',
    selfTradePreventionMode: 'EXPIRE_MAKER',
    goodTillDate: 0,
  };
}

function wireAlgo(a: AlgoRec): WireAlgoOrder {
  return {
    algoId: a.algoId,
    clientAlgoId: a.clientAlgoId,
    algoType: 'CONDITIONAL',
    orderType: a.orderType,
    symbol: a.symbol,
    side: a.side,
    positionSide: 'BOTH',
    timeInForce: 'GTC',
    quantity: str(a.qtyBase),
    algoStatus: a.status,
    actualOrderId: a.actualOrderId === undefined ? '' : String(a.actualOrderId),
    actualPrice: str(a.avgPriceUsd),
    triggerPrice: str(a.triggerPriceUsd),
    price: '0',
    icebergQuantity: null,
    selfTradePreventionMode: 'EXPIRE_MAKER',
    workingType: a.workingType,
    priceMatch: 'NONE',
    closePosition: a.closePosition,
    priceProtect: a.priceProtect,
    reduceOnly: a.reduceOnly,
    createTime: a.createTimeMs,
    updateTime: a.updateTimeMs,
    triggerTime: a.triggerTimeMs,
    goodTillDate: 0,
  };
}

/** Index of the candle containing `t` (or the last one before it); −1 before the first. */
function barIndexAt(bars: Kline[], t: number): number {
  let lo = 0;
  let hi = bars.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (bars[mid].openTime <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function nextShadow(s: { qty: number; entry: number }, signed: number, price: number): { qty: number; entry: number } {
  const qty = s.qty + signed;
  if (Math.abs(qty) < 1e-12) return { qty: 0, entry: 0 };
  if (s.qty === 0 || Math.sign(qty) !== Math.sign(s.qty)) return { qty, entry: price };
  if (Math.sign(signed) === Math.sign(s.qty)) return { qty, entry: (s.qty * s.entry + signed * price) / qty };
  return { qty, entry: s.entry };
}

function onStep(value: number, step: number): boolean {
  return Math.abs(roundToStep(value, step, 'nearest') - value) < step * 1e-6;
}

function lower(side: 'BUY' | 'SELL'): 'buy' | 'sell' {
  return side === 'BUY' ? 'buy' : 'sell';
}

function round8(x: number): number {
  return Math.round(x * 1e8) / 1e8;
}

function str(x: number): string {
  return String(round8(x));
}
