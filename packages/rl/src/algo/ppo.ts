import type { Env } from './env.ts';
import { trainOnPolicy, type OnPolicyConfig, type TrainOptions, type TrainResult } from './on-policy.ts';

/** The guide's PPO settings (lr 3e-4, n_steps 2048, batch 64) and SB3's other defaults. */
export const PPO_DEFAULTS: OnPolicyConfig = {
  totalTimesteps: 1_000_000,
  nSteps: 2048,
  batchSize: 64,
  nEpochs: 10,
  learningRate: 3e-4,
  gamma: 0.99,
  gaeLambda: 0.95,
  clipRange: 0.2,
  entCoef: 0.0,
  vfCoef: 0.5,
  maxGradNorm: 0.5,
  normalizeAdvantage: true,
  normalizeObservations: true,
  hidden: [64, 64],
  seed: 0,
};

/** Proximal Policy Optimization (Schulman et al. 2017) with action masking. */
export function trainPpo(envs: Env[], config: Partial<OnPolicyConfig> = {}, options: TrainOptions = {}): Promise<TrainResult> {
  return trainOnPolicy(envs, { ...PPO_DEFAULTS, ...config }, options);
}
