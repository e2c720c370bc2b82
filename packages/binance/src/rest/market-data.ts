import { decimal, list, nonNegative, parseEach, positive, record, text, timestamp, type Rejected } from '../payload.ts';
import { BinancePayloadError } from './errors.ts';
import type { BinanceRestClient } from './rest-client.ts';

export interface Kline {
  openTime: number;
  closeTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  quoteVolume: number;
  trades: number;
  takerBuyVolume: number;
  takerBuyQuoteVolume: number;
}

export interface OpenInterestPoint {
  time: number;
  openInterest: number;
  openInterestValue: number;
}

export interface FundingPoint {
  time: number;
  fundingRate: number;
  markPrice: number | null;
}

export type LongShortEndpoint = 'globalLongShortAccountRatio' | 'topLongShortAccountRatio' | 'topLongShortPositionRatio';

export interface LongShortPoint {
  time: number;
  ratio: number;
  longShare: number;
  shortShare: number;
}

export interface TakerPoint {
  time: number;
  buySellRatio: number;
  buyVol: number;
  sellVol: number;
}

export interface BookSnapshot {
  time: number;
  lastUpdateId: number;
  bids: Array<[number, number]>;
  asks: Array<[number, number]>;
}

export interface PremiumIndex {
  symbol: string;
  markPrice: number;
  indexPrice: number;
  lastFundingRate: number;
  nextFundingTime: number;
  time: number;
}

export interface SymbolInfo {
  symbol: string;
  status: string;
  contractType: string;
  tickSize: number;
  stepSize: number;
  minQty: number;
  minNotional: number;
}

export interface Parsed<T> {
  rows: T[];
  rejected: Rejected[];
}

export function parseKline(item: unknown, where: string): Kline {
  const k = list(item, where);
  if (k.length < 11) throw new BinancePayloadError(`${where}: a kline has 12 fields, got ${k.length}`);
  const row: Kline = {
    openTime: timestamp(k[0], `${where}.openTime`),
    open: positive(k[1], `${where}.open`),
    high: positive(k[2], `${where}.high`),
    low: positive(k[3], `${where}.low`),
    close: positive(k[4], `${where}.close`),
    volume: nonNegative(k[5], `${where}.volume`),
    closeTime: timestamp(k[6], `${where}.closeTime`),
    quoteVolume: nonNegative(k[7], `${where}.quoteVolume`),
    trades: nonNegative(k[8], `${where}.trades`),
    takerBuyVolume: nonNegative(k[9], `${where}.takerBuyVolume`),
    takerBuyQuoteVolume: nonNegative(k[10], `${where}.takerBuyQuoteVolume`),
  };
  checkCandle(row, where);
  return row;
}

/** Candle invariants: low <= open, close <= high. */
export function checkCandle(k: Pick<Kline, 'open' | 'high' | 'low' | 'close'>, where: string): void {
  if (k.low > Math.min(k.open, k.close) || k.high < Math.max(k.open, k.close)) {
    throw new BinancePayloadError(`${where}: high/low do not bracket open/close (o ${k.open} h ${k.high} l ${k.low} c ${k.close})`);
  }
}

/** Kline weight by limit, from Binance's table: [1,100) 1, [100,500) 2, [500,1000] 5, > 1000 10. */
export function klinesWeight(limit: number): number {
  if (limit < 100) return 1;
  if (limit < 500) return 2;
  if (limit <= 1000) return 5;
  return 10;
}

/** Depth weight by limit: 5–50 → 2, 100 → 5, 500 → 10, 1000 → 20. */
export function depthWeight(limit: number): number {
  if (limit <= 50) return 2;
  if (limit <= 100) return 5;
  if (limit <= 500) return 10;
  return 20;
}

/** The USDⓈ-M market-data endpoints the collector uses, parsed and validated. */
export class BinanceMarketData {
  readonly rest: BinanceRestClient;

  constructor(rest: BinanceRestClient) {
    this.rest = rest;
  }

  async serverTime(): Promise<number> {
    const body = record(await this.rest.get('/fapi/v1/time', {}, 1), 'time');
    return timestamp(body.serverTime, 'time.serverTime');
  }

  async klines(symbol: string, interval: string, range: { startTime?: number; endTime?: number; limit?: number } = {}): Promise<Parsed<Kline>> {
    const limit = range.limit ?? 500;
    const body = await this.rest.get('/fapi/v1/klines', { symbol, interval, startTime: range.startTime, endTime: range.endTime, limit }, klinesWeight(limit));
    return parseEach(list(body, `klines ${symbol} ${interval}`), parseKline, `klines ${symbol} ${interval}`);
  }

  async openInterestHist(symbol: string, period: string, range: { startTime?: number; endTime?: number; limit?: number } = {}): Promise<Parsed<OpenInterestPoint>> {
    const body = await this.rest.get('/futures/data/openInterestHist', { symbol, period, startTime: range.startTime, endTime: range.endTime, limit: range.limit ?? 500 }, 1, 'futuresData');
    return parseEach(list(body, 'openInterestHist'), (item, where) => {
      const r = record(item, where);
      return { time: timestamp(r.timestamp, `${where}.timestamp`), openInterest: positive(r.sumOpenInterest, `${where}.sumOpenInterest`), openInterestValue: nonNegative(r.sumOpenInterestValue, `${where}.sumOpenInterestValue`) };
    }, `openInterestHist ${symbol} ${period}`);
  }

  async fundingRate(symbol: string, range: { startTime?: number; endTime?: number; limit?: number } = {}): Promise<Parsed<FundingPoint>> {
    const body = await this.rest.get('/fapi/v1/fundingRate', { symbol, startTime: range.startTime, endTime: range.endTime, limit: range.limit ?? 1000 }, 1);
    return parseEach(list(body, 'fundingRate'), (item, where) => {
      const r = record(item, where);
      const mark = r.markPrice === undefined || r.markPrice === '' ? null : positive(r.markPrice, `${where}.markPrice`);
      return { time: timestamp(r.fundingTime, `${where}.fundingTime`), fundingRate: decimal(r.fundingRate, `${where}.fundingRate`), markPrice: mark };
    }, `fundingRate ${symbol}`);
  }

  async longShortRatio(endpoint: LongShortEndpoint, symbol: string, period: string, range: { startTime?: number; endTime?: number; limit?: number } = {}): Promise<Parsed<LongShortPoint>> {
    const body = await this.rest.get(`/futures/data/${endpoint}`, { symbol, period, startTime: range.startTime, endTime: range.endTime, limit: range.limit ?? 500 }, 1, 'futuresData');
    return parseEach(list(body, endpoint), (item, where) => {
      const r = record(item, where);
      return { time: timestamp(r.timestamp, `${where}.timestamp`), ratio: nonNegative(r.longShortRatio, `${where}.longShortRatio`), longShare: nonNegative(r.longAccount ?? r.longPosition, `${where}.longAccount`), shortShare: nonNegative(r.shortAccount ?? r.shortPosition, `${where}.shortAccount`) };
    }, `${endpoint} ${symbol} ${period}`);
  }

  async takerLongShortRatio(symbol: string, period: string, range: { startTime?: number; endTime?: number; limit?: number } = {}): Promise<Parsed<TakerPoint>> {
    const body = await this.rest.get('/futures/data/takerlongshortRatio', { symbol, period, startTime: range.startTime, endTime: range.endTime, limit: range.limit ?? 500 }, 1, 'futuresData');
    return parseEach(list(body, 'takerlongshortRatio'), (item, where) => {
      const r = record(item, where);
      return { time: timestamp(r.timestamp, `${where}.timestamp`), buySellRatio: nonNegative(r.buySellRatio, `${where}.buySellRatio`), buyVol: nonNegative(r.buyVol, `${where}.buyVol`), sellVol: nonNegative(r.sellVol, `${where}.sellVol`) };
    }, `takerlongshortRatio ${symbol} ${period}`);
  }

  async depth(symbol: string, limit = 100): Promise<BookSnapshot> {
    const r = record(await this.rest.get('/fapi/v1/depth', { symbol, limit }, depthWeight(limit)), 'depth');
    return {
      time: timestamp(r.T ?? r.E, 'depth.T'),
      lastUpdateId: decimal(r.lastUpdateId, 'depth.lastUpdateId'),
      bids: parseLevels(r.bids, 'depth.bids'),
      asks: parseLevels(r.asks, 'depth.asks'),
    };
  }

  async openInterest(symbol: string): Promise<{ time: number; openInterest: number }> {
    const r = record(await this.rest.get('/fapi/v1/openInterest', { symbol }, 1), 'openInterest');
    return { time: timestamp(r.time, 'openInterest.time'), openInterest: nonNegative(r.openInterest, 'openInterest.openInterest') };
  }

  async premiumIndex(symbol: string): Promise<PremiumIndex> {
    const r = record(await this.rest.get('/fapi/v1/premiumIndex', { symbol }, 1), 'premiumIndex');
    return {
      symbol: text(r.symbol, 'premiumIndex.symbol'),
      markPrice: positive(r.markPrice, 'premiumIndex.markPrice'),
      indexPrice: positive(r.indexPrice, 'premiumIndex.indexPrice'),
      lastFundingRate: decimal(r.lastFundingRate, 'premiumIndex.lastFundingRate'),
      nextFundingTime: decimal(r.nextFundingTime, 'premiumIndex.nextFundingTime'),
      time: timestamp(r.time, 'premiumIndex.time'),
    };
  }

  async exchangeInfo(): Promise<SymbolInfo[]> {
    const body = record(await this.rest.get('/fapi/v1/exchangeInfo', {}, 1), 'exchangeInfo');
    return list(body.symbols, 'exchangeInfo.symbols').map((item, i) => {
      const s = record(item, `exchangeInfo.symbols[${i}]`);
      const filters = new Map(list(s.filters, `${s.symbol}.filters`).map((f) => [String(record(f, 'filter').filterType), record(f, 'filter')]));
      return {
        symbol: text(s.symbol, `exchangeInfo.symbols[${i}].symbol`),
        status: text(s.status, `${s.symbol}.status`),
        contractType: text(s.contractType, `${s.symbol}.contractType`),
        tickSize: positive(filters.get('PRICE_FILTER')?.tickSize, `${s.symbol}.PRICE_FILTER.tickSize`),
        stepSize: positive(filters.get('LOT_SIZE')?.stepSize, `${s.symbol}.LOT_SIZE.stepSize`),
        minQty: positive(filters.get('LOT_SIZE')?.minQty, `${s.symbol}.LOT_SIZE.minQty`),
        minNotional: nonNegative(filters.get('MIN_NOTIONAL')?.notional ?? 0, `${s.symbol}.MIN_NOTIONAL.notional`),
      };
    });
  }
}

export function parseLevels(value: unknown, where: string): Array<[number, number]> {
  return list(value, where).map((level, i) => {
    const [price, qty] = list(level, `${where}[${i}]`);
    return [positive(price, `${where}[${i}].price`), nonNegative(qty, `${where}[${i}].qty`)] as [number, number];
  });
}
