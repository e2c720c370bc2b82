import type { Kline } from '@oitrader/binance';
import { emptyDataset, type ReplayDataset } from '../replay-dataset.ts';

export const FIVE_MIN_MS = 300_000;

/**
 * A SOLUSDT replay with hand-written 5m candles, so the contract tests know
 * exactly which candle triggers which order. `bars` are [open, high, low, close].
 */
export function handMadeDataset(startMs: number, bars: Array<[number, number, number, number]>, symbol = 'SOLUSDT'): ReplayDataset {
  const ds = emptyDataset(symbol, 'hand-made test candles');
  const klines: Kline[] = bars.map(([open, high, low, close], i) => ({
    openTime: startMs + i * FIVE_MIN_MS,
    closeTime: startMs + (i + 1) * FIVE_MIN_MS - 1,
    open,
    high,
    low,
    close,
    volume: 1000,
    quoteVolume: 1000 * close,
    trades: 10,
    takerBuyVolume: 500,
    takerBuyQuoteVolume: 500 * close,
  }));
  ds.klines.set('5m', klines);
  return ds;
}

export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
