import { execSync } from 'node:child_process';
import { OitraderError, formatUtc, type Frame } from '@oitrader/core';
import { alignPredictions, type OutOfFoldPredictions } from '@oitrader/ml';
import { trainA2c, A2C_DEFAULTS } from '../algo/a2c.ts';
import type { ActorCritic } from '../algo/actor-critic.ts';
import { PPO_DEFAULTS, trainPpo } from '../algo/ppo.ts';
import type { OnPolicyConfig, UpdateLog } from '../algo/on-policy.ts';
import { ACTIONS } from '../env/actions.ts';
import { DEFAULT_ACTION_CONFIG } from '../env/controller.ts';
import { alignOutOfSample } from '../env/ml-signal.ts';
import { marketColumns, OBSERVATION_SPEC, type MarketColumns } from '../env/observation.ts';
import { DEFAULT_REWARD, FuturesTradingEnv, type TradingEnvOptions } from '../env/trading-env.ts';
import { AGENT_FORMAT, type AgentManifest, type AgentWindow, type TrainingLogs } from './agent-artifact.ts';

export interface Split {
  trainStart: number;
  trainEnd: number;
  testStart: number;
  testEnd: number;
}

/**
 * Rows [start, end) cut into `windows` + 1 blocks; window k trains on
 * everything before its test block (expanding) and is tested on block k + 1,
 * which lies after everything it trained on. The first training block is at
 * least `minTrainBars` long (weeks, not days: an agent that saw eight days
 * has seen one regime); the test blocks share the rest equally.
 */
export function walkForwardSplits(start: number, end: number, windows: number, minTrainBars = 0): Split[] {
  if (!(windows >= 1)) throw new OitraderError(`walk-forward needs at least 1 window, got ${windows}`, { exitCode: 2 });
  const first = Math.max(Math.floor((end - start) / (windows + 1)), minTrainBars);
  const block = Math.floor((end - start - first) / windows);
  if (block < 200) {
    throw new OitraderError(`${end - start} usable bars are too few for a ${first}-bar first training block and ${windows} walk-forward test windows (${Math.max(0, block)} bars each)`, {
      hint: 'use fewer --windows, a smaller --min-train-days, or a longer span (out-of-fold predictions over more of the data)',
      exitCode: 2,
    });
  }
  return Array.from({ length: windows }, (_, k) => ({
    trainStart: start,
    trainEnd: start + first + k * block,
    testStart: start + first + k * block,
    testEnd: k === windows - 1 ? end : start + first + (k + 1) * block,
  }));
}

/**
 * The rows an agent can use: every market feature past its warm-up and an
 * out-of-fold prediction on every row (from the first to the last predicted bar).
 */
export function usableSpan(frame: Frame, predictions: OutOfFoldPredictions, market: MarketColumns): { start: number; end: number } {
  const rows = alignPredictions(predictions, frame.time);
  let start = 0;
  const warm = (i: number) => market.columns.every((c, f) => market.unavailable.includes(market.names[f]) || Number.isFinite(c[i]));
  while (start < frame.length && (rows[start] < 0 || !warm(start))) start++;
  let end = start;
  while (end < frame.length && rows[end] >= 0) end++;
  if (end - start < 2) {
    throw new OitraderError(`no bars with both warmed-up features and out-of-fold ${predictions.model} predictions in ${frame.symbol} ${frame.timeframe}`, {
      hint: 'load the span the model run was trained on (its out-of-fold test windows), e.g. oitrader models show <run-id>',
      exitCode: 2,
    });
  }
  return { start, end };
}

export interface AgentTrainSpec {
  runId: string;
  frame: Frame;
  predictions: OutOfFoldPredictions;
  modelRun: { runId: string; featureSetVersion: string };
  algorithm: 'ppo' | 'a2c';
  windows: number;
  /** The first window trains on at least this many bars (default: an equal share). */
  minTrainBars?: number;
  timestepsPerWindow: number;
  nEnvs: number;
  seed: number;
  training?: Partial<OnPolicyConfig>;
  env?: Omit<TradingEnvOptions, 'startIndex' | 'endIndex' | 'market'>;
  /** Restrict to these rows (default: the whole usable span). */
  startIndex?: number;
  endIndex?: number;
  onUpdate?: (window: number, log: UpdateLog) => void;
  /** Ctrl-C/SIGTERM: stops at the next update with a TrainingStoppedError; nothing is returned to save. */
  signal?: AbortSignal;
  codeVersion?: string;
}

export interface TrainedAgent {
  manifest: AgentManifest;
  nets: ActorCritic[];
  logs: TrainingLogs;
}

/** Trains one agent per walk-forward window on out-of-fold predictions; each window's test block is left unseen. */
export async function trainAgentWalkForward(spec: AgentTrainSpec): Promise<TrainedAgent> {
  const { frame, predictions } = spec;
  const market = marketColumns(frame);
  const usable = usableSpan(frame, predictions, market);
  const start = Math.max(usable.start, spec.startIndex ?? 0);
  const end = Math.min(usable.end, spec.endIndex ?? frame.length);
  const splits = walkForwardSplits(start, end, spec.windows, spec.minTrainBars ?? 0);
  // Every bar the agent will train or be tested on must come from a fold that never saw it.
  const ml = alignOutOfSample(predictions, frame, start, end);
  const defaults = spec.algorithm === 'ppo' ? PPO_DEFAULTS : A2C_DEFAULTS;
  const training: OnPolicyConfig = { ...defaults, ...spec.training, totalTimesteps: spec.timestepsPerWindow, seed: spec.seed };
  const nets: ActorCritic[] = [];
  const logs: TrainingLogs = [];
  const windows: AgentWindow[] = [];
  let envOptions: FuturesTradingEnv | undefined;
  for (const [k, split] of splits.entries()) {
    const envs = Array.from({ length: spec.nEnvs }, () => new FuturesTradingEnv(frame, ml, { ...spec.env, market, startIndex: split.trainStart, endIndex: split.trainEnd }));
    envOptions = envs[0];
    const onUpdate = (log: UpdateLog) => spec.onUpdate?.(k + 1, log);
    const options = { onUpdate, signal: spec.signal };
    const result = spec.algorithm === 'ppo' ? await trainPpo(envs, training, options) : await trainA2c(envs, training, options);
    nets.push(result.net);
    logs.push(result.logs.map(({ episodeInfos, ...rest }) => ({ ...rest, episodeInfo: meanOf(episodeInfos) })));
    windows.push({
      window: k + 1,
      trainStartMs: frame.time[split.trainStart],
      trainEndMs: frame.time[split.trainEnd - 1],
      testStartMs: frame.time[split.testStart],
      testEndMs: frame.time[split.testEnd - 1],
      weightsFile: `window-${k + 1}.json`,
      timesteps: result.timesteps,
      seconds: result.seconds,
    });
  }
  const env = envOptions!;
  const exec = env.execution;
  const manifest: AgentManifest = {
    format: AGENT_FORMAT,
    version: 1,
    runId: spec.runId,
    createdAt: new Date().toISOString(),
    algorithm: spec.algorithm,
    symbol: frame.symbol,
    timeframe: frame.timeframe,
    modelRun: { runId: spec.modelRun.runId, model: predictions.model, featureSetVersion: spec.modelRun.featureSetVersion },
    observation: [...OBSERVATION_SPEC],
    unavailableFeatures: market.unavailable,
    actions: ACTIONS,
    env: {
      initialBalanceUsd: env.initialBalanceUsd,
      leverage: exec.leverage,
      takerFeeRate: exec.takerFeeRate,
      makerFeeRate: exec.makerFeeRate,
      halfSpreadBps: exec.halfSpreadBps,
      // One symbol at the env's leverage: per-symbol leverage is the portfolio bot's setting, not the agent's.
      risk: Object.fromEntries(Object.entries(env.risk).filter((e): e is [string, number] => typeof e[1] === 'number')),
      actions: spec.env?.actions ?? DEFAULT_ACTION_CONFIG,
      reward: { ...DEFAULT_REWARD, ...spec.env?.reward },
      episodeBars: env.episodeBars,
      nEnvs: spec.nEnvs,
    },
    training,
    seed: spec.seed,
    windows,
    codeVersion: spec.codeVersion ?? gitVersion(),
    metrics: {
      usableSpan: [formatUtc(frame.time[start]), formatUtc(frame.time[end - 1])],
      finalUpdate: logs.map((l) => {
        const last = l[l.length - 1];
        return last ? { entropy: last.entropy, approxKl: last.approxKl, explainedVariance: last.explainedVariance, meanEpisodeReturn: last.meanEpisodeReturn } : undefined;
      }),
    },
  };
  return { manifest, nets, logs };
}

function meanOf(rows: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  if (rows.length === 0) return out;
  for (const key of Object.keys(rows[0])) out[key] = rows.reduce((s, r) => s + (r[key] ?? 0), 0) / rows.length;
  return out;
}

function gitVersion(): string {
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}
