import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { OitraderError, writeFileAtomic } from '@oitrader/core';
import { FEATURES_FILE, MANIFEST_FILE, readFeatureDataset } from '@oitrader/features';
import {
  evaluateWalkForward,
  inspectRuns,
  listRuns,
  loadRun,
  readManifest,
  hyperparameterSearch,
  logisticModel,
  majorityBaseline,
  matrixFromColumns,
  persistenceBaseline,
  renderTrainingReport,
  saveRun,
  trainStackedEnsemble,
  walkForwardFolds,
  DEFAULT_BASE_MODELS,
  type BaseModelSpec,
  type ClassificationReport,
  type RunManifest,
} from '@oitrader/ml';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';

interface TrainFlags extends GlobalOptions {
  features: string;
  out: string;
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
    .description('phase 3: walk-forward-evaluate the three GBDT classifiers, the LSTM and the baselines on a features file, train the stacked ensemble, save a model run')
    .option('--features <dir>', `directory holding ${FEATURES_FILE} and its manifest`, 'data/features')
    .option('--out <dir>', 'models directory (default: models.dir)')
    .addOption(new Option('--folds <n>', 'walk-forward test windows').argParser(Number).default(3))
    .addOption(new Option('--train-share <fraction>', 'share of rows in the first training block').argParser(Number).default(0.4))
    .addOption(new Option('--embargo <rows>', 'rows skipped after each test window').argParser(Number).default(12))
    .addOption(new Option('--seed <n>', 'seed for subsampling and the search').argParser(Number).default(0))
    .addOption(new Option('--search-trials <n>', 'hyperparameter search: configurations per GBDT policy (0 = the defaults; the log under <models>/search/ makes it resumable)').argParser(Number).default(0))
    .option('--run-id <id>', 'name of the run (default: UTC timestamp)')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<TrainFlags>();
      const { config, out } = commandContext(flags);
      await runTrain(out, flags.features, flags.out ?? config.models.dir, flags);
    });

  const models = program.command('models').description('list, inspect and promote trained model runs');
  models
    .command('list')
    .description('list model runs with their out-of-sample metrics')
    .option('--dir <dir>', 'models directory (default: models.dir)')
    .action((_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { dir?: string }>();
      const { config, out } = commandContext(flags);
      const dir = flags.dir ?? config.models.dir;
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
        out.text(`${m.runId === active ? '*' : ' '} ${m.runId.padEnd(22)} ${m.symbol} ${m.timeframe} ${m.dataSpan.rows} rows  ensemble acc ${typeof e?.accuracy === 'number' ? e.accuracy.toFixed(3) : '—'}  log-loss ${typeof e?.logLoss === 'number' ? e.logLoss.toFixed(3) : '—'}`);
      }
      if (runs.length === 0) out.text(`no model runs in ${dir}: run oitrader train`);
      out.result({ active, runs, broken: statuses.filter((s) => s.problem).map(({ runId, problem }) => ({ runId, problem })) });
    });
  models
    .command('show')
    .description('print a run\'s manifest')
    .argument('<run-id>')
    .option('--dir <dir>', 'models directory (default: models.dir)')
    .action((runId: string, _flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { dir?: string }>();
      const { config, out } = commandContext(flags);
      const file = join(flags.dir ?? config.models.dir, runId, 'manifest.json');
      if (!existsSync(file)) throw new OitraderError(`no model run ${runId}`, { hint: 'see oitrader models list' });
      const manifest = readManifest(join(flags.dir ?? config.models.dir, runId));
      out.text(JSON.stringify(manifest, null, 2));
      out.result(manifest);
    });
  models
    .command('promote')
    .description('make a run the active one (what the bot loads)')
    .argument('<run-id>')
    .option('--dir <dir>', 'models directory (default: models.dir)')
    .action(async (runId: string, _flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { dir?: string }>();
      const { config, out } = commandContext(flags);
      const dir = flags.dir ?? config.models.dir;
      if (!listRuns(dir).includes(runId)) throw new OitraderError(`no model run ${runId} in ${dir}`, { hint: 'see oitrader models list' });
      // The loader the bot uses: a run whose manifest or ensemble.json is truncated is refused here, not at the bot's start.
      const manifest = readManifest(join(dir, runId));
      await loadRun(join(dir, runId), { featureSetVersion: manifest.featureSetVersion, features: manifest.features });
      writeFileAtomic(join(dir, ACTIVE_FILE), `${runId}\n`);
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

export async function runTrain(out: Output, featuresDir: string, modelsDir: string, options: { folds: number; trainShare: number; embargo: number; seed: number; runId?: string; searchTrials?: number }): Promise<string> {
  const loaded = await readFeatureDataset(join(featuresDir, FEATURES_FILE), join(featuresDir, MANIFEST_FILE));
  const { manifest } = loaded;
  const horizon = manifest.labels.horizon;
  const rows = loaded.time.length;
  const data = {
    x: matrixFromColumns(loaded.columns, loaded.names),
    y: Float64Array.from(loaded.labels),
    forwardReturn: loaded.forwardReturn,
    numClass: 3,
    horizon,
  };
  const trainSize = Math.max(horizon + 1, Math.floor(rows * options.trainShare));
  const folds = walkForwardFolds(rows, { folds: options.folds, mode: 'expanding', trainSize, horizon, embargo: options.embargo });
  let specs: BaseModelSpec[] = DEFAULT_BASE_MODELS.map((s) => ({ ...s, params: { ...s.params, seed: options.seed } }));
  let searchEvaluations = 0;
  if ((options.searchTrials ?? 0) > 0) {
    // Nested: the search sees only the first training block minus the rows
    // whose labels reach into the first test window, with its own inner
    // walk-forward, so no reported test window helped choose the parameters.
    const innerRows = trainSize - horizon;
    const innerFolds = walkForwardFolds(innerRows, { folds: 2, mode: 'expanding', trainSize: Math.max(horizon + 1, Math.floor(innerRows * 0.5)), horizon, embargo: options.embargo });
    const inner = { ...data, x: { ...data.x, rows: innerRows, data: data.x.data.subarray(0, innerRows * data.x.cols) } };
    specs = specs.map((spec) => {
      const policy = spec.params.growPolicy ?? 'depthwise';
      const logFile = join(modelsDir, 'search', `${manifest.symbol}-${manifest.timeframe}-${policy}-rows${innerRows}-seed${options.seed}.jsonl`);
      const search = hyperparameterSearch(inner, innerFolds, { policy, trials: options.searchTrials!, minTrees: 20, eta: 3, rungs: 2, seed: options.seed, logFile });
      searchEvaluations += search.records.length;
      out.text(`search ${policy}: ${search.records.length} evaluations (${search.resumed} reused from ${logFile}), best inner walk-forward log-loss ${search.best.logLoss.toFixed(4)}`);
      return { ...spec, params: search.best.params };
    });
  }
  out.text(`training on ${manifest.symbol} ${manifest.timeframe}: ${rows} rows × ${loaded.names.length} features; ${options.folds} walk-forward folds (first training block ${trainSize} rows, purge ${horizon}, embargo ${options.embargo})`);
  const stack = await trainStackedEnsemble(data, folds, specs, { lstm: { seed: options.seed } });
  const baselines = evaluateWalkForward(data, folds, [logisticModel(), majorityBaseline(), persistenceBaseline()]);
  const table = [...stack.bases, ...baselines].map((e) => ({ name: e.name, report: e.overall }));
  if (stack.ensembleReport) table.push({ name: 'stacked ensemble (folds 2+)', report: stack.ensembleReport });
  out.text(`${'model (out of sample)'.padEnd(30)} ${'rows'.padStart(6)} ${'acc'.padStart(7)} ${'bal acc'.padStart(8)} ${'F1'.padStart(6)} ${'log-loss'.padStart(9)} ${'direction'.padStart(10)}`);
  for (const { name, report: r } of table) {
    out.text(`${name.padEnd(30)} ${String(r.rows).padStart(6)} ${r.accuracy.toFixed(3).padStart(7)} ${r.balancedAccuracy.toFixed(3).padStart(8)} ${r.macroF1.toFixed(3).padStart(6)} ${r.logLoss.toFixed(3).padStart(9)} ${(Number.isNaN(r.directionalAccuracy) ? '—' : r.directionalAccuracy.toFixed(3)).padStart(10)}`);
  }
  // SHAP of the final base models on the most recent rows: which features drive the signal now.
  const recent = Math.min(300, rows);
  const recentRows = matrixFromColumns(loaded.columns, loaded.names, rows - recent, rows);
  const shap = stack.ensemble.bases.map((model, i) => {
    const values = model.shapSummary(recentRows);
    const top = [...values.keys()].sort((a, b) => values[b] - values[a]).slice(0, 15).map((f) => ({ feature: loaded.names[f], value: values[f] }));
    return { model: stack.ensemble.baseNames[i], top };
  });
  for (const s of shap) out.text(`top features (mean |SHAP|) ${s.model}: ${s.top.slice(0, 5).map((t) => t.feature).join(', ')}`);
  const runId = options.runId ?? new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const runManifest: RunManifest = {
    format: 'oitrader-model-run',
    version: 1,
    runId,
    createdAt: new Date().toISOString(),
    featureSetVersion: manifest.featureSetVersion,
    features: loaded.names,
    symbol: manifest.symbol,
    timeframe: manifest.timeframe,
    dataSpan: { from: manifest.span.rowsFrom, to: manifest.span.rowsTo, rows },
    labels: { horizon, threshold: manifest.labels.threshold },
    validation: { folds: options.folds, mode: 'expanding', trainSize, embargo: options.embargo },
    seed: options.seed,
    codeVersion: codeVersion(),
    metrics: {
      ...Object.fromEntries(table.map(({ name, report }) => [name, report])),
      ensemble: stack.ensembleReport,
      shapTop: shap,
      // Configurations tried before choosing: the number of trials a Deflated Sharpe Ratio must account for.
      searchEvaluations,
      baseParams: Object.fromEntries(specs.map((s) => [s.name, s.params])),
    },
  };
  const html = renderTrainingReport({
    runId,
    title: `oitrader training run ${runId}: ${manifest.symbol} ${manifest.timeframe}`,
    setup: `${rows} rows × ${loaded.names.length} features, ${manifest.span.rowsFrom} .. ${manifest.span.rowsTo}; ${options.folds} expanding walk-forward folds, first training block ${trainSize} rows, purge ${horizon}, embargo ${options.embargo}, balanced class weights; ${searchEvaluations > 0 ? `GBDT hyperparameters from a nested random search with successive halving (${searchEvaluations} evaluations, first training block only)` : 'default GBDT hyperparameters'}; the LSTM is a member of the stack`,
    models: [
      ...[...stack.bases, ...baselines].map((e) => ({ name: e.name, overall: e.overall, folds: e.folds })),
      ...(stack.ensembleReport ? [{ name: 'stacked ensemble (folds 2+)', overall: stack.ensembleReport, folds: [] }] : []),
    ],
    shap,
  });
  const dir = saveRun(modelsDir, runManifest, stack.ensemble, { 'report.html': html });
  out.text(`saved model run ${runId} in ${dir} (report.html: metrics, confusion, calibration, SHAP)`);
  out.result({ runId, dir, metrics: runManifest.metrics });
  return runId;
}
