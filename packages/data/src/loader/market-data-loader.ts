import { createLogger, Frame, formatUtc, nanColumn, OitraderError, timeframeMs, type Logger, type Timeframe } from '@oitrader/core';
import type { SqlExecutor } from '../store/sql-executor.ts';
import { asOfJoin, sumEventsInBars } from './as-of.ts';

const MINUTE = 60_000;
/** How old a snapshot may be at a bar's close and still be used. */
const MAX_AGE_MS = { openInterest: 30 * MINUTE, ratio: 30 * MINUTE, funding: 9 * 60 * MINUTE, book: 30 * MINUTE } as const;

/** Columns of the frame `loadAllData` returns, in order. */
export const MARKET_COLUMNS = [
  'open',
  'high',
  'low',
  'close',
  'volume',
  'quote_volume',
  'trades',
  'taker_buy_volume',
  'taker_buy_quote_volume',
  'open_interest',
  'open_interest_value',
  'funding_rate',
  'ls_global_account',
  'ls_top_account',
  'ls_top_position',
  'taker_buy_sell_ratio',
  'liq_long_qty',
  'liq_short_qty',
  'liq_long_usd',
  'liq_short_usd',
  'liq_long_count',
  'liq_short_count',
  'ob_imbalance_1pct',
  'ob_imbalance_2pct',
  'ob_imbalance_5pct',
  'ob_spread_bps',
] as const;

export interface LoadResult {
  frame: Frame;
  /** One line per source that was missing or partly missing for the span. */
  warnings: string[];
}

type Series = { time: Float64Array; values: Record<string, Float64Array> };

/**
 * Phase 1's only read door for the other phases. Every column at bar t holds
 * information known at t's close (t + bar length): see docs/phase-1-data.md
 * for the rule per source.
 */
export class MarketDataLoader {
  readonly #sql: SqlExecutor;
  readonly #log: Logger;

  constructor(sql: SqlExecutor, log: Logger = createLogger('loader')) {
    this.#sql = sql;
    this.#log = log;
  }

  /** Bars whose open time is in [startMs, endMs). */
  async loadAllData(symbol: string, timeframe: Timeframe, startMs: number, endMs: number): Promise<Frame> {
    const { frame, warnings } = await this.load(symbol, timeframe, startMs, endMs);
    for (const w of warnings) this.#log.warn(w);
    return frame;
  }

  async load(symbol: string, timeframe: Timeframe, startMs: number, endMs: number): Promise<LoadResult> {
    const barMs = timeframeMs(timeframe);
    const bars = await this.#series(
      `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, open, high, low, close, volume, quote_volume, trades::float8 AS trades,
              taker_buy_volume, taker_buy_quote_volume
       FROM ohlcv WHERE symbol = $1 AND timeframe = $2 AND time >= to_timestamp($3 / 1000.0) AND time < to_timestamp($4 / 1000.0) ORDER BY time`,
      [symbol, timeframe, startMs, endMs],
      ['open', 'high', 'low', 'close', 'volume', 'quote_volume', 'trades', 'taker_buy_volume', 'taker_buy_quote_volume'],
    );
    if (bars.time.length === 0) {
      throw new OitraderError(`no ${timeframe} candles for ${symbol} between ${formatUtc(startMs)} and ${formatUtc(endMs)}`, {
        hint: 'import or collect data first (oitrader data import / oitrader collect), then check with oitrader data check',
      });
    }
    const open = bars.time;
    const lastClose = open[open.length - 1] + barMs;
    const warnings: string[] = [];
    const columns: Record<string, Float64Array> = { ...bars.values };
    const asOf = async (name: string, query: string, params: unknown[], fields: string[], targets: string[], maxAgeMs: number) => {
      const series = await this.#series(query, [...params, open[0] + barMs - maxAgeMs, lastClose], fields);
      fields.forEach((field, i) => (columns[targets[i]] = series.time.length > 0 ? asOfJoin(open, barMs, series.time, series.values[field], maxAgeMs) : nanColumn(open.length)));
      reportCoverage(warnings, name, columns[targets[0]]);
    };
    const window = 'time >= to_timestamp($NEXT / 1000.0) AND time <= to_timestamp($LAST / 1000.0) ORDER BY time';
    const w = (first: number) => window.replace('$NEXT', `$${first}`).replace('$LAST', `$${first + 1}`);

    const oiPeriod = await this.#finestPeriod('open_interest', symbol);
    await asOf(
      'open interest',
      `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, open_interest, open_interest_value FROM open_interest WHERE symbol = $1 AND period = $2 AND ${w(3)}`,
      [symbol, oiPeriod],
      ['open_interest', 'open_interest_value'],
      ['open_interest', 'open_interest_value'],
      MAX_AGE_MS.openInterest,
    );
    await asOf(
      'funding rate',
      `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, funding_rate FROM funding_rate WHERE symbol = $1 AND ${w(2)}`,
      [symbol],
      ['funding_rate'],
      ['funding_rate'],
      MAX_AGE_MS.funding,
    );
    const ratioPeriod = await this.#finestPeriod('long_short_ratio', symbol);
    for (const kind of ['global_account', 'top_account', 'top_position']) {
      await asOf(
        `long/short ratio (${kind})`,
        `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, ratio FROM long_short_ratio WHERE symbol = $1 AND period = $2 AND kind = $3 AND ${w(4)}`,
        [symbol, ratioPeriod, kind],
        ['ratio'],
        [`ls_${kind}`],
        MAX_AGE_MS.ratio,
      );
    }
    const takerPeriod = await this.#finestPeriod('taker_volume', symbol);
    await asOf(
      'taker buy/sell ratio',
      `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, buy_sell_ratio FROM taker_volume WHERE symbol = $1 AND period = $2 AND ${w(3)}`,
      [symbol, takerPeriod],
      ['buy_sell_ratio'],
      ['taker_buy_sell_ratio'],
      MAX_AGE_MS.ratio,
    );
    await asOf(
      'order book',
      `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, imbalance_1pct, imbalance_2pct, imbalance_5pct, spread_bps FROM order_book WHERE symbol = $1 AND ${w(2)}`,
      [symbol],
      ['imbalance_1pct', 'imbalance_2pct', 'imbalance_5pct', 'spread_bps'],
      ['ob_imbalance_1pct', 'ob_imbalance_2pct', 'ob_imbalance_5pct', 'ob_spread_bps'],
      MAX_AGE_MS.book,
    );
    await this.#addLiquidations(columns, warnings, symbol, open, barMs, lastClose);

    const ordered: Record<string, Float64Array> = {};
    for (const name of MARKET_COLUMNS) ordered[name] = columns[name];
    return { frame: new Frame(symbol, timeframe, open, ordered), warnings };
  }

  async #addLiquidations(columns: Record<string, Float64Array>, warnings: string[], symbol: string, open: Float64Array, barMs: number, lastClose: number) {
    const [first] = await this.#sql.query<{ t: number | null }>('SELECT (extract(epoch FROM min(time)) * 1000)::float8 AS t FROM liquidations WHERE symbol = $1', [symbol]);
    const coverageStart = first?.t === null || first?.t === undefined ? Number.POSITIVE_INFINITY : Number(first.t);
    const events = await this.#series(
      `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, CASE WHEN side = 'SELL' THEN 1 ELSE 0 END::float8 AS long_side, qty, qty * coalesce(avg_price, price) AS usd
       FROM liquidations WHERE symbol = $1 AND time >= to_timestamp($2 / 1000.0) AND time < to_timestamp($3 / 1000.0) ORDER BY time`,
      [symbol, open[0], lastClose],
      ['long_side', 'qty', 'usd'],
    );
    // A SELL liquidation order closes a long position: longs were liquidated.
    const isLong = events.values.long_side;
    const pick = (values: Float64Array, longSide: boolean) => values.map((v, i) => ((isLong[i] === 1) === longSide ? v : 0));
    const ones = new Float64Array(events.time.length).fill(1);
    columns.liq_long_qty = sumEventsInBars(open, barMs, events.time, pick(events.values.qty, true), coverageStart);
    columns.liq_short_qty = sumEventsInBars(open, barMs, events.time, pick(events.values.qty, false), coverageStart);
    columns.liq_long_usd = sumEventsInBars(open, barMs, events.time, pick(events.values.usd, true), coverageStart);
    columns.liq_short_usd = sumEventsInBars(open, barMs, events.time, pick(events.values.usd, false), coverageStart);
    columns.liq_long_count = sumEventsInBars(open, barMs, events.time, pick(ones, true), coverageStart);
    columns.liq_short_count = sumEventsInBars(open, barMs, events.time, pick(ones, false), coverageStart);
    reportCoverage(warnings, 'liquidations', columns.liq_long_qty);
  }

  /** The finest stored period for a periodic source (5m before 15m before 1h), so as-of values are freshest. */
  async #finestPeriod(table: 'open_interest' | 'long_short_ratio' | 'taker_volume', symbol: string): Promise<string> {
    const rows = await this.#sql.query<{ period: string }>(`SELECT DISTINCT period FROM ${table} WHERE symbol = $1`, [symbol]);
    const periods = rows.map((r) => r.period);
    return ['5m', '15m', '1h', '4h', '1d'].find((p) => periods.includes(p)) ?? '5m';
  }

  async #series(query: string, params: unknown[], fields: string[]): Promise<Series> {
    const rows = await this.#sql.query<Record<string, number | null>>(query, params);
    const time = new Float64Array(rows.length);
    const values: Record<string, Float64Array> = {};
    for (const f of fields) values[f] = new Float64Array(rows.length);
    rows.forEach((row, i) => {
      time[i] = Number(row.t);
      for (const f of fields) values[f][i] = row[f] === null ? Number.NaN : Number(row[f]);
    });
    return { time, values };
  }
}

function reportCoverage(warnings: string[], name: string, column: Float64Array): void {
  let missing = 0;
  for (const v of column) if (Number.isNaN(v)) missing++;
  if (missing === column.length) warnings.push(`${name}: no data for this span; the column is NaN`);
  else if (missing > 0) warnings.push(`${name}: ${missing} of ${column.length} bars have no value (NaN)`);
}
