import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DirectorySource } from '@oitrader/binance';
import { createOutput } from '../output.ts';
import { MarketDataLoader, openStore } from '@oitrader/data';
import type { GlobalOptions } from '../context.ts';
import { DEMO_DB } from '../frame-source.ts';
import { ML_BASELINES, runMlSignalBacktest } from './ml-backtest.ts';
import { configSchema } from '@oitrader/core';
import { runSimulatedCollection } from './collect.ts';
import { runFeatureBuild, runFeatureCheck } from './features.ts';
import { runRlBacktest, runRlTrain } from './rl.ts';
import { runTrain } from './train.ts';
import { runDemoBot } from './dashboard.ts';
import { runCheck, runImport, runShow } from './data.ts';

/** The bundled real sample: SOLUSDT, BTCUSDT, ETHUSDT and DOGEUSDT with open interest (see data/sample/README.md). */
export const SAMPLE_ARCHIVE = fileURLToPath(new URL('../../../../data/sample/binance-archive', import.meta.url));

/** The demo's span: the whole bundled SOLUSDT sample. */
const DEMO_SYMBOL = 'SOLUSDT';
/** Phase 5's portfolio: every symbol of the sample on one wallet. */
const DEMO_PORTFOLIO = ['SOLUSDT', 'BTCUSDT', 'ETHUSDT', 'DOGEUSDT'];
const DEMO_FROM = Date.UTC(2025, 11, 1);
const DEMO_TO = Date.UTC(2026, 2, 1);
/**
 * Phase 3 in demo mode, sized to fit the 5-minute budget on 2 cores: the
 * default GBDTs with 60 trees instead of 100, no hyperparameter search, the
 * LSTM with at most 3 epochs over the latest 6,000 training rows of each fold
 * (batches of 256); 3 expanding walk-forward folds.
 */
export const DEMO_TRAINING = { folds: 3, trainShare: 0.4, embargo: 12, seed: 0, searchTrials: 0, trees: 60, lstm: { epochs: 3, patience: 1, batchSize: 256, maxTrainRows: 6000 } } as const;

/** Phase 4 in demo mode: a short PPO budget (the learning tests' settings) so it fits the demo's time; `oitrader rl train` defaults to the guide's. */
export const DEMO_RL = { windows: 3, minTrainDays: 14, timestepsPerWindow: 16_384, nEnvs: 4, episodeBars: 512, training: { nSteps: 512, batchSize: 256, nEpochs: 4, learningRate: 1e-3, entCoef: 0.01 } } as const;

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the pipeline end to end on the bundled real sample (SOLUSDT, BTCUSDT, ETHUSDT, DOGEUSDT with open interest) in an embedded database (data/demo/db)')
    .option('--fresh', 'delete the demo database first')
    .option('--dashboard', 'leave the paper bot\'s dashboard up at the end (until Ctrl-C)')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { fresh?: boolean; dashboard?: boolean }>();
      const out = createOutput(flags);
      const started = Date.now();
      const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
      if (flags.fresh && existsSync(DEMO_DB)) rmSync(DEMO_DB, { recursive: true, force: true });
      out.text('== phase 1: import the bundled real sample (Binance SOLUSDT, BTCUSDT, ETHUSDT, DOGEUSDT perpetuals, Dec 2025 – Feb 2026, 5m open interest) into embedded PGlite');
      const { sql } = await openStore({ embeddedPath: DEMO_DB });
      try {
        const report = await runImport(sql, out, new DirectorySource(SAMPLE_ARCHIVE), { verifyChecksums: true }, ['15m', '1h', '4h', '1d']);
        out.text('\n== phase 1: data-quality report');
        const passed = await runCheck(sql, out, { threshold: 0.99 });
        out.text('\n== phase 1: MarketDataLoader frame');
        await runShow(sql, out, DEMO_SYMBOL, '5m', DEMO_FROM, DEMO_TO);
        const { frame } = await new MarketDataLoader(sql).load(DEMO_SYMBOL, '5m', DEMO_FROM, DEMO_TO);
        out.text(`\n== phase 1 (live side): the collector against the local Binance simulator  [${elapsed()}]`);
        const collected = await runSimulatedCollection(out, SAMPLE_ARCHIVE, 4, DEMO_SYMBOL);
        out.text(`\n== phase 2: features and labels on real open interest  [${elapsed()}]`);
        runFeatureBuild(out, frame, 'data/demo/features', { horizon: 48, threshold: 0.005 });
        const causal = runFeatureCheck(out, frame, 'lookahead', 10);
        out.text(`\n== phase 3: walk-forward evaluation, stacked ensemble, model run (demo mode: ${DEMO_TRAINING.trees} trees per GBDT, no search, LSTM ≤ ${DEMO_TRAINING.lstm.epochs} epochs on the latest ${DEMO_TRAINING.lstm.maxTrainRows} rows)  [${elapsed()}]`);
        const run = await runTrain(out, 'data/demo/features', 'data/demo/models', DEMO_TRAINING);
        out.text(`\n== backtest: the ML rules (cost-aware, the default, and ML-signal) on the run's out-of-fold predictions vs the baselines, 5x on $2,000, fees, funding, slippage  [${elapsed()}]`);
        const config = configSchema.parse({});
        const mlResult = await runMlSignalBacktest(out, frame, { modelsDir: 'data/demo/models', runId: run.runId, execution: { leverage: 5, initialBalanceUsd: 2000 }, trading: config.trading, outDir: 'reports' });
        out.text(`\n== phase 4: PPO agent, ${DEMO_RL.windows} walk-forward windows × ${DEMO_RL.timestepsPerWindow.toLocaleString('en-US')} steps on the run's out-of-fold predictions, then its out-of-sample backtest vs the baselines  [${elapsed()}]`);
        const agent = await runRlTrain(out, frame, { ...DEMO_RL, modelsDir: 'data/demo/models', agentsDir: 'data/demo/agents', modelRunId: run.runId, algorithm: 'ppo', seed: 0, trading: config.trading });
        await runRlBacktest(out, frame, { agentsDir: 'data/demo/agents', modelsDir: 'data/demo/models', agentId: agent.runId, outDir: 'reports', stopLoss: config.trading.stop_loss });
        out.text(`\n== phase 5: the portfolio bot trades ${DEMO_PORTFOLIO.join(', ')} on one wallet against the simulator over the wire, the sample's last 2 days, with the live dashboard  [${elapsed()}]`);
        const botRun = await runDemoBot(sql, out, { symbols: DEMO_PORTFOLIO, days: 2, keepUp: flags.dashboard === true, modelsDir: 'data/demo/models', archiveDir: SAMPLE_ARCHIVE });
        out.text(`\ndemo finished in ${elapsed()}. Out of sample, after costs: ${mlResult.beatBaselines ? `the ${mlResult.rule} rule beat every baseline` : `NOTHING beat the baselines — the ${mlResult.rule} rule did not beat every one of ${ML_BASELINES.join(', ')}`} (${mlResult.report}).`);
        if (report.failed > 0 || !passed || !causal || !collected || !botRun.matchesExchange) process.exitCode = 1;
      } finally {
        await sql.close();
      }
    });
}
