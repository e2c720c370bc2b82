import type { Env, StepResult } from './env.ts';

/**
 * A small control task with a known optimum, for checking that an algorithm
 * learns: a corridor of `length` cells, start at cell 0, goal at the last.
 * Actions: 0 left, 1 right, 2 stay, 3 a forbidden action that is always
 * masked. Reward −0.01 per step, +1 on reaching the goal (terminated); the
 * episode is cut after `maxSteps`. Optimal return: 1 − 0.01 · (length − 2)
 * in length − 1 steps.
 */
export class CorridorEnv implements Env {
  readonly observationSize: number;
  readonly actionCount = 4;
  #cell = 0;
  #steps = 0;
  readonly #mask = Uint8Array.of(1, 1, 1, 0);

  constructor(readonly length = 8, readonly maxSteps = 30) {
    this.observationSize = length;
  }

  reset(): Float32Array {
    this.#cell = 0;
    this.#steps = 0;
    return this.#obs();
  }

  actionMask(): Uint8Array {
    return this.#mask;
  }

  step(action: number): StepResult {
    if (this.#mask[action] !== 1) throw new Error(`action ${action} is masked`);
    this.#steps++;
    if (action === 0) this.#cell = Math.max(0, this.#cell - 1);
    else if (action === 1) this.#cell = Math.min(this.length - 1, this.#cell + 1);
    const terminated = this.#cell === this.length - 1;
    return { obs: this.#obs(), reward: terminated ? 1 : -0.01, terminated, truncated: !terminated && this.#steps >= this.maxSteps, info: {} };
  }

  #obs(): Float32Array {
    const obs = new Float32Array(this.length);
    obs[this.#cell] = 1;
    return obs;
  }
}
