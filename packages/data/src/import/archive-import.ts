import {
  archiveFileSpan,
  archivePath,
  parseArchiveCsv,
  parseArchivePath,
  unzipSingleCsv,
  verifyChecksum,
  type ArchiveDataset,
  type ArchiveFile,
  type ArchiveSource,
} from '@oitrader/binance';
import { DataError, OitraderError, formatUtc, utcDay, utcMonth, DAY_MS } from '@oitrader/core';
import { bulkUpsert } from '../store/bulk-upsert.ts';
import { logIngest } from '../store/ingest-log.ts';
import type { SqlExecutor } from '../store/sql-executor.ts';

export interface ImportFilter {
  symbols?: string[];
  /** Kline intervals to import; all when absent. */
  timeframes?: string[];
  datasets?: ArchiveDataset[];
  startMs?: number;
  endMs?: number;
}

export interface ImportOptions extends ImportFilter {
  verifyChecksums?: boolean;
  /** Called after each file with (done, total, file). */
  onProgress?: (done: number, total: number, file: ArchiveFile) => void;
}

export interface FileOutcome {
  path: string;
  inserted: number;
  updated: number;
  duplicates: number;
  rejected: number;
  /** Rows a few seconds off the 5-minute grid, floored onto it (Binance's metrics files). */
  floored: number;
  status: 'imported' | 'missing' | 'failed';
  error?: string;
}

export interface ImportReport {
  source: string;
  files: FileOutcome[];
  inserted: number;
  updated: number;
  rejected: number;
  failed: number;
  missing: number;
  /** Rows floored onto the 5-minute grid, over all files. */
  floored: number;
  /** Symbol/dataset pairs for which no archive file exists in the requested span (REST must fill them). */
  unplanned: string[];
}

/**
 * Imports Binance public-archive files into the store. Each file is one
 * transaction: its rows and its ingest-log entry commit together or not at all.
 * A malformed file is reported with its path and line and the import goes on
 * with the next file; re-running is safe (idempotent upserts).
 */
export async function importArchive(sql: SqlExecutor, source: ArchiveSource, options: ImportOptions = {}): Promise<ImportReport> {
  const files = await planFiles(source, options);
  const report: ImportReport = { source: source.description, files: [], inserted: 0, updated: 0, rejected: 0, failed: 0, missing: 0, floored: 0, unplanned: unplannedSources(source, options, files) };
  let done = 0;
  for (const file of files) {
    const outcome = await importFile(sql, source, file, options.verifyChecksums ?? true);
    report.files.push(outcome);
    report.inserted += outcome.inserted;
    report.updated += outcome.updated;
    report.rejected += outcome.rejected;
    report.floored += outcome.floored;
    if (outcome.status === 'failed') report.failed++;
    if (outcome.status === 'missing') report.missing++;
    options.onProgress?.(++done, files.length, file);
  }
  return report;
}

async function importFile(sql: SqlExecutor, source: ArchiveSource, file: ArchiveFile, verify: boolean): Promise<FileOutcome> {
  const outcome: FileOutcome = { path: file.path, inserted: 0, updated: 0, duplicates: 0, rejected: 0, floored: 0, status: 'imported' };
  try {
    const bytes = await source.read(file.path);
    if (bytes === undefined) {
      outcome.status = 'missing';
      return outcome;
    }
    if (verify) {
      const checksum = await source.read(`${file.path}.CHECKSUM`);
      if (checksum !== undefined) verifyChecksum(bytes, new TextDecoder().decode(checksum), file.path);
    }
    const parsed = parseArchiveCsv(file, unzipSingleCsv(bytes, file.path));
    outcome.rejected = parsed.rejected.length;
    outcome.floored = parsed.flooredRows ?? 0;
    await withRetry(() => sql.transaction(async (tx) => {
      outcome.inserted = 0;
      outcome.updated = 0;
      outcome.duplicates = 0;
      for (const rows of parsed.rows) {
        if (rows.time.length === 0) continue;
        const result = await bulkUpsert(tx, { ...rows, source: `archive:${file.period}` });
        outcome.inserted += result.inserted;
        outcome.updated += result.updated;
        outcome.duplicates += result.duplicatesInBatch;
      }
      await logIngest(tx, {
        level: parsed.rejected.length > 0 ? 'warn' : 'info',
        source: 'archive',
        dataset: file.dataset,
        symbol: file.symbol,
        rowsWritten: outcome.inserted + outcome.updated,
        rowsRejected: parsed.rejected.length,
        message: `${file.path}: ${outcome.inserted} new, ${outcome.updated} changed, ${outcome.duplicates} duplicate, ${parsed.rejected.length} rejected${outcome.floored > 0 ? `, ${outcome.floored} floored onto the 5-minute grid` : ''}`,
        detail:
          parsed.rejected.length > 0
            ? { rejected: parsed.rejected.slice(0, 20).map((r) => ({ line: r.line, time: r.timeMs === undefined ? null : formatUtc(r.timeMs), reason: r.reason })) }
            : undefined,
      });
    }));
  } catch (error) {
    // The store itself is gone (its directory deleted, no owner answering): every later file would fail
    // the same way, so the import stops with that one cause.
    if (error instanceof OitraderError && !(error instanceof DataError)) throw error;
    outcome.status = 'failed';
    outcome.inserted = 0;
    outcome.updated = 0;
    outcome.error = error instanceof DataError ? error.message : `${file.path}: ${(error as Error).message}`;
    await logIngest(sql, { level: 'error', source: 'archive', dataset: file.dataset, symbol: file.symbol, message: outcome.error }).catch(() => undefined);
  }
  return outcome;
}

/**
 * SQLSTATEs after which the same file, imported again, succeeds: another writer
 * inserted the same rows first (23505 from the fast insert path inside our
 * transaction), a deadlock or serialization failure between two writers, or a
 * lost connection (class 08, 57P01 admin shutdown).
 */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return ['23505', '40P01', '40001', '57P01', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE'].includes(code) || code.startsWith('08');
}

const RETRY_DELAYS_MS = [200, 1_000, 3_000];

/** Runs one file's transaction again after a transient failure (it rolled back whole), then gives up with the last error. */
async function withRetry(work: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= RETRY_DELAYS_MS.length || !isTransient(error)) throw error;
      await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
    }
  }
}

/** For a URL import: each symbol × dataset the plan has no file for (e.g. funding of the current month). */
function unplannedSources(source: ArchiveSource, filter: ImportFilter, files: ArchiveFile[]): string[] {
  if (source.list || !filter.symbols) return [];
  const planned = new Set(files.map((f) => `${f.symbol} ${f.dataset}`));
  const out: string[] = [];
  for (const symbol of filter.symbols) for (const dataset of filter.datasets ?? DEFAULT_DATASETS) if (!planned.has(`${symbol} ${dataset}`)) out.push(`${symbol} ${dataset}`);
  return out;
}

const DEFAULT_DATASETS: ArchiveDataset[] = ['klines', 'metrics', 'fundingRate'];

function matches(file: ArchiveFile, filter: ImportFilter): boolean {
  if (filter.symbols && !filter.symbols.includes(file.symbol)) return false;
  if (filter.datasets && !filter.datasets.includes(file.dataset)) return false;
  if (filter.timeframes && file.interval && !filter.timeframes.includes(file.interval)) return false;
  const { startMs: start, endMs: end } = archiveFileSpan(file);
  if (filter.startMs !== undefined && end <= filter.startMs) return false;
  if (filter.endMs !== undefined && start >= filter.endMs) return false;
  return true;
}

/** Files to import: listed from a directory, or planned from the filter for a URL. */
export async function planFiles(source: ArchiveSource, filter: ImportFilter): Promise<ArchiveFile[]> {
  if (source.list) {
    const files = (await source.list()).map(parseArchivePath).filter((f): f is ArchiveFile => f !== undefined);
    return files.filter((f) => matches(f, filter));
  }
  if (!filter.symbols || filter.startMs === undefined) {
    throw new DataError('importing from a URL needs symbols and a start date', { hint: 'pass --symbol and --start, or set data.symbols and data.start_date' });
  }
  return planRemoteFiles(filter.symbols, filter.timeframes ?? ['5m'], filter.datasets ?? DEFAULT_DATASETS, filter.startMs, filter.endMs ?? Date.now(), Date.now());
}

/**
 * Whole months before the current one come as monthly files (klines, funding);
 * the rest, and every metrics file (published daily only), as daily files.
 * Funding exists only as monthly files, so a start inside a month plans that
 * whole month, and so does an end inside a month (rows outside the span are
 * harmless); only the month of `nowMs` has no file yet, and
 * `ImportReport.unplanned` says so. Candles of a month the span covers only in
 * part come as daily files.
 */
export function planRemoteFiles(symbols: string[], timeframes: string[], datasets: ArchiveDataset[], startMs: number, endMs: number, nowMs = Date.now()): ArchiveFile[] {
  const files: ArchiveFile[] = [];
  const startDay = Math.floor(startMs / DAY_MS) * DAY_MS;
  const monthStart = (ms: number) => Date.UTC(new Date(ms).getUTCFullYear(), new Date(ms).getUTCMonth());
  // A monthly candle file is used only for a month the span covers whole.
  const currentMonthStart = Math.min(monthStart(endMs), monthStart(nowMs));
  const publishedFundingEnd = monthStart(nowMs);
  const add = (f: Omit<ArchiveFile, 'path'>) => files.push({ ...f, path: archivePath(f) });
  for (const symbol of symbols) {
    for (const dataset of datasets) {
      const intervals = dataset === 'klines' ? timeframes : [undefined];
      for (const interval of intervals) {
        if (dataset === 'fundingRate') {
          const first = new Date(startDay);
          for (let month = Date.UTC(first.getUTCFullYear(), first.getUTCMonth()); month < endMs && month < publishedFundingEnd; ) {
            add({ period: 'monthly', dataset, symbol, date: utcMonth(month) });
            month = Date.UTC(new Date(month).getUTCFullYear(), new Date(month).getUTCMonth() + 1);
          }
          continue;
        }
        for (let day = startDay; day < endMs; ) {
          const d = new Date(day);
          const monthEnd = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1);
          const monthly = dataset !== 'metrics' && dataset !== 'bookDepth' && d.getUTCDate() === 1 && monthEnd <= currentMonthStart;
          if (monthly) {
            add({ period: 'monthly', dataset, symbol, date: utcMonth(day), ...(interval ? { interval } : {}) });
            day = monthEnd;
          } else {
            add({ period: 'daily', dataset, symbol, date: utcDay(day), ...(interval ? { interval } : {}) });
            day += DAY_MS;
          }
        }
      }
    }
  }
  return files;
}
