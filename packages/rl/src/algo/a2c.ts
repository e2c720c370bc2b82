import type { Env } from './env.ts';
import { trainOnPolicy, type OnPolicyConfig, type TrainOptions, type TrainResult } from './on-policy.ts';

/**
 * SB3's A2C defaults: 5 steps per environment, one full-batch gradient step,
 * n-step returns (λ = 1), no advantage normalisation. SB3 uses RMSprop; we
 * use the same Adam as PPO (one optimiser to maintain; A2C with Adam is a
 * common, stable variant).
 */
export const A2C_DEFAULTS: OnPolicyConfig = {
  totalTimesteps: 1_000_000,
  nSteps: 5,
  batchSize: Number.MAX_SAFE_INTEGER,
  nEpochs: 1,
  learningRate: 7e-4,
  gamma: 0.99,
  gaeLambda: 1.0,
  clipRange: null,
  entCoef: 0.0,
  vfCoef: 0.5,
  maxGradNorm: 0.5,
  normalizeAdvantage: false,
  normalizeObservations: true,
  hidden: [64, 64],
  seed: 0,
};

/** Advantage Actor-Critic (Mnih et al. 2016, synchronous), with action masking. */
export function trainA2c(envs: Env[], config: Partial<OnPolicyConfig> = {}, options: TrainOptions = {}): Promise<TrainResult> {
  return trainOnPolicy(envs, { ...A2C_DEFAULTS, ...config, clipRange: null, nEpochs: 1 }, options);
}
