import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { reportBasePath } from '@oitrader/backtest';
import { numberFlag, OitraderError, writeFileAtomic } from '@oitrader/core';
import { redisLabel } from '@oitrader/ml';
import { riskFromConfig } from './backtest.ts';
import { commandContext, type GlobalOptions } from '../context.ts';
import { loadFrames } from '../frame-source.ts';
import { stopSignals } from '../stop-signals.ts';
import { DEFAULT_GRID_YAML, loadResearchGrid } from '../research/research-grid.ts';
import { researchHtml, researchText } from '../research/research-report.ts';
import { summarize } from '../research/research-summary.ts';
import { configKey, type ConfigResult } from '../research/run-research.ts';
import { inProcessResearchRunner, queuedResearchRunner, type ResearchTask } from '../research/research-runners.ts';
import { queueConnection } from './worker.ts';

/** Where queued research writes its frames: under data/, which the compose file's worker mounts as the bot's machine does. */
const RESEARCH_FRAMES_DIR = 'data/research-frames';

interface ResearchFlags extends GlobalOptions {
  grid?: string;
  demoDb?: boolean;
  db?: string;
  out: string;
  for?: number;
}

export function registerResearchCommand(program: Command): void {
  program
    .command('research')
    .description('does open interest add anything? a declared grid (symbols × timeframes × label × feature families, with and without open interest) scored by combinatorial purged cross-validation, traded after costs, with PBO and the deflated Sharpe')
    .option('--grid <file>', 'the grid, YAML (default: the four sample symbols at 15m, all / no-oi / price-only; see research.example.yaml)')
    .option('--demo-db', 'read the demo database (data/demo/db) instead of the configured one')
    .option('--db <dir>', 'read this embedded database directory instead of the configured one')
    .option('--out <dir>', 'report directory', 'reports')
    .addOption(new Option('--for <seconds>', 'stop after this many seconds').argParser(numberFlag('--for', 'positiveSeconds')))
    .addHelpText(
      'after',
      `
Examples:
  oitrader research --demo-db                       # the default grid on the demo database
  oitrader research --grid research.example.yaml    # your grid on the configured database`,
    )
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<ResearchFlags>();
      const { config, out } = commandContext(flags);
      const grid = loadResearchGrid(flags.grid);
      const gridYaml = flags.grid ? readFileSync(flags.grid, 'utf8') : DEFAULT_GRID_YAML;
      const execution = { leverage: config.trading.leverage, initialBalanceUsd: config.trading.initial_balance, takerFeeRate: 0.0005, halfSpreadBps: 1, risk: riskFromConfig(config), closeAtEnd: true };
      const base = reportBasePath(flags.out, ['research', grid.symbols.join('-'), grid.timeframes.join('-')]);
      mkdirSync(flags.out, { recursive: true });
      const trialsFile = `${base}.trials.jsonl`;
      const stop = stopSignals(flags.for);
      const started = performance.now();
      const settings = { hurdles: grid.hurdles, grid: { cpcv: grid.cpcv, model: grid.model }, execution };
      const connection = queueConnection(config);
      const runner = connection ? queuedResearchRunner(connection, RESEARCH_FRAMES_DIR, settings, { onNotice: (line) => out.text(line) }) : inProcessResearchRunner(settings);
      if (connection) out.text(`research configurations go to \`oitrader worker\` processes through Redis at ${redisLabel(connection.redisUrl)} (prefix ${connection.prefix}); frames are written under ${resolve(RESEARCH_FRAMES_DIR)} (workers must see that path)`);
      const results: ConfigResult[] = [];
      try {
        const tasks: ResearchTask[] = [];
        for (const timeframe of grid.timeframes) {
          const frames = await loadFrames(grid.symbols, { timeframe, start: grid.start ?? '2000-01-01', end: grid.end ?? '2100-01-01', demoDb: flags.demoDb, db: flags.db }, config);
          for (const frame of frames) {
            if (frame.length === 0) throw new OitraderError(`no ${timeframe} ${frame.symbol} candles stored`, { hint: 'import them first (oitrader data import), or run oitrader demo and pass --demo-db', exitCode: 2 });
            for (const horizon of grid.horizons) for (const threshold of grid.thresholds) for (const ablation of grid.ablations) tasks.push({ frame, base: { symbol: frame.symbol, timeframe, horizon, threshold, ablation } });
          }
        }
        let finished = 0;
        const byTask = await runner.runAll(
          tasks,
          (index, done) => {
            for (const r of done) appendFileSync(trialsFile, `${JSON.stringify({ key: configKey(r.config), ...r.config, features: r.features, rows: r.rows, paths: r.paths.map(({ daily: _daily, ...p }) => p) })}\n`);
            finished++;
            const { base } = tasks[index];
            const elapsed = (performance.now() - started) / 1000;
            out.text(`  [${finished}/${tasks.length}] ${base.symbol} ${base.timeframe} h${base.horizon} ${base.ablation}: log-loss gain ${(done[0].paths.reduce((a, p) => a + p.priorLogLoss - p.logLoss, 0) / done[0].paths.length).toFixed(4)}, ${done[0].features} features, ${done[0].rows} rows — ${elapsed.toFixed(0)} s, about ${((elapsed / finished) * (tasks.length - finished)).toFixed(0)} s left`);
          },
          stop.signal,
        );
        // Grid order, whatever order the workers finished in: the summary is the same with or without workers.
        for (const done of byTask) results.push(...done);
      } finally {
        stop.dispose();
        await runner.close();
      }
      const seconds = (performance.now() - started) / 1000;
      const summary = summarize(results, grid.pbo_blocks);
      const text = researchText(summary, seconds);
      for (const line of text) out.text(line);
      const title = `oitrader research: ${grid.symbols.join(', ')} ${grid.timeframes.join(', ')}`;
      writeFileAtomic(`${base}.html`, researchHtml(title, summary, text, gridYaml));
      writeFileAtomic(`${base}.json`, `${JSON.stringify({ grid, seconds, trials: summary.trials, best: summary.best, pbo: summary.pbo, configs: summary.configs, oi: summary.oi.map(({ byAblation, ...rest }) => ({ ...rest, ablations: Object.keys(byAblation) })) }, null, 2)}\n`);
      out.text(`report: ${base}.html (and .json; every trial in ${trialsFile})`);
      out.result({ report: `${base}.html`, json: `${base}.json`, trialsFile, seconds, trials: summary.trials, best: summary.best, pbo: summary.pbo, oi: summary.oi.map((r) => ({ symbol: r.symbol, timeframe: r.timeframe, horizon: r.horizon, hurdle: r.hurdle, oiLogLossGain: r.oiLogLossGain, oiSharpe: r.oiSharpe })) });
    });
}
