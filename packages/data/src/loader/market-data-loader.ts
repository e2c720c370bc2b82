import { createLogger, Frame, formatUtc, nanColumn, OitraderError, timeframeMs, type Logger, type Timeframe } from '@oitrader/core';
import type { SqlExecutor } from '../store/sql-executor.ts';
import { asOfJoin, sumEventsInBars } from './as-of.ts';

const MINUTE = 60_000;
/** Loads spanning at most this long ask every signal source in one query (see #addSignals). */
const ONE_QUERY_SPAN_MS = 2 * 24 * 60 * MINUTE;
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

type Series = { time: Float64Array; values: Float64Array[] };
const BAR_FIELDS = ['open', 'high', 'low', 'close', 'volume', 'quote_volume', 'trades', 'taker_buy_volume', 'taker_buy_quote_volume'];
type Loaded = { symbol: string; open: Float64Array; columns: Record<string, Float64Array>; warnings: string[] };
/** [symbol, time ms, field…] as a source's JSON array holds it. */
type JsonRow = Array<string | number | null>;

/**
 * Phase 1's only read door for the other phases. Every column at bar t holds
 * information known at t's close (t + bar length): see docs/phase-1-data.md
 * for the rule per source.
 */
/**
 * (symbol, period) pairs: each asked symbol ($1) with the finest period $TABLE stores for it (5m before 15m
 * before 1h …). One index probe per symbol and period (the key starts with symbol, period), not a scan.
 */
const FINEST_PERIOD = `(SELECT s.symbol, (SELECT p.period FROM unnest(ARRAY['5m', '15m', '1h', '4h', '1d']) WITH ORDINALITY AS p(period, rank)
   WHERE EXISTS (SELECT 1 FROM $TABLE x WHERE x.symbol = s.symbol AND x.period = p.period) ORDER BY p.rank LIMIT 1) AS period
 FROM unnest($1::text[]) AS s(symbol)) AS finest`;

export class MarketDataLoader {
  readonly #sql: SqlExecutor;
  readonly #log: Logger;
  readonly #oneQuerySpanMs: number;

  /** `oneQuerySpanMs`: loads spanning at most this long ask every signal source in one query (tests set it). */
  constructor(sql: SqlExecutor, log: Logger = createLogger('loader'), options: { oneQuerySpanMs?: number } = {}) {
    this.#sql = sql;
    this.#log = log;
    this.#oneQuerySpanMs = options.oneQuerySpanMs ?? ONE_QUERY_SPAN_MS;
  }

  /** Bars whose open time is in [startMs, endMs). */
  async loadAllData(symbol: string, timeframe: Timeframe, startMs: number, endMs: number): Promise<Frame> {
    const { frame, warnings } = await this.load(symbol, timeframe, startMs, endMs);
    for (const w of warnings) this.#log.warn(w);
    return frame;
  }

  async load(symbol: string, timeframe: Timeframe, startMs: number, endMs: number): Promise<LoadResult> {
    const result = (await this.loadMany([symbol], timeframe, startMs, endMs)).get(symbol)!;
    if (result.frame.length === 0) {
      throw new OitraderError(`no ${timeframe} candles for ${symbol} between ${formatUtc(startMs)} and ${formatUtc(endMs)}`, {
        hint: 'import or collect data first (oitrader data import / oitrader collect), then check with oitrader data check',
      });
    }
    return result;
  }

  /**
   * Several symbols' bars in [startMs, endMs), one query per source for all of them (the portfolio bot loads
   * every symbol at every candle). A symbol without candles in the span gets an empty frame and a warning,
   * not an error: the others go on.
   */
  async loadMany(symbols: readonly string[], timeframe: Timeframe, startMs: number, endMs: number): Promise<Map<string, LoadResult>> {
    const barMs = timeframeMs(timeframe);
    const list = [...symbols];
    const rows = await this.#sql.query<Record<string, string | number | null>>(
      `SELECT symbol, (extract(epoch FROM time) * 1000)::float8 AS t, open, high, low, close, volume, quote_volume, trades::float8 AS trades,
              taker_buy_volume, taker_buy_quote_volume
       FROM ohlcv WHERE symbol = ANY($1::text[]) AND timeframe = $2 AND time >= to_timestamp($3 / 1000.0) AND time < to_timestamp($4 / 1000.0) ORDER BY symbol, time`,
      [list, timeframe, startMs, endMs],
    );
    const bars = seriesOf(rows, BAR_FIELDS.length, byName(BAR_FIELDS));
    const out = new Map<string, LoadResult>();
    const loaded: Loaded[] = [];
    for (const symbol of list) {
      const own = bars.get(symbol);
      if (!own || own.time.length === 0) {
        out.set(symbol, { frame: new Frame(symbol, timeframe, new Float64Array(0), Object.fromEntries(MARKET_COLUMNS.map((c) => [c, new Float64Array(0)]))), warnings: [`no ${timeframe} candles for ${symbol} between ${formatUtc(startMs)} and ${formatUtc(endMs)}`] });
        continue;
      }
      loaded.push({ symbol, open: own.time, columns: Object.fromEntries(BAR_FIELDS.map((f, i) => [f, own.values[i]])), warnings: [] });
    }
    if (loaded.length > 0) await this.#addSignals(loaded, barMs);
    for (const l of loaded) {
      const ordered: Record<string, Float64Array> = {};
      for (const name of MARKET_COLUMNS) ordered[name] = l.columns[name];
      out.set(l.symbol, { frame: new Frame(l.symbol, timeframe, l.open, ordered), warnings: l.warnings });
    }
    return out;
  }

  /**
   * Every signal source (open interest, funding, long/short ratios, taker ratio, order book, liquidations) joined
   * onto the bars as of each bar's close. A short span (the bot's load at every candle) is one query, each
   * source's rows coming back as one JSON array: nine round trips cost more than their few rows. A long span
   * (training, backtests) asks each source on its own, row by row: one JSON value per source would be held
   * whole, and PostgreSQL and Node cap a single value (a year of 1-second order-book samples would not fit).
   */
  async #addSignals(loaded: Loaded[], barMs: number): Promise<void> {
    const symbols = loaded.map((l) => l.symbol);
    // One window for every symbol (the union of theirs); the joins below take only what each bar may see.
    const firstOpen = Math.min(...loaded.map((l) => l.open[0]));
    const lastClose = Math.max(...loaded.map((l) => l.open[l.open.length - 1])) + barMs;
    type Param = (value: unknown) => string;
    const seen = (param: Param, maxAgeMs: number) => `time >= to_timestamp(${param(firstOpen + barMs - maxAgeMs)} / 1000.0) AND time <= to_timestamp(${param(lastClose)} / 1000.0)`;
    // The finest stored period per symbol (5m before 15m before 1h), so as-of values are freshest.
    const finest = (table: string) => `(symbol, period) IN (SELECT * FROM ${FINEST_PERIOD.replaceAll('$TABLE', table)})`;
    const asOf = (name: string, fields: string[], targets: string[], maxAgeMs: number, from: (param: Param) => string) => ({ name, fields, targets, maxAgeMs, from });
    const sources = [
      asOf('open interest', ['open_interest', 'open_interest_value'], ['open_interest', 'open_interest_value'], MAX_AGE_MS.openInterest, (p) => `open_interest WHERE ${finest('open_interest')} AND ${seen(p, MAX_AGE_MS.openInterest)}`),
      asOf('funding rate', ['funding_rate'], ['funding_rate'], MAX_AGE_MS.funding, (p) => `funding_rate WHERE symbol = ANY($1::text[]) AND ${seen(p, MAX_AGE_MS.funding)}`),
      ...(['global_account', 'top_account', 'top_position'] as const).map((kind) =>
        asOf(`long/short ratio (${kind})`, ['ratio'], [`ls_${kind}`], MAX_AGE_MS.ratio, (p) => `long_short_ratio WHERE ${finest('long_short_ratio')} AND kind = ${p(kind)} AND ${seen(p, MAX_AGE_MS.ratio)}`),
      ),
      asOf('taker buy/sell ratio', ['buy_sell_ratio'], ['taker_buy_sell_ratio'], MAX_AGE_MS.ratio, (p) => `taker_volume WHERE ${finest('taker_volume')} AND ${seen(p, MAX_AGE_MS.ratio)}`),
      asOf(
        'order book',
        ['imbalance_1pct', 'imbalance_2pct', 'imbalance_5pct', 'spread_bps'],
        ['ob_imbalance_1pct', 'ob_imbalance_2pct', 'ob_imbalance_5pct', 'ob_spread_bps'],
        MAX_AGE_MS.book,
        (p) => `order_book WHERE symbol = ANY($1::text[]) AND ${seen(p, MAX_AGE_MS.book)}`,
      ),
    ];
    // Liquidations are events summed into the bars they fall in, from the first one stored (coverage starts there).
    const queries = [
      ...sources,
      { fields: [], from: () => '(SELECT symbol, min(time) AS time FROM liquidations WHERE symbol = ANY($1::text[]) GROUP BY symbol) f' },
      {
        fields: ["CASE WHEN side = 'SELL' THEN 1 ELSE 0 END", 'qty', 'qty * coalesce(avg_price, price)'],
        from: (p: Param) => `liquidations WHERE symbol = ANY($1::text[]) AND time >= to_timestamp(${p(firstOpen)} / 1000.0) AND time < to_timestamp(${p(lastClose)} / 1000.0)`,
      },
    ];
    const t = '(extract(epoch FROM time) * 1000)::float8';
    let series: Array<Map<string, Series>>;
    if (lastClose - firstOpen <= this.#oneQuerySpanMs) {
      const params: unknown[] = [symbols];
      const param = (value: unknown) => `$${params.push(value)}`;
      const columns = queries.map(
        ({ fields, from }, i) => `(SELECT coalesce(json_agg(json_build_array(${['symbol', t, ...fields].join(', ')}) ORDER BY symbol, time), '[]'::json) FROM ${from(param)}) AS s${i}`,
      );
      const [answer] = await this.#sql.query<Record<string, JsonRow[] | string>>(`SELECT ${columns.join(',\n')}`, params);
      series = queries.map(({ fields }, i) => {
        const value = answer[`s${i}`];
        return seriesOf(typeof value === 'string' ? (JSON.parse(value) as JsonRow[]) : value, fields.length, (row, k) => row[k]);
      });
    } else {
      series = [];
      for (const { fields, from } of queries) {
        const params: unknown[] = [symbols];
        const param = (value: unknown) => `$${params.push(value)}`;
        const names = fields.map((_, k) => `f${k}`);
        const select = ['symbol', `${t} AS t`, ...fields.map((f, k) => `${f} AS ${names[k]}`)].join(', ');
        const rows = await this.#sql.query<Record<string, string | number | null>>(`SELECT ${select} FROM ${from(param)} ORDER BY symbol, time`, params);
        series.push(seriesOf(rows, fields.length, byName(names)));
      }
    }

    sources.forEach((source, i) => {
      for (const l of loaded) {
        const own = series[i].get(l.symbol);
        source.targets.forEach((target, f) => (l.columns[target] = own && own.time.length > 0 ? asOfJoin(l.open, barMs, own.time, own.values[f], source.maxAgeMs) : nanColumn(l.open.length)));
        reportCoverage(l.warnings, source.name, l.columns[source.targets[0]]);
      }
    });
    const firsts = series[sources.length];
    const events = series[sources.length + 1];
    for (const { symbol, open, columns, warnings } of loaded) {
      const first = firsts.get(symbol)?.time[0];
      const coverageStart = first === undefined || Number.isNaN(first) ? Number.POSITIVE_INFINITY : first;
      const own = events.get(symbol) ?? { time: new Float64Array(0), values: [new Float64Array(0), new Float64Array(0), new Float64Array(0)] };
      // A SELL liquidation order closes a long position: longs were liquidated.
      const [isLong, qty, usd] = own.values;
      const pick = (values: Float64Array, longSide: boolean) => values.map((v, i) => ((isLong[i] === 1) === longSide ? v : 0));
      const ones = new Float64Array(own.time.length).fill(1);
      columns.liq_long_qty = sumEventsInBars(open, barMs, own.time, pick(qty, true), coverageStart);
      columns.liq_short_qty = sumEventsInBars(open, barMs, own.time, pick(qty, false), coverageStart);
      columns.liq_long_usd = sumEventsInBars(open, barMs, own.time, pick(usd, true), coverageStart);
      columns.liq_short_usd = sumEventsInBars(open, barMs, own.time, pick(usd, false), coverageStart);
      columns.liq_long_count = sumEventsInBars(open, barMs, own.time, pick(ones, true), coverageStart);
      columns.liq_short_count = sumEventsInBars(open, barMs, own.time, pick(ones, false), coverageStart);
      reportCoverage(warnings, 'liquidations', columns.liq_long_qty);
    }
  }

}

/**
 * Rows ordered by symbol, then time, split per symbol. `cell(row, k)` reads a row's symbol (k = 0), time in ms
 * (k = 1) and its `fields` values (k = 2…): rows as a JSON array holds them, or as the driver returns them.
 */
function seriesOf<Row>(rows: readonly Row[], fields: number, cell: (row: Row, k: number) => unknown): Map<string, Series> {
  const out = new Map<string, Series>();
  let from = 0;
  while (from < rows.length) {
    const symbol = cell(rows[from], 0) as string;
    let to = from;
    while (to < rows.length && cell(rows[to], 0) === symbol) to++;
    const time = new Float64Array(to - from);
    const values = Array.from({ length: fields }, () => new Float64Array(to - from));
    for (let i = from; i < to; i++) {
      const row = rows[i];
      time[i - from] = Number(cell(row, 1));
      for (let f = 0; f < fields; f++) {
        const v = cell(row, f + 2);
        values[f][i - from] = v === null ? Number.NaN : Number(v);
      }
    }
    out.set(symbol, { time, values });
    from = to;
  }
  return out;
}

/** `seriesOf`'s reader for driver rows with columns symbol, t and then `fields` by name. */
function byName(fields: readonly string[]): (row: Record<string, unknown>, k: number) => unknown {
  const names = ['symbol', 't', ...fields];
  return (row, k) => row[names[k]];
}

function reportCoverage(warnings: string[], name: string, column: Float64Array): void {
  let missing = 0;
  for (const v of column) if (Number.isNaN(v)) missing++;
  if (missing === column.length) warnings.push(`${name}: no data for this span; the column is NaN`);
  else if (missing > 0) warnings.push(`${name}: ${missing} of ${column.length} bars have no value (NaN)`);
}
