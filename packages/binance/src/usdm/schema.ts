/**
 * Binance USDⓈ-M signed-endpoint and user-data JSON, as documented on
 * developers.binance.com (checked 2026-12): decimals are strings, times epoch
 * ms. The simulator types its answers with these interfaces and mapper.ts
 * reads them, so the two sides cannot drift apart silently. Fixtures of the
 * documented examples are in ./fixtures.
 */

/** POST/GET/DELETE /fapi/v1/order, GET /fapi/v1/openOrders items. */
export interface WireOrder {
  avgPrice: string;
  clientOrderId: string;
  cumQuote: string;
  executedQty: string;
  orderId: number;
  origQty: string;
  origType: string;
  price: string;
  reduceOnly: boolean;
  side: 'BUY' | 'SELL';
  positionSide: string;
  status: string;
  stopPrice: string;
  closePosition: boolean;
  symbol: string;
  time?: number;
  timeInForce: string;
  type: string;
  activatePrice?: string;
  priceRate?: string;
  updateTime: number;
  workingType: string;
  priceProtect: boolean;
  priceMatch: string;
  selfTradePreventionMode: string;
  goodTillDate: number;
  cumQty?: string;
}

/** POST/GET /fapi/v1/algoOrder, GET /fapi/v1/openAlgoOrders items. */
export interface WireAlgoOrder {
  algoId: number;
  clientAlgoId: string;
  algoType: 'CONDITIONAL';
  orderType: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  positionSide: string;
  timeInForce: string;
  quantity: string;
  algoStatus: string;
  actualOrderId?: string;
  actualPrice?: string;
  triggerPrice: string;
  price: string;
  icebergQuantity: string | null;
  tpTriggerPrice?: string;
  tpPrice?: string;
  slTriggerPrice?: string;
  slPrice?: string;
  tpOrderType?: string;
  selfTradePreventionMode: string;
  workingType: string;
  priceMatch: string;
  closePosition: boolean;
  priceProtect: boolean;
  reduceOnly: boolean;
  createTime: number;
  updateTime: number;
  triggerTime: number;
  goodTillDate: number;
}

/** GET /fapi/v3/positionRisk items. */
export interface WirePosition {
  symbol: string;
  positionSide: string;
  positionAmt: string;
  entryPrice: string;
  breakEvenPrice: string;
  markPrice: string;
  unRealizedProfit: string;
  liquidationPrice: string;
  isolatedMargin: string;
  notional: string;
  marginAsset: string;
  isolatedWallet: string;
  initialMargin: string;
  maintMargin: string;
  positionInitialMargin: string;
  openOrderInitialMargin: string;
  adl: number;
  bidNotional: string;
  askNotional: string;
  updateTime: number;
  /** v2 fields, still sent by v2; v3 drops them (leverage from symbolConfig). */
  leverage?: string;
  marginType?: string;
}

/** GET /fapi/v1/symbolConfig items (margin type and leverage per symbol, v3 era). */
export interface WireSymbolConfig {
  symbol: string;
  marginType: 'ISOLATED' | 'CROSSED';
  isAutoAddMargin: string;
  leverage: number;
  maxNotionalValue: string;
}

/** GET /fapi/v3/account (single-asset mode). */
export interface WireAccount {
  totalInitialMargin: string;
  totalMaintMargin: string;
  totalWalletBalance: string;
  totalUnrealizedProfit: string;
  totalMarginBalance: string;
  totalPositionInitialMargin: string;
  totalOpenOrderInitialMargin: string;
  totalCrossWalletBalance: string;
  totalCrossUnPnl: string;
  availableBalance: string;
  maxWithdrawAmount: string;
  assets: Array<{
    asset: string;
    walletBalance: string;
    unrealizedProfit: string;
    marginBalance: string;
    maintMargin: string;
    initialMargin: string;
    positionInitialMargin: string;
    openOrderInitialMargin: string;
    crossWalletBalance: string;
    crossUnPnl: string;
    availableBalance: string;
    maxWithdrawAmount: string;
    updateTime: number;
  }>;
  positions: Array<{
    symbol: string;
    positionSide: string;
    positionAmt: string;
    unrealizedProfit: string;
    isolatedMargin: string;
    notional: string;
    isolatedWallet: string;
    initialMargin: string;
    maintMargin: string;
    updateTime: number;
  }>;
}

export interface WireLeverageBracket {
  symbol: string;
  notionalCoef?: number;
  brackets: Array<{ bracket: number; initialLeverage: number; notionalCap: number; notionalFloor: number; maintMarginRatio: number; cum: number }>;
}

export interface WireCommissionRate {
  symbol: string;
  makerCommissionRate: string;
  takerCommissionRate: string;
}

export interface WireFilter {
  filterType: string;
  [key: string]: string | number | undefined;
}

export interface WireExchangeInfo {
  timezone: string;
  serverTime: number;
  rateLimits: Array<{ rateLimitType: string; interval: string; intervalNum: number; limit: number }>;
  symbols: Array<{
    symbol: string;
    pair: string;
    contractType: string;
    status: string;
    baseAsset: string;
    quoteAsset: string;
    marginAsset: string;
    pricePrecision: number;
    quantityPrecision: number;
    triggerProtect?: string;
    filters: WireFilter[];
    orderTypes?: string[];
    timeInForce?: string[];
  }>;
}

/** ORDER_TRADE_UPDATE (user data stream). */
export interface WireOrderTradeUpdate {
  e: 'ORDER_TRADE_UPDATE';
  E: number;
  T: number;
  o: {
    s: string;
    c: string;
    S: 'BUY' | 'SELL';
    o: string;
    f: string;
    q: string;
    p: string;
    ap: string;
    sp: string;
    x: string;
    X: string;
    i: number;
    l: string;
    z: string;
    L: string;
    N?: string;
    n: string;
    T: number;
    t: number;
    b: string;
    a: string;
    m: boolean;
    R: boolean;
    wt: string;
    ot: string;
    ps: string;
    cp: boolean;
    rp: string;
    pP: boolean;
    si: number;
    ss: number;
    V: string;
    pm: string;
    gtd: number;
  };
}

/** ACCOUNT_UPDATE (user data stream). */
export interface WireAccountUpdate {
  e: 'ACCOUNT_UPDATE';
  E: number;
  T: number;
  a: {
    m: string;
    B: Array<{ a: string; wb: string; cw: string; bc: string }>;
    P: Array<{ s: string; pa: string; ep: string; bep: string; cr: string; up: string; mt: 'isolated' | 'cross'; iw: string; ps: string }>;
  };
}

/** ALGO_UPDATE (user data stream). */
export interface WireAlgoUpdate {
  e: 'ALGO_UPDATE';
  T: number;
  E: number;
  o: {
    caid: string;
    aid: number;
    at: 'CONDITIONAL';
    o: string;
    s: string;
    S: 'BUY' | 'SELL';
    ps: string;
    f: string;
    q: string;
    X: string;
    /** The actual (regular) order id once triggered; "" before. */
    ai: string;
    ap: string;
    aq: string;
    act: string;
    tp: string;
    p: string;
    V: string;
    wt: string;
    pm: string;
    cp: boolean;
    pP: boolean;
    R: boolean;
    tt: number;
    gtd: number;
    rm: string;
  };
}

/** MARGIN_CALL (user data stream). */
export interface WireMarginCall {
  e: 'MARGIN_CALL';
  E: number;
  cw: string;
  p: Array<{ s: string; ps: string; pa: string; mt: 'ISOLATED' | 'CROSSED'; iw: string; mp: string; up: string; mm: string }>;
}

export interface WireListenKeyExpired {
  e: 'listenKeyExpired';
  E: number | string;
  listenKey: string;
}

export type WireUserEvent = WireOrderTradeUpdate | WireAccountUpdate | WireAlgoUpdate | WireMarginCall | WireListenKeyExpired;
