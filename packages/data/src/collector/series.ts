import type { BinanceMarketData, Kline, LongShortEndpoint } from '@oitrader/binance';
import { DAY_MS } from '@oitrader/core';
import type { Batch } from '../store/bulk-upsert.ts';
import type { SqlExecutor } from '../store/sql-executor.ts';
import { type LongShortKind, type MarketTable } from '../store/tables.ts';
import { seriesKey, type SeriesCursors } from './series-cursors.ts';

/** Newest stored time for one series (epoch ms), or undefined when it has none. */
export async function latestTime(sql: SqlExecutor, table: MarketTable, keys: Record<string, string>): Promise<number | undefined> {
  const names = Object.keys(keys);
  const where = names.map((k, i) => `${k} = $${i + 1}`).join(' AND ');
  const [row] = await sql.query<{ t: number | null }>(`SELECT (extract(epoch FROM max(time)) * 1000)::float8 AS t FROM ${table} WHERE ${where}`, Object.values(keys));
  return row?.t === null || row?.t === undefined ? undefined : Number(row.t);
}

export function klineBatch(symbol: string, timeframe: string, rows: Array<Pick<Kline, 'openTime' | 'open' | 'high' | 'low' | 'close' | 'volume' | 'quoteVolume' | 'trades' | 'takerBuyVolume' | 'takerBuyQuoteVolume'>>, source: string): Batch {
  return {
    table: 'ohlcv',
    keys: { symbol, timeframe },
    time: rows.map((k) => k.openTime),
    values: {
      open: rows.map((k) => k.open),
      high: rows.map((k) => k.high),
      low: rows.map((k) => k.low),
      close: rows.map((k) => k.close),
      volume: rows.map((k) => k.volume),
      quote_volume: rows.map((k) => k.quoteVolume),
      trades: rows.map((k) => k.trades),
      taker_buy_volume: rows.map((k) => k.takerBuyVolume),
      taker_buy_quote_volume: rows.map((k) => k.takerBuyQuoteVolume),
    },
    source,
  };
}

const RATIO_KINDS: Array<[LongShortEndpoint, LongShortKind]> = [
  ['globalLongShortAccountRatio', 'global_account'],
  ['topLongShortAccountRatio', 'top_account'],
  ['topLongShortPositionRatio', 'top_position'],
];

/** Binance serves open-interest history, long/short ratios and taker volume for the latest 30 days only. */
const RECENT_WINDOW_MS = 30 * DAY_MS;
const PAGE = 500;

interface SeriesSpec {
  key: string;
  table: MarketTable;
  keys: Record<string, string>;
  fetch(symbol: string, period: string, range: { startTime: number; endTime: number; limit: number }): Promise<{ rows: Array<{ time: number }>; rejected: Array<{ reason: string }> }>;
  /** Table column → field of the parsed point. */
  columns: Array<[string, string]>;
}

/**
 * The polled series: open interest, the three long/short ratios and taker
 * volume, per period. Each pages forward from its newest stored point (held in
 * memory once loaded) and never asks for more than the 30 days Binance keeps;
 * older history is the archive importer's job.
 */
export class FuturesDataSeries {
  readonly #market: BinanceMarketData;
  readonly #periods: string[];
  readonly #cursors: SeriesCursors;
  onRejected: (reason: string) => void = () => {};

  constructor(market: BinanceMarketData, periods: string[], cursors: SeriesCursors) {
    this.#market = market;
    this.#periods = periods;
    this.#cursors = cursors;
  }

  #specs(symbol: string, period: string): SeriesSpec[] {
    const m = this.#market;
    return [
      {
        key: seriesKey('open_interest', { symbol, period }),
        table: 'open_interest',
        keys: { symbol, period },
        fetch: (s, p, r) => m.openInterestHist(s, p, r),
        columns: [['open_interest', 'openInterest'], ['open_interest_value', 'openInterestValue']],
      },
      ...RATIO_KINDS.map(([endpoint, kind]): SeriesSpec => ({
        key: seriesKey('long_short_ratio', { symbol, period, kind }),
        table: 'long_short_ratio',
        keys: { symbol, period, kind },
        fetch: (s, p, r) => m.longShortRatio(endpoint, s, p, r),
        columns: [['ratio', 'ratio'], ['long_share', 'longShare'], ['short_share', 'shortShare']],
      })),
      {
        key: seriesKey('taker_volume', { symbol, period }),
        table: 'taker_volume',
        keys: { symbol, period },
        fetch: (s, p, r) => m.takerLongShortRatio(s, p, r),
        columns: [['buy_sell_ratio', 'buySellRatio'], ['buy_vol', 'buyVol'], ['sell_vol', 'sellVol']],
      },
    ];
  }

  async loadCursors(sql: SqlExecutor, symbol: string): Promise<void> {
    const series = [...this.#periods.flatMap((period) => this.#specs(symbol, period)), { table: 'funding_rate' as const, keys: { symbol } }];
    for (const { table, keys } of series) {
      const last = await latestTime(sql, table, keys);
      if (last !== undefined) this.#cursors.advance(seriesKey(table, keys), last);
    }
  }

  /** Fetches every series for the symbol from its cursor to the exchange's clock and hands each page to `write`. */
  async backfill(symbol: string, write: (batch: Batch) => Promise<void>): Promise<void> {
    const serverNow = await this.#market.serverTime();
    for (const period of this.#periods) {
      // A day inside the window, so a slow backfill cannot fall outside it (the archive covers older days).
      const oldest = serverNow - RECENT_WINDOW_MS + DAY_MS;
      for (const spec of this.#specs(symbol, period)) {
        let cursor = Math.max(oldest, (this.#cursors.begin(spec.key, 1) ?? Number.NEGATIVE_INFINITY) + 1);
        for (;;) {
          const page = await spec.fetch(symbol, period, { startTime: cursor, endTime: serverNow, limit: PAGE });
          for (const r of page.rejected) this.onRejected(`${spec.key} REST: ${r.reason}`);
          if (page.rows.length === 0) break;
          const values = Object.fromEntries(spec.columns.map(([column, field]) => [column, page.rows.map((r) => (r as unknown as Record<string, number>)[field])]));
          await write({ table: spec.table, keys: spec.keys, time: page.rows.map((r) => r.time), values, source: 'rest' });
          const newest = page.rows[page.rows.length - 1].time;
          this.#cursors.advance(spec.key, newest);
          cursor = newest + 1;
          if (page.rows.length + page.rejected.length < PAGE) break;
        }
      }
    }
  }
}
