/**
 * The trading client's domain types: what the bot programs against. Wire
 * shapes (Binance's JSON, decimals as strings) live in schema.ts; mapper.ts
 * turns one into the other. Every number carries its unit in its name.
 */

export type OrderSide = 'BUY' | 'SELL';
/** Regular orders. Conditional types are refused on /fapi/v1/order since 2025-12-09 (-4120): use the Algo Order API. */
export type RegularOrderType = 'MARKET' | 'LIMIT';
/** Conditional (algo) order types, POST /fapi/v1/algoOrder with algoType=CONDITIONAL. */
export type AlgoOrderType = 'STOP_MARKET' | 'TAKE_PROFIT_MARKET' | 'STOP' | 'TAKE_PROFIT' | 'TRAILING_STOP_MARKET';
export type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED' | 'EXPIRED_IN_MATCH';
/** Binance's algo lifecycle: NEW → TRIGGERING → TRIGGERED (a regular order exists) → FINISHED; or CANCELED / REJECTED / EXPIRED. */
export type AlgoStatus = 'NEW' | 'TRIGGERING' | 'TRIGGERED' | 'FINISHED' | 'CANCELED' | 'REJECTED' | 'EXPIRED';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK' | 'GTX' | 'GTD';
/** What a conditional order's trigger watches. The bot uses MARK_PRICE (a wick on the last price does not trip it). */
export type WorkingType = 'MARK_PRICE' | 'CONTRACT_PRICE';
export type MarginType = 'ISOLATED' | 'CROSSED';

/** A regular order to send (POST /fapi/v1/order). `clientOrderId` is mandatory: it is how an unknown outcome is looked up. */
export interface NewOrder {
  symbol: string;
  side: OrderSide;
  type: RegularOrderType;
  qtyBase: number;
  /** LIMIT only. */
  priceUsd?: number;
  /** LIMIT only; default GTC. */
  timeInForce?: TimeInForce;
  reduceOnly?: boolean;
  /** ^[.A-Z:/a-z0-9_-]{1,36}$; see client-id.ts. Unique among open orders only, so it carries candle time and intent. */
  clientOrderId: string;
}

/** A regular order as the exchange reports it (query, place, cancel, open orders). */
export interface Order {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  side: OrderSide;
  /** MARKET, LIMIT, or what a triggered algo order became (MARKET for STOP_MARKET). */
  type: string;
  status: OrderStatus;
  priceUsd: number;
  avgPriceUsd: number;
  origQtyBase: number;
  executedQtyBase: number;
  reduceOnly: boolean;
  closePosition: boolean;
  timeInForce: string;
  updateTimeMs: number;
}

/**
 * One execution of an order (GET /fapi/v1/userTrades): what it really traded
 * at and the commission really charged. Binance keeps only the last 3 months.
 */
export interface UserTrade {
  tradeId: number;
  orderId: number;
  symbol: string;
  side: OrderSide;
  priceUsd: number;
  qtyBase: number;
  quoteQtyUsd: number;
  /** Always ≥ 0 here (Binance's documented example carries a sign, live answers do not). */
  commission: number;
  /** USDT, or BNB when the account pays fees in BNB. */
  commissionAsset: string;
  realizedPnlUsd: number;
  maker: boolean;
  timeMs: number;
}

/** One row of the income history (GET /fapi/v1/income): FUNDING_FEE, COMMISSION, REALIZED_PNL, TRANSFER … */
export interface IncomeRecord {
  /** "" for account-wide income (a transfer). */
  symbol: string;
  incomeType: string;
  /** + received, − paid. */
  income: number;
  asset: string;
  timeMs: number;
  /** Unique per asset and user: deduplicates overlapping pages. */
  tranId: number;
}

/**
 * A conditional order to send (POST /fapi/v1/algoOrder). Either `qtyBase` or
 * `closePosition: true` (Binance then reports quantity 0 — such an order closes
 * whatever the position is when it triggers; never drop it for its zero size).
 */
export interface NewAlgoOrder {
  symbol: string;
  side: OrderSide;
  type: 'STOP_MARKET' | 'TAKE_PROFIT_MARKET';
  triggerPriceUsd: number;
  qtyBase?: number;
  closePosition?: boolean;
  reduceOnly?: boolean;
  /** Default MARK_PRICE. */
  workingType?: WorkingType;
  /** Default true: do not trigger while mark and last price disagree beyond the symbol's threshold. */
  priceProtect?: boolean;
  /** Same rules as a clientOrderId. */
  clientAlgoId: string;
}

export interface AlgoOrder {
  algoId: number;
  clientAlgoId: string;
  symbol: string;
  side: OrderSide;
  orderType: AlgoOrderType;
  algoStatus: AlgoStatus;
  triggerPriceUsd: number;
  /** 0 for closePosition orders. */
  qtyBase: number;
  closePosition: boolean;
  reduceOnly: boolean;
  priceProtect: boolean;
  workingType: WorkingType;
  createTimeMs: number;
  updateTimeMs: number;
  /** 0 until triggered. */
  triggerTimeMs: number;
  /** The regular order the trigger created (ALGO_UPDATE `ai`); undefined until TRIGGERED. Fills of that order belong to this stop. */
  actualOrderId: number | undefined;
}

/** One symbol's position in one-way mode (positionSide BOTH). qtyBase is signed: + long, − short, 0 flat. */
export interface Position {
  symbol: string;
  qtyBase: number;
  entryPriceUsd: number;
  markPriceUsd: number;
  unrealisedPnlUsd: number;
  /** 0 when flat. */
  liquidationPriceUsd: number;
  leverage: number;
  marginType: MarginType;
  /** The isolated wallet of the position (0 in cross). */
  isolatedMarginUsd: number;
  notionalUsd: number;
  updateTimeMs: number;
}

export interface AccountBalance {
  asset: string;
  walletBalanceUsd: number;
  availableBalanceUsd: number;
  unrealisedPnlUsd: number;
}

/** GET /fapi/v3/account, reduced to what the bot needs. */
export interface Account {
  totalWalletBalanceUsd: number;
  totalUnrealisedPnlUsd: number;
  totalMarginBalanceUsd: number;
  availableBalanceUsd: number;
  assets: AccountBalance[];
}

export interface CommissionRate {
  symbol: string;
  /** Fractions, e.g. 0.0002. */
  makerRate: number;
  takerRate: number;
}

/** One row of GET /fapi/v1/leverageBracket. */
export interface BracketRow {
  bracket: number;
  initialLeverage: number;
  notionalFloorUsd: number;
  notionalCapUsd: number;
  maintMarginRatio: number;
  cumUsd: number;
}

export interface SymbolBrackets {
  symbol: string;
  brackets: BracketRow[];
}

/** exchangeInfo filters the order path must respect (PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, MIN_NOTIONAL). */
export interface SymbolRules {
  symbol: string;
  status: string;
  contractType: string;
  marginAsset: string;
  tickSize: number;
  minPriceUsd: number;
  maxPriceUsd: number;
  stepSize: number;
  minQtyBase: number;
  maxQtyBase: number;
  marketStepSize: number;
  marketMinQtyBase: number;
  marketMaxQtyBase: number;
  minNotionalUsd: number;
  /** PERCENT_PRICE/triggerProtect: the priceProtect threshold, a fraction. */
  triggerProtect: number;
}

export interface RateLimit {
  rateLimitType: 'REQUEST_WEIGHT' | 'ORDERS' | string;
  interval: 'SECOND' | 'MINUTE' | 'DAY' | string;
  intervalNum: number;
  limit: number;
}

export interface ExchangeInfo {
  serverTimeMs: number;
  rateLimits: RateLimit[];
  symbols: SymbolRules[];
}

/** Result of the start-up checks: what is wrong, and whether it can be fixed by the client (margin type, leverage). */
export interface AccountSetup {
  /** Hedge mode (dualSidePosition) refuses trading: the bot is one-way only. */
  hedgeMode: boolean;
  /** Multi-Assets mode forces cross margin: refuses trading. */
  multiAssetsMode: boolean;
  symbols: Array<{ symbol: string; marginType: MarginType; leverage: number; maxLeverageAtNotionalZero: number }>;
}

// ---------------------------------------------------------------- user data stream

/** ORDER_TRADE_UPDATE: a regular order changed (new, partial fill, fill, cancel, expiry, liquidation). */
export interface OrderUpdateEvent {
  kind: 'order';
  eventTimeMs: number;
  transactionTimeMs: number;
  symbol: string;
  clientOrderId: string;
  orderId: number;
  side: OrderSide;
  type: string;
  /** The type the order was sent as (the same for a regular order). */
  originalType: string;
  /** NEW, TRADE, CANCELED, CALCULATED (liquidation), EXPIRED, AMENDMENT. */
  executionType: string;
  status: OrderStatus;
  origQtyBase: number;
  priceUsd: number;
  avgPriceUsd: number;
  stopPriceUsd: number;
  lastFilledQtyBase: number;
  cumFilledQtyBase: number;
  lastFilledPriceUsd: number;
  commissionUsd: number;
  commissionAsset: string;
  tradeId: number;
  /** Realised profit of this trade. */
  realisedPnlUsd: number;
  isMaker: boolean;
  reduceOnly: boolean;
  closePosition: boolean;
}

/** ACCOUNT_UPDATE: balances and positions after a fill, funding fee, deposit … */
export interface AccountUpdateEvent {
  kind: 'account';
  eventTimeMs: number;
  transactionTimeMs: number;
  /** ORDER, FUNDING_FEE, DEPOSIT, WITHDRAW, ADJUSTMENT, MARGIN_TYPE_CHANGE, … */
  reason: string;
  balances: Array<{ asset: string; walletBalanceUsd: number; crossWalletBalanceUsd: number; balanceChangeUsd: number }>;
  positions: Array<{ symbol: string; qtyBase: number; entryPriceUsd: number; unrealisedPnlUsd: number; marginType: MarginType; isolatedWalletUsd: number }>;
}

/** ALGO_UPDATE: a conditional order changed. On TRIGGERED, `actualOrderId` names the regular order it became. */
export interface AlgoUpdateEvent {
  kind: 'algo';
  eventTimeMs: number;
  transactionTimeMs: number;
  algo: AlgoOrder;
  /** Fill progress of the actual order (0 until it trades). */
  executedQtyBase: number;
  avgPriceUsd: number;
  /** Why the algo order failed (REJECTED), e.g. "Reduce Only reject". */
  failReason: string;
}

export interface MarginCallEvent {
  kind: 'margin-call';
  eventTimeMs: number;
  positions: Array<{ symbol: string; qtyBase: number; marginType: MarginType; isolatedWalletUsd: number; markPriceUsd: number; unrealisedPnlUsd: number; maintenanceMarginUsd: number }>;
}

export interface ListenKeyExpiredEvent {
  kind: 'listen-key-expired';
  eventTimeMs: number;
}

export type UserDataEvent = OrderUpdateEvent | AccountUpdateEvent | AlgoUpdateEvent | MarginCallEvent | ListenKeyExpiredEvent;

/**
 * What the user-stream wrapper tells its owner besides exchange events:
 * `connected` with `resync: true` after every reopen (and after a new
 * listenKey) — events may have been missed, so the owner re-reads orders,
 * algo orders and positions over REST before trusting its state.
 */
export type UserStreamStatus = { kind: 'connected'; resync: boolean } | { kind: 'disconnected'; reason: string; retryInMs: number } | { kind: 'listen-key-renewed' };

// ---------------------------------------------------------------- the client

/** Which order a query or cancel means: ours by client id (the normal case) or Binance's id. */
export type OrderRef = { clientOrderId: string } | { orderId: number };
export type AlgoRef = { clientAlgoId: string } | { algoId: number };

/**
 * The signed USDⓈ-M trading client. Implemented by `UsdmClient` over HTTP
 * (Binance, demo trading, or the simulator — same wire). Errors are
 * `BinanceOrderError` (see errors.ts) with a `retry` decision; a request whose
 * outcome is unknown (timeout, 5xx, -1007) is never re-sent: `placeOrder` and
 * `placeAlgoOrder` look it up by client id before they return or throw.
 */
export interface UsdmTradingApi {
  /** Measures the offset between our clock and Binance's (GET /fapi/v1/time); every signed request's timestamp uses it. */
  syncTime(): Promise<{ offsetMs: number; roundTripMs: number }>;
  exchangeInfo(): Promise<ExchangeInfo>;
  leverageBrackets(symbol: string): Promise<SymbolBrackets>;
  account(): Promise<Account>;
  /** GET /fapi/v3/positionRisk; Binance lists only symbols with a position or open order, the client fills in flat ones asked for. */
  positions(symbol?: string): Promise<Position[]>;
  commissionRate(symbol: string): Promise<CommissionRate>;
  userTrades(symbol: string, q?: { orderId?: number; startTimeMs?: number; endTimeMs?: number; fromId?: number; limit?: number }): Promise<UserTrade[]>;
  income(q?: { symbol?: string; incomeType?: string; startTimeMs?: number; endTimeMs?: number; limit?: number }): Promise<IncomeRecord[]>;
  /** GET /fapi/v1/positionSide/dual: true = hedge mode. */
  hedgeMode(): Promise<boolean>;
  /** GET /fapi/v1/multiAssetsMargin. */
  multiAssetsMode(): Promise<boolean>;
  setLeverage(symbol: string, leverage: number): Promise<{ leverage: number; maxNotionalUsd: number }>;
  /** POST /fapi/v1/marginType; -4046 (already that type) counts as success and returns 'unchanged'. */
  setMarginType(symbol: string, marginType: MarginType): Promise<'changed' | 'unchanged'>;

  /** Places a regular order. Unknown outcome → looked up by clientOrderId; throws only when it is known not to exist or was refused. */
  placeOrder(order: NewOrder): Promise<Order>;
  /**
   * Idempotent placement for a restarted process: returns the order Binance
   * already has under this client id (an earlier run sent it, then died),
   * else places it. Use it whenever the decision may have been acted on before.
   */
  ensureOrder(order: NewOrder): Promise<Order>;
  /** undefined when Binance does not know the order (-2013). */
  queryOrder(symbol: string, ref: OrderRef): Promise<Order | undefined>;
  cancelOrder(symbol: string, ref: OrderRef): Promise<Order>;
  openOrders(symbol?: string): Promise<Order[]>;
  cancelAllOrders(symbol: string): Promise<void>;

  /** Places a conditional order through the Algo Order API; unknown outcome → looked up by clientAlgoId. */
  placeAlgoOrder(order: NewAlgoOrder): Promise<AlgoOrder>;
  /** As `ensureOrder`, for conditional orders by clientAlgoId. */
  ensureAlgoOrder(order: NewAlgoOrder): Promise<AlgoOrder>;
  queryAlgoOrder(ref: AlgoRef): Promise<AlgoOrder | undefined>;
  cancelAlgoOrder(ref: AlgoRef): Promise<void>;
  openAlgoOrders(symbol?: string): Promise<AlgoOrder[]>;
  cancelAllAlgoOrders(symbol: string): Promise<void>;

  /** POST /fapi/v1/listenKey: a key valid 60 min, kept alive by `keepAliveListenKey` (we do it every 30 min). */
  createListenKey(): Promise<string>;
  /** PUT /fapi/v1/listenKey; throws BinanceOrderError -1125 when the key is gone (then create a new one). */
  keepAliveListenKey(): Promise<void>;
  closeListenKey(): Promise<void>;
}
