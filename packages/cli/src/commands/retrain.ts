import { join } from 'node:path';
import { Command, Option } from 'commander';
import { createLogger, formatUtc, OitraderError, timeframeMs, type Config } from '@oitrader/core';
import { describeTarget, MarketDataLoader, openStore, storeTargetFromConfig } from '@oitrader/data';
import { readManifest } from '@oitrader/ml';
import { activeRun, newestStoredCandle, RetrainSchedule, retrainChallenger, rollbackChampion, TelegramBridge, type RetrainResult } from '@oitrader/live';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';
import { DEMO_TRAINING } from './demo.ts';
import { loadFrame } from '../frame-source.ts';
import { runRlTrain } from './rl.ts';

interface RetrainFlags extends GlobalOptions {
  runId?: string;
  days?: number;
  horizon: number;
  threshold: number;
  demoTraining?: boolean;
  daily?: boolean;
  schedule?: boolean;
}

export function registerRetrainCommands(program: Command): void {
  program
    .command('retrain')
    .description('train a challenger on the newest stored data (the same pipeline as oitrader train), compare it with the champion on the newest rows both predicted out of sample, promote it only when better by models.promote_margin and free of look-ahead')
    .option('--run-id <id>', 'challenger run name (default: retrain-<newest candle>)')
    .addOption(new Option('--days <n>', 'days of history (default: models.retrain_days)').argParser(Number))
    .addOption(new Option('--horizon <bars>', 'label horizon').argParser(Number).default(48))
    .addOption(new Option('--threshold <fraction>', 'label threshold').argParser(Number).default(0.005))
    .option('--demo-training', 'the demo\'s short training (60 trees, short LSTM, no search)')
    .option('--schedule', 'stay up: retrain the model every day at models.retrain_at UTC and the RL agent on models.rl_retrain_cron (Sundays 01:00 UTC), one at a time')
    .option('--daily', 'stay up and retrain only the model, every day at models.retrain_at UTC')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<RetrainFlags>();
      const { config, out } = commandContext(flags);
      if (!flags.daily && !flags.schedule) return out.result(await runRetrain(config, out, flags));
      const log = createLogger('retrain');
      const schedule = new RetrainSchedule({
        retrainAt: config.models.retrain_at,
        rlRetrainCron: flags.schedule ? config.models.rl_retrain_cron : undefined,
        retrainModel: () => runRetrain(config, out, { ...flags, runId: undefined }),
        retrainAgent: () => runAgentRetrain(config, out),
        log,
      }).start();
      out.text(`retraining the model daily at ${config.models.retrain_at} UTC (next ${schedule.nextRun('model')?.toISOString()})`);
      if (flags.schedule) out.text(`retraining the RL agent on "${config.models.rl_retrain_cron}" UTC (next ${schedule.nextRun('agent')?.toISOString()}), on the champion run, keeping every agent in ${config.models.agents_dir}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await schedule.stop();
    });

  const models = program.commands.find((c) => c.name() === 'models');
  if (!models) throw new Error('registerRetrainCommands must run after registerTrainCommands (it adds models rollback)');
  models
    .command('rollback')
    .description('make the previous champion active again (every run stays on disk; see models.dir/promotions.json)')
    .option('--models-dir <dir>', 'models directory (default: models.dir)')
    .addOption(new Option('--dir <dir>', 'old name of --models-dir').hideHelp())
    .action((_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { dir?: string; modelsDir?: string }>();
      const { config, out } = commandContext(flags);
      const entry = rollbackChampion(flags.modelsDir ?? flags.dir ?? config.models.dir);
      out.text(`active model run: ${entry.runId} (rolled back from ${entry.previous}); a running bot picks it up at its next candle`);
      out.result(entry);
    });
}

export async function runRetrain(config: Config, out: Output, flags: Omit<RetrainFlags, keyof GlobalOptions>): Promise<RetrainResult> {
  const tf = config.bot.timeframe;
  const symbol = config.trading.symbol;
  const days = flags.days ?? config.models.retrain_days;
  const target = storeTargetFromConfig(config);
  const log = createLogger('retrain');
  const { sql } = await openStore(target);
  let result: RetrainResult;
  try {
    const newest = await newestStoredCandle(sql, symbol, tf);
    if (newest === undefined) throw new OitraderError(`no closed ${tf} ${symbol} candles in ${describeTarget(target)}`, { hint: 'run oitrader collect (or oitrader data import) first', exitCode: 2 });
    const endMs = newest + timeframeMs(tf);
    const frame = await new MarketDataLoader(sql, log).loadAllData(symbol, tf, endMs - days * 86_400_000, endMs);
    out.text(`retrain: ${frame.length} ${tf} ${symbol} candles ${formatUtc(frame.time[0])} → ${formatUtc(newest)}; champion must be beaten by ${config.models.promote_margin} log loss on the newest ${config.models.compare_rows} shared out-of-sample rows`);
    const training = flags.demoTraining ? DEMO_TRAINING : { folds: 3, trainShare: 0.4, embargo: 12, seed: 0, searchTrials: 0 };
    result = await retrainChallenger(frame, {
      modelsDir: config.models.dir,
      labels: { horizon: flags.horizon, threshold: flags.threshold },
      training,
      runId: flags.runId,
      margin: config.models.promote_margin,
      windowRows: config.models.compare_rows,
      log,
    });
  } finally {
    await sql.close();
  }
  out.text(result.reason);
  if (result.promoted && config.telegram.enabled) {
    // The promotion stands whatever Telegram does; a misconfigured bridge is only a warning here.
    try {
      const telegram = new TelegramBridge({ token: config.telegram.token, chatId: config.telegram.chat_id, apiRoot: config.telegram.api_root, timeoutMs: config.telegram.timeout_seconds * 1000, sql, bot: config.bot.name, symbol, log });
      await telegram.modelPromoted(result.reason);
    } catch (error) {
      log.warn(`telegram: the promotion was not announced: ${(error as Error).message}`);
    }
  }
  return result;
}

/**
 * The scheduled RL retrain: a new agent (`oitrader rl train` with the
 * config's budget) on the champion run's out-of-fold predictions over the
 * stored data. Every agent stays in models.agents_dir under its own id.
 */
export async function runAgentRetrain(config: Config, out: Output, load: typeof loadFrame = loadFrame): Promise<{ runId: string; dir: string }> {
  const modelsDir = config.models.dir;
  const champion = activeRun(modelsDir);
  if (!champion) throw new OitraderError(`no champion model run in ${modelsDir} (models/ACTIVE): the agent observes its predictions`, { hint: 'run oitrader retrain (or oitrader train) first', exitCode: 2 });
  const manifest = readManifest(join(modelsDir, champion));
  const frame = await load({ symbol: manifest.symbol, timeframe: manifest.timeframe, start: '2000-01-01', end: '2100-01-01' }, config);
  out.text(`RL retrain: a new agent on champion ${champion} (${manifest.symbol} ${manifest.timeframe}, ${frame.length} stored candles)`);
  return runRlTrain(out, frame, {
    modelsDir,
    agentsDir: config.models.agents_dir,
    modelRunId: champion,
    algorithm: 'ppo',
    windows: 3,
    timestepsPerWindow: config.models.rl_retrain_timesteps,
    nEnvs: 4,
    seed: 0,
    trading: config.trading,
  });
}
