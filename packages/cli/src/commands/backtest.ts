import { join } from 'node:path';
import { Command, Option } from 'commander';
import {
  BASELINES,
  baselineByName,
  computeMetrics,
  formatSummary,
  renderHtmlReport,
  reportJson,
  runBacktest,
  type BacktestOptions,
  type ReportEntry,
} from '@oitrader/backtest';
import { numberFlag, OitraderError, parseUtcTimeMs, writeFileAtomic, type Frame } from '@oitrader/core';
import { runMlSignalBacktest } from './ml-backtest.ts';
import { commandContext, type GlobalOptions } from '../context.ts';
import { addFrameOptions, loadFrame, type FrameFlags } from '../frame-source.ts';
import type { Output } from '../output.ts';

interface BacktestFlags extends GlobalOptions, FrameFlags {
  strategy: string;
  leverage?: number;
  balance?: number;
  takerFee?: number;
  makerFee?: number;
  spreadBps?: number;
  baselines: boolean;
  out: string;
  model?: string;
  modelsDir?: string;
}

export function registerBacktestCommand(program: Command): void {
  const command = program
    .command('backtest')
    .description('backtest a strategy with Binance fees, funding, slippage and liquidation; print a summary, write HTML + JSON reports')
    .option('--strategy <name>', `strategy to test: ml-signal (with --model), ${Object.keys(BASELINES).join(', ')}`, 'sma-trend')
    .option('--model <run-id>', 'ml-signal: the model run whose out-of-fold predictions it trades')
    .option('--models-dir <dir>', 'ml-signal: models directory (default: models.dir)');
  addFrameOptions(command)
    .addOption(new Option('--leverage <x>', 'leverage, whole number 1..20 (default: trading.leverage)').argParser(numberFlag('--leverage', 'leverage')))
    .addOption(new Option('--balance <usdt>', 'initial balance, > 0 (default: trading.initial_balance)').argParser(numberFlag('--balance', 'balanceUsd')))
    .addOption(new Option('--taker-fee <rate>', 'taker fee as a fraction, 0..0.01').argParser(numberFlag('--taker-fee', 'feeRate')).default(0.0005))
    .addOption(new Option('--maker-fee <rate>', 'maker fee as a fraction, 0..0.01').argParser(numberFlag('--maker-fee', 'feeRate')).default(0.0002))
    .addOption(new Option('--spread-bps <bps>', 'half-spread paid per taker fill, 0..1000').argParser(numberFlag('--spread-bps', 'bps')).default(1))
    .option('--no-baselines', 'do not run the baselines side by side')
    .option('--out <dir>', 'report directory', 'reports')
    .action(async (_flags, cmd: Command) => {
      const flags = cmd.optsWithGlobals<BacktestFlags>();
      const { config, out } = commandContext(flags);
      const execution: BacktestOptions = {
        leverage: flags.leverage ?? config.trading.leverage,
        initialBalanceUsd: flags.balance ?? config.trading.initial_balance,
        takerFeeRate: flags.takerFee,
        makerFeeRate: flags.makerFee,
        halfSpreadBps: flags.spreadBps,
      };
      if (flags.strategy === 'ml-signal') {
        if (!flags.model) throw new OitraderError('--strategy ml-signal needs --model <run-id>', { hint: 'see oitrader models list', exitCode: 2 });
        const source = cmd.getOptionValueSource.bind(cmd);
        const frame = await loadFrame({ ...flags, start: '2000-01-01', end: '2100-01-01' }, config);
        await runMlSignalBacktest(out, frame, {
          modelsDir: flags.modelsDir ?? config.models.dir,
          runId: flags.model,
          execution,
          trading: { ...config.trading, leverage: execution.leverage ?? config.trading.leverage },
          outDir: flags.out,
          requestedStartMs: source('start') === 'cli' ? parseUtcTimeMs(flags.start) : undefined,
          requestedEndMs: source('end') === 'cli' ? parseUtcTimeMs(flags.end) : undefined,
        });
        return;
      }
      const frame = await loadFrame(flags, config);
      runBacktestReport(out, frame, flags.strategy, flags.baselines, flags.out, execution);
    });
}

/** Runs the strategy (and the baselines), prints the summary and writes the reports. */
export function runBacktestReport(out: Output, frame: Frame, strategyName: string, withBaselines: boolean, dir: string, options: BacktestOptions): ReportEntry[] {
  const names = [strategyName, ...(withBaselines ? Object.keys(BASELINES).filter((n) => n !== strategyName) : [])];
  const results = names.map((name) => runBacktest(frame, baselineByName(name), options));
  // Every strategy tried counts as a trial for the deflated Sharpe ratio.
  const entries = results.map((result) => ({ result, metrics: computeMetrics(result, { trials: names.length }) }));
  const base = join(dir, `backtest-${strategyName}-${frame.symbol}-${frame.timeframe}`);
  writeFileAtomic(`${base}.html`, renderHtmlReport(`oitrader backtest: ${strategyName} on ${frame.symbol} ${frame.timeframe}`, entries));
  writeFileAtomic(`${base}.json`, `${JSON.stringify(reportJson(entries), null, 2)}\n`);
  out.text(formatSummary(entries));
  out.text(`report: ${base}.html (and .json)`);
  out.result({ report: `${base}.html`, json: `${base}.json`, strategies: entries.map((e) => ({ strategy: e.result.strategy, metrics: e.metrics })) });
  return entries;
}
