import type { Kline } from '@oitrader/binance';
import type { WebSocket } from 'ws';
import { streamBase, type StreamBase } from '@oitrader/binance';
import type { StreamFaults } from './faults.ts';
import { formingCandle, lastClosedPrice, latestFunding } from './rest-routes.ts';
import type { ReplayDataset } from './replay-dataset.ts';
import { syntheticBook } from './synthetic-book.ts';

interface Client {
  socket: WebSocket;
  streams: Set<string>;
  /** Combined connections wrap each event as {stream, data}; raw /ws/ ones do not. */
  combined: boolean;
  held: string | undefined;
  /** The split base URL the client connected to; 'legacy' (the old root paths) is served nothing. */
  base: StreamBase | 'legacy';
}

/** One outgoing event: its stream name, payload, and the market time that made it due. */
interface Outgoing {
  stream: string;
  data: Record<string, unknown>;
}

/**
 * Turns market time into stream events. On each tick it emits everything that
 * became due since the previous tick: closed candles (x=true), the opening
 * update of each new candle (x=false), one mark-price update per market
 * second, one synthetic depth snapshot per 500 ms and any liquidations.
 */
export class StreamHub {
  readonly #datasets: Map<string, ReplayDataset>;
  readonly #faults: StreamFaults;
  readonly #clients = new Set<Client>();
  #emittedUntil: number;
  messagesSent = 0;

  constructor(datasets: Map<string, ReplayDataset>, faults: StreamFaults, startMs: number) {
    this.#datasets = datasets;
    this.#faults = faults;
    this.#emittedUntil = startMs;
  }

  get connections(): number {
    return this.#clients.size;
  }

  add(socket: WebSocket, streams: string[], combined: boolean, base: StreamBase | 'legacy' = 'market'): void {
    const client: Client = { socket, streams: new Set(streams), combined, held: undefined, base };
    this.#clients.add(client);
    socket.on('close', () => this.#clients.delete(client));
    socket.on('error', () => this.#clients.delete(client));
  }

  /** Kills every stream connection without a close handshake, as a network drop would. */
  dropAll(): number {
    const n = this.#clients.size;
    for (const client of this.#clients) client.socket.terminate();
    this.#clients.clear();
    return n;
  }

  /** Sends raw text to every client on one base URL (tests inject hand-made bad payloads with it; klines live on /market). */
  inject(text: string, base: StreamBase | 'legacy' = 'market'): void {
    for (const client of this.#clients) if (client.base === base) client.socket.send(text);
  }

  tick(now: number): void {
    const from = this.#emittedUntil;
    if (now <= from) return;
    this.#emittedUntil = now;
    for (const ds of this.#datasets.values()) {
      const sym = ds.symbol.toLowerCase();
      for (const [interval, rows] of ds.klines) this.#klines(`${sym}@kline_${interval}`, ds.symbol, interval, rows, from, now);
      if (Math.floor(now / 1000) > Math.floor(from / 1000)) this.#markPrice(ds, now);
      if (Math.floor(now / 500) > Math.floor(from / 500)) this.#depth(ds, now);
      for (const l of ds.liquidations) {
        if (l.time > from && l.time <= now) {
          this.#send({
            stream: `${sym}@forceOrder`,
            data: { e: 'forceOrder', E: l.time, o: { s: ds.symbol, S: l.side, o: 'LIMIT', f: 'IOC', q: String(l.qty), p: String(l.price), ap: String(l.price), X: 'FILLED', l: String(l.qty), z: String(l.qty), T: l.time } },
          });
        }
      }
    }
  }

  #klines(stream: string, symbol: string, interval: string, rows: Kline[], from: number, now: number): void {
    // A candle closes at openTime + interval = closeTime + 1; it is due once market time reaches that.
    let i = lowerBound(rows, from - (rows[0] ? rows[0].closeTime - rows[0].openTime + 1 : 0));
    for (; i < rows.length && rows[i].openTime <= now; i++) {
      const k = rows[i];
      const closesAt = k.closeTime + 1;
      if (closesAt > from && closesAt <= now) {
        this.#send({ stream, data: klineEvent(symbol, interval, k, true, closesAt) });
      }
      if (k.openTime > from && k.openTime <= now && closesAt > now) {
        this.#send({ stream, data: klineEvent(symbol, interval, formingCandle(k), false, k.openTime) });
      }
    }
  }

  #markPrice(ds: ReplayDataset, now: number): void {
    const price = lastClosedPrice(ds, now);
    if (price === undefined) return;
    const funding = latestFunding(ds, now);
    this.#send({
      stream: `${ds.symbol.toLowerCase()}@markPrice@1s`,
      data: { e: 'markPriceUpdate', E: now, s: ds.symbol, p: String(price), i: String(price), P: String(price), r: funding.rate.toFixed(8), T: funding.next },
    });
  }

  #depth(ds: ReplayDataset, now: number): void {
    const price = lastClosedPrice(ds, now);
    if (price === undefined) return;
    const book = syntheticBook(price, now, 20);
    this.#send({ stream: `${ds.symbol.toLowerCase()}@depth20@500ms`, data: { e: 'depthUpdate', E: now, T: now, s: ds.symbol, U: now, u: now, pu: now - 1, b: book.bids, a: book.asks } });
  }

  #send(out: Outgoing): void {
    for (const client of this.#clients) {
      if (!client.streams.has(out.stream)) continue;
      // Binance today: each stream only on its split base URL; the legacy root accepts and sends nothing.
      if (client.base === 'legacy' || streamBase(out.stream) !== client.base) continue;
      let text = JSON.stringify(client.combined ? out : out.data);
      if (this.#faults.malformedNext > 0) {
        this.#faults.malformedNext--;
        text = text.slice(0, Math.floor(text.length / 2));
      }
      let due = [text];
      if (this.#faults.outOfOrder) {
        if (client.held === undefined) {
          client.held = text;
          continue;
        }
        due = [text, client.held];
        client.held = undefined;
      }
      for (const message of due) {
        this.#deliver(client, message);
        if (this.#faults.duplicate) this.#deliver(client, message);
      }
    }
  }

  #deliver(client: Client, text: string): void {
    this.messagesSent++;
    if (this.#faults.delayMs > 0) setTimeout(() => client.socket.send(text), this.#faults.delayMs);
    else client.socket.send(text);
  }
}

function klineEvent(symbol: string, interval: string, k: Kline, closed: boolean, eventTime: number): Record<string, unknown> {
  return {
    e: 'kline',
    E: eventTime,
    s: symbol,
    k: {
      t: k.openTime,
      T: k.closeTime,
      s: symbol,
      i: interval,
      f: 0,
      L: 0,
      o: String(k.open),
      c: String(k.close),
      h: String(k.high),
      l: String(k.low),
      v: String(k.volume),
      n: k.trades,
      x: closed,
      q: String(k.quoteVolume),
      V: String(k.takerBuyVolume),
      Q: String(k.takerBuyQuoteVolume),
      B: '0',
    },
  };
}

/** First index whose openTime >= t. */
function lowerBound(rows: Kline[], t: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].openTime < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
