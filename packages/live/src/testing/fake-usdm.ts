import { BinanceOrderError, type Account, type AlgoOrder, type AlgoRef, type IncomeRecord, type NewAlgoOrder, type NewOrder, type Order, type OrderRef, type Position, type UserTrade, type UsdmTradingApi } from '@oitrader/binance';

/**
 * An in-memory USDⓈ-M account for the exchange venue's unit tests: MARKET
 * orders fill at `markPriceUsd`, closePosition stops trigger on `moveTo`,
 * client ids are unique among open orders as on Binance. TEST DOUBLE ONLY: the
 * order-lifecycle contract against the real wire is the trading simulator's
 * job (packages/sim), which replaces this in the SIGKILL tests when it lands.
 */
export class FakeUsdm implements UsdmTradingApi {
  markPriceUsd = 100;
  walletUsd = 2000;
  qtyBase = 0;
  entryPriceUsd = 0;
  refuseAlgoOrders = false;
  /** MARKET orders are answered NEW and fill only when `fillResting` says so (an overloaded exchange). */
  delayFills = false;
  /** The commission the exchange charges per trade (fraction of notional): deliberately not the bot's configured taker rate. */
  feeRate = 0.00045;
  commissionAsset = 'USDT';
  /** Order answers carry no average price (Binance's 2026 SDK schema): the price is only in the trades. */
  omitAvgPrice = false;
  readonly orders: Order[] = [];
  readonly algos: AlgoOrder[] = [];
  readonly trades: UserTrade[] = [];
  readonly incomes: IncomeRecord[] = [];
  #nextId = 1;
  #nextTradeId = 1;

  async placeOrder(o: NewOrder): Promise<Order> {
    if (this.orders.some((x) => x.clientOrderId === o.clientOrderId && x.status === 'NEW')) throw new BinanceOrderError('/fapi/v1/order', 400, -4116, 'ClientOrderId is duplicated.');
    const order: Order = {
      symbol: o.symbol, orderId: this.#nextId++, clientOrderId: o.clientOrderId, side: o.side, type: o.type, status: 'NEW',
      priceUsd: 0, avgPriceUsd: 0, origQtyBase: o.qtyBase, executedQtyBase: 0, reduceOnly: o.reduceOnly === true,
      closePosition: false, timeInForce: 'GTC', updateTimeMs: 0,
    };
    this.orders.push(order);
    if (!this.delayFills || o.reduceOnly) this.#execute(order, 1);
    return this.#answer(order);
  }

  #answer(order: Order): Order {
    return this.omitAvgPrice ? { ...order, avgPriceUsd: 0 } : { ...order };
  }

  async userTrades(symbol: string, q: { orderId?: number } = {}): Promise<UserTrade[]> {
    return this.trades.filter((t) => t.symbol === symbol && (q.orderId === undefined || t.orderId === q.orderId)).map((t) => ({ ...t }));
  }

  async income(q: { symbol?: string; incomeType?: string; startTimeMs?: number } = {}): Promise<IncomeRecord[]> {
    return this.incomes.filter((r) => (q.symbol === undefined || r.symbol === q.symbol) && (q.incomeType === undefined || r.incomeType === q.incomeType) && r.timeMs >= (q.startTimeMs ?? 0));
  }

  /** A funding settlement on the position held: FUNDING_FEE income (+ received, − paid) at `timeMs`. */
  settleFunding(symbol: string, rate: number, timeMs: number): number {
    const income = -this.qtyBase * this.markPriceUsd * rate;
    this.walletUsd += income;
    this.incomes.push({ symbol, incomeType: 'FUNDING_FEE', income, asset: 'USDT', timeMs: timeMs + 7, tranId: this.#nextTradeId++ });
    return income;
  }

  #record(order: Order, qtyBase: number, priceUsd: number): void {
    if (qtyBase === 0) return;
    const commission = qtyBase * priceUsd * this.feeRate;
    this.walletUsd -= commission;
    this.trades.push({ tradeId: this.#nextTradeId++, orderId: order.orderId, symbol: order.symbol, side: order.side, priceUsd, qtyBase, quoteQtyUsd: qtyBase * priceUsd, commission, commissionAsset: this.commissionAsset, realizedPnlUsd: 0, maker: false, timeMs: order.updateTimeMs });
  }

  /** Fills `fraction` of every resting MARKET order's remaining quantity at the mark price (1: the whole rest). */
  fillResting(fraction = 1): void {
    for (const order of this.orders) if (order.status === 'NEW' || order.status === 'PARTIALLY_FILLED') this.#execute(order, fraction);
  }

  #execute(order: Order, fraction: number): void {
    const remaining = order.origQtyBase - order.executedQtyBase;
    const want = fraction >= 1 ? remaining : Math.round(remaining * fraction * 1e8) / 1e8;
    const signed = order.side === 'BUY' ? want : -want;
    const qty = order.reduceOnly ? Math.sign(signed) * Math.min(Math.abs(signed), Math.abs(this.qtyBase)) : signed;
    this.#trade(qty, this.markPriceUsd);
    this.#record(order, Math.abs(qty), this.markPriceUsd);
    const executed = order.executedQtyBase + Math.abs(qty);
    order.avgPriceUsd = executed === 0 ? 0 : (order.avgPriceUsd * order.executedQtyBase + Math.abs(qty) * this.markPriceUsd) / executed;
    order.executedQtyBase = executed;
    order.status = fraction >= 1 || order.reduceOnly ? 'FILLED' : 'PARTIALLY_FILLED';
  }

  /** Idempotent placement, as the client does: an order already known under this client id is returned, not sent again. */
  async ensureOrder(o: NewOrder): Promise<Order> {
    return (await this.queryOrder(o.symbol, { clientOrderId: o.clientOrderId })) ?? this.placeOrder(o);
  }

  async ensureAlgoOrder(o: NewAlgoOrder): Promise<AlgoOrder> {
    return (await this.queryAlgoOrder({ clientAlgoId: o.clientAlgoId })) ?? this.placeAlgoOrder(o);
  }

  async queryOrder(_symbol: string, ref: OrderRef): Promise<Order | undefined> {
    const found = this.orders.find((o) => ('clientOrderId' in ref ? o.clientOrderId === ref.clientOrderId : o.orderId === ref.orderId));
    return found && this.#answer(found);
  }

  async placeAlgoOrder(o: NewAlgoOrder): Promise<AlgoOrder> {
    if (this.refuseAlgoOrders) throw new BinanceOrderError('/fapi/v1/algoOrder', 400, -2021, 'Order would immediately trigger.');
    const algo: AlgoOrder = {
      algoId: this.#nextId++, clientAlgoId: o.clientAlgoId, symbol: o.symbol, side: o.side, orderType: o.type, algoStatus: 'NEW',
      triggerPriceUsd: o.triggerPriceUsd, qtyBase: o.closePosition ? 0 : (o.qtyBase ?? 0), closePosition: o.closePosition === true,
      reduceOnly: o.reduceOnly === true, priceProtect: o.priceProtect !== false, workingType: o.workingType ?? 'MARK_PRICE',
      createTimeMs: 0, updateTimeMs: 0, triggerTimeMs: 0, actualOrderId: undefined,
    };
    this.algos.push(algo);
    return algo;
  }

  async queryAlgoOrder(ref: AlgoRef): Promise<AlgoOrder | undefined> {
    return this.algos.find((a) => ('clientAlgoId' in ref ? a.clientAlgoId === ref.clientAlgoId : a.algoId === ref.algoId));
  }

  async openAlgoOrders(): Promise<AlgoOrder[]> {
    return this.algos.filter((a) => a.algoStatus === 'NEW');
  }

  async cancelAlgoOrder(ref: AlgoRef): Promise<void> {
    const a = await this.queryAlgoOrder(ref);
    if (a) a.algoStatus = 'CANCELED';
  }

  async cancelAllAlgoOrders(): Promise<void> {
    for (const a of this.algos) if (a.algoStatus === 'NEW') a.algoStatus = 'CANCELED';
  }

  async openOrders(): Promise<Order[]> {
    return this.orders.filter((o) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED').map((o) => ({ ...o }));
  }

  async positions(symbol = 'SOLUSDT'): Promise<Position[]> {
    return [{
      symbol, qtyBase: this.qtyBase, entryPriceUsd: this.entryPriceUsd, markPriceUsd: this.markPriceUsd, unrealisedPnlUsd: this.qtyBase * (this.markPriceUsd - this.entryPriceUsd),
      liquidationPriceUsd: 0, leverage: 5, marginType: 'ISOLATED', isolatedMarginUsd: 0, notionalUsd: this.qtyBase * this.markPriceUsd, updateTimeMs: 0,
    }];
  }

  async account(): Promise<Account> {
    const upnl = this.qtyBase * (this.markPriceUsd - this.entryPriceUsd);
    return { totalWalletBalanceUsd: this.walletUsd, totalUnrealisedPnlUsd: upnl, totalMarginBalanceUsd: this.walletUsd + upnl, availableBalanceUsd: this.walletUsd - (Math.abs(this.qtyBase) * this.entryPriceUsd) / 5, assets: [] };
  }

  /** The mark price moves: closePosition stops it crosses trigger and close the position. */
  moveTo(priceUsd: number): void {
    this.markPriceUsd = priceUsd;
    for (const a of this.algos) {
      if (a.algoStatus !== 'NEW' || this.qtyBase === 0) continue;
      const hit = a.side === 'SELL' ? priceUsd <= a.triggerPriceUsd : priceUsd >= a.triggerPriceUsd;
      if (!hit) continue;
      const closeQty = -this.qtyBase;
      this.#trade(closeQty, priceUsd);
      const order: Order = {
        symbol: a.symbol, orderId: this.#nextId++, clientOrderId: `autoclose-${a.algoId}`, side: a.side, type: 'MARKET', status: 'FILLED', priceUsd: 0, avgPriceUsd: priceUsd,
        origQtyBase: Math.abs(closeQty), executedQtyBase: Math.abs(closeQty), reduceOnly: true, closePosition: true, timeInForce: 'GTC', updateTimeMs: 0,
      };
      this.orders.push(order);
      this.#record(order, Math.abs(closeQty), priceUsd);
      a.algoStatus = 'FINISHED';
      a.actualOrderId = order.orderId;
    }
  }

  #trade(qty: number, price: number): void {
    const next = this.qtyBase + qty;
    if (this.qtyBase !== 0 && Math.sign(qty) !== Math.sign(this.qtyBase)) this.walletUsd += Math.min(Math.abs(qty), Math.abs(this.qtyBase)) * Math.sign(this.qtyBase) * (price - this.entryPriceUsd);
    if (next === 0) this.entryPriceUsd = 0;
    else if (Math.sign(next) === Math.sign(qty) && Math.abs(next) > Math.abs(this.qtyBase)) this.entryPriceUsd = (this.qtyBase * this.entryPriceUsd + qty * price) / next;
    this.qtyBase = next;
  }

  async syncTime(): Promise<{ offsetMs: number; roundTripMs: number }> {
    return { offsetMs: 0, roundTripMs: 0 };
  }
  exchangeInfo = notModelled('exchangeInfo is not modelled');
  leverageBrackets = notModelled('leverageBrackets is not modelled');
  commissionRate = notModelled('commissionRate is not modelled');
  async hedgeMode(): Promise<boolean> {
    return false;
  }
  async multiAssetsMode(): Promise<boolean> {
    return false;
  }
  async setLeverage(_s: string, leverage: number): Promise<{ leverage: number; maxNotionalUsd: number }> {
    return { leverage, maxNotionalUsd: 1e9 };
  }
  async setMarginType(): Promise<'changed' | 'unchanged'> {
    return 'unchanged';
  }
  /** Cancelling a resting order keeps what it executed (Binance: a partly filled order ends CANCELED with its executed quantity). */
  async cancelOrder(_symbol: string, ref: OrderRef): Promise<Order> {
    const order = this.orders.find((o) => ('clientOrderId' in ref ? o.clientOrderId === ref.clientOrderId : o.orderId === ref.orderId));
    if (!order || (order.status !== 'NEW' && order.status !== 'PARTIALLY_FILLED')) throw new BinanceOrderError('/fapi/v1/order', 400, -2011, 'Unknown order sent.');
    order.status = 'CANCELED';
    return { ...order };
  }
  async cancelAllOrders(): Promise<void> {}
  createListenKey = notModelled('user stream is not modelled');
  keepAliveListenKey = notModelled('user stream is not modelled');
  closeListenKey = notModelled('user stream is not modelled');
}

function notModelled(what: string): () => never {
  return () => {
    throw new Error(`FakeUsdm: ${what}`);
  };
}
