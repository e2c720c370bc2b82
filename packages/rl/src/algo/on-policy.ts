import { OitraderError } from '@oitrader/core';
import { seededRandom } from '@oitrader/ml';
import { Adam, clipGradNorm } from '../nn/mlp.ts';
import { ActorCritic } from './actor-critic.ts';
import type { Env } from './env.ts';
import { entropyOf, maskedSoftmax, sampleIndex } from './masked-categorical.ts';
import { ValueLane, valueLaneWanted } from './value-lane.ts';

/** Settings shared by PPO and A2C (names and defaults follow stable-baselines3). */
export interface OnPolicyConfig {
  totalTimesteps: number;
  /** Steps collected from each environment per update. */
  nSteps: number;
  batchSize: number;
  nEpochs: number;
  learningRate: number;
  gamma: number;
  gaeLambda: number;
  /** PPO's clip range; null = no clipping (A2C: one plain policy-gradient step). */
  clipRange: number | null;
  entCoef: number;
  vfCoef: number;
  maxGradNorm: number;
  normalizeAdvantage: boolean;
  normalizeObservations: boolean;
  hidden: number[];
  seed: number;
}

/** What one update did: the numbers that show an agent stuck on HOLD (entropy → 0, one action in the histogram). */
export interface UpdateLog {
  update: number;
  timesteps: number;
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  approxKl: number;
  clipFraction: number;
  explainedVariance: number;
  gradNorm: number;
  /** How often each action was taken in this update's rollout. */
  actionHistogram: number[];
  /** Mean return of the episodes that ended in this rollout (NaN if none did). */
  meanEpisodeReturn: number;
  episodes: number;
  /** Per-episode summaries the environments put in `info.episode` (e.g. reward terms). */
  episodeInfos: Record<string, number>[];
  stepsPerSecond: number;
}

export interface TrainResult {
  net: ActorCritic;
  logs: UpdateLog[];
  timesteps: number;
  seconds: number;
  /** Whether every minibatch's value half ran on the second thread (options.valueThread). */
  valueThread: boolean;
}

export interface TrainOptions {
  onUpdate?: (log: UpdateLog) => void;
  /** Start from these networks (e.g. to continue training) instead of fresh ones. */
  net?: ActorCritic;
  /** Ctrl-C/SIGTERM: training stops at the next update and throws a TrainingStoppedError. */
  signal?: AbortSignal;
  /**
   * The value network's half of each minibatch on a second thread (value-lane.ts; the same agent to the byte).
   * Default: on with 2+ cores for trainings of 50,000 steps or more, unless OITRADER_RL_THREADS=1.
   */
  valueThread?: boolean;
}

/** Training was stopped by its signal; nothing of it is kept. */
export class TrainingStoppedError extends OitraderError {
  constructor(readonly timesteps: number) {
    super(`training stopped after ${timesteps} steps`, { exitCode: 130 });
  }
}

/** How long a training may hold the event loop: signals, timers and sockets are served between updates at least this often. */
const YIELD_EVERY_MS = 50;

/**
 * The on-policy loop both PPO and A2C run: collect `nSteps` from each of the
 * environments with the current policy, compute GAE(λ) advantages (time-limit
 * truncations bootstrapped with the value of the cut-off observation, as
 * SB3), then run `nEpochs` passes of minibatch gradient steps on the clipped
 * surrogate (or the plain policy gradient when clipRange is null) + value
 * loss − entropy bonus, with the gradient norm clipped.
 */
export async function trainOnPolicy(envs: Env[], config: OnPolicyConfig, options: TrainOptions = {}): Promise<TrainResult> {
  if (envs.length === 0) throw new Error('training needs at least one environment');
  const nEnvs = envs.length;
  const D = envs[0].observationSize;
  const A = envs[0].actionCount;
  const T = config.nSteps;
  const rolloutSize = T * nEnvs;
  const batchSize = Math.min(config.batchSize, rolloutSize);
  const net = options.net ?? new ActorCritic({ observationSize: D, actionCount: A, hidden: config.hidden, seed: config.seed });
  const random = seededRandom(config.seed * 7919 + 17);
  const policyOpt = new Adam(net.policy.params.length, config.learningRate, 0.9, 0.999, 1e-5);
  const valueOpt = new Adam(net.value.params.length, config.learningRate, 0.9, 0.999, 1e-5);

  const obs = new Float32Array(rolloutSize * D);
  const masks = new Uint8Array(rolloutSize * A);
  const actions = new Int32Array(rolloutSize);
  const logProbs = new Float64Array(rolloutSize);
  const values = new Float64Array(rolloutSize);
  const rewards = new Float64Array(rolloutSize);
  const dones = new Uint8Array(rolloutSize);
  const advantages = new Float64Array(rolloutSize);
  const returns = new Float64Array(rolloutSize);

  const rawObs = new Float32Array(nEnvs * D);
  const normObs = new Float32Array(nEnvs * D);
  const stepMask = new Uint8Array(nEnvs * A);
  const probs = new Float64Array(A);
  const single = new Float32Array(D);
  const singleNorm = new Float32Array(D);
  const episodeReturn = new Float64Array(nEnvs);
  envs.forEach((env, i) => rawObs.set(env.reset(config.seed * 1000 + i), i * D));

  const normalize = (src: Float32Array, batch: number, dst: Float32Array): Float32Array => {
    if (!config.normalizeObservations) {
      dst.set(src.subarray(0, batch * D));
      return dst;
    }
    return net.obsNorm.apply(src, batch, dst);
  };

  const mbObs = new Float32Array(batchSize * D);
  const mbLogitGrad = new Float32Array(batchSize * A);
  const mbValueGrad = new Float32Array(batchSize);
  const mbValueDiff = new Float64Array(batchSize);
  const order = new Int32Array(rolloutSize);
  const lane = (options.valueThread ?? valueLaneWanted(config.totalTimesteps)) ? await ValueLane.start(net.value.sizes, net.value.params.length, batchSize) : undefined;
  try {
    return await train();
  } finally {
    lane?.close();
  }

  async function train(): Promise<TrainResult> {
    const logs: UpdateLog[] = [];
    const started = performance.now();
    let lastYield = started;
    let timesteps = 0;
    let update = 0;

    while (timesteps < config.totalTimesteps) {
      const rolloutStart = performance.now();
      const histogram = new Array<number>(A).fill(0);
      const finished: number[] = [];
      const episodeInfos: Record<string, number>[] = [];
      for (let t = 0; t < T; t++) {
        if (config.normalizeObservations) net.obsNorm.update(rawObs, nEnvs);
        normalize(rawObs, nEnvs, normObs);
        for (let i = 0; i < nEnvs; i++) stepMask.set(envs[i].actionMask(), i * A);
        const logits = net.policy.forward(normObs, nEnvs);
        const v = net.value.forward(normObs, nEnvs);
        for (let i = 0; i < nEnvs; i++) {
          const k = t * nEnvs + i;
          obs.set(normObs.subarray(i * D, (i + 1) * D), k * D);
          masks.set(stepMask.subarray(i * A, (i + 1) * A), k * A);
          const logZ = maskedSoftmax(logits, i * A, stepMask, i * A, A, probs);
          const a = sampleIndex(probs, A, random());
          actions[k] = a;
          logProbs[k] = logits[i * A + a] - logZ;
          values[k] = v[i];
          histogram[a]++;
        }
        for (let i = 0; i < nEnvs; i++) {
          const k = t * nEnvs + i;
          const result = envs[i].step(actions[k]);
          let reward = result.reward;
          episodeReturn[i] += result.reward;
          if (result.truncated && !result.terminated) {
            single.set(result.obs);
            reward += config.gamma * net.value.forward(normalize(single, 1, singleNorm), 1)[0];
          }
          rewards[k] = reward;
          const done = result.terminated || result.truncated;
          dones[k] = done ? 1 : 0;
          if (done) {
            finished.push(episodeReturn[i]);
            episodeReturn[i] = 0;
            const summary = (result.info as { episode?: Record<string, number> }).episode;
            if (summary) episodeInfos.push(summary);
            rawObs.set(envs[i].reset(), i * D);
          } else {
            rawObs.set(result.obs, i * D);
          }
        }
      }
      timesteps += rolloutSize;
      // GAE(λ) with the bootstrap value of the observation after the rollout.
      const lastValues = net.value.forward(normalize(rawObs, nEnvs, normObs), nEnvs);
      for (let i = 0; i < nEnvs; i++) {
        let lastGae = 0;
        for (let t = T - 1; t >= 0; t--) {
          const k = t * nEnvs + i;
          const nextNonTerminal = 1 - dones[k];
          const nextValue = t === T - 1 ? lastValues[i] : values[k + nEnvs];
          const delta = rewards[k] + config.gamma * nextValue * nextNonTerminal - values[k];
          lastGae = delta + config.gamma * config.gaeLambda * nextNonTerminal * lastGae;
          advantages[k] = lastGae;
          returns[k] = lastGae + values[k];
        }
      }
      const explainedVariance = explainedVarianceOf(values, returns);

      let policyLossSum = 0;
      let valueLossSum = 0;
      let entropySum = 0;
      let klSum = 0;
      let clipped = 0;
      let samples = 0;
      let gradNorm = 0;
      for (let k = 0; k < rolloutSize; k++) order[k] = k;
      for (let epoch = 0; epoch < config.nEpochs; epoch++) {
        for (let k = rolloutSize - 1; k > 0; k--) {
          const j = Math.floor(random() * (k + 1));
          const tmp = order[k];
          order[k] = order[j];
          order[j] = tmp;
        }
        for (let start = 0; start + batchSize <= rolloutSize; start += batchSize) {
          const B = batchSize;
          let advMean = 0;
          let advVar = 0;
          for (let b = 0; b < B; b++) {
            const k = order[start + b];
            mbObs.set(obs.subarray(k * D, (k + 1) * D), b * D);
            advMean += advantages[k];
          }
          advMean /= B;
          for (let b = 0; b < B; b++) advVar += (advantages[order[start + b]] - advMean) ** 2;
          const advStd = Math.sqrt(advVar / Math.max(1, B - 1)) + 1e-8;

          net.policy.zeroGrad();
          net.value.zeroGrad();
          const laneRuns = lane?.usable === true;
          if (laneRuns) lane.send(net.value.params, mbObs, (b) => returns[order[start + b]], B, config.vfCoef);
          const logits = net.policy.forward(mbObs, B);
          for (let b = 0; b < B; b++) {
            const k = order[start + b];
            const adv = config.normalizeAdvantage && B > 1 ? (advantages[k] - advMean) / advStd : advantages[k];
            const logZ = maskedSoftmax(logits, b * A, masks, k * A, A, probs);
            const a = actions[k];
            const logRatio = logits[b * A + a] - logZ - logProbs[k];
            const ratio = Math.exp(logRatio);
            const h = entropyOf(probs, A);
            let coef: number;
            if (config.clipRange === null) {
              coef = -adv / B;
              policyLossSum += -adv * (logits[b * A + a] - logZ);
            } else {
              const eps = config.clipRange;
              const clippedRatio = Math.min(Math.max(ratio, 1 - eps), 1 + eps);
              const unclippedObj = ratio * adv;
              const clippedObj = clippedRatio * adv;
              // min(r·A, clip(r)·A): the gradient flows only through the unclipped term when it is the smaller one.
              coef = unclippedObj <= clippedObj ? (-adv * ratio) / B : 0;
              policyLossSum += -Math.min(unclippedObj, clippedObj);
              if (Math.abs(ratio - 1) > eps) clipped++;
            }
            klSum += ratio - 1 - logRatio;
            entropySum += h;
            // d log π(a)/d logit_j = 1[j=a] − p_j ; d(−c·H)/d logit_j = c · p_j (log p_j + H), masked entries 0.
            for (let j = 0; j < A; j++) {
              const p = probs[j];
              let g = coef * ((j === a ? 1 : 0) - p);
              if (p > 0) g += (config.entCoef * p * (Math.log(p) + h)) / B;
              mbLogitGrad[b * A + j] = g;
            }
          }
          net.policy.backward(mbLogitGrad, B);
          if (!laneRuns || !lane.receive(net.value.grads, mbValueDiff, B)) {
            const v = net.value.forward(mbObs, B);
            for (let b = 0; b < B; b++) {
              const diff = v[b] - returns[order[start + b]];
              mbValueDiff[b] = diff;
              mbValueGrad[b] = (2 * config.vfCoef * diff) / B;
            }
            net.value.backward(mbValueGrad, B);
          }
          for (let b = 0; b < B; b++) valueLossSum += mbValueDiff[b] * mbValueDiff[b];
          gradNorm = clipGradNorm([net.policy.grads, net.value.grads], config.maxGradNorm);
          policyOpt.step(net.policy.params, net.policy.grads);
          valueOpt.step(net.value.params, net.value.grads);
          samples += B;
        }
      }
      update++;
      const log: UpdateLog = {
        update,
        timesteps,
        policyLoss: policyLossSum / samples,
        valueLoss: valueLossSum / samples,
        entropy: entropySum / samples,
        approxKl: klSum / samples,
        clipFraction: config.clipRange === null ? 0 : clipped / samples,
        explainedVariance,
        gradNorm,
        actionHistogram: histogram,
        meanEpisodeReturn: finished.length > 0 ? finished.reduce((s, x) => s + x, 0) / finished.length : Number.NaN,
        episodes: finished.length,
        episodeInfos,
        stepsPerSecond: rolloutSize / ((performance.now() - rolloutStart) / 1000),
      };
      logs.push(log);
      options.onUpdate?.(log);
      // A synchronous loop of minutes would leave SIGINT/SIGTERM unserved until it ended.
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      if (options.signal?.aborted) throw new TrainingStoppedError(timesteps);
    }
    return { net, logs, timesteps, seconds: (performance.now() - started) / 1000, valueThread: lane?.usable === true };
  }
}

/** 1 − Var(returns − values) / Var(returns): 1 = the critic predicts returns exactly, ≤ 0 = no better than their mean. */
export function explainedVarianceOf(values: Float64Array, returns: Float64Array): number {
  const n = returns.length;
  let mr = 0;
  let md = 0;
  for (let k = 0; k < n; k++) {
    mr += returns[k];
    md += returns[k] - values[k];
  }
  mr /= n;
  md /= n;
  let vr = 0;
  let vd = 0;
  for (let k = 0; k < n; k++) {
    vr += (returns[k] - mr) ** 2;
    vd += (returns[k] - values[k] - md) ** 2;
  }
  return vr === 0 ? Number.NaN : 1 - vd / vr;
}
