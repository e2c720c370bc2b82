import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { formatSummary, renderHtmlReport, reportBasePath, reportJson, type ReportEntry } from '@oitrader/backtest';
import { riskLimitsFromConfig } from '@oitrader/trading';
import { formatUtc, OitraderError, parseUtcTimeMs, timeframeMs, writeFileAtomic, type Config, type Frame } from '@oitrader/core';
import { FEATURE_SET_VERSION } from '@oitrader/features';
import { finalKnownUntilMs, readOutOfFoldPredictions, registerTrials, TRIALS_FILE, type RunManifest } from '@oitrader/ml';
import {
  ACTIONS,
  AGENT_BASELINES,
  agentReportJson,
  backtestAgent,
  backtestAgentAfterSpan,
  listAgents,
  loadAgent,
  readTrainingLogs,
  renderAgentReport,
  saveAgent,
  trainAgentWalkForward,
  TrainingStoppedError,
  windowShares,
  type AgentManifest,
  type AgentBacktest,
} from '@oitrader/rl';
import { commandContext, type GlobalOptions } from '../context.ts';
import { addFrameOptions, loadFrame, type FrameFlags } from '../frame-source.ts';
import type { Output } from '../output.ts';
import { stopSignals } from '../stop-signals.ts';
import { freshProbabilities } from './ml-backtest.ts';

interface RlTrainFlags extends GlobalOptions, FrameFlags {
  model: string;
  mlModel: string;
  modelsDir?: string;
  agentsDir?: string;
  algo: 'ppo' | 'a2c';
  windows: number;
  minTrainDays: number;
  timesteps: number;
  envs: number;
  nSteps?: number;
  batch?: number;
  epochs?: number;
  lr?: number;
  entCoef: number;
  episodeBars: number;
  drawdownPenalty: number;
  turnoverPenalty: number;
  seed: number;
  runId?: string;
}

export interface RlTrainOptions {
  modelsDir: string;
  agentsDir: string;
  modelRunId: string;
  /** Which of the run's out-of-fold predictions the agent observes (default: the ensemble). */
  mlModel?: string;
  algorithm: 'ppo' | 'a2c';
  windows: number;
  /** The first window trains on at least this many days (default 0: an equal share of the span). */
  minTrainDays?: number;
  timestepsPerWindow: number;
  nEnvs: number;
  seed: number;
  runId?: string;
  trading: Config['trading'];
  training?: { nSteps?: number; batchSize?: number; nEpochs?: number; learningRate?: number; entCoef?: number };
  episodeBars?: number;
  reward?: { drawdownPenalty?: number; turnoverPenalty?: number };
  startMs?: number;
  endMs?: number;
  /** Stops the training at its next update (default: SIGINT/SIGTERM of this process). */
  signal?: AbortSignal;
}

function readRunManifest(modelsDir: string, runId: string): RunManifest {
  try {
    return JSON.parse(readFileSync(join(modelsDir, runId, 'manifest.json'), 'utf8')) as RunManifest;
  } catch (error) {
    throw new OitraderError(`cannot read model run ${runId} in ${modelsDir}: ${(error as Error).message}`, { hint: 'see oitrader models list (or pass --models-dir)', exitCode: 2 });
  }
}

const wholeSpan = (flags: FrameFlags): FrameFlags => ({ ...flags, start: '2000-01-01', end: '2100-01-01' });

export function registerRlCommands(program: Command): void {
  const rl = program.command('rl').description('train PPO/A2C agents on the futures env (walk-forward, out-of-fold ML predictions) and backtest them out of sample');
  const train = rl
    .command('train')
    .description('train one agent per walk-forward window on a model run\'s out-of-fold predictions; saves agents/<run-id>/')
    .requiredOption('--model <run-id>', 'the phase 3 model run whose out-of-fold ensemble predictions the agent observes')
    .option('--ml-model <name>', 'which of the run\'s out-of-fold predictions to observe (ensemble, LSTM, a GBDT name: see the run\'s report)', 'ensemble')
    .option('--models-dir <dir>', 'models directory (default: models.dir)')
    .option('--agents-dir <dir>', 'agents directory (default: models.agents_dir)')
    .addOption(new Option('--algo <name>', 'algorithm').choices(['ppo', 'a2c']).default('ppo'))
    .addOption(new Option('--windows <n>', 'walk-forward train/test windows').argParser(Number).default(3))
    .addOption(new Option('--min-train-days <days>', 'the first window trains on at least this many days of predictions (weeks, not days); 0 = an equal share').argParser(Number).default(14))
    .addOption(new Option('--timesteps <n>', 'environment steps per window').argParser(Number).default(200_000))
    .addOption(new Option('--envs <n>', 'parallel environments (different start points)').argParser(Number).default(4))
    .addOption(new Option('--n-steps <n>', 'steps per environment per update (PPO default 2048, A2C 5)').argParser(Number))
    .addOption(new Option('--batch <n>', 'minibatch size (PPO default 64)').argParser(Number))
    .addOption(new Option('--epochs <n>', 'passes over each rollout (PPO default 10)').argParser(Number))
    .addOption(new Option('--lr <rate>', 'learning rate (PPO 3e-4, A2C 7e-4)').argParser(Number))
    .addOption(new Option('--ent-coef <c>', 'entropy bonus: raise it when the agent collapses onto HOLD').argParser(Number).default(0.01))
    .addOption(new Option('--episode-bars <n>', 'bars per training episode').argParser(Number).default(2048))
    .addOption(new Option('--drawdown-penalty <x>', 'reward penalty per unit of new drawdown').argParser(Number).default(1))
    .addOption(new Option('--turnover-penalty <x>', 'reward penalty per unit of traded notional / equity (fees are already in the reward)').argParser(Number).default(0))
    .addOption(new Option('--seed <n>', 'seed (networks, sampling, episode starts)').argParser(Number).default(0))
    .option('--run-id <id>', 'agent id (default: UTC timestamp)');
  addFrameOptions(train).action(async (_flags, command: Command) => {
    const flags = command.optsWithGlobals<RlTrainFlags>();
    const { config, out } = commandContext(flags);
    const frame = await loadFrame(wholeSpan(flags), config);
    await runRlTrain(out, frame, {
      modelsDir: flags.modelsDir ?? config.models.dir,
      agentsDir: flags.agentsDir ?? config.models.agents_dir,
      modelRunId: flags.model,
      mlModel: flags.mlModel,
      algorithm: flags.algo,
      windows: flags.windows,
      minTrainDays: flags.minTrainDays,
      timestepsPerWindow: flags.timesteps,
      nEnvs: flags.envs,
      seed: flags.seed,
      runId: flags.runId,
      trading: config.trading,
      training: { nSteps: flags.nSteps, batchSize: flags.batch, nEpochs: flags.epochs, learningRate: flags.lr, entCoef: flags.entCoef },
      episodeBars: flags.episodeBars,
      reward: { drawdownPenalty: flags.drawdownPenalty, turnoverPenalty: flags.turnoverPenalty },
      startMs: flags.start === '2000-01-01' ? undefined : parseUtcTimeMs(flags.start),
      endMs: flags.end === '2100-01-01' ? undefined : parseUtcTimeMs(flags.end),
    });
  });

  const backtest = rl
    .command('backtest')
    .description('backtest an agent on the bars after each window\'s training span, next to flat, buy-and-hold, oi-trend and ml-signal; HTML + JSON report')
    .requiredOption('--agent <run-id>', 'agent id (see oitrader rl list)')
    .option('--agents-dir <dir>', 'agents directory (default: models.agents_dir)')
    .option('--models-dir <dir>', 'models directory (default: models.dir)')
    .option('--out <dir>', 'report directory', 'reports');
  addFrameOptions(backtest)
    .addHelpText(
      'after',
      `
By default the agent is scored on its walk-forward test windows (each bar by the window agent that never saw it).
With --start (and --end) after every span its model run and its windows trained on, the newest window is scored on
those bars with fresh predictions, through the bot's risk engine — what bot.strategy: agent would trade there.

Examples:
  oitrader rl backtest --agent 20261207-101500
  oitrader rl backtest --agent 20261207-101500 --start 2026-03-01 --end 2026-04-01`,
    )
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & FrameFlags & { agent: string; agentsDir?: string; modelsDir?: string; out: string }>();
      const { config, out } = commandContext(flags);
      const agentsDir = flags.agentsDir ?? config.models.agents_dir;
      const peek = loadAgent(join(agentsDir, flags.agent), { featureSetVersion: FEATURE_SET_VERSION });
      const frame = await loadFrame(wholeSpan({ ...flags, symbol: flags.symbol ?? peek.manifest.symbol, timeframe: peek.manifest.timeframe }), config);
      const source = command.getOptionValueSource.bind(command);
      const options = { agentsDir, modelsDir: flags.modelsDir ?? config.models.dir, agentId: flags.agent, outDir: flags.out, stopLoss: config.trading.stop_loss };
      if (source('start') === 'cli' || source('end') === 'cli') {
        await runRlBacktestAfterSpan(out, frame, { ...options, config, startMs: source('start') === 'cli' ? parseUtcTimeMs(flags.start) : undefined, endMs: source('end') === 'cli' ? parseUtcTimeMs(flags.end) : undefined });
        return;
      }
      await runRlBacktest(out, frame, options);
    });

  rl.command('list')
    .description('list trained agents')
    .option('--agents-dir <dir>', 'agents directory (default: models.agents_dir)')
    .action((_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions & { agentsDir?: string }>();
      const { config, out } = commandContext(flags);
      const dir = flags.agentsDir ?? config.models.agents_dir;
      const agents = listAgents(dir).map((id) => JSON.parse(readFileSync(join(dir, id, 'manifest.json'), 'utf8')) as AgentManifest);
      for (const a of agents) out.text(`${a.runId.padEnd(22)} ${a.algorithm} ${a.symbol} ${a.timeframe} model run ${a.modelRun.runId}, ${a.windows.length} windows, tested ${formatUtc(a.windows[0].testStartMs)} .. ${formatUtc(a.windows[a.windows.length - 1].testEndMs)}`);
      if (agents.length === 0) out.text(`no agents in ${dir}: run oitrader rl train`);
      out.result({ agents });
    });
}

export async function runRlTrain(out: Output, frame: Frame, options: RlTrainOptions): Promise<{ runId: string; dir: string }> {
  const run = readRunManifest(options.modelsDir, options.modelRunId);
  if (run.symbol !== frame.symbol || run.timeframe !== frame.timeframe) {
    throw new OitraderError(`model run ${options.modelRunId} is ${run.symbol} ${run.timeframe}, the data is ${frame.symbol} ${frame.timeframe}`, { hint: `pass --symbol ${run.symbol} --timeframe ${run.timeframe}`, exitCode: 2 });
  }
  const predictions = await readOutOfFoldPredictions(join(options.modelsDir, options.modelRunId), options.mlModel ?? 'ensemble');
  const runId = options.runId ?? new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  if (existsSync(join(options.agentsDir, runId))) throw new OitraderError(`agent ${runId} already exists in ${options.agentsDir}`, { hint: 'choose another --run-id', exitCode: 2 });
  const limits = riskLimitsFromConfig(options.trading);
  const startIndex = options.startMs === undefined ? undefined : frame.indexAtOrAfter(options.startMs);
  const endIndex = options.endMs === undefined ? undefined : frame.indexAtOrAfter(options.endMs);
  out.text(`training ${options.algorithm.toUpperCase()} agent ${runId} on ${frame.symbol} ${frame.timeframe}: ${options.windows} walk-forward windows × ${options.timestepsPerWindow} steps, ${options.nEnvs} envs, model run ${options.modelRunId} (out-of-fold ${predictions.model} predictions)`);
  const began = performance.now();
  const stop = options.signal ? undefined : stopSignals();
  const signal = options.signal ?? stop!.signal;
  let at = { window: 1, timesteps: 0 };
  const trained = await trainAgentWalkForward({
    runId,
    frame,
    predictions,
    modelRun: { runId: options.modelRunId, featureSetVersion: run.featureSetVersion },
    algorithm: options.algorithm,
    windows: options.windows,
    minTrainBars: Math.round(((options.minTrainDays ?? 0) * 86_400_000) / timeframeMs(frame.timeframe)),
    timestepsPerWindow: options.timestepsPerWindow,
    nEnvs: options.nEnvs,
    seed: options.seed,
    training: Object.fromEntries(Object.entries(options.training ?? {}).filter(([, v]) => v !== undefined)),
    env: {
      initialBalanceUsd: options.trading.initial_balance,
      execution: { leverage: options.trading.leverage },
      risk: limits,
      episodeBars: options.episodeBars,
      reward: Object.fromEntries(Object.entries(options.reward ?? {}).filter(([, v]) => v !== undefined)),
    },
    startIndex,
    endIndex,
    signal,
    onUpdate: (window, log) => {
      at = { window, timesteps: log.timesteps };
      if (log.update % 5 !== 1) return;
      const h = log.actionHistogram;
      const total = h.reduce((s, x) => s + x, 0) || 1;
      out.text(
        `  ${trainingProgress({ windows: options.windows, timestepsPerWindow: options.timestepsPerWindow, window, timesteps: log.timesteps, elapsedMs: performance.now() - began })}  update ${String(log.update).padStart(3)} steps ${String(log.timesteps).padStart(8)}  return ${Number.isFinite(log.meanEpisodeReturn) ? log.meanEpisodeReturn.toFixed(2).padStart(7) : '     —'}  entropy ${log.entropy.toFixed(3)}  KL ${log.approxKl.toFixed(4)}  clip ${log.clipFraction.toFixed(2)}  EV ${log.explainedVariance.toFixed(2)}  ${ACTIONS.map((a, i) => `${a} ${((100 * h[i]) / total).toFixed(0)}%`).join(' ')}  ${log.stepsPerSecond.toFixed(0)} steps/s`,
      );
    },
  })
    .catch((error: unknown) => {
      if (!(error instanceof TrainingStoppedError)) throw error;
      throw new OitraderError(`rl train stopped (${String(signal.reason)}) in window ${at.window}/${options.windows} at ${at.timesteps} of ${options.timestepsPerWindow} steps: nothing saved, ${join(options.agentsDir, runId)} was not written`, {
        hint: 'train again; --timesteps and --windows set how long it runs (the progress lines print an ETA)',
        exitCode: 130,
      });
    })
    .finally(() => stop?.dispose());
  for (const w of trained.manifest.windows) out.text(`window ${w.window}: trained on ${formatUtc(w.trainStartMs)} .. ${formatUtc(w.trainEndMs)} (${w.timesteps} steps, ${w.seconds.toFixed(1)} s), tests on ${formatUtc(w.testStartMs)} .. ${formatUtc(w.testEndMs)}`);
  const dir = saveAgent(options.agentsDir, trained.manifest, trained.nets, trained.logs);
  out.text(`saved agent ${runId} in ${dir}; evaluate out of sample with: oitrader rl backtest --agent ${runId} --agents-dir ${options.agentsDir} --models-dir ${options.modelsDir}`);
  out.result({ runId, dir, windows: trained.manifest.windows });
  return { runId, dir };
}

/**
 * "window 2/3 61% (all 54%) ETA 3m12s": how far the whole training is, and when it ends at
 * the pace so far (Ctrl-C stops it; nothing is saved until every window is trained).
 */
export function trainingProgress(p: { windows: number; timestepsPerWindow: number; window: number; timesteps: number; elapsedMs: number }): string {
  const inWindow = Math.min(1, p.timesteps / p.timestepsPerWindow);
  const overall = Math.min(1, (p.window - 1 + inWindow) / p.windows);
  const etaMs = overall > 0 ? (p.elapsedMs * (1 - overall)) / overall : Number.NaN;
  return `window ${p.window}/${p.windows} ${(100 * inWindow).toFixed(0).padStart(3)}% (all ${(100 * overall).toFixed(0).padStart(3)}%) ETA ${formatDuration(etaMs)}`;
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

export interface RlBacktestOptions {
  agentsDir: string;
  modelsDir: string;
  agentId: string;
  outDir: string;
  stopLoss: number;
}

export async function runRlBacktest(out: Output, frame: Frame, options: RlBacktestOptions): Promise<AgentBacktest> {
  const dir = join(options.agentsDir, options.agentId);
  const peek = loadAgent(dir, { featureSetVersion: FEATURE_SET_VERSION, symbol: frame.symbol });
  const run = readRunManifest(options.modelsDir, peek.manifest.modelRun.runId);
  const agent = loadAgent(dir, { featureSetVersion: run.featureSetVersion, modelRunId: run.runId, symbol: frame.symbol });
  const predictions = await readOutOfFoldPredictions(join(options.modelsDir, run.runId), agent.manifest.modelRun.model);
  // Deflated Sharpe: the run's trial registry — every window agent trained on this run, the table's strategies, and what other commands tried on it.
  const agentKeys = windowAgentKeys(options.agentsDir, run.runId);
  const agentTrials = agentKeys.length;
  const trials = await registerTrials(join(options.modelsDir, run.runId), run.runId, [...agentKeys, ...AGENT_BASELINES.map((b) => `baseline ${b}`), 'rule ml-signal default'], 'rl backtest');
  const result = backtestAgent(agent, frame, predictions, { trials, labels: run.labels, stopLoss: options.stopLoss });
  const m = agent.manifest;
  const base = reportBasePath(options.outDir, ['rl-backtest', m.runId, frame.symbol, frame.timeframe]);
  writeFileAtomic(`${base}.html`, renderAgentReport(m, result, readTrainingLogs(dir)));
  writeFileAtomic(`${base}.json`, `${JSON.stringify(agentReportJson(m, result), null, 2)}\n`);
  out.text(`agent ${m.runId} (${m.algorithm.toUpperCase()}, model run ${run.runId}); every bar below is out of sample for the window agent that trades it:`);
  // Each window's share of the one combined run (one wallet carried through): the lines add up to its total.
  const shares = windowShares(m, result);
  const initial = result.combined[0].result.initialBalanceUsd;
  for (const [k, w] of m.windows.entries()) {
    const s = shares[k];
    out.text(`  window ${w.window}: trained ≤ ${formatUtc(w.trainEndMs)}, tested ${formatUtc(w.testStartMs)} .. ${formatUtc(w.testEndMs)}: PnL ${s.pnlUsd[0].toFixed(2)} USDT (${((100 * s.pnlUsd[0]) / initial).toFixed(2)}% of the wallet), ${s.trades[0]} trades`);
  }
  out.text(`  total: PnL ${shares.reduce((a, s) => a + s.pnlUsd[0], 0).toFixed(2)} USDT, ${shares.reduce((a, s) => a + s.trades[0], 0)} trades (the combined run below)`);
  out.text(formatSummary(result.combined));
  const total = result.combinedHistogram.reduce((s, x) => s + x, 0) || 1;
  out.text(`agent actions: ${ACTIONS.map((a, i) => `${a} ${result.combinedHistogram[i]} (${((100 * result.combinedHistogram[i]) / total).toFixed(1)}%)`).join(', ')}`);
  out.text(`Deflated Sharpe counts ${trials} trials, every one tried on run ${run.runId} (its ${TRIALS_FILE}): here ${agentTrials} window agents trained on it in ${options.agentsDir}, ${AGENT_BASELINES.length + 1} baselines`);
  out.text(`report: ${base}.html (and .json)`);
  out.result({ report: `${base}.html`, json: `${base}.json`, strategies: result.combined.map((e) => ({ strategy: e.result.strategy, metrics: e.metrics })), actionHistogram: result.combinedHistogram });
  return result;
}

/**
 * `rl backtest --start [--end]`: the agent on bars after every span its model run and its windows trained on,
 * with the run's final models predicting them fresh, through the bot's risk engine (config.yaml trading:).
 * Bars anything of the agent was trained on are refused, never scored.
 */
export async function runRlBacktestAfterSpan(out: Output, frame: Frame, options: RlBacktestOptions & { config: Config; startMs: number | undefined; endMs: number | undefined }): Promise<{ entries: ReportEntry[]; actionHistogram: number[] }> {
  const dir = join(options.agentsDir, options.agentId);
  const peek = loadAgent(dir, { featureSetVersion: FEATURE_SET_VERSION, symbol: frame.symbol });
  const runDir = join(options.modelsDir, peek.manifest.modelRun.runId);
  const run = readRunManifest(options.modelsDir, peek.manifest.modelRun.runId);
  const agent = loadAgent(dir, { featureSetVersion: run.featureSetVersion, modelRunId: run.runId, symbol: frame.symbol });
  const m = agent.manifest;
  const seenUntil = Math.max(finalKnownUntilMs(run), m.windows[m.windows.length - 1].trainEndMs);
  const from = options.startMs ?? seenUntil + 1;
  if (from <= seenUntil) {
    throw new OitraderError(`agent ${m.runId} and its model run ${run.runId} trained on bars up to ${formatUtc(seenUntil)}: --start ${formatUtc(from)} would score bars they saw`, {
      hint: `pass --start after ${formatUtc(seenUntil)}, or drop --start/--end to score the walk-forward test windows`,
      exitCode: 2,
    });
  }
  const start = frame.indexAtOrAfter(from);
  const end = options.endMs === undefined ? frame.length : frame.indexAtOrAfter(options.endMs);
  if (end - start < 2) throw new OitraderError(`no bars to score between ${formatUtc(from)} and ${options.endMs === undefined ? 'the newest stored' : formatUtc(options.endMs)}`, { hint: 'import newer data (oitrader data import / collect) or widen --start/--end', exitCode: 2 });
  // The model the agent observed in training (the ensemble, or the member of --ml-model), predicting fresh.
  const proba = await freshProbabilities(runDir, frame, frame.time[start], m.modelRun.model);
  const ml = { pShort: proba.p_short, pNeutral: proba.p_neutral, pLong: proba.p_long };
  const t = options.config.trading;
  const trials = await registerTrials(runDir, run.runId, [...windowAgentKeys(options.agentsDir, run.runId), ...AGENT_BASELINES.map((b) => `baseline ${b}`)], 'rl backtest --start');
  const result = backtestAgentAfterSpan(agent, frame, {
    ml,
    start,
    end,
    execution: { initialBalanceUsd: t.initial_balance, leverage: t.leverage },
    risk: { limits: riskLimitsFromConfig(t), stopLoss: t.stop_loss },
    trials,
  });
  const span = `${formatUtc(frame.time[start])} .. ${formatUtc(frame.time[end - 1])}`;
  const base = reportBasePath(options.outDir, ['rl-backtest', m.runId, frame.symbol, frame.timeframe, 'after-span']);
  const title = `oitrader rl backtest: agent ${m.runId} (window ${m.windows.length}) on ${frame.symbol} ${frame.timeframe}, ${span} — after every trained span, fresh predictions, the bot's risk engine`;
  writeFileAtomic(`${base}.html`, renderHtmlReport(title, result.entries));
  writeFileAtomic(`${base}.json`, `${JSON.stringify({ agent: m.runId, modelRun: run.runId, afterSpan: true, span, actionHistogram: Object.fromEntries(ACTIONS.map((a, i) => [a, result.actionHistogram[i]])), strategies: reportJson(result.entries) }, null, 2)}\n`);
  out.text(`agent ${m.runId} (${m.algorithm.toUpperCase()}, window ${m.windows.length}, model run ${run.runId}) on ${span}: every bar after what the agent and its run trained on (≤ ${formatUtc(seenUntil)}); fresh predictions; the bot's risk engine`);
  out.text(formatSummary(result.entries));
  const total = result.actionHistogram.reduce((s, x) => s + x, 0) || 1;
  out.text(`agent actions: ${ACTIONS.map((a, i) => `${a} ${result.actionHistogram[i]} (${((100 * result.actionHistogram[i]) / total).toFixed(1)}%)`).join(', ')}`);
  out.text(`report: ${base}.html (and .json)`);
  out.result({ report: `${base}.html`, json: `${base}.json`, afterSpan: true, span, strategies: result.entries.map((e) => ({ strategy: e.result.strategy, metrics: e.metrics })), actionHistogram: result.actionHistogram });
  return result;
}

/** The registry keys of every window agent in `agentsDir` trained on model run `runId`. */
function windowAgentKeys(agentsDir: string, runId: string): string[] {
  return listAgents(agentsDir).flatMap((id) => {
    const m = JSON.parse(readFileSync(join(agentsDir, id, 'manifest.json'), 'utf8')) as AgentManifest;
    return m.modelRun.runId === runId ? m.windows.map((w) => `agent ${id} window ${w.window}`) : [];
  });
}
