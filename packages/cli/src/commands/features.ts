import { join } from 'node:path';
import { Command, Option } from 'commander';
import { formatUtc, numberFlag, OitraderError, parseSymbolFlag, type Frame } from '@oitrader/core';
import {
  ALL_FEATURES,
  buildFeatureDataset,
  buildPooledFeatureDataset,
  checkLookahead,
  checkRecursive,
  CROSS_SECTION_GROUP,
  datasetEngineer,
  FEATURE_GROUPS,
  FEATURES_FILE,
  FeatureEngineer,
  formatCheckReport,
  MANIFEST_FILE,
  writeFeatureDataset,
  writeFeatureRows,
  type FeatureManifest,
} from '@oitrader/features';
import { commandContext, type GlobalOptions } from '../context.ts';
import { addFrameOptions, loadFrame, type FrameFlags } from '../frame-source.ts';
import type { Output } from '../output.ts';

interface BuildFlags extends GlobalOptions, FrameFlags {
  out: string;
  horizon: number;
  threshold: number;
}

export function registerFeatureCommands(program: Command): void {
  const features = program.command('features').description('build features and labels, list the catalogue, check for look-ahead');

  addFrameOptions(
    features
      .command('build')
      .description(`compute every feature and the 3-class label and write ${FEATURES_FILE} + its manifest`)
      .option('--out <dir>', 'output directory', 'data/features'),
  )
    .addOption(new Option('--horizon <bars>', 'label horizon in bars').argParser(numberFlag('--horizon', 'bars')).default(48))
    .addOption(new Option('--threshold <fraction>', 'label threshold on the forward return, 0 < f <= 1').argParser(numberFlag('--threshold', 'returnThreshold')).default(0.005))
    .option('--calendar', 'add the calendar features (hour, weekday, session, funding cycle); off by default: on a few months they can lead by chance')
    .option('--symbols <list>', 'one pooled dataset over several symbols, comma-separated (SOLUSDT,BTCUSDT): symbol-normalised features, cross-sectional ranks, a symbol column', symbolsFlag)
    .option('--symbol-id', 'with --symbols: add a symbol_id feature (the symbol\'s index in the list)')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<BuildFlags & { calendar?: boolean; symbols?: string[]; symbolId?: boolean }>();
      const { config, out } = commandContext(flags);
      const engineer = datasetEngineer({ calendar: flags.calendar === true });
      const labels = { horizon: flags.horizon, threshold: flags.threshold };
      if (flags.symbols) {
        if (flags.symbol) throw new OitraderError('--symbol and --symbols together: name one symbol or a list', { hint: 'use --symbols A,B for a pooled dataset, --symbol A for one symbol', exitCode: 2 });
        const frames: Frame[] = [];
        for (const symbol of flags.symbols) frames.push(await loadFrame({ ...flags, symbol }, config));
        runPooledFeatureBuild(out, frames, flags.out, labels, { engineer, symbolId: flags.symbolId === true });
        return;
      }
      if (flags.symbolId) throw new OitraderError('--symbol-id needs --symbols (a pooled dataset)', { hint: 'drop --symbol-id, or pass --symbols A,B', exitCode: 2 });
      runFeatureBuild(out, await loadFrame(flags, config), flags.out, labels, engineer);
    });

  features
    .command('list')
    .description('print the feature catalogue: name, group, warm-up and definition')
    .option('--group <group>', `only one group: ${FEATURE_GROUPS.join(', ')}`)
    .action((_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { group?: string }>();
      const { out } = commandContext(flags);
      const specs = ALL_FEATURES.filter((s) => !flags.group || s.group === flags.group);
      for (const s of specs) out.text(`${s.name.padEnd(30)} ${s.group.padEnd(16)} ${s.description}`);
      out.text(`${specs.length} features`);
      out.result(specs.map((s) => ({ name: s.name, group: s.group, description: s.description, sources: s.sources })));
    });

  for (const kind of ['lookahead', 'recursive'] as const) {
    addFrameOptions(
      features
        .command(`check-${kind}`)
        .description(
          kind === 'lookahead'
            ? 'recompute every feature on history cut at random points; report any feature whose past values change (it used the future)'
            : 'recompute every feature on history that starts later; report any feature that depends on history beyond its declared warm-up',
        ),
    )
      .addOption(new Option('--points <n>', 'number of random cut points / start offsets').argParser(numberFlag('--points', 'bars')).default(kind === 'lookahead' ? 20 : 5))
      .action(async (_flags, command: Command) => {
        const flags = command.optsWithGlobals<GlobalOptions & FrameFlags & { points: number }>();
        const { config, out } = commandContext(flags);
        const passed = runFeatureCheck(out, await loadFrame(flags, config), kind, flags.points);
        if (!passed) process.exitCode = 1;
      });
  }
}

/** `--symbols A,B,…`: each checked like --symbol, at least two, none twice. */
function symbolsFlag(raw: string): string[] {
  const symbols = raw.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => parseSymbolFlag('--symbols', s));
  if (symbols.length < 2) throw new OitraderError(`--symbols: expected at least two comma-separated symbols, got "${raw}"`, { hint: 'for one symbol use --symbol', exitCode: 2 });
  const twice = symbols.find((s, i) => symbols.indexOf(s) !== i);
  if (twice) throw new OitraderError(`--symbols: ${twice} is listed twice`, { hint: 'name each symbol once', exitCode: 2 });
  return symbols;
}

export function runFeatureBuild(out: Output, frame: Frame, dir: string, labels: { horizon: number; threshold: number }, engineer?: FeatureEngineer): string {
  const dataset = buildFeatureDataset(frame, labels, engineer);
  const parquet = join(dir, FEATURES_FILE);
  writeFeatureDataset(dataset, parquet, join(dir, MANIFEST_FILE));
  printBuild(out, dataset.manifest, labels, parquet);
  out.result({ parquet, manifest: dataset.manifest });
  return parquet;
}

/** A pooled dataset over several symbols (features build --symbols). */
export function runPooledFeatureBuild(out: Output, frames: Frame[], dir: string, labels: { horizon: number; threshold: number }, options: { engineer?: FeatureEngineer; symbolId?: boolean } = {}): string {
  const rows = buildPooledFeatureDataset(frames, { labels, ...options });
  const parquet = join(dir, FEATURES_FILE);
  writeFeatureRows(rows, parquet, join(dir, MANIFEST_FILE));
  const m = rows.manifest;
  out.text(`pooled dataset over ${m.symbols!.join(', ')} (${m.timeframe}): rows ordered by time, then symbol, with a symbol column`);
  for (const p of m.perSymbol!) out.text(`  ${p.symbol}: ${p.written} rows, ${p.rowsFrom} .. ${p.rowsTo}; labels SHORT ${p.balance.short}, NEUTRAL ${p.balance.neutral}, LONG ${p.balance.long}`);
  const scaled = m.omitted.filter((o) => /symbol's own units/.test(o.reason)).map((o) => o.name);
  if (scaled.length > 0) out.text(`left out as levels in each symbol's own units: ${scaled.join(', ')}`);
  out.text(`cross-sectional features: ${m.features.filter((f) => f.group === CROSS_SECTION_GROUP).map((f) => f.name).join(', ') || 'none (a source is missing for every symbol)'}${options.symbolId ? '; symbol_id added' : ''}`);
  printBuild(out, m, labels, parquet);
  out.result({ parquet, manifest: m });
  return parquet;
}

function printBuild(out: Output, m: FeatureManifest, labels: { horizon: number; threshold: number }, parquet: string): void {
  const b = m.labels.balance;
  const share = (k: number) => `${((100 * k) / m.rows.written).toFixed(1)}%`;
  const calendar = m.features.some((f) => f.group === 'time');
  out.text(`${m.features.length} features (${m.omitted.length} left out: no data for their source${m.symbols ? ', a symbol-scaled level' : ''}; calendar features ${calendar ? 'included (--calendar)' : 'off — add them with --calendar'}) × ${m.rows.written} rows, ${m.span.rowsFrom} .. ${m.span.rowsTo}`);
  out.text(`dropped ${m.rows.warmupDropped} warm-up rows and ${m.rows.unlabeledDropped} unlabeled rows (never filled)`);
  if (m.gaps.length === 0) out.text('no gaps in the sources inside the written rows');
  else {
    out.text(`${m.gaps.length} gaps in the sources inside the written rows (those features are NaN there, the rows are kept): ${m.rows.withMissingValues} rows have a missing value`);
    for (const g of m.gaps.slice(0, 10)) out.text(`  ${g.column}: ${g.from} .. ${g.to} (${g.bars} bars, ${g.features} features)`);
    if (m.gaps.length > 10) out.text(`  … ${m.gaps.length - 10} more in the manifest`);
  }
  out.text(`labels (horizon ${labels.horizon} bars, threshold ${labels.threshold}): SHORT ${b.short} (${share(b.short)}), NEUTRAL ${b.neutral} (${share(b.neutral)}), LONG ${b.long} (${share(b.long)})`);
  out.text(`wrote ${parquet} and ${MANIFEST_FILE}`);
}

export function runFeatureCheck(out: Output, frame: Frame, kind: 'lookahead' | 'recursive', points: number): boolean {
  const engineer = new FeatureEngineer();
  out.text(`${frame.symbol} ${frame.timeframe}: ${frame.length} bars, ${formatUtc(frame.time[0])} .. ${formatUtc(frame.time[frame.length - 1])}`);
  const report = kind === 'lookahead' ? checkLookahead(engineer, frame, { cuts: points }) : checkRecursive(engineer, frame, { starts: points });
  out.text(formatCheckReport(report));
  out.result(report);
  return report.offenders.length === 0;
}
