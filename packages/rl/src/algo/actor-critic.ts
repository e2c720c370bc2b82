import { Mlp } from '../nn/mlp.ts';
import { argmaxIndex, maskedSoftmax, sampleIndex } from './masked-categorical.ts';
import { RunningNorm } from './running-norm.ts';

export interface ActorCriticSpec {
  observationSize: number;
  actionCount: number;
  /** Hidden layer sizes of both the policy and the value network (SB3 default 64-64). */
  hidden: number[];
  seed: number;
}

export interface ActorCriticJson {
  spec: ActorCriticSpec;
  policy: number[];
  value: number[];
  obsNorm: ReturnType<RunningNorm['toJSON']>;
}

/**
 * Separate policy and value MLPs (SB3's default for PPO/A2C MlpPolicy) over
 * running-normalised observations. The policy emits one logit per action;
 * the mask decides which take part.
 */
export class ActorCritic {
  readonly spec: ActorCriticSpec;
  readonly policy: Mlp;
  readonly value: Mlp;
  readonly obsNorm: RunningNorm;
  readonly #normed: Float32Array;
  readonly #probs: Float64Array;

  constructor(spec: ActorCriticSpec) {
    this.spec = { ...spec, hidden: [...spec.hidden] };
    this.policy = new Mlp([spec.observationSize, ...spec.hidden, spec.actionCount], spec.seed * 2 + 1, 0.01);
    this.value = new Mlp([spec.observationSize, ...spec.hidden, 1], spec.seed * 2 + 2, 1);
    this.obsNorm = new RunningNorm(spec.observationSize);
    this.#normed = new Float32Array(spec.observationSize);
    this.#probs = new Float64Array(spec.actionCount);
  }

  /** Action probabilities for one raw observation (masked actions = 0). */
  probabilities(obs: Float32Array, mask: Uint8Array): Float64Array {
    this.obsNorm.apply(obs, 1, this.#normed);
    const logits = this.policy.forward(this.#normed, 1);
    maskedSoftmax(logits, 0, mask, 0, this.spec.actionCount, this.#probs);
    return this.#probs;
  }

  /** The greedy action (deterministic: what a saved agent trades), or a sample when `u` is given. */
  act(obs: Float32Array, mask: Uint8Array, u?: number): number {
    const probs = this.probabilities(obs, mask);
    return u === undefined ? argmaxIndex(probs, this.spec.actionCount) : sampleIndex(probs, this.spec.actionCount, u);
  }

  toJSON(): ActorCriticJson {
    return { spec: this.spec, policy: Array.from(this.policy.params), value: Array.from(this.value.params), obsNorm: this.obsNorm.toJSON() };
  }

  static fromJSON(json: ActorCriticJson): ActorCritic {
    const net = new ActorCritic(json.spec);
    if (json.policy.length !== net.policy.params.length || json.value.length !== net.value.params.length) {
      throw new Error(`weights do not fit a ${json.spec.observationSize}-${json.spec.hidden.join('-')}-${json.spec.actionCount} network`);
    }
    net.policy.params.set(json.policy);
    net.value.params.set(json.value);
    const norm = RunningNorm.fromJSON(json.obsNorm);
    net.obsNorm.mean.set(norm.mean);
    net.obsNorm.var.set(norm.var);
    net.obsNorm.count = norm.count;
    return net;
  }
}
