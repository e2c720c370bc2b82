import { Command, Option } from 'commander';
import { openArchiveSource, parseArchivePath } from '@oitrader/binance';
import { checkWindow, formatUtc, numberFlag, parseTimeframe, parseUtcTimeMs, symbolFlag, symbolListFlag, type Timeframe } from '@oitrader/core';
import {
  checkDataQuality,
  deriveTimeframes,
  formatQualityReport,
  importArchive,
  MarketDataLoader,
  openStore,
  readStreamHealth,
  staleStreams,
  storeTargetFromConfig,
  type ImportReport,
  type SqlExecutor,
} from '@oitrader/data';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';

/** Exit code of `data check` when a series is below the completeness threshold. */
export const EXIT_BELOW_THRESHOLD = 3;

interface ImportFlags extends GlobalOptions {
  symbol?: string[];
  timeframe?: string[];
  start?: string;
  end?: string;
  verify: boolean;
}

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('import, check and inspect market data');

  data
    .command('import')
    .description("import Binance public-archive files (klines, metrics, fundingRate, bookDepth) from a local mirror directory or a base URL")
    .argument('<source>', 'a directory holding futures/um/... or a URL such as https://data.binance.vision')
    .option('--symbol <symbol...>', 'only these symbols (default: all in a directory; data.symbols for a URL)', symbolListFlag('--symbol'))
    .option('--timeframe <tf...>', 'only these kline intervals (default: all in a directory; data.timeframes for a URL)')
    .option('--start <date>', 'first UTC day (default: everything in a directory; data.start_date for a URL)')
    .option('--end <date>', 'UTC day to stop before (default: now)')
    .option('--no-verify', 'skip .CHECKSUM verification')
    .action(async (location: string, _flags, command: Command) => {
      const flags = command.optsWithGlobals<ImportFlags>();
      const { config, out } = commandContext(flags);
      const source = openArchiveSource(location);
      const remote = !source.list;
      const startMs = flags.start ? parseUtcTimeMs(flags.start) : remote ? parseUtcTimeMs(config.data.start_date) : undefined;
      const endMs = flags.end ? parseUtcTimeMs(flags.end) : undefined;
      checkWindow(startMs, endMs);
      const timeframes = flags.timeframe?.map((tf) => parseTimeframe(tf));
      const { sql } = await openStore(storeTargetFromConfig(config));
      try {
        const report = await runImport(sql, out, source, {
          symbols: flags.symbol ?? (remote ? config.data.symbols : undefined),
          timeframes: timeframes ?? (remote ? config.data.timeframes : undefined),
          startMs,
          endMs,
          verifyChecksums: flags.verify && config.data.archive.verify_checksums,
        }, config.data.timeframes);
        if (report.failed > 0) process.exitCode = 1;
      } finally {
        await sql.close();
      }
    });

  data
    .command('check')
    .description('report completeness per table/symbol/timeframe: expected vs present rows, gaps, rejected rows')
    .option('--symbol <symbol>', 'only this symbol', symbolFlag('--symbol'))
    .option('--start <date>', 'check against a window starting here instead of each series\' own span')
    .option('--end <date>', 'end of that window (exclusive)')
    .addOption(new Option('--threshold <fraction>', 'minimum completeness, 0 < f <= 1 (default: data.completeness_threshold)').argParser(numberFlag('--threshold', 'completeness')))
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { symbol?: string; start?: string; end?: string; threshold?: number }>();
      const { config, out } = commandContext(flags);
      const startMs = flags.start ? parseUtcTimeMs(flags.start) : undefined;
      const endMs = flags.end ? parseUtcTimeMs(flags.end) : undefined;
      checkWindow(startMs, endMs);
      const { sql } = await openStore(storeTargetFromConfig(config));
      try {
        const passed = await runCheck(sql, out, {
          symbol: flags.symbol,
          startMs,
          endMs,
          threshold: flags.threshold ?? config.data.completeness_threshold,
        });
        for (const note of await startDateNotes(sql, config.data.start_date, flags.symbol ? [flags.symbol] : config.data.symbols)) out.text(`note: ${note}`);
        if (!passed) process.exitCode = EXIT_BELOW_THRESHOLD;
      } finally {
        await sql.close();
      }
    });

  data
    .command('health')
    .description("show the collector's heartbeat per stream (last message, lag, reconnects); exit 3 when a stream is silent too long")
    .option('--max-age <seconds>', 'a stream silent longer than this fails the check', numberFlag('--max-age', 'positiveSeconds'), 120)
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { maxAge: number }>();
      const { config, out } = commandContext(flags);
      const maxAgeMs = flags.maxAge * 1000;
      const { sql } = await openStore(storeTargetFromConfig(config));
      try {
        const rows = await readStreamHealth(sql);
        const now = Date.now();
        out.text(`${'stream'.padEnd(32)} ${'last message (UTC)'.padEnd(22)} ${'age s'.padStart(8)} ${'lag ms'.padStart(8)} ${'messages'.padStart(10)} ${'reconnects'.padStart(10)}`);
        for (const r of rows) {
          out.text(
            `${r.stream.padEnd(32)} ${formatUtc(r.lastMessageAtMs).padEnd(22)} ${((now - r.lastMessageAtMs) / 1000).toFixed(0).padStart(8)} ${(r.lagMs ?? Number.NaN).toFixed(0).padStart(8)} ${String(r.messages).padStart(10)} ${String(r.reconnects).padStart(10)}`,
          );
        }
        const stale = staleStreams(rows, now, maxAgeMs);
        out.text(stale.length === 0 ? `PASS: every stream reported within ${flags.maxAge} s` : `FAIL: silent for more than ${flags.maxAge} s: ${stale.join(', ')}`);
        out.result({ streams: rows, stale });
        if (stale.length > 0) process.exitCode = EXIT_BELOW_THRESHOLD;
      } finally {
        await sql.close();
      }
    });

  data
    .command('show')
    .description('load one time-aligned frame with MarketDataLoader and print its columns and coverage')
    .requiredOption('--symbol <symbol>', 'symbol, e.g. SOLUSDT', symbolFlag('--symbol'))
    .option('--timeframe <tf>', 'bar size', '5m')
    .option('--start <date>', 'first bar (UTC)', '2000-01-01')
    .option('--end <date>', 'stop before this time (UTC)', '2100-01-01')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { symbol: string; timeframe: string; start: string; end: string }>();
      const { config, out } = commandContext(flags);
      const [startMs, endMs, timeframe] = [parseUtcTimeMs(flags.start), parseUtcTimeMs(flags.end), parseTimeframe(flags.timeframe)];
      checkWindow(startMs, endMs);
      const { sql } = await openStore(storeTargetFromConfig(config));
      try {
        await runShow(sql, out, flags.symbol, timeframe, startMs, endMs);
      } finally {
        await sql.close();
      }
    });
}

/** Imports, then stores the `derive` timeframes the archive lacks, aggregated from each imported symbol's 5m candles. */
export async function runImport(sql: SqlExecutor, out: Output, source: ReturnType<typeof openArchiveSource>, options: Parameters<typeof importArchive>[2], derive: readonly Timeframe[] = []): Promise<ImportReport> {
  out.text(`importing from ${source.description}`);
  let progress: ReturnType<Output['progress']> | undefined;
  const report = await importArchive(sql, source, {
    ...options,
    onProgress: (done, total, file) => {
      progress ??= out.progress('import', total);
      progress.update(done, file.path.split('/').pop());
    },
  });
  progress?.stop();
  for (const f of report.files.filter((f) => f.status === 'failed')) out.text(`  FAILED ${f.error}`);
  if (report.floored > 0) out.text(`  note: ${report.floored} metrics rows were a few seconds off the 5-minute grid (as Binance writes them) and were floored onto it`);
  for (const u of report.unplanned) out.text(`  note: no archive file exists for ${u} in this span (funding of the current month is published next month); \`oitrader collect\` fetches it by REST`);
  out.text(
    `${report.files.length} files: ${report.inserted} rows new, ${report.updated} changed, ${report.rejected} rejected, ${report.missing} missing files, ${report.failed} failed files`,
  );
  const planned = report.files.filter((f) => f.status === 'imported').map((f) => parseArchivePath(f.path));
  const symbols = [...new Set(planned.filter((f) => f?.dataset === 'klines' && f.interval === '5m').map((f) => f!.symbol))];
  for (const symbol of symbols) {
    const derived = (await deriveTimeframes(sql, symbol, derive)).filter((d) => d.derived > 0);
    if (derived.length > 0) out.text(`${symbol}: derived from 5m (complete periods only) ${derived.map((d) => `${d.timeframe} ${d.derived}`).join(', ')}`);
  }
  out.result(report);
  return report;
}

/**
 * Where the stored history of each configured symbol falls short of `data.start_date` (the 5m candles
 * every feature and model reads): a check that passes on what is stored can still hide that the
 * history the config asks for was never imported.
 */
export async function startDateNotes(sql: SqlExecutor, startDate: string, symbols: readonly string[]): Promise<string[]> {
  const wantMs = parseUtcTimeMs(startDate);
  const rows = await sql.query<{ symbol: string; first: number }>(
    `SELECT symbol, (extract(epoch FROM min(time)) * 1000)::float8 AS first FROM ohlcv WHERE timeframe = '5m' AND symbol = ANY($1) GROUP BY symbol`,
    [[...symbols]],
  );
  const first = new Map(rows.map((r) => [r.symbol, Number(r.first)]));
  const notes: string[] = [];
  for (const symbol of symbols) {
    const have = first.get(symbol);
    if (have === undefined) notes.push(`data.start_date is ${startDate} but no ${symbol} 5m candles are stored: run oitrader data import <archive-or-url> --symbol ${symbol}`);
    else if (have > wantMs + 86_400_000) notes.push(`data.start_date is ${startDate} but ${symbol} 5m starts ${formatUtc(have)}: import the rest (oitrader data import <archive-or-url> --symbol ${symbol} --start ${startDate}) or set data.start_date to what you have`);
  }
  return notes;
}

export async function runCheck(sql: SqlExecutor, out: Output, options: Parameters<typeof checkDataQuality>[1]): Promise<boolean> {
  const report = await checkDataQuality(sql, options);
  out.text(formatQualityReport(report));
  out.result(report);
  return report.passed;
}

export async function runShow(sql: SqlExecutor, out: Output, symbol: string, timeframe: Timeframe, startMs: number, endMs: number): Promise<void> {
  const { frame, warnings } = await new MarketDataLoader(sql).load(symbol, timeframe, startMs, endMs);
  out.text(`MarketDataLoader.loadAllData(${symbol}, ${timeframe}): ${frame.length} bars, ${formatUtc(frame.time[0])} .. ${formatUtc(frame.time[frame.length - 1])}`);
  const coverage = frame.names.map((name) => {
    const column = frame.column(name);
    let present = 0;
    for (const v of column) if (!Number.isNaN(v)) present++;
    return { name, present, last: column[column.length - 1] };
  });
  for (const c of coverage) out.text(`  ${c.name.padEnd(24)} ${((100 * c.present) / frame.length).toFixed(1).padStart(5)}% present   last ${Number.isNaN(c.last) ? 'NaN' : c.last}`);
  for (const w of warnings) out.text(`  warning: ${w}`);
  out.result({ symbol, timeframe, bars: frame.length, columns: coverage, warnings });
}
