import { join } from 'node:path';
import { Command, Option } from 'commander';
import { formatUtc, numberFlag, type Frame } from '@oitrader/core';
import {
  ALL_FEATURES,
  buildFeatureDataset,
  checkLookahead,
  checkRecursive,
  FEATURE_GROUPS,
  FEATURES_FILE,
  FeatureEngineer,
  formatCheckReport,
  MANIFEST_FILE,
  writeFeatureDataset,
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
  const features = program.command('features').description('phase 2: build features and labels, list the catalogue, check for look-ahead');

  addFrameOptions(
    features
      .command('build')
      .description(`compute every feature and the 3-class label and write ${FEATURES_FILE} + its manifest`)
      .option('--out <dir>', 'output directory', 'data/features'),
  )
    .addOption(new Option('--horizon <bars>', 'label horizon in bars').argParser(numberFlag('--horizon', 'bars')).default(48))
    .addOption(new Option('--threshold <fraction>', 'label threshold on the forward return, 0 < f <= 1').argParser(numberFlag('--threshold', 'returnThreshold')).default(0.005))
    .option('--no-calendar', 'leave out the calendar features (hour, weekday, session): on a few months they can dominate by chance')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<BuildFlags & { calendar: boolean }>();
      const { config, out } = commandContext(flags);
      const engineer = flags.calendar ? undefined : new FeatureEngineer({ groups: FEATURE_GROUPS.filter((g) => g !== 'time') });
      runFeatureBuild(out, await loadFrame(flags, config), flags.out, { horizon: flags.horizon, threshold: flags.threshold }, engineer);
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

export function runFeatureBuild(out: Output, frame: Frame, dir: string, labels: { horizon: number; threshold: number }, engineer?: FeatureEngineer): string {
  const dataset = buildFeatureDataset(frame, labels, engineer);
  const parquet = join(dir, FEATURES_FILE);
  writeFeatureDataset(dataset, parquet, join(dir, MANIFEST_FILE));
  const m = dataset.manifest;
  const b = m.labels.balance;
  const share = (k: number) => `${((100 * k) / m.rows.written).toFixed(1)}%`;
  out.text(`${m.features.length} features (${m.omitted.length} left out: no data for their source) × ${m.rows.written} rows, ${m.span.rowsFrom} .. ${m.span.rowsTo}`);
  out.text(`dropped ${m.rows.warmupDropped} warm-up rows and ${m.rows.unlabeledDropped} unlabeled rows (never filled)`);
  if (m.gaps.length === 0) out.text('no gaps in the sources inside the written rows');
  else {
    out.text(`${m.gaps.length} gaps in the sources inside the written rows (those features are NaN there, the rows are kept): ${m.rows.withMissingValues} rows have a missing value`);
    for (const g of m.gaps.slice(0, 10)) out.text(`  ${g.column}: ${g.from} .. ${g.to} (${g.bars} bars, ${g.features} features)`);
    if (m.gaps.length > 10) out.text(`  … ${m.gaps.length - 10} more in the manifest`);
  }
  out.text(`labels (horizon ${labels.horizon} bars, threshold ${labels.threshold}): SHORT ${b.short} (${share(b.short)}), NEUTRAL ${b.neutral} (${share(b.neutral)}), LONG ${b.long} (${share(b.long)})`);
  out.text(`wrote ${parquet} and ${MANIFEST_FILE}`);
  out.result({ parquet, manifest: m });
  return parquet;
}

export function runFeatureCheck(out: Output, frame: Frame, kind: 'lookahead' | 'recursive', points: number): boolean {
  const engineer = new FeatureEngineer();
  out.text(`${frame.symbol} ${frame.timeframe}: ${frame.length} bars, ${formatUtc(frame.time[0])} .. ${formatUtc(frame.time[frame.length - 1])}`);
  const report = kind === 'lookahead' ? checkLookahead(engineer, frame, { cuts: points }) : checkRecursive(engineer, frame, { starts: points });
  out.text(formatCheckReport(report));
  out.result(report);
  return report.offenders.length === 0;
}
