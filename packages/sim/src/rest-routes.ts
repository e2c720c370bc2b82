import type { InstrumentProvider } from '@oitrader/trading';
import type { Kline } from '@oitrader/binance';
import { DAY_MS, timeframeMs, isTimeframe, type Timeframe } from '@oitrader/core';
import type { ReplayDataset } from './replay-dataset.ts';
import { syntheticBook } from './synthetic-book.ts';

/** An error Binance would send: HTTP status plus its `{code, msg}` body. */
export class SimApiError extends Error {
  readonly status: number;
  readonly code: number;

  constructor(status: number, code: number, msg: string) {
    super(msg);
    this.status = status;
    this.code = code;
  }
}

export interface Route {
  /** Request weight, Binance's figure for these parameters. */
  weight(params: URLSearchParams): number;
  handle(ctx: RouteContext, params: URLSearchParams): unknown;
}

export interface RouteContext {
  datasets: Map<string, ReplayDataset>;
  now: number;
  /** The request-weight limit per real-time minute this simulator enforces (and publishes in exchangeInfo). */
  weightPerMinute: number;
  /** The instruments the trading engine enforces: their filters are what exchangeInfo publishes. */
  instruments: InstrumentProvider;
}

const PERIODS = ['5m', '15m', '30m', '1h', '2h', '4h', '6h', '12h', '1d'];
const THIRTY_DAYS = 30 * DAY_MS;
const str = (x: number) => String(x);

function dataset(ctx: RouteContext, params: URLSearchParams): ReplayDataset {
  const symbol = params.get('symbol');
  if (!symbol) throw new SimApiError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
  const found = ctx.datasets.get(symbol);
  if (!found) throw new SimApiError(400, -1121, 'Invalid symbol.');
  return found;
}

function intParam(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new SimApiError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`);
  return n;
}

function limitParam(params: URLSearchParams, fallback: number, max: number): number {
  const limit = intParam(params, 'limit') ?? fallback;
  if (limit < 1 || limit > max) throw new SimApiError(400, -1130, `Data sent for parameter 'limit' is not valid (1..${max}).`);
  return limit;
}

/** Binance's window rule: from startTime forward, else back from endTime, else the latest `limit` rows. */
function window<T>(rows: T[], time: (row: T) => number, params: URLSearchParams, limit: number, visibleUntil: number): T[] {
  const start = intParam(params, 'startTime');
  const end = Math.min(intParam(params, 'endTime') ?? Number.POSITIVE_INFINITY, visibleUntil);
  const inRange = rows.filter((r) => time(r) <= end && (start === undefined || time(r) >= start));
  return start !== undefined ? inRange.slice(0, limit) : inRange.slice(Math.max(0, inRange.length - limit));
}

function period(params: URLSearchParams): string {
  const p = params.get('period');
  if (!p || !PERIODS.includes(p)) throw new SimApiError(400, -1102, "Mandatory parameter 'period' was not sent, was empty/null, or malformed.");
  return p;
}

/** The futures/data endpoints serve only the latest 30 days; an older startTime is refused, as Binance does. */
function recentOnly(params: URLSearchParams, now: number): void {
  const start = intParam(params, 'startTime');
  if (start !== undefined && start < now - THIRTY_DAYS) throw new SimApiError(400, -1130, "Data sent for parameter 'startTime' is not valid.");
}

/**
 * The forming candle, as far as a replay can know it: the stored bar's open
 * with no range or volume yet. Binance returns the forming candle in klines
 * too; the collector must not store it.
 */
export function formingCandle(k: Kline): Kline {
  return { ...k, high: k.open, low: k.open, close: k.open, volume: 0, quoteVolume: 0, trades: 0, takerBuyVolume: 0, takerBuyQuoteVolume: 0 };
}

export function klineArray(k: Kline): unknown[] {
  return [k.openTime, str(k.open), str(k.high), str(k.low), str(k.close), str(k.volume), k.closeTime, str(k.quoteVolume), k.trades, str(k.takerBuyVolume), str(k.takerBuyQuoteVolume), '0'];
}

/** Candles visible at `now`: closed ones as stored, the forming one reduced to its open. */
export function visibleKlines(rows: Kline[], now: number): Kline[] {
  const out: Kline[] = [];
  for (const k of rows) {
    if (k.openTime > now) break;
    out.push(k.closeTime < now ? k : formingCandle(k));
  }
  return out;
}

export function lastClosedPrice(ds: ReplayDataset, now: number): number | undefined {
  const rows = ds.klines.get('1m') ?? ds.klines.get('5m') ?? [...ds.klines.values()][0] ?? [];
  let price: number | undefined;
  for (const k of rows) {
    if (k.closeTime >= now) break;
    price = k.close;
  }
  return price ?? rows[0]?.open;
}

/** The funding rate in force at `now` and the next 8-hourly funding time. */
export function latestFunding(ds: ReplayDataset, now: number): { rate: number; next: number } {
  let rate = 0;
  for (const f of ds.funding) if (f.time <= now) rate = f.fundingRate;
  const eight = 8 * 3600_000;
  return { rate, next: Math.floor(now / eight) * eight + eight };
}

/**
 * exchangeInfo filters: the instruments' (what the matching engine
 * enforces) for the symbols it trades, else a generic altcoin set.
 */
function symbolFilters(symbol: string, instruments: InstrumentProvider): Array<Record<string, string>> {
  const f = instruments.has(symbol) ? instruments.instrument(symbol) : { tickSize: 0.0001, stepSize: 0.1, minQty: 0.1, minNotionalUsd: 5 };
  return [
    { filterType: 'PRICE_FILTER', minPrice: String(f.tickSize), maxPrice: '1000000', tickSize: String(f.tickSize) },
    { filterType: 'LOT_SIZE', minQty: String(f.minQty), maxQty: '10000000', stepSize: String(f.stepSize) },
    { filterType: 'MARKET_LOT_SIZE', minQty: String(f.minQty), maxQty: '1000000', stepSize: String(f.stepSize) },
    { filterType: 'MIN_NOTIONAL', notional: String(f.minNotionalUsd) },
  ];
}

export const ROUTES: Record<string, Route> = {
  '/fapi/v1/ping': { weight: () => 1, handle: () => ({}) },
  '/fapi/v1/time': { weight: () => 1, handle: (ctx) => ({ serverTime: ctx.now }) },
  '/fapi/v1/klines': {
    weight: (p) => {
      const limit = Number(p.get('limit') ?? 500);
      return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10;
    },
    handle: (ctx, p) => {
      const ds = dataset(ctx, p);
      const interval = p.get('interval');
      if (!interval || !isTimeframe(interval)) throw new SimApiError(400, -1120, 'Invalid interval.');
      const limit = limitParam(p, 500, 1500);
      const rows = visibleKlines(ds.klines.get(interval) ?? [], ctx.now);
      return window(rows, (k) => k.openTime, p, limit, ctx.now).map(klineArray);
    },
  },
  '/fapi/v1/fundingRate': {
    weight: () => 1,
    handle: (ctx, p) => {
      const ds = dataset(ctx, p);
      const limit = limitParam(p, 100, 1000);
      return window(ds.funding, (f) => f.time, p, limit, ctx.now).map((f) => ({
        symbol: ds.symbol,
        fundingTime: f.time,
        fundingRate: f.fundingRate.toFixed(8),
        markPrice: f.markPrice === null ? '' : str(f.markPrice),
      }));
    },
  },
  '/futures/data/openInterestHist': {
    weight: () => 1,
    handle: (ctx, p) => {
      const ds = dataset(ctx, p);
      const per = period(p);
      recentOnly(p, ctx.now);
      const rows = ds.openInterest.get(per) ?? [];
      return window(rows, (r) => r.time, p, limitParam(p, 30, 500), ctx.now).map((r) => ({
        symbol: ds.symbol,
        sumOpenInterest: str(r.openInterest),
        sumOpenInterestValue: str(r.openInterestValue),
        timestamp: r.time,
      }));
    },
  },
  '/futures/data/takerlongshortRatio': {
    weight: () => 1,
    handle: (ctx, p) => {
      const ds = dataset(ctx, p);
      const per = period(p);
      recentOnly(p, ctx.now);
      return window(ds.taker.get(per) ?? [], (r) => r.time, p, limitParam(p, 30, 500), ctx.now).map((r) => ({
        buySellRatio: str(r.buySellRatio),
        buyVol: str(r.buyVol),
        sellVol: str(r.sellVol),
        timestamp: r.time,
      }));
    },
  },
  '/fapi/v1/depth': {
    weight: (p) => {
      const limit = Number(p.get('limit') ?? 500);
      return limit <= 50 ? 2 : limit <= 100 ? 5 : limit <= 500 ? 10 : 20;
    },
    handle: (ctx, p) => {
      const ds = dataset(ctx, p);
      const limit = limitParam(p, 500, 1000);
      const book = syntheticBook(lastClosedPrice(ds, ctx.now) ?? 1, ctx.now, Math.min(limit, 100));
      return { lastUpdateId: ctx.now, E: ctx.now, T: ctx.now, bids: book.bids, asks: book.asks };
    },
  },
  '/fapi/v1/openInterest': {
    weight: () => 1,
    handle: (ctx, p) => {
      const ds = dataset(ctx, p);
      const rows = (ds.openInterest.get('5m') ?? []).filter((r) => r.time <= ctx.now);
      if (rows.length === 0) throw new SimApiError(400, -4108, 'Symbol has no open interest in this replay.');
      return { openInterest: str(rows[rows.length - 1].openInterest), symbol: ds.symbol, time: ctx.now };
    },
  },
  '/fapi/v1/premiumIndex': {
    weight: () => 1,
    handle: (ctx, p) => {
      const ds = dataset(ctx, p);
      const price = lastClosedPrice(ds, ctx.now) ?? 1;
      const funding = latestFunding(ds, ctx.now);
      return {
        symbol: ds.symbol,
        markPrice: str(price),
        indexPrice: str(price),
        estimatedSettlePrice: str(price),
        lastFundingRate: funding.rate.toFixed(8),
        interestRate: '0.00010000',
        nextFundingTime: funding.next,
        time: ctx.now,
      };
    },
  },
  '/fapi/v1/exchangeInfo': {
    weight: () => 1,
    handle: (ctx) => ({
      timezone: 'UTC',
      serverTime: ctx.now,
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: ctx.weightPerMinute },
        { rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: 1200 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 300 },
      ],
      symbols: [...ctx.datasets.values()].map((ds) => ({
        symbol: ds.symbol,
        pair: ds.symbol,
        contractType: 'PERPETUAL',
        status: 'TRADING',
        baseAsset: ds.symbol.replace(/USDT$/, ''),
        quoteAsset: 'USDT',
        marginAsset: 'USDT',
        pricePrecision: 4,
        quantityPrecision: 1,
        filters: symbolFilters(ds.symbol, ctx.instruments),
      })),
    }),
  },
};

for (const endpoint of ['globalLongShortAccountRatio', 'topLongShortAccountRatio', 'topLongShortPositionRatio'] as const) {
  ROUTES[`/futures/data/${endpoint}`] = {
    weight: () => 1,
    handle: (ctx, p) => {
      const ds = dataset(ctx, p);
      const per = period(p);
      recentOnly(p, ctx.now);
      return window(ds.longShort.get(`${endpoint}:${per}`) ?? [], (r) => r.time, p, limitParam(p, 30, 500), ctx.now).map((r) => ({
        symbol: ds.symbol,
        longShortRatio: str(r.ratio),
        longAccount: str(r.longShare),
        shortAccount: str(r.shortShare),
        timestamp: r.time,
      }));
    },
  };
}

export function intervalMs(interval: string): number {
  return timeframeMs(interval as Timeframe);
}
