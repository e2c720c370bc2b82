import { BinancePayloadError } from '../rest/errors.ts';
import { parseLevels, type Kline } from '../rest/market-data.ts';
import { decimal, nonNegative, positive, record, text, timestamp } from '../payload.ts';

/** A closed or forming candle from `<sym>@kline_<tf>`: the REST kline's fields plus the stream's. */
export interface KlineEvent extends Kline {
  type: 'kline';
  symbol: string;
  interval: string;
  eventTime: number;
  /** Binance's `x`: the candle is final. Only final candles are stored. */
  closed: boolean;
}

/** `<sym>@markPrice@1s`. */
export interface MarkPriceEvent {
  type: 'markPrice';
  symbol: string;
  eventTime: number;
  markPrice: number;
  indexPrice: number;
  fundingRate: number;
  nextFundingTime: number;
}

/** `<sym>@forceOrder`: Binance pushes at most one liquidation per symbol per second, so this undercounts. */
export interface LiquidationEvent {
  type: 'liquidation';
  symbol: string;
  eventTime: number;
  tradeTime: number;
  side: 'BUY' | 'SELL';
  price: number;
  avgPrice: number;
  qty: number;
  status: string;
}

/** `<sym>@depth<N>@<speed>`: the top N levels, sent whole each time. */
export interface DepthEvent {
  type: 'depth';
  symbol: string;
  eventTime: number;
  transactionTime: number;
  bids: Array<[number, number]>;
  asks: Array<[number, number]>;
}

export type StreamEvent = KlineEvent | MarkPriceEvent | LiquidationEvent | DepthEvent;

export interface StreamMessage {
  stream: string;
  event: StreamEvent;
}

/**
 * Parses one combined-stream frame, `{"stream": "...", "data": {...}}`, or a
 * raw single-stream frame. Throws BinancePayloadError naming the bad field;
 * the caller counts and logs the rejection and keeps listening.
 */
export function parseStreamMessage(raw: string): StreamMessage {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new BinancePayloadError(`malformed JSON: ${JSON.stringify(raw.slice(0, 80))}`);
  }
  const frame = record(body, 'message');
  const data = frame.data === undefined ? frame : record(frame.data, 'message.data');
  const event = parseEvent(data);
  const stream = frame.stream === undefined ? '' : text(frame.stream, 'message.stream');
  return { stream, event };
}

function parseEvent(d: Record<string, unknown>): StreamEvent {
  switch (d.e) {
    case 'kline':
      return parseKlineEvent(d);
    case 'markPriceUpdate':
      return {
        type: 'markPrice',
        symbol: text(d.s, 'markPriceUpdate.s'),
        eventTime: timestamp(d.E, 'markPriceUpdate.E'),
        markPrice: positive(d.p, 'markPriceUpdate.p'),
        indexPrice: positive(d.i, 'markPriceUpdate.i'),
        fundingRate: decimal(d.r, 'markPriceUpdate.r'),
        nextFundingTime: nonNegative(d.T, 'markPriceUpdate.T'),
      };
    case 'forceOrder': {
      const o = record(d.o, 'forceOrder.o');
      const side = text(o.S, 'forceOrder.o.S');
      if (side !== 'BUY' && side !== 'SELL') throw new BinancePayloadError(`forceOrder.o.S: expected BUY or SELL, got ${JSON.stringify(side)}`);
      return {
        type: 'liquidation',
        symbol: text(o.s, 'forceOrder.o.s'),
        eventTime: timestamp(d.E, 'forceOrder.E'),
        tradeTime: timestamp(o.T, 'forceOrder.o.T'),
        side,
        price: positive(o.p, 'forceOrder.o.p'),
        avgPrice: positive(o.ap, 'forceOrder.o.ap'),
        qty: positive(o.q, 'forceOrder.o.q'),
        status: text(o.X, 'forceOrder.o.X'),
      };
    }
    case 'depthUpdate':
      return {
        type: 'depth',
        symbol: text(d.s, 'depthUpdate.s'),
        eventTime: timestamp(d.E, 'depthUpdate.E'),
        transactionTime: timestamp(d.T ?? d.E, 'depthUpdate.T'),
        bids: parseLevels(d.b, 'depthUpdate.b'),
        asks: parseLevels(d.a, 'depthUpdate.a'),
      };
    default:
      throw new BinancePayloadError(`unknown event type ${JSON.stringify(d.e)}`);
  }
}

function parseKlineEvent(d: Record<string, unknown>): KlineEvent {
  const k = record(d.k, 'kline.k');
  const event: KlineEvent = {
    type: 'kline',
    symbol: text(d.s, 'kline.s'),
    interval: text(k.i, 'kline.k.i'),
    eventTime: timestamp(d.E, 'kline.E'),
    openTime: timestamp(k.t, 'kline.k.t'),
    closeTime: timestamp(k.T, 'kline.k.T'),
    open: positive(k.o, 'kline.k.o'),
    high: positive(k.h, 'kline.k.h'),
    low: positive(k.l, 'kline.k.l'),
    close: positive(k.c, 'kline.k.c'),
    volume: nonNegative(k.v, 'kline.k.v'),
    quoteVolume: nonNegative(k.q, 'kline.k.q'),
    trades: nonNegative(k.n, 'kline.k.n'),
    takerBuyVolume: nonNegative(k.V, 'kline.k.V'),
    takerBuyQuoteVolume: nonNegative(k.Q, 'kline.k.Q'),
    closed: k.x === true,
  };
  if (typeof k.x !== 'boolean') throw new BinancePayloadError(`kline.k.x: expected a boolean, got ${JSON.stringify(k.x)}`);
  if (event.low > Math.min(event.open, event.close) || event.high < Math.max(event.open, event.close)) {
    throw new BinancePayloadError(`kline.k: high/low do not bracket open/close (o ${event.open} h ${event.high} l ${event.low} c ${event.close})`);
  }
  if (event.closeTime <= event.openTime) throw new BinancePayloadError(`kline.k.T: close time ${event.closeTime} is not after open time ${event.openTime}`);
  return event;
}

/** Stream names as Binance spells them (lower-case symbol). */
export const streamNames = {
  kline: (symbol: string, interval: string) => `${symbol.toLowerCase()}@kline_${interval}`,
  markPrice: (symbol: string) => `${symbol.toLowerCase()}@markPrice@1s`,
  forceOrder: (symbol: string) => `${symbol.toLowerCase()}@forceOrder`,
  depth: (symbol: string) => `${symbol.toLowerCase()}@depth20@500ms`,
};
