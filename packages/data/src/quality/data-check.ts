import { formatUtc, isTimeframe, timeframeMs, HOUR_MS } from '@oitrader/core';
import type { SqlExecutor } from '../store/sql-executor.ts';

export interface Gap {
  /** Last present timestamp before the gap. */
  afterMs: number;
  /** First present timestamp after the gap. */
  beforeMs: number;
  missingRows: number;
}

export interface SeriesQuality {
  table: string;
  symbol: string;
  /** Timeframe, period, or period/kind. */
  series: string;
  stepMs: number;
  firstMs: number;
  lastMs: number;
  expectedRows: number;
  presentRows: number;
  completeness: number;
  gaps: Gap[];
  gapCount: number;
  rejectedRows: number;
  /** Rows whose time is not on the series' grid (a wrong timestamp; candles and open interest only). */
  offGridRows: number;
}

/** Tables with no row for a symbol in the checked span: the features built on them are NaN (not faked). */
export interface EmptyTables {
  symbol: string;
  tables: string[];
}

export interface QualityReport {
  threshold: number;
  series: SeriesQuality[];
  /** Event tables (liquidations, order book): counts only, no expected cadence. */
  events: Array<{ table: string; symbol: string; rows: number; firstMs: number; lastMs: number }>;
  empty: EmptyTables[];
  passed: boolean;
}

export interface CheckOptions {
  threshold?: number;
  symbol?: string;
  /** Check against this window instead of each series' own first..last span. */
  startMs?: number;
  endMs?: number;
  maxGapsListed?: number;
}

interface SeriesSpec {
  table: string;
  groupBy: string[];
  step: (group: Record<string, string>) => number | undefined;
}

const PERIOD_STEP = (g: Record<string, string>) => (isTimeframe(g.period) ? timeframeMs(g.period) : undefined);
const PERIODIC: SeriesSpec[] = [
  { table: 'ohlcv', groupBy: ['timeframe'], step: (g) => (isTimeframe(g.timeframe) ? timeframeMs(g.timeframe) : undefined) },
  { table: 'open_interest', groupBy: ['period'], step: PERIOD_STEP },
  { table: 'long_short_ratio', groupBy: ['period', 'kind'], step: PERIOD_STEP },
  { table: 'taker_volume', groupBy: ['period'], step: PERIOD_STEP },
  // Funding is every 8h for most symbols; the cadence is measured per symbol below.
  { table: 'funding_rate', groupBy: [], step: () => undefined },
];

/**
 * Completeness per series: expected rows on the series' cadence over its span
 * (or a requested window), present rows, gaps, and rows rejected at import.
 */
export async function checkDataQuality(sql: SqlExecutor, options: CheckOptions = {}): Promise<QualityReport> {
  const threshold = options.threshold ?? 0.99;
  const maxGaps = options.maxGapsListed ?? 5;
  const rejected = await rejectedCounts(sql);
  const series: SeriesQuality[] = [];
  const candleSpans = new Map<string, { firstMs: number; endMs: number }>();
  for (const spec of PERIODIC) {
    const groupCols = ['symbol', ...spec.groupBy];
    const groups = await sql.query<Record<string, string>>(
      `SELECT DISTINCT ${groupCols.join(', ')} FROM ${spec.table} WHERE ($1::text IS NULL OR symbol = $1) ORDER BY ${groupCols.join(', ')}`,
      [options.symbol ?? null],
    );
    for (const group of groups) {
      const where = groupCols.map((c, i) => `${c} = $${i + 1}`).join(' AND ');
      const params = groupCols.map((c) => group[c]);
      const times = (
        await sql.query<{ t: number }>(`SELECT (extract(epoch FROM time) * 1000)::float8 AS t FROM ${spec.table} WHERE ${where} ORDER BY time`, params)
      ).map((r) => Number(r.t));
      const step = spec.step(group) ?? measuredCadence(times);
      const datasetKey = spec.table === 'ohlcv' ? 'klines' : spec.table === 'funding_rate' ? 'fundingRate' : 'metrics';
      const window = spec.table === 'funding_rate' ? fundingWindow(options, candleSpans.get(group.symbol), step) : options;
      const measured = measure(spec.table, group.symbol, spec.groupBy.map((c) => group[c]).join('/') || '-', times, step, window, maxGaps, rejected.get(`${datasetKey}|${group.symbol}`) ?? 0);
      series.push(measured);
      if (spec.table === 'ohlcv' && times.length > 0) {
        const span = candleSpans.get(group.symbol);
        const endMs = measured.lastMs + step;
        candleSpans.set(group.symbol, { firstMs: Math.min(span?.firstMs ?? measured.firstMs, measured.firstMs), endMs: Math.max(span?.endMs ?? endMs, endMs) });
      }
    }
  }
  series.push(...missingFunding(series, candleSpans, options));
  const events = [];
  for (const table of ['liquidations', 'order_book']) {
    const rows = await sql.query<{ symbol: string; n: number; first: number; last: number }>(
      `SELECT symbol, count(*)::float8 AS n, (extract(epoch FROM min(time)) * 1000)::float8 AS first, (extract(epoch FROM max(time)) * 1000)::float8 AS last
       FROM ${table} WHERE ($1::text IS NULL OR symbol = $1) GROUP BY symbol ORDER BY symbol`,
      [options.symbol ?? null],
    );
    for (const r of rows) events.push({ table, symbol: r.symbol, rows: Number(r.n), firstMs: Number(r.first), lastMs: Number(r.last) });
  }
  const empty = emptyTables(series, events);
  const passed = series.length > 0 && series.every((s) => s.completeness >= threshold && s.offGridRows === 0);
  return { threshold, series, events, empty, passed };
}

function measure(
  table: string,
  symbol: string,
  name: string,
  times: number[],
  stepMs: number,
  options: CheckOptions,
  maxGaps: number,
  rejectedRows: number,
): SeriesQuality {
  // Funding timestamps carry a few ms of jitter; snap to the cadence before counting.
  const slots = [...new Set(times.map((t) => Math.round(t / stepMs)))].sort((a, b) => a - b);
  const offGridRows = table === 'funding_rate' ? 0 : times.filter((t) => t % stepMs !== 0).length;
  const firstSlot = options.startMs !== undefined ? Math.ceil(options.startMs / stepMs) : slots[0];
  const lastSlot = options.endMs !== undefined ? Math.ceil(options.endMs / stepMs) - 1 : slots[slots.length - 1];
  const inWindow = slots.filter((s) => s >= firstSlot && s <= lastSlot);
  const expectedRows = Math.max(0, lastSlot - firstSlot + 1);
  const gaps: Gap[] = [];
  let gapCount = 0;
  const boundaries = [firstSlot - 1, ...inWindow, lastSlot + 1];
  for (let i = 1; i < boundaries.length; i++) {
    const missing = boundaries[i] - boundaries[i - 1] - 1;
    if (missing <= 0) continue;
    gapCount++;
    if (gaps.length < maxGaps) gaps.push({ afterMs: boundaries[i - 1] * stepMs, beforeMs: boundaries[i] * stepMs, missingRows: missing });
  }
  return {
    table,
    symbol,
    series: name,
    stepMs,
    firstMs: firstSlot * stepMs,
    lastMs: lastSlot * stepMs,
    expectedRows,
    presentRows: inWindow.length,
    completeness: expectedRows === 0 ? 0 : inWindow.length / expectedRows,
    gaps,
    gapCount,
    rejectedRows,
    offGridRows,
  };
}

/**
 * Funding is a cost of every position held over a settlement, so it must cover
 * the candles' span, not only its own: funding over the candles' first..last
 * (or the requested window) is what is measured. A span too short to hold a
 * settlement is measured on funding's own span.
 */
function fundingWindow(options: CheckOptions, candles: { firstMs: number; endMs: number } | undefined, stepMs: number): CheckOptions {
  if (options.startMs !== undefined || options.endMs !== undefined || !candles) return options;
  if (Math.ceil(candles.endMs / stepMs) - 1 < Math.ceil(candles.firstMs / stepMs)) return options;
  return { ...options, startMs: candles.firstMs, endMs: candles.endMs };
}

/** A symbol with candles and no funding row at all: a series with nothing present (it fails the check), not a footnote. */
function missingFunding(series: SeriesQuality[], candleSpans: Map<string, { firstMs: number; endMs: number }>, options: CheckOptions): SeriesQuality[] {
  const out: SeriesQuality[] = [];
  for (const [symbol, candles] of candleSpans) {
    if (series.some((s) => s.table === 'funding_rate' && s.symbol === symbol)) continue;
    const window = { ...options, startMs: options.startMs ?? candles.firstMs, endMs: options.endMs ?? candles.endMs };
    const quality = measure('funding_rate', symbol, '-', [], DEFAULT_FUNDING_STEP_MS, window, 1, 0);
    if (quality.expectedRows > 0) out.push(quality);
  }
  return out;
}

/** Binance's usual funding interval, assumed where no funding row shows the symbol's own. */
const DEFAULT_FUNDING_STEP_MS = 8 * HOUR_MS;

/** The source tables features read, by the name a user knows them by. */
const SOURCE_TABLES: Array<[string, string]> = [
  ['open_interest', 'open interest'],
  ['funding_rate', 'funding'],
  ['long_short_ratio', 'long/short ratios'],
  ['taker_volume', 'taker volume'],
  ['liquidations', 'liquidations'],
  ['order_book', 'order book'],
];

function emptyTables(series: SeriesQuality[], events: QualityReport['events']): EmptyTables[] {
  const symbols = [...new Set(series.filter((s) => s.table === 'ohlcv').map((s) => s.symbol))];
  return symbols
    .map((symbol) => ({
      symbol,
      tables: SOURCE_TABLES.filter(([table]) => !series.some((s) => s.table === table && s.symbol === symbol && s.presentRows > 0) && !events.some((e) => e.table === table && e.symbol === symbol && e.rows > 0)).map(
        ([table, label]) => `${table} (${label})`,
      ),
    }))
    .filter((e) => e.tables.length > 0);
}

/** The most common spacing between consecutive rows, rounded to the hour (funding cadence). */
function measuredCadence(times: number[]): number {
  const counts = new Map<number, number>();
  for (let i = 1; i < times.length; i++) {
    const hours = Math.max(1, Math.round((times[i] - times[i - 1]) / HOUR_MS));
    counts.set(hours, (counts.get(hours) ?? 0) + 1);
  }
  let best = 8;
  let bestCount = -1;
  for (const [hours, count] of counts) if (count > bestCount) [best, bestCount] = [hours, count];
  return best * HOUR_MS;
}

async function rejectedCounts(sql: SqlExecutor): Promise<Map<string, number>> {
  const rows = await sql.query<{ dataset: string; symbol: string; n: number }>(
    'SELECT dataset, symbol, sum(rows_rejected)::float8 AS n FROM ingest_log WHERE symbol IS NOT NULL GROUP BY dataset, symbol',
  );
  return new Map(rows.map((r) => [`${r.dataset}|${r.symbol}`, Number(r.n)]));
}

export function formatQualityReport(report: QualityReport): string {
  const lines = [
    'table             symbol      series              span (UTC)                               expected  present  complete  gaps  rejected',
  ];
  for (const s of report.series) {
    const span = `${formatUtc(s.firstMs)} .. ${formatUtc(s.lastMs)}`;
    lines.push(
      `${s.table.padEnd(17)} ${s.symbol.padEnd(11)} ${s.series.padEnd(19)} ${span.padEnd(40)} ${String(s.expectedRows).padStart(8)}  ${String(s.presentRows).padStart(7)}  ${(s.completeness * 100).toFixed(2).padStart(7)}%  ${String(s.gapCount).padStart(4)}  ${String(s.rejectedRows).padStart(8)}${s.completeness < report.threshold ? '  BELOW THRESHOLD' : ''}`,
    );
    if (s.offGridRows > 0) lines.push(`    off grid: ${s.offGridRows} rows are not on the ${formatStep(s.stepMs)} grid (wrong timestamps)`);
    for (const g of s.gaps) lines.push(`    gap: ${g.missingRows} rows missing between ${formatUtc(g.afterMs)} and ${formatUtc(g.beforeMs)}`);
    if (s.gapCount > s.gaps.length) lines.push(`    ... and ${s.gapCount - s.gaps.length} more gaps`);
  }
  for (const e of report.events) lines.push(`${e.table.padEnd(17)} ${e.symbol.padEnd(11)} events: ${e.rows} rows ${formatUtc(e.firstMs)} .. ${formatUtc(e.lastMs)}`);
  for (const e of report.empty) lines.push(`empty for ${e.symbol} in this span: ${e.tables.join(', ')}; features built on them are NaN`);
  if (report.series.length === 0) lines.push('no data stored yet: run `oitrader data import` or `oitrader collect` first');
  const emptyNote = report.empty.length > 0 ? ' (see the empty tables above)' : '';
  lines.push(
    report.passed
      ? `PASS: every stored series is at least ${(report.threshold * 100).toFixed(1)}% complete${emptyNote}`
      : `FAIL: a series is below ${(report.threshold * 100).toFixed(1)}% complete, has off-grid rows, or there is no data`,
  );
  return lines.join('\n');
}

function formatStep(stepMs: number): string {
  return stepMs % HOUR_MS === 0 ? `${stepMs / HOUR_MS}h` : `${stepMs / 60_000}m`;
}
