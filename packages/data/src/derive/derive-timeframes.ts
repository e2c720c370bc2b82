import { timeframeMs, type Timeframe } from '@oitrader/core';
import { bulkUpsert } from '../store/bulk-upsert.ts';
import type { SqlExecutor } from '../store/sql-executor.ts';

/** Candles as columns, time = open time in epoch ms, ascending. */
export interface CandleColumns {
  time: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  /** NaN where the source did not carry the column. */
  quoteVolume: Float64Array;
  trades: Float64Array;
  takerBuyVolume: Float64Array;
  takerBuyQuoteVolume: Float64Array;
}

const SUMMED = ['volume', 'quoteVolume', 'trades', 'takerBuyVolume', 'takerBuyQuoteVolume'] as const;

/**
 * OHLCV aggregation of COMPLETE periods only: a coarser candle (aligned to UTC
 * multiples of its length, as Binance's are) is emitted only when every finer
 * candle inside it is present. A partial period — the forming one at the end,
 * or one with a gap — is never a candle. A summed column is NaN when any
 * member lacks it (never a partial sum).
 */
export function aggregateCandles(fine: CandleColumns, fineMs: number, coarseMs: number): CandleColumns {
  if (coarseMs % fineMs !== 0 || coarseMs <= fineMs) throw new Error(`cannot aggregate ${fineMs} ms candles into ${coarseMs} ms`);
  const per = coarseMs / fineMs;
  const out: Record<keyof CandleColumns, number[]> = { time: [], open: [], high: [], low: [], close: [], volume: [], quoteVolume: [], trades: [], takerBuyVolume: [], takerBuyQuoteVolume: [] };
  const n = fine.time.length;
  let i = 0;
  while (i < n) {
    const start = Math.floor(fine.time[i] / coarseMs) * coarseMs;
    let j = i;
    while (j < n && fine.time[j] < start + coarseMs) j++;
    // Complete: exactly `per` members, starting on the boundary, contiguous.
    if (j - i === per && fine.time[i] === start && fine.time[j - 1] === start + coarseMs - fineMs) {
      let high = -Infinity;
      let low = Infinity;
      for (let k = i; k < j; k++) {
        if (fine.high[k] > high) high = fine.high[k];
        if (fine.low[k] < low) low = fine.low[k];
      }
      out.time.push(start);
      out.open.push(fine.open[i]);
      out.high.push(high);
      out.low.push(low);
      out.close.push(fine.close[j - 1]);
      for (const column of SUMMED) {
        let sum = 0;
        for (let k = i; k < j; k++) sum += fine[column][k];
        out[column].push(sum);
      }
    }
    i = j;
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Float64Array.from(v)])) as unknown as CandleColumns;
}

export interface DerivedTimeframe {
  symbol: string;
  timeframe: Timeframe;
  /** Candles written or changed now (a re-derivation of stored candles writes 0). */
  derived: number;
  /** Periods skipped because the exchange's own candle is already stored. */
  kept: number;
}

async function readCandles(sql: SqlExecutor, symbol: string, timeframe: Timeframe): Promise<CandleColumns> {
  const rows = await sql.query<Record<string, number | null>>(
    `SELECT (extract(epoch from time) * 1000)::float8 AS t, open::float8 AS o, high::float8 AS h, low::float8 AS l, close::float8 AS c, volume::float8 AS v,
            quote_volume::float8 AS qv, trades::float8 AS n, taker_buy_volume::float8 AS tb, taker_buy_quote_volume::float8 AS tq
       FROM ohlcv WHERE symbol = $1 AND timeframe = $2 ORDER BY time`,
    [symbol, timeframe],
  );
  const col = (k: string) => Float64Array.from(rows, (r) => (r[k] === null ? Number.NaN : Number(r[k])));
  return { time: col('t'), open: col('o'), high: col('h'), low: col('l'), close: col('c'), volume: col('v'), quoteVolume: col('qv'), trades: col('n'), takerBuyVolume: col('tb'), takerBuyQuoteVolume: col('tq') };
}

/**
 * Stores the coarser timeframes (15m, 1h, 4h, 1d, …) that the archive or REST
 * did not provide, aggregated from the stored 5m candles. A period already
 * stored from the exchange keeps the exchange's candle. Idempotent.
 */
export async function deriveTimeframes(sql: SqlExecutor, symbol: string, targets: readonly Timeframe[], base: Timeframe = '5m'): Promise<DerivedTimeframe[]> {
  const baseMs = timeframeMs(base);
  const fine = await readCandles(sql, symbol, base);
  const results: DerivedTimeframe[] = [];
  if (fine.time.length === 0) return results;
  for (const timeframe of targets) {
    const coarseMs = timeframeMs(timeframe);
    if (coarseMs <= baseMs) continue;
    const coarse = aggregateCandles(fine, baseMs, coarseMs);
    const stored = await sql.query<{ t: number }>(`SELECT (extract(epoch from time) * 1000)::float8 AS t FROM ohlcv WHERE symbol = $1 AND timeframe = $2 AND source NOT LIKE 'derived%'`, [symbol, timeframe]);
    const exchange = new Set(stored.map((r) => Number(r.t)));
    const keep = [...coarse.time.keys()].filter((i) => !exchange.has(coarse.time[i]));
    const pick = (column: Float64Array) => keep.map((i) => (Number.isNaN(column[i]) ? null : column[i]));
    let written = 0;
    if (keep.length > 0) {
      const result = await bulkUpsert(sql, {
        table: 'ohlcv',
        keys: { symbol, timeframe },
        time: keep.map((i) => coarse.time[i]),
        values: {
          open: pick(coarse.open),
          high: pick(coarse.high),
          low: pick(coarse.low),
          close: pick(coarse.close),
          volume: pick(coarse.volume),
          quote_volume: pick(coarse.quoteVolume),
          trades: pick(coarse.trades),
          taker_buy_volume: pick(coarse.takerBuyVolume),
          taker_buy_quote_volume: pick(coarse.takerBuyQuoteVolume),
        },
        source: `derived:${base}`,
      });
      written = result.inserted + result.updated;
    }
    results.push({ symbol, timeframe, derived: written, kept: coarse.time.length - keep.length });
  }
  return results;
}
