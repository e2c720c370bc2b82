import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DirectorySource } from '@oitrader/binance';
import { createOutput } from '../output.ts';
import { MarketDataLoader, openStore } from '@oitrader/data';
import type { GlobalOptions } from '../context.ts';
import { DEMO_DB } from '../frame-source.ts';
import { runBacktestReport } from './backtest.ts';
import { runSimulatedCollection } from './collect.ts';
import { runFeatureBuild, runFeatureCheck } from './features.ts';
import { runTrain } from './train.ts';
import { runCheck, runImport, runShow } from './data.ts';

/** The bundled real sample (see data/sample/README.md). */
export const SAMPLE_ARCHIVE = fileURLToPath(new URL('../../../../data/sample/binance-archive', import.meta.url));

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the pipeline end to end on the bundled real sample in an embedded database (data/demo/db)')
    .option('--fresh', 'delete the demo database first')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { fresh?: boolean }>();
      const out = createOutput(flags);
      if (flags.fresh && existsSync(DEMO_DB)) rmSync(DEMO_DB, { recursive: true, force: true });
      out.text('== phase 1: import the bundled real sample (Binance XRPUSDT perpetual, Nov 2021) into embedded PGlite');
      const { sql } = await openStore({ embeddedPath: DEMO_DB });
      try {
        const report = await runImport(sql, out, new DirectorySource(SAMPLE_ARCHIVE), { verifyChecksums: true });
        out.text('\n== phase 1: data-quality report');
        const passed = await runCheck(sql, out, { threshold: 0.99 });
        out.text('\n== phase 1: MarketDataLoader frame');
        await runShow(sql, out, 'XRPUSDT', '5m', Date.UTC(2021, 0, 1), Date.UTC(2022, 0, 1));
        const { frame } = await new MarketDataLoader(sql).load('XRPUSDT', '5m', Date.UTC(2021, 0, 1), Date.UTC(2022, 0, 1));
        out.text('\n== phase 1 (live side): the collector against the local Binance simulator');
        const collected = await runSimulatedCollection(out, SAMPLE_ARCHIVE, 4);
        out.text('\n== phase 2: features and labels');
        runFeatureBuild(out, frame, 'data/demo/features', { horizon: 48, threshold: 0.005 });
        const causal = runFeatureCheck(out, frame, 'lookahead', 20);
        out.text('\n== phase 3: walk-forward evaluation, stacked ensemble, model run');
        await runTrain(out, 'data/demo/features', 'data/demo/models', { folds: 3, trainShare: 0.4, embargo: 12, seed: 0, searchTrials: 3 });
        out.text('\n== backtest: baselines on the sample, 5x, Binance fees, funding and slippage');
        runBacktestReport(out, frame, 'sma-trend', true, 'reports', { leverage: 5, initialBalanceUsd: 2000 });
        if (report.failed > 0 || !passed || !causal || !collected) process.exitCode = 1;
      } finally {
        await sql.close();
      }
    });
}
