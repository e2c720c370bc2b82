/** What one environment step returns (Gymnasium's step API). */
export interface StepResult<Info extends object = object> {
  obs: Float32Array;
  reward: number;
  /** The episode ended inside the task (goal, ruin): no value after it. */
  terminated: boolean;
  /** The episode was cut (time limit, end of data): the value after it is bootstrapped. */
  truncated: boolean;
  info: Info;
}

/** A Gym-style environment with a discrete action space and an action mask. */
export interface Env<Info extends object = object> {
  readonly observationSize: number;
  readonly actionCount: number;
  reset(seed?: number): Float32Array;
  step(action: number): StepResult<Info>;
  /** 1 = the action is allowed now; always at least one. */
  actionMask(): Uint8Array;
}
