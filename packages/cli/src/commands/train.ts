import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { numberFlag, OitraderError } from '@oitrader/core';
import { FEATURES_FILE, MANIFEST_FILE, readFeatureDataset } from '@oitrader/features';
import { inspectRuns, listRuns, loadRun, readManifest, readTrials, trainModelRun, type ClassificationReport, type TrainedRun, type TrainRunOptions } from '@oitrader/ml';
import { promoteRun } from '@oitrader/live';
import { promotionRefusal, readTradingResult, tradingResultLine } from './trading-result.ts';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';
import { queuedRunners } from './worker.ts';

interface TrainFlags extends GlobalOptions {
  features: string;
  out?: string;
  modelsDir?: string;
  folds: number;
  trainShare: number;
  embargo: number;
  seed: number;
  runId?: string;
  searchTrials: number;
}

const ACTIVE_FILE = 'ACTIVE';

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('walk-forward-evaluate the three GBDT classifiers, the LSTM and the baselines on a features file (one symbol or a pool), train the stacked ensemble, calibrate every model on out-of-fold rows, save a model run')
    .option('--features <dir>', `directory holding ${FEATURES_FILE} and its manifest`, 'data/features')
    .option('--models-dir <dir>', 'models directory (default: models.dir)')
    .addOption(new Option('--out <dir>', 'old name of --models-dir').hideHelp())
    .addOption(new Option('--folds <n>', 'walk-forward test windows').argParser(Number).default(3))
    .addOption(new Option('--train-share <fraction>', 'share of rows in the first training block').argParser(numberFlag('--train-share', 'share')).default(0.4))
    .addOption(new Option('--embargo <bars>', 'bars skipped after each test window (for every symbol of a pooled file)').argParser(Number).default(12))
    .addOption(new Option('--seed <n>', 'seed for subsampling and the search').argParser(numberFlag('--seed', 'seed')).default(0))
    .addOption(new Option('--search-trials <n>', 'hyperparameter search: configurations per GBDT policy (0 = the defaults; the log under <models>/search/ makes it resumable)').argParser(numberFlag('--search-trials', 'count')).default(0))
    .option('--run-id <id>', 'name of the run: letters, digits, . _ - (default: UTC timestamp)', runIdFlag)
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<TrainFlags>();
      const { config, out } = commandContext(flags);
      const queued = queuedRunners(config, flags.features, out);
      try {
        await runTrain(out, flags.features, flags.modelsDir ?? flags.out ?? config.models.dir, { ...flags, trialRunner: queued.trials, fitRunner: queued.fits });
      } finally {
        await queued.close();
      }
    });

  const models = program.command('models').description('list, inspect and promote trained model runs');
  models
    .command('list')
    .description('list model runs with their out-of-sample metrics')
    .option('--models-dir <dir>', 'models directory (default: models.dir)')
    .addOption(new Option('--dir <dir>', 'old name of --models-dir').hideHelp())
    .action((_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { dir?: string; modelsDir?: string }>();
      const { config, out } = commandContext(flags);
      const dir = flags.modelsDir ?? flags.dir ?? config.models.dir;
      const active = existsSync(join(dir, ACTIVE_FILE)) ? readFileSync(join(dir, ACTIVE_FILE), 'utf8').trim() : '';
      const statuses = inspectRuns(dir);
      const runs = statuses.flatMap((s) => (s.manifest ? [s.manifest] : []));
      for (const s of statuses) {
        const m = s.manifest;
        if (!m) {
          out.text(`${s.runId === active ? '*' : ' '} ${s.runId.padEnd(22)} BROKEN: ${s.problem}`);
          continue;
        }
        const e = m.metrics.ensemble as ClassificationReport | undefined;
        let trading: string;
        try {
          trading = tradingResultLine(readTradingResult(join(dir, m.runId)), readTrials(join(dir, m.runId), m.runId).trials.length);
        } catch (error) {
          trading = `unreadable (${(error as Error).message})`;
        }
        out.text(`${m.runId === active ? '*' : ' '} ${m.runId.padEnd(22)} ${m.symbol} ${m.timeframe} ${m.dataSpan.rows} rows  ensemble acc ${typeof e?.accuracy === 'number' ? e.accuracy.toFixed(3) : '—'}  log-loss ${typeof e?.logLoss === 'number' ? e.logLoss.toFixed(3) : '—'}  out-of-sample trading: ${trading}`);
      }
      if (runs.length === 0) out.text(`no model runs in ${dir}: run oitrader train`);
      out.result({ active, runs, broken: statuses.filter((s) => s.problem).map(({ runId, problem }) => ({ runId, problem })) });
    });
  models
    .command('show')
    .description('print a run\'s manifest')
    .argument('<run-id>')
    .option('--models-dir <dir>', 'models directory (default: models.dir)')
    .addOption(new Option('--dir <dir>', 'old name of --models-dir').hideHelp())
    .action((runId: string, _flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { dir?: string; modelsDir?: string }>();
      const { config, out } = commandContext(flags);
      const file = join(flags.modelsDir ?? flags.dir ?? config.models.dir, runId, 'manifest.json');
      if (!existsSync(file)) throw new OitraderError(`no model run ${runId}`, { hint: 'see oitrader models list' });
      const manifest = readManifest(join(flags.modelsDir ?? flags.dir ?? config.models.dir, runId));
      out.text(JSON.stringify(manifest, null, 2));
      out.result(manifest);
    });
  models
    .command('promote')
    .description('make a run the active one (what the bot loads); refused when its out-of-sample trading result is below flat, made no trades, or is missing')
    .argument('<run-id>')
    .option('--models-dir <dir>', 'models directory (default: models.dir)')
    .addOption(new Option('--dir <dir>', 'old name of --models-dir').hideHelp())
    .option('--force', 'promote although its out-of-sample trading result is below flat, empty or missing')
    .action(async (runId: string, _flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { dir?: string; modelsDir?: string; force?: boolean }>();
      const { config, out } = commandContext(flags);
      const dir = flags.modelsDir ?? flags.dir ?? config.models.dir;
      if (!listRuns(dir).includes(runId)) throw new OitraderError(`no model run ${runId} in ${dir}`, { hint: 'see oitrader models list' });
      // The loader the bot uses: a run whose manifest or ensemble.json is truncated is refused here, not at the bot's start.
      const manifest = readManifest(join(dir, runId));
      await loadRun(join(dir, runId), { featureSetVersion: manifest.featureSetVersion, features: manifest.features });
      const refusal = promotionRefusal(runId, readTradingResult(join(dir, runId)));
      if (refusal && !flags.force) throw new OitraderError(`not promoted: ${refusal}`, { hint: `backtest it (oitrader backtest --strategy ml-signal --model ${runId}); promote anyway with --force`, exitCode: 2 });
      if (refusal) out.text(`warning: promoted with --force although ${refusal}`);
      // Recorded in models/promotions.json as well, so `oitrader models rollback` can return to the previous champion.
      promoteRun(dir, runId, 'oitrader models promote');
      out.text(`active model run: ${runId}`);
      out.result({ active: runId });
    });
}

function codeVersion(): string {
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

export async function runTrain(out: Output, featuresDir: string, modelsDir: string, options: Omit<TrainRunOptions, 'modelsDir' | 'codeVersion'>): Promise<TrainedRun> {
  const loaded = await readFeatureDataset(join(featuresDir, FEATURES_FILE), join(featuresDir, MANIFEST_FILE));
  const { manifest } = loaded;
  const pooled = manifest.symbols ? ` (pooled: ${manifest.symbols.length} symbols, folds split by time across them)` : '';
  out.text(`training on ${manifest.symbol} ${manifest.timeframe}${pooled}: ${loaded.time.length} rows × ${loaded.names.length} features; ${options.folds} walk-forward folds (purge ${manifest.labels.horizon} bars, embargo ${options.embargo} bars); run goes to ${modelsDir}`);
  const clock = (ms: number) => `${String(Math.floor(ms / 60_000)).padStart(2, '0')}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}`;
  const run = await trainModelRun(loaded, { ...options, modelsDir, codeVersion: codeVersion() }, (p) => out.text(`  [${clock(p.elapsedMs)}] ${p.stage}`));
  for (const note of run.searchNotes) out.text(note);
  out.text(`${'model (out of sample)'.padEnd(44)} ${'rows'.padStart(6)} ${'acc'.padStart(7)} ${'bal acc'.padStart(8)} ${'F1'.padStart(6)} ${'log-loss'.padStart(9)} ${'direction'.padStart(10)}`);
  for (const { name, report: r } of run.table) {
    out.text(`${name.padEnd(44)} ${String(r.rows).padStart(6)} ${r.accuracy.toFixed(3).padStart(7)} ${r.balancedAccuracy.toFixed(3).padStart(8)} ${r.macroF1.toFixed(3).padStart(6)} ${r.logLoss.toFixed(3).padStart(9)} ${(Number.isNaN(r.directionalAccuracy) ? '—' : r.directionalAccuracy.toFixed(3)).padStart(10)}`);
  }
  printCalibration(out, run);
  for (const line of run.verdict) out.text(line);
  for (const warning of run.warnings) out.text(warning);
  for (const s of run.shapTop) out.text(`top features (mean |SHAP|) ${s.model}: ${s.top.slice(0, 5).map((t) => t.feature).join(', ')}`);
  for (const s of run.stability) out.text(`feature importance stability ${s.model}: top-10 overlap across folds ${s.overlap.toFixed(2)} (fold tops: ${s.perFold.map((f) => f[0]).join(', ')})`);
  out.text(`time per stage: ${Object.entries(run.stageSeconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}`);
  out.text(`fit time per model, folds + final (the LSTM on its own thread, beside the others): ${Object.entries(run.fitSeconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}`);
  out.text(`saved model run ${run.runId} in ${run.dir} (report.html, oof-predictions.parquet); list with: oitrader models list --models-dir ${modelsDir}`);
  out.result({ runId: run.runId, dir: run.dir, metrics: run.manifest.metrics, stageSeconds: run.stageSeconds, fitSeconds: run.fitSeconds });
  return run;
}

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '—');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');

/** Before → after calibration on the comparison rows, the baselines beside, and per symbol for a pooled run. */
function printCalibration(out: Output, run: TrainedRun): void {
  const c = run.calibration;
  if (c.rows === 0) return;
  out.text(`calibration, out of fold on ${c.rows} rows (folds 2+; every calibration fitted on earlier folds only):`);
  out.text(`  ${'model'.padEnd(32)} ${'saved'.padEnd(11)} ${'log-loss raw → calibrated'.padEnd(26)} ${'ECE raw → cal'.padEnd(14)} ECE per class S/N/L (calibrated)`);
  for (const m of c.models) out.text(`  ${m.name.padEnd(32)} ${m.kind.padEnd(11)} ${`${f4(m.raw.logLoss)} → ${f4(m.calibrated.logLoss)}`.padEnd(26)} ${`${f3(m.raw.ece)} → ${f3(m.calibrated.ece)}`.padEnd(14)} ${m.calibrated.classEce.map(f3).join(' / ')}`);
  const fixed = (name: string, x: (typeof c.baselines)[number] | NonNullable<typeof c.ensemble>) => out.text(`  ${name.padEnd(32)} ${'—'.padEnd(11)} ${f4(x.logLoss).padEnd(26)} ${f3(x.ece).padEnd(14)} ${x.classEce.map(f3).join(' / ')}`);
  if (c.ensemble) fixed('ensemble (as it answers)', c.ensemble);
  for (const b of c.baselines) fixed(b.name === 'majority class' ? 'training prior (majority class)' : b.name, b);
  out.text(`  ${'uniform (1/3 each)'.padEnd(32)} ${'—'.padEnd(11)} ${f4(Math.log(3))}`);
  for (const s of run.perSymbol) {
    out.text(`  ${s.symbol} (${s.rows} rows): ${s.models.map((m) => `${m.name} ${f4(m.logLoss)}`).join(', ')}`);
  }
}

/** A run id becomes a directory name: refused before a minute of training, not after (`../../evil`). */
function runIdFlag(raw: string): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(raw) || raw.includes('..')) {
    throw new OitraderError(`--run-id: expected letters, digits, . _ - (a directory name), got "${raw}"`, { hint: 'choose a plain name such as sol-5m-v2', exitCode: 2 });
  }
  return raw;
}
