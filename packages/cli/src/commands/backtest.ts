import { Command, Option } from 'commander';
import {
  BASELINES,
  fundingCarryCrossSection,
  baselineByName,
  buyAndHold,
  computeMetrics,
  formatSummary,
  loadStrategySource,
  renderHtmlReport,
  reportBasePath,
  reportJson,
  runPortfolioBacktest,
  type BacktestOptions,
  type PortfolioBacktestResult,
  type ReportEntry,
  type StrategySource,
} from '@oitrader/backtest';
import { numberFlag, OitraderError, parseUtcTimeMs, symbolFlag, writeFileAtomic, type Config, type Frame } from '@oitrader/core';
import { riskLimitsFromConfig } from '@oitrader/trading';
import { runMlSignalBacktest } from './ml-backtest.ts';
import { commandContext, type GlobalOptions } from '../context.ts';
import { addFrameOptions, loadFrame, loadFrames, type FrameFlags } from '../frame-source.ts';
import type { Output } from '../output.ts';

interface BacktestFlags extends GlobalOptions, FrameFlags {
  strategy: string;
  symbols?: string[];
  risk: boolean;
  leverage?: number;
  balance?: number;
  takerFee?: number;
  makerFee?: number;
  spreadBps?: number;
  baselines: boolean;
  out: string;
  model?: string;
  modelsDir?: string;
  rule?: 'cost-aware' | 'ml-signal';
}

/** The benchmark every backtest shows: buy-and-hold at 1x, equal-weight over the symbols (never liquidated, no stops). */
export const BENCHMARK = 'buy-and-hold 1x';

export function registerBacktestCommand(program: Command): void {
  const command = program
    .command('backtest')
    .description('backtest a strategy on one symbol or a portfolio (one wallet, one risk engine) with Binance fees, funding, slippage and liquidation; print a summary, write HTML + JSON reports')
    .option('--strategy <name|file>', `strategy to test: ml-signal (with --model), ${Object.keys(BASELINES).join(', ')}, or your own file (oitrader new-strategy)`, 'sma-trend')
    .option('--symbols <list>', 'several symbols on one wallet, comma-separated (default: trading.symbols, or --symbol)', (value: string) => value.split(',').map((s) => symbolFlag('--symbols')(s.trim())))
    .option('--no-risk', 'run the strategy\'s raw intents sized by exposure, without the risk engine the bot trades through (no stops, no halts)')
    .option('--model <run-id>', 'ml-signal: the model run whose out-of-fold predictions it trades')
    .option('--models-dir <dir>', 'ml-signal: models directory (default: models.dir)')
    .addOption(new Option('--rule <rule>', 'with --model: the rule that turns probabilities into trades (default: trading.ml_rule.rule); the other is traded beside it for comparison').choices(['cost-aware', 'ml-signal']));
  addFrameOptions(command)
    .addOption(new Option('--leverage <x>', 'leverage, whole number 1..20 (default: trading.leverage)').argParser(numberFlag('--leverage', 'leverage')))
    .addOption(new Option('--balance <usdt>', 'initial balance, > 0 (default: trading.initial_balance)').argParser(numberFlag('--balance', 'balanceUsd')))
    .addOption(new Option('--taker-fee <rate>', 'taker fee as a fraction, 0..0.01').argParser(numberFlag('--taker-fee', 'feeRate')).default(0.0005))
    .addOption(new Option('--maker-fee <rate>', 'maker fee as a fraction, 0..0.01').argParser(numberFlag('--maker-fee', 'feeRate')).default(0.0002))
    .addOption(new Option('--spread-bps <bps>', 'half-spread paid per taker fill, 0..1000').argParser(numberFlag('--spread-bps', 'bps')).default(1))
    .option('--no-baselines', 'do not run the baselines side by side')
    .option('--out <dir>', 'report directory', 'reports')
    .addHelpText(
      'after',
      `
Examples:
  oitrader backtest --strategy oi-trend --symbol SOLUSDT --start 2025-12-01
  oitrader backtest --symbols SOLUSDT,BTCUSDT --strategy sma-trend --json
  oitrader backtest --strategy ml-signal --model <run-id>
  oitrader backtest --strategy ./strategies/my-breakout.ts   (your own: oitrader new-strategy my-breakout)`,
    )
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
        if (flags.symbols && flags.symbols.length > 1) throw new OitraderError('--strategy ml-signal backtests one symbol (its model run\'s)', { hint: 'drop --symbols; the run names its symbol', exitCode: 2 });
        const source = cmd.getOptionValueSource.bind(cmd);
        const frame = await loadFrame({ ...flags, start: '2000-01-01', end: '2100-01-01' }, config);
        await runMlSignalBacktest(out, frame, {
          modelsDir: flags.modelsDir ?? config.models.dir,
          runId: flags.model,
          execution,
          trading: { ...config.trading, leverage: execution.leverage ?? config.trading.leverage },
          outDir: flags.out,
          rule: flags.rule,
          requestedStartMs: source('start') === 'cli' ? parseUtcTimeMs(flags.start) : undefined,
          requestedEndMs: source('end') === 'cli' ? parseUtcTimeMs(flags.end) : undefined,
        });
        return;
      }
      const strategy = await loadStrategySource(flags.strategy);
      const symbols = flags.symbols ?? (flags.symbol ? [flags.symbol] : config.trading.symbols);
      const frames = await loadFrames(symbols, flags, config);
      runBacktestReport(out, frames, strategy, flags.baselines, flags.out, { ...execution, ...(flags.risk && { risk: riskFromConfig(config) }) });
    });
}

/** The risk engine a backtest runs through by default: the bot's own limits and stop (config.yaml trading:). */
export function riskFromConfig(config: Config): NonNullable<BacktestOptions['risk']> {
  return { limits: riskLimitsFromConfig(config.trading), stopLoss: config.trading.stop_loss };
}

export interface BacktestReport {
  entries: ReportEntry[];
  /** Per symbol of the tested strategy: its contribution on the one wallet. */
  instruments: ReportEntry[];
}

/**
 * Runs the strategy (and the baselines, in the same mode: managed or raw, plus
 * the 1x equal-weight buy-and-hold benchmark) over one or several symbols on
 * one wallet, prints the summary and writes the reports.
 */
export function runBacktestReport(out: Output, frames: Frame | readonly Frame[], strategy: string | StrategySource, withBaselines: boolean, dir: string, options: BacktestOptions): BacktestReport {
  const list = Array.isArray(frames) ? (frames as readonly Frame[]) : [frames as Frame];
  const baseline = (name: string): StrategySource => ({ name, create: () => baselineByName(name) });
  const tested = typeof strategy === 'string' ? baseline(strategy) : strategy;
  const strategyName = tested.name;
  const sources = [tested, ...(withBaselines ? Object.keys(BASELINES).filter((n) => n !== strategyName).map(baseline) : [])];
  // A portfolio's own low-turnover baseline: it needs every symbol at once, so it is built from the frames.
  if (withBaselines && list.length > 1) sources.push(fundingCarryCrossSection(list));
  const runs: PortfolioBacktestResult[] = sources.map((s) => runPortfolioBacktest(list, (symbol) => s.create(symbol), options));
  // The benchmark a trader compares with: 1x, equal weight, held — never sized by the risk engine, never liquidated.
  const benchmark = runPortfolioBacktest(list, () => buyAndHold(1 / list.length), { ...options, leverage: 1, risk: undefined });
  benchmark.portfolio.strategy = BENCHMARK;
  runs.push(benchmark);
  // Every strategy tried counts as a trial for the deflated Sharpe ratio.
  const trials = runs.length;
  const entries: ReportEntry[] = runs.map((r) => ({ result: r.portfolio, metrics: computeMetrics(r.portfolio, { trials }) }));
  const instruments: ReportEntry[] = runs[0].instruments.map((result) => ({ result, metrics: computeMetrics(result, { trials }) }));
  const symbols = list.map((f) => f.symbol).join(',');
  const timeframe = list[0].timeframe;
  const mode = options.risk ? 'through the risk engine' : 'unmanaged (--no-risk)';
  const base = reportBasePath(dir, ['backtest', strategyName.replace(/^.*\//, '').replace(/\.[cm]?[jt]s$/, ''), list.map((f) => f.symbol).join('-'), timeframe]);
  const title = `oitrader backtest: ${strategyName} on ${symbols} ${timeframe}${list.length > 1 ? ' (one wallet)' : ''}, ${mode}`;
  writeFileAtomic(`${base}.html`, renderHtmlReport(title, entries, '', list.length > 1 ? instruments : undefined));
  writeFileAtomic(`${base}.json`, `${JSON.stringify(list.length > 1 ? { portfolio: reportJson(entries), instruments: reportJson(instruments) } : reportJson(entries), null, 2)}\n`);
  out.text(`${strategyName} on ${symbols} ${timeframe}, ${mode}`);
  out.text(formatSummary(entries));
  if (list.length > 1) out.text(formatContributions(instruments, options.initialBalanceUsd ?? 2000));
  const main = entries[0];
  if (main.result.managed && main.metrics.trades === 0) out.text(`stood aside: no trade was taken${refusalLine(main.result.refusals)}`);
  out.text(`report: ${base}.html (and .json)`);
  out.result({
    report: `${base}.html`,
    json: `${base}.json`,
    managed: main.result.managed,
    strategies: entries.map((e) => ({ strategy: e.result.strategy, symbols: e.result.symbol, metrics: e.metrics, refusals: e.result.refusals })),
    ...(list.length > 1 && { instruments: instruments.map((e) => ({ symbol: e.result.symbol, contributionUsd: e.metrics.pnlUsd, metrics: e.metrics })) }),
  });
  return { entries, instruments };
}

/** Each symbol's share of the portfolio's result on the one wallet. */
function formatContributions(instruments: ReportEntry[], initialUsd: number): string {
  const lines = instruments.map((e) => {
    const m = e.metrics;
    return `  ${e.result.symbol.padEnd(10)} net ${m.pnlUsd.toFixed(2).padStart(10)} USDT (${((m.pnlUsd / initialUsd) * 100).toFixed(2).padStart(7)}% of the wallet)  trades ${String(m.trades).padStart(4)}  fees ${m.feesUsd.toFixed(2).padStart(8)}  funding ${m.fundingUsd.toFixed(2).padStart(7)}`;
  });
  return ['per-symbol contribution (one wallet):', ...lines].join('\n');
}

function refusalLine(refusals: Partial<Record<string, number>>): string {
  const top = Object.entries(refusals).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0));
  return top.length === 0 ? ' (the strategy never asked to enter)' : `; entries refused: ${top.map(([code, n]) => `${code} ×${n}`).join(', ')}`;
}
