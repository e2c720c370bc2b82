import { decimal, list, record, text, timestamp } from '../payload.ts';
import { BinancePayloadError } from '../rest/errors.ts';
import type {
  Account,
  AlgoOrder,
  AlgoOrderType,
  AlgoStatus,
  CommissionRate,
  ExchangeInfo,
  IncomeRecord,
  UserTrade,
  MarginType,
  Order,
  OrderSide,
  OrderStatus,
  Position,
  SymbolBrackets,
  SymbolRules,
  UserDataEvent,
  WorkingType,
} from './types.ts';

/**
 * Wire (schema.ts) → domain (types.ts). Each reader validates what the order
 * path relies on and names the field it rejects; a malformed answer is a
 * BinancePayloadError, never a silent 0.
 */

const ORDER_STATUSES = new Set(['NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'EXPIRED_IN_MATCH']);
const ALGO_STATUSES = new Set(['NEW', 'TRIGGERING', 'TRIGGERED', 'FINISHED', 'CANCELED', 'REJECTED', 'EXPIRED']);

function side(value: unknown, where: string): OrderSide {
  if (value !== 'BUY' && value !== 'SELL') throw new BinancePayloadError(`${where}: expected BUY or SELL, got ${JSON.stringify(value)}`);
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: Set<string>, where: string): T {
  if (typeof value !== 'string' || !allowed.has(value)) throw new BinancePayloadError(`${where}: unexpected ${JSON.stringify(value)} (${[...allowed].join(', ')})`);
  return value as T;
}

function bool(value: unknown, where: string): boolean {
  if (value === true || value === 'true' || value === 'TRUE') return true;
  if (value === false || value === 'false' || value === 'FALSE' || value === undefined) return false;
  throw new BinancePayloadError(`${where}: expected a boolean, got ${JSON.stringify(value)}`);
}

/** Binance sends "" for an absent decimal in a few fields (stopPrice of a market order, ap before a fill). */
function decimalOrZero(value: unknown, where: string): number {
  return value === '' || value === undefined || value === null ? 0 : decimal(value, where);
}

function int(value: unknown, where: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new BinancePayloadError(`${where}: expected an integer, got ${JSON.stringify(value)}`);
  return n;
}

function marginType(value: unknown, where: string): MarginType {
  const v = typeof value === 'string' ? value.toUpperCase() : value;
  if (v === 'ISOLATED') return 'ISOLATED';
  if (v === 'CROSSED' || v === 'CROSS') return 'CROSSED';
  throw new BinancePayloadError(`${where}: expected a margin type, got ${JSON.stringify(value)}`);
}

export function toOrder(raw: unknown, where = 'order'): Order {
  const o = record(raw, where);
  return {
    symbol: text(o.symbol, `${where}.symbol`),
    orderId: int(o.orderId, `${where}.orderId`),
    clientOrderId: text(o.clientOrderId, `${where}.clientOrderId`),
    side: side(o.side, `${where}.side`),
    type: text(o.type, `${where}.type`),
    status: oneOf<OrderStatus>(o.status, ORDER_STATUSES, `${where}.status`),
    priceUsd: decimalOrZero(o.price, `${where}.price`),
    avgPriceUsd: decimalOrZero(o.avgPrice, `${where}.avgPrice`),
    origQtyBase: decimal(o.origQty, `${where}.origQty`),
    executedQtyBase: decimal(o.executedQty, `${where}.executedQty`),
    reduceOnly: bool(o.reduceOnly, `${where}.reduceOnly`),
    closePosition: bool(o.closePosition, `${where}.closePosition`),
    timeInForce: typeof o.timeInForce === 'string' ? o.timeInForce : 'GTC',
    updateTimeMs: timestamp(o.updateTime, `${where}.updateTime`),
  };
}

export function toUserTrades(raw: unknown): UserTrade[] {
  return list(raw, 'userTrades').map((row, i) => {
    const where = `userTrades[${i}]`;
    const t = record(row, where);
    return {
      tradeId: int(t.id, `${where}.id`),
      orderId: int(t.orderId, `${where}.orderId`),
      symbol: text(t.symbol, `${where}.symbol`),
      side: side(t.side, `${where}.side`),
      priceUsd: decimal(t.price, `${where}.price`),
      qtyBase: decimal(t.qty, `${where}.qty`),
      quoteQtyUsd: decimal(t.quoteQty, `${where}.quoteQty`),
      commission: Math.abs(decimal(t.commission, `${where}.commission`)),
      commissionAsset: text(t.commissionAsset, `${where}.commissionAsset`),
      realizedPnlUsd: decimalOrZero(t.realizedPnl, `${where}.realizedPnl`),
      maker: bool(t.maker, `${where}.maker`),
      timeMs: timestamp(t.time, `${where}.time`),
    };
  });
}

export function toIncome(raw: unknown): IncomeRecord[] {
  return list(raw, 'income').map((row, i) => {
    const where = `income[${i}]`;
    const r = record(row, where);
    return {
      symbol: typeof r.symbol === 'string' ? r.symbol : '',
      incomeType: text(r.incomeType, `${where}.incomeType`),
      income: decimal(r.income, `${where}.income`),
      asset: text(r.asset, `${where}.asset`),
      timeMs: timestamp(r.time, `${where}.time`),
      tranId: int(r.tranId, `${where}.tranId`),
    };
  });
}

export function toAlgoOrder(raw: unknown, where = 'algoOrder'): AlgoOrder {
  const o = record(raw, where);
  const actual = o.actualOrderId;
  return {
    algoId: int(o.algoId, `${where}.algoId`),
    clientAlgoId: text(o.clientAlgoId, `${where}.clientAlgoId`),
    symbol: text(o.symbol, `${where}.symbol`),
    side: side(o.side, `${where}.side`),
    orderType: text(o.orderType, `${where}.orderType`) as AlgoOrderType,
    algoStatus: oneOf<AlgoStatus>(o.algoStatus, ALGO_STATUSES, `${where}.algoStatus`),
    triggerPriceUsd: decimalOrZero(o.triggerPrice, `${where}.triggerPrice`),
    qtyBase: decimalOrZero(o.quantity, `${where}.quantity`),
    closePosition: bool(o.closePosition, `${where}.closePosition`),
    reduceOnly: bool(o.reduceOnly, `${where}.reduceOnly`),
    priceProtect: bool(o.priceProtect, `${where}.priceProtect`),
    workingType: (o.workingType === 'MARK_PRICE' ? 'MARK_PRICE' : 'CONTRACT_PRICE') as WorkingType,
    createTimeMs: int(o.createTime ?? 0, `${where}.createTime`),
    updateTimeMs: int(o.updateTime ?? 0, `${where}.updateTime`),
    triggerTimeMs: int(o.triggerTime ?? 0, `${where}.triggerTime`),
    actualOrderId: actual === undefined || actual === '' || actual === null ? undefined : int(actual, `${where}.actualOrderId`),
  };
}

/** positionRisk v3 rows, joined with symbolConfig rows for leverage and margin type (v3 dropped them from positionRisk). */
export function toPositions(rawRisk: unknown, rawConfig: unknown): Position[] {
  const configs = new Map<string, { leverage: number; marginType: MarginType }>();
  list(rawConfig, 'symbolConfig').forEach((item, i) => {
    const c = record(item, `symbolConfig[${i}]`);
    configs.set(text(c.symbol, `symbolConfig[${i}].symbol`), { leverage: int(c.leverage, `symbolConfig[${i}].leverage`), marginType: marginType(c.marginType, `symbolConfig[${i}].marginType`) });
  });
  return list(rawRisk, 'positionRisk').map((item, i) => {
    const where = `positionRisk[${i}]`;
    const p = record(item, where);
    const symbol = text(p.symbol, `${where}.symbol`);
    if (p.positionSide !== undefined && p.positionSide !== 'BOTH') throw new BinancePayloadError(`${where}.positionSide: ${JSON.stringify(p.positionSide)} means hedge mode; the bot trades one-way mode only`);
    const config = configs.get(symbol);
    const isolatedWallet = decimalOrZero(p.isolatedWallet, `${where}.isolatedWallet`);
    return {
      symbol,
      qtyBase: decimal(p.positionAmt, `${where}.positionAmt`),
      entryPriceUsd: decimal(p.entryPrice, `${where}.entryPrice`),
      markPriceUsd: decimal(p.markPrice, `${where}.markPrice`),
      unrealisedPnlUsd: decimal(p.unRealizedProfit, `${where}.unRealizedProfit`),
      liquidationPriceUsd: decimalOrZero(p.liquidationPrice, `${where}.liquidationPrice`),
      leverage: config?.leverage ?? (p.leverage === undefined ? 0 : int(p.leverage, `${where}.leverage`)),
      marginType: config?.marginType ?? (p.marginType !== undefined ? marginType(p.marginType, `${where}.marginType`) : isolatedWallet > 0 ? 'ISOLATED' : 'CROSSED'),
      isolatedMarginUsd: decimalOrZero(p.isolatedMargin, `${where}.isolatedMargin`),
      notionalUsd: decimalOrZero(p.notional, `${where}.notional`),
      updateTimeMs: int(p.updateTime ?? 0, `${where}.updateTime`),
    };
  });
}

export function toAccount(raw: unknown): Account {
  const a = record(raw, 'account');
  return {
    totalWalletBalanceUsd: decimal(a.totalWalletBalance, 'account.totalWalletBalance'),
    totalUnrealisedPnlUsd: decimal(a.totalUnrealizedProfit, 'account.totalUnrealizedProfit'),
    totalMarginBalanceUsd: decimal(a.totalMarginBalance, 'account.totalMarginBalance'),
    availableBalanceUsd: decimal(a.availableBalance, 'account.availableBalance'),
    assets: list(a.assets, 'account.assets').map((item, i) => {
      const b = record(item, `account.assets[${i}]`);
      return {
        asset: text(b.asset, `account.assets[${i}].asset`),
        walletBalanceUsd: decimal(b.walletBalance, `account.assets[${i}].walletBalance`),
        availableBalanceUsd: decimal(b.availableBalance, `account.assets[${i}].availableBalance`),
        unrealisedPnlUsd: decimal(b.unrealizedProfit, `account.assets[${i}].unrealizedProfit`),
      };
    }),
  };
}

export function toCommissionRate(raw: unknown): CommissionRate {
  const c = record(raw, 'commissionRate');
  return {
    symbol: text(c.symbol, 'commissionRate.symbol'),
    makerRate: decimal(c.makerCommissionRate, 'commissionRate.makerCommissionRate'),
    takerRate: decimal(c.takerCommissionRate, 'commissionRate.takerCommissionRate'),
  };
}

export function toBrackets(raw: unknown, symbol: string): SymbolBrackets {
  const rows = list(raw, 'leverageBracket');
  const found = rows.map((r, i) => record(r, `leverageBracket[${i}]`)).find((r) => r.symbol === symbol);
  if (!found) throw new BinancePayloadError(`leverageBracket: no entry for ${symbol}`);
  return {
    symbol,
    brackets: list(found.brackets, 'leverageBracket.brackets').map((item, i) => {
      const where = `leverageBracket.brackets[${i}]`;
      const b = record(item, where);
      return {
        bracket: int(b.bracket, `${where}.bracket`),
        initialLeverage: int(b.initialLeverage, `${where}.initialLeverage`),
        notionalFloorUsd: decimal(b.notionalFloor, `${where}.notionalFloor`),
        notionalCapUsd: decimal(b.notionalCap, `${where}.notionalCap`),
        maintMarginRatio: decimal(b.maintMarginRatio, `${where}.maintMarginRatio`),
        cumUsd: decimal(b.cum, `${where}.cum`),
      };
    }),
  };
}

export function toExchangeInfo(raw: unknown): ExchangeInfo {
  const e = record(raw, 'exchangeInfo');
  return {
    serverTimeMs: timestamp(e.serverTime, 'exchangeInfo.serverTime'),
    rateLimits: list(e.rateLimits, 'exchangeInfo.rateLimits').map((item, i) => {
      const r = record(item, `exchangeInfo.rateLimits[${i}]`);
      return { rateLimitType: text(r.rateLimitType, 'rateLimitType'), interval: text(r.interval, 'interval'), intervalNum: int(r.intervalNum, 'intervalNum'), limit: int(r.limit, 'limit') };
    }),
    symbols: list(e.symbols, 'exchangeInfo.symbols').map((item, i) => toSymbolRules(item, `exchangeInfo.symbols[${i}]`)),
  };
}

function toSymbolRules(raw: unknown, where: string): SymbolRules {
  const s = record(raw, where);
  const filters = new Map<string, Record<string, unknown>>();
  for (const f of list(s.filters, `${where}.filters`)) {
    const filter = record(f, `${where}.filters[]`);
    filters.set(String(filter.filterType), filter);
  }
  const need = (type: string) => {
    const f = filters.get(type);
    if (!f) throw new BinancePayloadError(`${where}: no ${type} filter`);
    return f;
  };
  const price = need('PRICE_FILTER');
  const lot = need('LOT_SIZE');
  const market = filters.get('MARKET_LOT_SIZE') ?? lot;
  const notional = filters.get('MIN_NOTIONAL');
  return {
    symbol: text(s.symbol, `${where}.symbol`),
    status: text(s.status, `${where}.status`),
    contractType: typeof s.contractType === 'string' ? s.contractType : '',
    marginAsset: typeof s.marginAsset === 'string' ? s.marginAsset : 'USDT',
    tickSize: decimal(price.tickSize, `${where}.PRICE_FILTER.tickSize`),
    minPriceUsd: decimal(price.minPrice, `${where}.PRICE_FILTER.minPrice`),
    maxPriceUsd: decimal(price.maxPrice, `${where}.PRICE_FILTER.maxPrice`),
    stepSize: decimal(lot.stepSize, `${where}.LOT_SIZE.stepSize`),
    minQtyBase: decimal(lot.minQty, `${where}.LOT_SIZE.minQty`),
    maxQtyBase: decimal(lot.maxQty, `${where}.LOT_SIZE.maxQty`),
    marketStepSize: decimal(market.stepSize, `${where}.MARKET_LOT_SIZE.stepSize`),
    marketMinQtyBase: decimal(market.minQty, `${where}.MARKET_LOT_SIZE.minQty`),
    marketMaxQtyBase: decimal(market.maxQty, `${where}.MARKET_LOT_SIZE.maxQty`),
    minNotionalUsd: notional ? decimal(notional.notional, `${where}.MIN_NOTIONAL.notional`) : 0,
    triggerProtect: s.triggerProtect === undefined ? 0 : decimal(s.triggerProtect, `${where}.triggerProtect`),
  };
}

/** One user-data-stream message (a raw /ws payload, or the `data` of a combined one). Unknown event types return undefined. */
export function toUserEvent(raw: unknown): UserDataEvent | undefined {
  const m = record(raw, 'userEvent');
  const e = m.e;
  if (e === 'ORDER_TRADE_UPDATE') {
    const o = record(m.o, 'ORDER_TRADE_UPDATE.o');
    const w = 'ORDER_TRADE_UPDATE.o';
    return {
      kind: 'order',
      eventTimeMs: timestamp(m.E, 'ORDER_TRADE_UPDATE.E'),
      transactionTimeMs: timestamp(m.T, 'ORDER_TRADE_UPDATE.T'),
      symbol: text(o.s, `${w}.s`),
      clientOrderId: text(o.c, `${w}.c`),
      orderId: int(o.i, `${w}.i`),
      side: side(o.S, `${w}.S`),
      type: text(o.o, `${w}.o`),
      originalType: typeof o.ot === 'string' ? o.ot : text(o.o, `${w}.o`),
      executionType: text(o.x, `${w}.x`),
      status: oneOf<OrderStatus>(o.X, ORDER_STATUSES, `${w}.X`),
      origQtyBase: decimal(o.q, `${w}.q`),
      priceUsd: decimalOrZero(o.p, `${w}.p`),
      avgPriceUsd: decimalOrZero(o.ap, `${w}.ap`),
      stopPriceUsd: decimalOrZero(o.sp, `${w}.sp`),
      lastFilledQtyBase: decimalOrZero(o.l, `${w}.l`),
      cumFilledQtyBase: decimalOrZero(o.z, `${w}.z`),
      lastFilledPriceUsd: decimalOrZero(o.L, `${w}.L`),
      commissionUsd: decimalOrZero(o.n, `${w}.n`),
      commissionAsset: typeof o.N === 'string' ? o.N : '',
      tradeId: int(o.t ?? 0, `${w}.t`),
      realisedPnlUsd: decimalOrZero(o.rp, `${w}.rp`),
      isMaker: bool(o.m, `${w}.m`),
      reduceOnly: bool(o.R, `${w}.R`),
      closePosition: bool(o.cp, `${w}.cp`),
    };
  }
  if (e === 'ACCOUNT_UPDATE') {
    const a = record(m.a, 'ACCOUNT_UPDATE.a');
    return {
      kind: 'account',
      eventTimeMs: timestamp(m.E, 'ACCOUNT_UPDATE.E'),
      transactionTimeMs: timestamp(m.T, 'ACCOUNT_UPDATE.T'),
      reason: text(a.m, 'ACCOUNT_UPDATE.a.m'),
      balances: list(a.B, 'ACCOUNT_UPDATE.a.B').map((item, i) => {
        const b = record(item, `ACCOUNT_UPDATE.a.B[${i}]`);
        return { asset: text(b.a, 'B.a'), walletBalanceUsd: decimal(b.wb, 'B.wb'), crossWalletBalanceUsd: decimalOrZero(b.cw, 'B.cw'), balanceChangeUsd: decimalOrZero(b.bc, 'B.bc') };
      }),
      positions: list(a.P, 'ACCOUNT_UPDATE.a.P').map((item, i) => {
        const p = record(item, `ACCOUNT_UPDATE.a.P[${i}]`);
        return {
          symbol: text(p.s, 'P.s'),
          qtyBase: decimal(p.pa, 'P.pa'),
          entryPriceUsd: decimal(p.ep, 'P.ep'),
          unrealisedPnlUsd: decimalOrZero(p.up, 'P.up'),
          marginType: marginType(p.mt, 'P.mt'),
          isolatedWalletUsd: decimalOrZero(p.iw, 'P.iw'),
        };
      }),
    };
  }
  if (e === 'ALGO_UPDATE') {
    const o = record(m.o, 'ALGO_UPDATE.o');
    const w = 'ALGO_UPDATE.o';
    const actual = o.ai;
    return {
      kind: 'algo',
      eventTimeMs: timestamp(m.E, 'ALGO_UPDATE.E'),
      transactionTimeMs: timestamp(m.T, 'ALGO_UPDATE.T'),
      algo: {
        algoId: int(o.aid, `${w}.aid`),
        clientAlgoId: text(o.caid, `${w}.caid`),
        symbol: text(o.s, `${w}.s`),
        side: side(o.S, `${w}.S`),
        orderType: text(o.o, `${w}.o`) as AlgoOrderType,
        algoStatus: oneOf<AlgoStatus>(o.X, ALGO_STATUSES, `${w}.X`),
        triggerPriceUsd: decimalOrZero(o.tp, `${w}.tp`),
        qtyBase: decimalOrZero(o.q, `${w}.q`),
        closePosition: bool(o.cp, `${w}.cp`),
        reduceOnly: bool(o.R, `${w}.R`),
        priceProtect: bool(o.pP, `${w}.pP`),
        workingType: o.wt === 'MARK_PRICE' ? 'MARK_PRICE' : 'CONTRACT_PRICE',
        createTimeMs: 0,
        updateTimeMs: timestamp(m.T, 'ALGO_UPDATE.T'),
        triggerTimeMs: int(o.tt ?? 0, `${w}.tt`),
        actualOrderId: actual === undefined || actual === '' ? undefined : int(actual, `${w}.ai`),
      },
      executedQtyBase: decimalOrZero(o.aq, `${w}.aq`),
      avgPriceUsd: decimalOrZero(o.ap, `${w}.ap`),
      failReason: typeof o.rm === 'string' ? o.rm : '',
    };
  }
  if (e === 'MARGIN_CALL') {
    return {
      kind: 'margin-call',
      eventTimeMs: timestamp(m.E, 'MARGIN_CALL.E'),
      positions: list(m.p, 'MARGIN_CALL.p').map((item, i) => {
        const p = record(item, `MARGIN_CALL.p[${i}]`);
        return {
          symbol: text(p.s, 'p.s'),
          qtyBase: decimal(p.pa, 'p.pa'),
          marginType: marginType(p.mt, 'p.mt'),
          isolatedWalletUsd: decimalOrZero(p.iw, 'p.iw'),
          markPriceUsd: decimal(p.mp, 'p.mp'),
          unrealisedPnlUsd: decimalOrZero(p.up, 'p.up'),
          maintenanceMarginUsd: decimalOrZero(p.mm, 'p.mm'),
        };
      }),
    };
  }
  if (e === 'listenKeyExpired') return { kind: 'listen-key-expired', eventTimeMs: timestamp(m.E, 'listenKeyExpired.E') };
  return undefined;
}
