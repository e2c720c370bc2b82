import {
  DirectorySource,
  parseArchiveCsv,
  parseArchivePath,
  unzipSingleCsv,
  type FundingPoint,
  type Kline,
  type LongShortEndpoint,
  type LongShortPoint,
  type OpenInterestPoint,
  type TakerPoint,
} from '@oitrader/binance';
import { DataError, timeframeMs, type Timeframe } from '@oitrader/core';

export interface ReplayLiquidation {
  time: number;
  side: 'BUY' | 'SELL';
  price: number;
  qty: number;
}

/**
 * What the simulator replays for one symbol, in time order. Everything the
 * simulator serves comes from here, so a test can compare the database with
 * it exactly.
 */
export interface ReplayDataset {
  symbol: string;
  /** Candles by interval, ascending, contiguous where the source is. */
  klines: Map<string, Kline[]>;
  funding: FundingPoint[];
  /** By period ('5m', '15m', ...). */
  openInterest: Map<string, OpenInterestPoint[]>;
  /** By `${endpoint}:${period}`. */
  longShort: Map<string, LongShortPoint[]>;
  taker: Map<string, TakerPoint[]>;
  liquidations: ReplayLiquidation[];
  /** Where the data came from, for the simulator's banner and the docs. */
  provenance: string;
}

export function emptyDataset(symbol: string, provenance: string): ReplayDataset {
  return { symbol, klines: new Map(), funding: [], openInterest: new Map(), longShort: new Map(), taker: new Map(), liquidations: [], provenance };
}

/** Every symbol with archive files under `archiveDir` (sorted). */
export async function archiveSymbols(archiveDir: string): Promise<string[]> {
  const files = (await new DirectorySource(archiveDir).list()).map(parseArchivePath);
  return [...new Set(files.flatMap((f) => (f ? [f.symbol] : [])))].sort();
}

/**
 * Loads a dataset from a directory in Binance's archive layout (the bundled
 * real sample is one). Kline columns the archive leaves empty (the sample has
 * no quote volume, trade count or taker volumes) are served as 0: Binance
 * always sends those fields, and inventing values would be worse.
 */
export async function loadReplayDataset(archiveDir: string, symbol: string): Promise<ReplayDataset> {
  const source = new DirectorySource(archiveDir);
  const dataset = emptyDataset(symbol, `archive ${archiveDir}`);
  const files = (await source.list()).map(parseArchivePath).filter((f) => f !== undefined && f.symbol === symbol);
  if (files.length === 0) throw new DataError(`no archive files for ${symbol} under ${archiveDir}`, { hint: 'pick a symbol the directory holds', exitCode: 2 });
  for (const file of files) {
    const bytes = await source.read(file!.path);
    const parsed = parseArchiveCsv(file!, unzipSingleCsv(bytes!, file!.path));
    for (const rows of parsed.rows) {
      const n = rows.time.length;
      const v = (name: string, i: number) => {
        const x = rows.values[name]?.[i];
        return typeof x === 'number' && Number.isFinite(x) ? x : 0;
      };
      if (rows.table === 'ohlcv') {
        const interval = rows.keys.timeframe;
        const step = timeframeMs(interval as Timeframe);
        const list = dataset.klines.get(interval) ?? [];
        for (let i = 0; i < n; i++) {
          list.push({
            openTime: rows.time[i],
            closeTime: rows.time[i] + step - 1,
            open: v('open', i),
            high: v('high', i),
            low: v('low', i),
            close: v('close', i),
            volume: v('volume', i),
            quoteVolume: v('quote_volume', i),
            trades: v('trades', i),
            takerBuyVolume: v('taker_buy_volume', i),
            takerBuyQuoteVolume: v('taker_buy_quote_volume', i),
          });
        }
        dataset.klines.set(interval, list);
      } else if (rows.table === 'funding_rate') {
        for (let i = 0; i < n; i++) dataset.funding.push({ time: rows.time[i], fundingRate: v('funding_rate', i), markPrice: rows.values.mark_price?.[i] == null ? null : v('mark_price', i) });
      } else if (rows.table === 'open_interest') {
        const list = dataset.openInterest.get(rows.keys.period) ?? [];
        for (let i = 0; i < n; i++) list.push({ time: rows.time[i], openInterest: v('open_interest', i), openInterestValue: v('open_interest_value', i) });
        dataset.openInterest.set(rows.keys.period, list);
      } else if (rows.table === 'long_short_ratio') {
        const endpoint = ENDPOINT_BY_KIND[rows.keys.kind];
        if (!endpoint) continue;
        const key = `${endpoint}:${rows.keys.period}`;
        const list = dataset.longShort.get(key) ?? [];
        for (let i = 0; i < n; i++) list.push({ time: rows.time[i], ratio: v('ratio', i), longShare: v('long_share', i), shortShare: v('short_share', i) });
        dataset.longShort.set(key, list);
      } else if (rows.table === 'taker_volume') {
        const list = dataset.taker.get(rows.keys.period) ?? [];
        for (let i = 0; i < n; i++) list.push({ time: rows.time[i], buySellRatio: v('buy_sell_ratio', i), buyVol: v('buy_vol', i), sellVol: v('sell_vol', i) });
        dataset.taker.set(rows.keys.period, list);
      }
    }
  }
  sortDataset(dataset);
  return dataset;
}

const ENDPOINT_BY_KIND: Record<string, LongShortEndpoint> = {
  global_account: 'globalLongShortAccountRatio',
  top_account: 'topLongShortAccountRatio',
  top_position: 'topLongShortPositionRatio',
};

/** Sorts every series by time and removes repeated timestamps (the archive's daily files can overlap). */
export function sortDataset(dataset: ReplayDataset): void {
  const clean = <T>(rows: T[], time: (row: T) => number): T[] => {
    rows.sort((a, b) => time(a) - time(b));
    return rows.filter((row, i) => i === 0 || time(row) !== time(rows[i - 1]));
  };
  for (const [k, rows] of dataset.klines) dataset.klines.set(k, clean(rows, (r) => r.openTime));
  dataset.funding = clean(dataset.funding, (r) => r.time);
  for (const map of [dataset.openInterest, dataset.longShort, dataset.taker] as Array<Map<string, Array<{ time: number }>>>) {
    for (const [k, rows] of map) map.set(k, clean(rows, (r) => r.time));
  }
  dataset.liquidations.sort((a, b) => a.time - b.time);
}

/** The first and last candle open times of the finest interval; the span a replay covers. */
export function datasetSpan(dataset: ReplayDataset): { start: number; end: number; interval: string } {
  let best: { start: number; end: number; interval: string; step: number } | undefined;
  for (const [interval, rows] of dataset.klines) {
    if (rows.length === 0) continue;
    const step = timeframeMs(interval as Timeframe);
    if (!best || step < best.step) best = { start: rows[0].openTime, end: rows[rows.length - 1].openTime, interval, step };
  }
  if (!best) throw new DataError(`the replay dataset for ${dataset.symbol} has no candles`);
  return { start: best.start, end: best.end, interval: best.interval };
}
