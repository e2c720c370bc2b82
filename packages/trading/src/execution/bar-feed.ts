import { timeframeMs, type Frame } from '@oitrader/core';
import type { Bar, InstrumentMarket } from './simulated-exchange.ts';

const HOUR = 3_600_000;

/** A frame's price and funding columns, as `advanceBar` reads them. */
export interface BarFeed {
  time: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  funding: Float64Array | undefined;
  fundingIntervalMs: number;
  fundingsPerBar: number;
}

export function barFeed(frame: Frame, fundingIntervalMs = 8 * HOUR): BarFeed {
  return {
    time: frame.time,
    open: frame.column('open'),
    high: frame.column('high'),
    low: frame.column('low'),
    close: frame.column('close'),
    funding: frame.has('funding_rate') ? frame.column('funding_rate') : undefined,
    fundingIntervalMs,
    fundingsPerBar: Math.max(1, Math.floor(timeframeMs(frame.timeframe) / fundingIntervalMs)),
  };
}

/**
 * Plays bar `index` on one instrument's market: funding for the position
 * carried in, then the bar's fills, stops and liquidation. The one bar step
 * shared by the backtester, the RL environment and paper trading.
 */
export function advanceBar(market: InstrumentMarket, feed: BarFeed, index: number, bar: Bar = { timeMs: 0, open: 0, high: 0, low: 0, close: 0 }): void {
  const t = feed.time[index];
  const funding = feed.funding;
  // Funding at a settlement time is paid by whoever holds the position at that instant,
  // i.e. before this bar's orders (placed after the previous close) fill.
  if (funding !== undefined && market.position.qtyBase !== 0 && t % feed.fundingIntervalMs === 0 && Number.isFinite(funding[index])) {
    for (let k = 0; k < feed.fundingsPerBar; k++) market.settleFunding(funding[index], feed.open[index]);
  }
  bar.timeMs = t;
  bar.open = feed.open[index];
  bar.high = feed.high[index];
  bar.low = feed.low[index];
  bar.close = feed.close[index];
  market.processBar(bar);
}
