import type { DepthEvent } from '@oitrader/binance';

export interface BookSample {
  time: number;
  best_bid: number;
  best_ask: number;
  spread_bps: number;
  bid_depth_1pct: number;
  ask_depth_1pct: number;
  bid_depth_2pct: number;
  ask_depth_2pct: number;
  bid_depth_5pct: number;
  ask_depth_5pct: number;
  imbalance_1pct: number;
  imbalance_2pct: number;
  imbalance_5pct: number;
}

const BANDS = [0.01, 0.02, 0.05] as const;

/**
 * One order_book row from a partial-depth snapshot: spread, quote depth within
 * 1/2/5% of the mid on each side, and imbalance (bid − ask) / (bid + ask).
 * A 20-level snapshot rarely reaches 5% on liquid pairs, so the wide bands
 * hold the depth of the visible levels only (documented in phase-1-data.md).
 */
export function sampleBook(event: DepthEvent): BookSample | undefined {
  const bestBid = event.bids.reduce((m, [p]) => Math.max(m, p), 0);
  const bestAsk = event.asks.reduce((m, [p]) => Math.min(m, p), Number.POSITIVE_INFINITY);
  if (!(bestBid > 0) || !Number.isFinite(bestAsk) || bestAsk <= bestBid) return undefined;
  const mid = (bestBid + bestAsk) / 2;
  const depth = (levels: Array<[number, number]>, inBand: (price: number) => boolean) =>
    levels.reduce((sum, [price, qty]) => (inBand(price) ? sum + price * qty : sum), 0);
  const row: Record<string, number> = { time: event.transactionTime, best_bid: bestBid, best_ask: bestAsk, spread_bps: ((bestAsk - bestBid) / mid) * 10_000 };
  for (const band of BANDS) {
    const pct = Math.round(band * 100);
    const bid = depth(event.bids, (p) => p >= mid * (1 - band));
    const ask = depth(event.asks, (p) => p <= mid * (1 + band));
    row[`bid_depth_${pct}pct`] = bid;
    row[`ask_depth_${pct}pct`] = ask;
    row[`imbalance_${pct}pct`] = bid + ask > 0 ? (bid - ask) / (bid + ask) : 0;
  }
  return row as unknown as BookSample;
}
