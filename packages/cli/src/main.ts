import { addHelpExamples } from './help-examples.ts';
import { registerGoLiveCommands } from './commands/golive.ts';
import { Command, CommanderError } from 'commander';
import { OitraderError } from '@oitrader/core';
import { registerBacktestCommand } from './commands/backtest.ts';
import { registerBotCommands } from './commands/bot.ts';
import { registerCollectCommand } from './commands/collect.ts';
import { registerDataCommands } from './commands/data.ts';
import { registerDbCommands } from './commands/db.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerExchangeCommands } from './commands/exchange.ts';
import { registerFeatureCommands } from './commands/features.ts';
import { registerRlCommands } from './commands/rl.ts';
import { registerSimCommand } from './commands/sim.ts';
import { registerTrainCommands } from './commands/train.ts';
import { registerPredictCommand } from './commands/predict.ts';
import { registerDashboardCommand } from './commands/dashboard.ts';
import { registerRetrainCommands } from './commands/retrain.ts';
import { registerWorkerCommand } from './commands/worker.ts';
import { registerNewStrategyCommand } from './commands/new-strategy.ts';
import { registerPaperCommand } from './commands/paper.ts';
import { registerResearchCommand } from './commands/research.ts';

export function buildProgram(): Command {
  const program = new Command('oitrader')
    .description('AI trading for Binance USDⓈ-M perpetual futures, built on open interest')
    .option('-c, --config <file>', 'config file (default: $OITRADER_CONFIG, ./config.yaml, else embedded defaults)')
    .option('--json', 'print one JSON result on stdout (for scripts)')
    .option('-q, --quiet', 'print nothing but errors')
    .showHelpAfterError()
    .exitOverride();
  registerDbCommands(program);
  registerDataCommands(program);
  registerCollectCommand(program);
  registerSimCommand(program);
  registerFeatureCommands(program);
  registerTrainCommands(program);
  registerPredictCommand(program);
  registerBacktestCommand(program);
  registerResearchCommand(program);
  registerNewStrategyCommand(program);
  registerBotCommands(program);
  registerPaperCommand(program);
  registerRlCommands(program);
  registerDemoCommand(program);
  registerExchangeCommands(program);
  registerDashboardCommand(program);
  registerRetrainCommands(program);
  registerWorkerCommand(program);
  registerGoLiveCommands(program);
  addHelpExamples(program);
  return program;
}

/** Runs the CLI and returns the exit code; user errors print their cause and fix, not a stack. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof OitraderError) {
      process.stderr.write(`error: ${error.message}\n`);
      if (error.hint) process.stderr.write(`fix: ${error.hint}\n`);
      return error.exitCode;
    }
    process.stderr.write(`unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}
