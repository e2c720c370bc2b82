import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OitraderError, writeDirectoryAtomic } from '@oitrader/core';
import { DEFAULT_RISK_LIMITS, type RiskLimits } from '@oitrader/trading';
import { ActorCritic, type ActorCriticJson } from '../algo/actor-critic.ts';
import type { OnPolicyConfig, UpdateLog } from '../algo/on-policy.ts';
import { ACTIONS } from '../env/actions.ts';
import type { ActionConfig } from '../env/controller.ts';
import { OBSERVATION_SPEC, type ObservationElement } from '../env/observation.ts';
import type { RewardConfig } from '../env/trading-env.ts';

export const AGENT_FORMAT = 'oitrader-agent';

/** One walk-forward window: the agent trained on [train) and evaluated only on [test), which lies after it. */
export interface AgentWindow {
  window: number;
  trainStartMs: number;
  trainEndMs: number;
  testStartMs: number;
  testEndMs: number;
  /** File holding this window's network (weights + observation normaliser). */
  weightsFile: string;
  timesteps: number;
  seconds: number;
}

/** `agents/<run-id>/manifest.json`: everything needed to reproduce the agent and to refuse inputs it was not trained on. */
export interface AgentManifest {
  format: typeof AGENT_FORMAT;
  version: 1;
  runId: string;
  createdAt: string;
  algorithm: 'ppo' | 'a2c';
  symbol: string;
  timeframe: string;
  /** The phase 3 model run whose out-of-fold predictions the agent observes. */
  modelRun: { runId: string; model: string; featureSetVersion: string };
  observation: ObservationElement[];
  /** Market features that were missing in the training data (0 in every observation). */
  unavailableFeatures: string[];
  actions: readonly string[];
  env: {
    initialBalanceUsd: number;
    leverage: number;
    takerFeeRate: number;
    makerFeeRate: number;
    halfSpreadBps: number;
    risk: Record<string, number>;
    actions: ActionConfig;
    reward: RewardConfig;
    episodeBars: number;
    nEnvs: number;
  };
  training: OnPolicyConfig;
  seed: number;
  windows: AgentWindow[];
  codeVersion: string;
  metrics: Record<string, unknown>;
}

/**
 * The risk limits an agent was trained under, as RiskLimits: an agent saved
 * before a limit existed gets that limit's default (every later limit is a
 * portfolio rule a one-symbol agent never reached).
 */
export function agentRiskLimits(manifest: AgentManifest): RiskLimits {
  const known = Object.fromEntries(Object.entries(manifest.env.risk).filter(([k, v]) => k in DEFAULT_RISK_LIMITS && typeof v === 'number' && Number.isFinite(v)));
  return { ...DEFAULT_RISK_LIMITS, ...known };
}

export interface LoadedAgent {
  manifest: AgentManifest;
  dir: string;
  /** One network per walk-forward window, in window order. */
  nets: ActorCritic[];
}

/** Training logs per window, saved with the agent for the report's training curves. */
export type TrainingLogs = Array<Array<Omit<UpdateLog, 'episodeInfos'> & { episodeInfo: Record<string, number> }>>;

/** Writes `agents/<run-id>/` (manifest, one weights file per window, training logs) atomically. */
export function saveAgent(agentsDir: string, manifest: AgentManifest, nets: ActorCritic[], logs: TrainingLogs): string {
  if (!/^[A-Za-z0-9._-]+$/.test(manifest.runId)) throw new OitraderError(`agent id "${manifest.runId}" may only hold letters, digits, . _ -`, { exitCode: 2 });
  if (nets.length !== manifest.windows.length) throw new Error(`${nets.length} networks for ${manifest.windows.length} windows`);
  const dir = join(agentsDir, manifest.runId);
  if (existsSync(dir)) throw new OitraderError(`agent ${manifest.runId} already exists in ${agentsDir}`, { hint: 'choose another --run-id', exitCode: 2 });
  const files: Record<string, string> = { 'manifest.json': `${JSON.stringify(manifest, null, 2)}\n`, 'training-log.json': JSON.stringify(logs) };
  manifest.windows.forEach((w, k) => (files[w.weightsFile] = JSON.stringify(nets[k].toJSON())));
  writeDirectoryAtomic(dir, files);
  return dir;
}

/** What the caller will feed the agent; loading refuses an agent trained on something else. */
export interface AgentInputs {
  featureSetVersion: string;
  /** The model run whose predictions will be observed (undefined = not checked). */
  modelRunId?: string;
  symbol?: string;
}

export function loadAgent(dir: string, inputs: AgentInputs): LoadedAgent {
  const read = (file: string): unknown => {
    try {
      return JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch (error) {
      throw new OitraderError(`cannot read ${join(dir, file)}: ${(error as Error).message}`, { hint: 'the agent directory is incomplete or not an agent: train it again with oitrader rl train' });
    }
  };
  const manifest = read('manifest.json') as AgentManifest;
  if (manifest?.format !== AGENT_FORMAT || manifest.version !== 1) throw new OitraderError(`${dir}/manifest.json is not an oitrader agent manifest (version 1)`, { hint: 'pass an agents/<run-id> directory made by oitrader rl train' });
  if (manifest.modelRun.featureSetVersion !== inputs.featureSetVersion) {
    throw new OitraderError(`agent ${manifest.runId} observes feature set ${manifest.modelRun.featureSetVersion}, this build computes ${inputs.featureSetVersion}`, { hint: 'retrain the agent (oitrader rl train) on this version' });
  }
  if (inputs.modelRunId !== undefined && inputs.modelRunId !== manifest.modelRun.runId) {
    throw new OitraderError(`agent ${manifest.runId} was trained on the predictions of model run ${manifest.modelRun.runId}, not ${inputs.modelRunId}`, { hint: `use --model-run ${manifest.modelRun.runId} or retrain the agent on ${inputs.modelRunId}` });
  }
  if (inputs.symbol !== undefined && inputs.symbol !== manifest.symbol) {
    throw new OitraderError(`agent ${manifest.runId} was trained on ${manifest.symbol}, not ${inputs.symbol}`, { hint: `trade ${manifest.symbol} or train an agent for ${inputs.symbol}` });
  }
  const expected = OBSERVATION_SPEC.map((e) => e.name);
  const saved = manifest.observation.map((e) => e.name);
  if (saved.join(',') !== expected.join(',')) {
    throw new OitraderError(`agent ${manifest.runId} observes [${saved.length} values] that differ from this build's observation (${expected.length} values)`, { hint: 'retrain the agent with this version' });
  }
  if (manifest.actions.join(',') !== ACTIONS.join(',')) throw new OitraderError(`agent ${manifest.runId} has actions ${manifest.actions.join(',')}, this build ${ACTIONS.join(',')}`, { hint: 'retrain the agent' });
  const nets = manifest.windows.map((w) => ActorCritic.fromJSON(read(w.weightsFile) as ActorCriticJson));
  return { manifest, dir, nets };
}

export function readTrainingLogs(dir: string): TrainingLogs {
  const path = join(dir, 'training-log.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as TrainingLogs) : [];
}

/** Agent run ids in a directory, oldest first. */
export function listAgents(agentsDir: string): string[] {
  if (!existsSync(agentsDir)) return [];
  return readdirSync(agentsDir)
    .filter((name) => !name.startsWith('.') && existsSync(join(agentsDir, name, 'manifest.json')))
    .sort();
}
