import { DataError, isTimeframe, timeframeMs, DAY_MS } from '@oitrader/core';
import type { ArchiveFile } from './layout.ts';
import { splitCsv } from './zip-csv.ts';

/** Column-oriented rows for one market table, ready for the store's bulk upsert. */
export interface ArchiveRows {
  table: 'ohlcv' | 'open_interest' | 'funding_rate' | 'long_short_ratio' | 'taker_volume' | 'order_book' | 'liquidations';
  keys: Record<string, string>;
  time: number[];
  values: Record<string, Array<number | string | null>>;
}

export interface RejectedRow {
  line: number;
  timeMs: number | undefined;
  reason: string;
}

export interface ParsedArchiveFile {
  rows: ArchiveRows[];
  rejected: RejectedRow[];
  /** Rows whose timestamp was a few seconds off the grid and was floored onto it (Binance's metrics files). */
  flooredRows?: number;
}

const FIVE_MINUTES = 300_000;
/** Binance's metrics files put ~0.02 % of create_time a few seconds late (`00:10:02`); beyond this a row is wrong, not late. */
const METRICS_LATE_TOLERANCE_MS = 10_000;
/** Anything before this, read as epoch ms, is a time in seconds (or garbage): the archive starts in 2019. */
const EARLIEST_ARCHIVE_MS = Date.UTC(2017, 0, 1);

/**
 * Plausibility bounds (issue 18 item 5). Binance caps funding per symbol at
 * ±0.3 %…±3 % per interval (fundingInfo `adjustedFundingRateCap`); ±5 % is above
 * every cap, so a row beyond it is a broken value, not a market. A candle whose
 * high or low is more than 10x away from its neighbours' closes never traded.
 */
const MAX_ABS_FUNDING_RATE = 0.05;
const MAX_NEIGHBOUR_FACTOR = 10;

/** The UTC span a file covers by its name: a day or a month, [startMs, endMs). */
export function archiveFileSpan(file: Pick<ArchiveFile, 'period' | 'date'>): { startMs: number; endMs: number } {
  const startMs = Date.parse(file.period === 'daily' ? `${file.date}T00:00:00Z` : `${file.date}-01T00:00:00Z`);
  const start = new Date(startMs);
  const endMs = file.period === 'daily' ? startMs + DAY_MS : Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1);
  return { startMs, endMs };
}

/**
 * Parses one archive CSV. Throws DataError naming the file and line on malformed
 * content, and on rows that cannot belong to the file: a time outside the
 * file's own day/month (seconds read as ms land in 1970, a 2030 row in a 2024
 * file), a candle off its interval's grid, or candles of another interval
 * (hourly rows in the 5m folder). Nothing of such a file is stored.
 */
export function parseArchiveCsv(file: ArchiveFile, text: string): ParsedArchiveFile {
  switch (file.dataset) {
    case 'klines':
      return parseKlines(file, text);
    case 'metrics':
      return parseMetrics(file, text);
    case 'fundingRate':
      return parseFundingRate(file, text);
    case 'bookDepth':
      return parseBookDepth(file, text);
    case 'liquidationSnapshot':
      return parseLiquidations(file, text);
  }
}

class RowReader {
  readonly #file: ArchiveFile;
  line = 0;
  constructor(file: ArchiveFile) {
    this.#file = file;
  }

  /** Refuses a row time outside [startMs, endMs] (inclusive end: a metrics day ends with 00:00 of the next). */
  within(timeMs: number, span: { startMs: number; endMs: number }, inclusiveEnd: boolean): void {
    if (timeMs >= span.startMs && (timeMs < span.endMs || (inclusiveEnd && timeMs === span.endMs))) return;
    const when = new Date(timeMs).toISOString();
    if (timeMs < EARLIEST_ARCHIVE_MS) this.fail(`time ${when} is before Binance's archive began: epoch seconds instead of milliseconds?`);
    this.fail(`time ${when} is outside the file's ${this.#file.period === 'daily' ? 'day' : 'month'} ${this.#file.date}`);
  }

  fail(reason: string): never {
    throw new DataError(`${this.#file.path} line ${this.line}: ${reason}`, {
      hint: 'the file is malformed; nothing from it was stored. Re-download it or remove it from the mirror',
    });
  }

  number(field: string | undefined, name: string, optional = false): number {
    if (field === undefined || field.trim() === '') {
      if (optional) return Number.NaN;
      this.fail(`missing ${name}`);
    }
    const value = Number(field);
    if (!Number.isFinite(value)) this.fail(`${name} is not a number: "${field}"`);
    return value;
  }

  /** Epoch ms from epoch ms, epoch µs (newer files), or "YYYY-MM-DD HH:MM:SS" UTC. */
  time(field: string | undefined, name: string): number {
    if (field === undefined || field.trim() === '') this.fail(`missing ${name}`);
    const trimmed = field.trim();
    if (/^\d+$/.test(trimmed)) {
      const value = Number(trimmed);
      return value > 1e14 ? Math.floor(value / 1000) : value;
    }
    const ms = Date.parse(`${trimmed.replace(' ', 'T')}Z`);
    if (Number.isNaN(ms)) this.fail(`${name} is not a time: "${field}"`);
    return ms;
  }
}

function columnIndex(header: string[] | undefined, names: string[], fallback: number): number {
  if (!header) return fallback;
  for (const name of names) {
    const i = header.indexOf(name);
    if (i >= 0) return i;
  }
  return fallback;
}

function parseKlines(file: ArchiveFile, text: string): ParsedArchiveFile {
  const { header, rows, firstDataLine } = splitCsv(text);
  const reader = new RowReader(file);
  const idx = (names: string[], fallback: number) => columnIndex(header, names, fallback);
  const c = {
    time: idx(['open_time'], 0),
    open: idx(['open'], 1),
    high: idx(['high'], 2),
    low: idx(['low'], 3),
    close: idx(['close'], 4),
    volume: idx(['volume'], 5),
    closeTime: idx(['close_time'], 6),
    quote: idx(['quote_volume'], 7),
    trades: idx(['count'], 8),
    takerBuy: idx(['taker_buy_volume'], 9),
    takerBuyQuote: idx(['taker_buy_quote_volume'], 10),
  };
  const out: ArchiveRows = {
    table: 'ohlcv',
    keys: { symbol: file.symbol, timeframe: file.interval ?? '' },
    time: [],
    values: { open: [], high: [], low: [], close: [], volume: [], quote_volume: [], trades: [], taker_buy_volume: [], taker_buy_quote_volume: [] },
  };
  const rejected: RejectedRow[] = [];
  const span = archiveFileSpan(file);
  const stepMs = file.interval && isTimeframe(file.interval) ? timeframeMs(file.interval) : undefined;
  checkNamedInterval(file);
  rows.forEach((fields, i) => {
    reader.line = firstDataLine + i;
    const time = reader.time(fields[c.time], 'open_time');
    reader.within(time, span, false);
    if (stepMs !== undefined && time % stepMs !== 0) reader.fail(`open_time ${new Date(time).toISOString()} is not on the ${file.interval} grid`);
    if (stepMs !== undefined) checkCandleLength(reader, file, time, fields[c.closeTime], stepMs);
    const open = reader.number(fields[c.open], 'open');
    const high = reader.number(fields[c.high], 'high');
    const low = reader.number(fields[c.low], 'low');
    const close = reader.number(fields[c.close], 'close');
    const volume = reader.number(fields[c.volume], 'volume');
    if (!(open > 0 && high > 0 && low > 0 && close > 0) || high < Math.max(open, close, low) || low > Math.min(open, close) || volume < 0) {
      rejected.push({ line: reader.line, timeMs: time, reason: 'impossible candle (non-positive price, high < low, or negative volume)' });
      return;
    }
    out.time.push(time);
    out.values.open.push(open);
    out.values.high.push(high);
    out.values.low.push(low);
    out.values.close.push(close);
    out.values.volume.push(volume);
    out.values.quote_volume.push(reader.number(fields[c.quote], 'quote_volume', true));
    out.values.trades.push(reader.number(fields[c.trades], 'count', true));
    out.values.taker_buy_volume.push(reader.number(fields[c.takerBuy], 'taker_buy_volume', true));
    out.values.taker_buy_quote_volume.push(reader.number(fields[c.takerBuyQuote], 'taker_buy_quote_volume', true));
  });
  if (stepMs !== undefined) checkSpacing(file, out.time, stepMs);
  return { rows: [dropImplausibleCandles(out, rejected, firstDataLine)], rejected };
}

/** Rejects candles whose high/low is wildly away from both neighbours' closes (a 1e308 high). */
function dropImplausibleCandles(rows: ArchiveRows, rejected: RejectedRow[], firstDataLine: number): ArchiveRows {
  const close = rows.values.close as number[];
  const keep: number[] = [];
  for (let i = 0; i < rows.time.length; i++) {
    const neighbours = [close[i - 1], close[i + 1]].filter((v) => v !== undefined);
    const high = rows.values.high[i] as number;
    const low = rows.values.low[i] as number;
    const ok = neighbours.length === 0 || neighbours.some((n) => high <= n * MAX_NEIGHBOUR_FACTOR && low >= n / MAX_NEIGHBOUR_FACTOR);
    if (ok && Number.isFinite(high) && high < 1e15) keep.push(i);
    else rejected.push({ line: firstDataLine + i, timeMs: rows.time[i], reason: `implausible candle: high ${high} / low ${low} more than ${MAX_NEIGHBOUR_FACTOR}x from the neighbouring closes` });
  }
  if (keep.length === rows.time.length) return rows;
  return {
    ...rows,
    time: keep.map((i) => rows.time[i]),
    values: Object.fromEntries(Object.entries(rows.values).map(([k, v]) => [k, keep.map((i) => v[i])])),
  };
}

/**
 * Binance names every klines file after its interval (`SOLUSDT-5m-2024-03-01.zip`
 * in `.../SOLUSDT/5m/`): a file named for another interval than its folder's
 * holds that interval's candles, and storing them under the folder's
 * timeframe would make hourly candles look like 5-minute ones.
 */
function checkNamedInterval(file: ArchiveFile): void {
  const named = new RegExp(`^${file.symbol}-([0-9]+[mhdwM])-`).exec(file.path.split('/').pop() ?? '')?.[1];
  if (named === undefined || named === file.interval) return;
  throw new DataError(`${file.path}: the file holds ${named} candles but is in the ${file.interval} folder`, {
    hint: `nothing from it was stored; move it to the ${named} folder or remove it`,
  });
}

/**
 * Each kline row carries its close time (open + interval - 1 ms): one row of
 * another interval is refused even where too few rows give no spacing to judge.
 */
function checkCandleLength(reader: RowReader, file: ArchiveFile, openMs: number, closeField: string | undefined, stepMs: number): void {
  if (closeField === undefined || !/^\d+$/.test(closeField.trim())) return;
  const closeMs = reader.time(closeField, 'close_time');
  const lengthMs = closeMs - openMs + 1;
  if (lengthMs === stepMs) return;
  reader.fail(`the candle at ${new Date(openMs).toISOString()} closes ${lengthMs / 60_000} minutes after it opens: not a ${file.interval} candle (the file is in the wrong interval folder)`);
}

/** Candles of another interval pass the grid check (1h opens are on the 5m grid): their usual spacing gives them away. */
function checkSpacing(file: ArchiveFile, times: number[], stepMs: number): void {
  if (times.length < 3) return;
  const counts = new Map<number, number>();
  for (let i = 1; i < times.length; i++) {
    const d = Math.abs(times[i] - times[i - 1]);
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  const [modal] = [...counts].sort((a, b) => b[1] - a[1])[0];
  if (modal !== stepMs) {
    throw new DataError(`${file.path}: its candles are ${modal / 60_000} minutes apart, not ${file.interval} candles`, {
      hint: 'the file is in the wrong interval folder; nothing from it was stored. Move it to its interval\'s folder or remove it',
    });
  }
}

/**
 * Daily 5-minute metrics: open interest (a level at create_time) and the ratios
 * Binance's REST endpoints serve for 30 days only. create_time can be a second
 * late ("00:05:01"); it is floored to its 5-minute boundary. Rows whose open
 * interest is 0 or empty (Binance outages) are rejected and reported, never stored.
 */
function parseMetrics(file: ArchiveFile, text: string): ParsedArchiveFile {
  const { header, rows, firstDataLine } = splitCsv(text);
  const reader = new RowReader(file);
  const idx = (name: string, fallback: number) => columnIndex(header, [name], fallback);
  const c = {
    time: idx('create_time', 0),
    oi: idx('sum_open_interest', 2),
    oiValue: idx('sum_open_interest_value', 3),
    topAccount: idx('count_toptrader_long_short_ratio', 4),
    topPosition: idx('sum_toptrader_long_short_ratio', 5),
    globalAccount: idx('count_long_short_ratio', 6),
    taker: idx('sum_taker_long_short_vol_ratio', 7),
  };
  const oi: ArchiveRows = { table: 'open_interest', keys: { symbol: file.symbol, period: '5m' }, time: [], values: { open_interest: [], open_interest_value: [] } };
  const ratioRows = (kind: string): ArchiveRows => ({
    table: 'long_short_ratio',
    keys: { symbol: file.symbol, period: '5m', kind },
    time: [],
    values: { ratio: [], long_share: [], short_share: [] },
  });
  const ratios = { global_account: ratioRows('global_account'), top_account: ratioRows('top_account'), top_position: ratioRows('top_position') };
  const taker: ArchiveRows = { table: 'taker_volume', keys: { symbol: file.symbol, period: '5m' }, time: [], values: { buy_sell_ratio: [], buy_vol: [], sell_vol: [] } };
  const rejected: RejectedRow[] = [];
  const span = archiveFileSpan(file);
  let flooredRows = 0;
  const pushRatio = (target: ArchiveRows, time: number, ratio: number) => {
    if (!(ratio > 0)) return;
    target.time.push(time);
    target.values.ratio.push(ratio);
    // ratio = long/short and long + short = 1  =>  long = ratio / (1 + ratio)
    target.values.long_share.push(ratio / (1 + ratio));
    target.values.short_share.push(1 / (1 + ratio));
  };
  rows.forEach((fields, i) => {
    reader.line = firstDataLine + i;
    const rawTime = reader.time(fields[c.time], 'create_time');
    const time = Math.floor(rawTime / FIVE_MINUTES) * FIVE_MINUTES;
    if (rawTime - time > METRICS_LATE_TOLERANCE_MS) reader.fail(`create_time ${new Date(rawTime).toISOString()} is ${(rawTime - time) / 1000} s off the 5-minute grid (more than Binance's few seconds)`);
    if (rawTime !== time) flooredRows++;
    reader.within(time, span, true);
    const openInterest = reader.number(fields[c.oi], 'sum_open_interest', true);
    if (!(openInterest > 0)) {
      rejected.push({ line: reader.line, timeMs: time, reason: 'zero or missing open interest (exchange outage)' });
    } else {
      oi.time.push(time);
      oi.values.open_interest.push(openInterest);
      oi.values.open_interest_value.push(reader.number(fields[c.oiValue], 'sum_open_interest_value', true));
    }
    pushRatio(ratios.global_account, time, reader.number(fields[c.globalAccount], 'count_long_short_ratio', true));
    pushRatio(ratios.top_account, time, reader.number(fields[c.topAccount], 'count_toptrader_long_short_ratio', true));
    pushRatio(ratios.top_position, time, reader.number(fields[c.topPosition], 'sum_toptrader_long_short_ratio', true));
    const takerRatio = reader.number(fields[c.taker], 'sum_taker_long_short_vol_ratio', true);
    if (takerRatio > 0) {
      taker.time.push(time);
      taker.values.buy_sell_ratio.push(takerRatio);
      taker.values.buy_vol.push(null);
      taker.values.sell_vol.push(null);
    }
  });
  return { rows: [oi, ...deriveCoarserOpenInterest(oi), ratios.global_account, ratios.top_account, ratios.top_position, taker], rejected, flooredRows };
}

/**
 * Open interest is a level, so the 15m and 1h series are the 5m values that fall
 * exactly on a 15m/1h boundary (no averaging).
 */
export function deriveCoarserOpenInterest(fiveMinute: ArchiveRows): ArchiveRows[] {
  return (
    [
      ['15m', 15 * 60_000],
      ['1h', 60 * 60_000],
    ] as const
  ).map(([period, step]) => {
    const out: ArchiveRows = { table: 'open_interest', keys: { ...fiveMinute.keys, period }, time: [], values: { open_interest: [], open_interest_value: [] } };
    fiveMinute.time.forEach((t, i) => {
      if (t % step !== 0) return;
      out.time.push(t);
      out.values.open_interest.push(fiveMinute.values.open_interest[i]);
      out.values.open_interest_value.push(fiveMinute.values.open_interest_value[i]);
    });
    return out;
  });
}

function parseFundingRate(file: ArchiveFile, text: string): ParsedArchiveFile {
  const { header, rows, firstDataLine } = splitCsv(text);
  const reader = new RowReader(file);
  const cTime = columnIndex(header, ['calc_time'], 0);
  const cRate = columnIndex(header, ['last_funding_rate'], 2);
  const out: ArchiveRows = { table: 'funding_rate', keys: { symbol: file.symbol }, time: [], values: { funding_rate: [], mark_price: [] } };
  const span = archiveFileSpan(file);
  const rejected: RejectedRow[] = [];
  // calc_time carries milliseconds of jitter after the funding hour; a month's last event can be 00:00:00.00x of the next.
  const jitterSpan = { startMs: span.startMs, endMs: span.endMs + 60_000 };
  rows.forEach((fields, i) => {
    reader.line = firstDataLine + i;
    const time = reader.time(fields[cTime], 'calc_time');
    reader.within(time, jitterSpan, false);
    const rate = reader.number(fields[cRate], 'last_funding_rate');
    if (Math.abs(rate) > MAX_ABS_FUNDING_RATE) {
      rejected.push({ line: reader.line, timeMs: time, reason: `implausible funding rate ${rate}: beyond ±${MAX_ABS_FUNDING_RATE} (above every Binance cap)` });
      return;
    }
    out.time.push(time);
    out.values.funding_rate.push(rate);
    out.values.mark_price.push(null);
  });
  return { rows: [out], rejected };
}

const BOOK_BANDS = [1, 2, 5] as const;

/** bookDepth: cumulative depth within ±N% of mid, several rows per snapshot; folded into one order_book row. */
function parseBookDepth(file: ArchiveFile, text: string): ParsedArchiveFile {
  const { header, rows, firstDataLine } = splitCsv(text);
  const reader = new RowReader(file);
  const cTime = columnIndex(header, ['timestamp'], 0);
  const cPct = columnIndex(header, ['percentage'], 1);
  const cDepth = columnIndex(header, ['depth'], 2);
  const snapshots = new Map<number, Map<number, number>>();
  rows.forEach((fields, i) => {
    reader.line = firstDataLine + i;
    const time = reader.time(fields[cTime], 'timestamp');
    const pct = reader.number(fields[cPct], 'percentage');
    const depth = reader.number(fields[cDepth], 'depth');
    let snapshot = snapshots.get(time);
    if (!snapshot) snapshots.set(time, (snapshot = new Map()));
    snapshot.set(pct, depth);
  });
  const names = ['best_bid', 'best_ask', 'spread_bps', ...BOOK_BANDS.flatMap((b) => [`bid_depth_${b}pct`, `ask_depth_${b}pct`, `imbalance_${b}pct`])];
  const out: ArchiveRows = { table: 'order_book', keys: { symbol: file.symbol }, time: [], values: Object.fromEntries(names.map((n) => [n, []])) };
  for (const [time, snapshot] of [...snapshots].sort((a, b) => a[0] - b[0])) {
    out.time.push(time);
    out.values.best_bid.push(null);
    out.values.best_ask.push(null);
    out.values.spread_bps.push(null);
    for (const band of BOOK_BANDS) {
      const bid = snapshot.get(-band) ?? Number.NaN;
      const ask = snapshot.get(band) ?? Number.NaN;
      out.values[`bid_depth_${band}pct`].push(bid);
      out.values[`ask_depth_${band}pct`].push(ask);
      out.values[`imbalance_${band}pct`].push(bid + ask > 0 ? (bid - ask) / (bid + ask) : Number.NaN);
    }
  }
  return { rows: [out], rejected: [] };
}

/** liquidationSnapshot: time,side,order_type,time_in_force,original_quantity,price,average_price,order_status,... */
function parseLiquidations(file: ArchiveFile, text: string): ParsedArchiveFile {
  const { header, rows, firstDataLine } = splitCsv(text);
  const reader = new RowReader(file);
  const c = {
    time: columnIndex(header, ['time'], 0),
    side: columnIndex(header, ['side'], 1),
    qty: columnIndex(header, ['original_quantity'], 4),
    price: columnIndex(header, ['price'], 5),
    avg: columnIndex(header, ['average_price'], 6),
    status: columnIndex(header, ['order_status'], 7),
  };
  const out: ArchiveRows = { table: 'liquidations', keys: { symbol: file.symbol }, time: [], values: { side: [], price: [], qty: [], avg_price: [], status: [] } };
  rows.forEach((fields, i) => {
    reader.line = firstDataLine + i;
    const side = fields[c.side]?.trim().toUpperCase();
    if (side !== 'BUY' && side !== 'SELL') reader.fail(`side must be BUY or SELL, got "${fields[c.side]}"`);
    out.time.push(reader.time(fields[c.time], 'time'));
    out.values.side.push(side);
    out.values.price.push(reader.number(fields[c.price], 'price'));
    out.values.qty.push(reader.number(fields[c.qty], 'original_quantity'));
    out.values.avg_price.push(reader.number(fields[c.avg], 'average_price', true));
    out.values.status.push(fields[c.status]?.trim() || null);
  });
  return { rows: [out], rejected: [] };
}
