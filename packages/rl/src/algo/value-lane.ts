import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { awaitWorkerTask, TASK_STATE } from '@oitrader/ml';

/**
 * The value network's half of every minibatch on the second core. PPO's
 * policy and value networks are separate (SB3's MlpPolicy): their forward and
 * backward passes do not touch each other until the joint gradient-norm clip.
 * So while the caller's thread runs the policy's pass and its loss, a worker
 * thread runs the value network's forward pass, loss gradient and backward
 * pass on a copy of its parameters, and hands back the gradients and the
 * per-row errors. The caller then clips, steps Adam and sums the value loss
 * exactly as on one thread, in the same order: the trained agent is the same
 * bytes with the lane and without it (on-policy.test.ts).
 *
 * Synchronised through one shared buffer and Atomics (a postMessage round trip
 * per minibatch would cost more than the half it saves). A worker that does
 * not answer is not waited on forever: a task it never took is taken back, and
 * one it took and never finished abandons the lane; either way the caller's
 * thread computes the value half from then on (same numbers).
 */

const { TASK } = TASK_STATE;
/** The worker's own end states beside the shared hand-off's (ml/worker-task.ts). */
const FAILED = 4;
const CLOSED = 5;
/** Control words: 0 state, 1 batch rows, 2 ready (1 once the worker has loaded its network). */
const CONTROL_BYTES = 64;

/** Below this many steps a training is too short to pay the worker's start (about half a second). */
export const VALUE_LANE_MIN_TIMESTEPS = 50_000;

/** Whether a training of `totalTimesteps` uses the lane: 2+ cores, long enough, and OITRADER_RL_THREADS is not "1". */
export function valueLaneWanted(totalTimesteps: number): boolean {
  return availableParallelism() >= 2 && totalTimesteps >= VALUE_LANE_MIN_TIMESTEPS && process.env.OITRADER_RL_THREADS !== '1';
}

interface ValueLaneLayout {
  vfCoef: number;
  obs: number;
  returns: number;
  diffs: number;
  params: number;
  grads: number;
  bytes: number;
}

function laneLayout(maxBatch: number, obsSize: number, paramCount: number): ValueLaneLayout {
  const align = (n: number) => Math.ceil(n / 16) * 16;
  const vfCoef = CONTROL_BYTES;
  const obs = align(vfCoef + 8);
  const returns = align(obs + maxBatch * obsSize * 4);
  const diffs = align(returns + maxBatch * 8);
  const params = align(diffs + maxBatch * 8);
  const grads = align(params + paramCount * 4);
  return { vfCoef, obs, returns, diffs, params, grads, bytes: align(grads + paramCount * 4) };
}

export class ValueLane {
  readonly #worker: Worker;
  readonly #control: Int32Array;
  readonly #vfCoef: Float64Array;
  readonly #obs: Float32Array;
  readonly #returns: Float64Array;
  readonly #diffs: Float64Array;
  readonly #params: Float32Array;
  readonly #grads: Float32Array;
  readonly #obsSize: number;
  #usable = true;

  private constructor(worker: Worker, buffer: SharedArrayBuffer, at: ValueLaneLayout, maxBatch: number, obsSize: number, paramCount: number) {
    this.#worker = worker;
    this.#control = new Int32Array(buffer, 0, 16);
    this.#vfCoef = new Float64Array(buffer, at.vfCoef, 1);
    this.#obs = new Float32Array(buffer, at.obs, maxBatch * obsSize);
    this.#returns = new Float64Array(buffer, at.returns, maxBatch);
    this.#diffs = new Float64Array(buffer, at.diffs, maxBatch);
    this.#params = new Float32Array(buffer, at.params, paramCount);
    this.#grads = new Float32Array(buffer, at.grads, paramCount);
    this.#obsSize = obsSize;
  }

  /** The lane for a value network of these layer sizes, once its worker is ready; undefined if it cannot start within `timeoutMs`. */
  static async start(sizes: readonly number[], paramCount: number, maxBatch: number, timeoutMs = 10_000): Promise<ValueLane | undefined> {
    const at = laneLayout(maxBatch, sizes[0], paramCount);
    const buffer = new SharedArrayBuffer(at.bytes);
    let worker: Worker;
    try {
      worker = new Worker(new URL('./value-lane-entry.mjs', import.meta.url), { workerData: { buffer, sizes, maxBatch, layout: at, states: LANE_STATES } });
    } catch {
      return undefined;
    }
    worker.unref();
    const lane = new ValueLane(worker, buffer, at, maxBatch, sizes[0], paramCount);
    let failed = false;
    worker.on('error', () => (failed = true));
    worker.on('exit', () => (failed = true));
    const until = performance.now() + timeoutMs;
    while (Atomics.load(lane.#control, 2) !== 1) {
      if (failed || performance.now() > until) {
        void worker.terminate();
        return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return lane;
  }

  /** False once the lane was given up on: the caller computes the value half itself. */
  get usable(): boolean {
    return this.#usable;
  }

  /** Starts the value half of a minibatch: `batch` rows of `obs`, their returns, the value network's current parameters. */
  send(params: Float32Array, obs: Float32Array, returnOf: (row: number) => number, batch: number, vfCoef: number): void {
    this.#params.set(params);
    this.#obs.set(obs.subarray(0, batch * this.#obsSize));
    for (let b = 0; b < batch; b++) this.#returns[b] = returnOf(b);
    this.#vfCoef[0] = vfCoef;
    this.#control[1] = batch;
    Atomics.store(this.#control, 0, TASK);
    Atomics.notify(this.#control, 0);
  }

  /**
   * Waits for the half `send` started and copies its gradients into `grads` and its per-row errors (value −
   * return) into `diffs`; false when the worker did not do it (the caller then computes the half itself).
   */
  receive(grads: Float32Array, diffs: Float64Array, batch: number): boolean {
    // Not taken within 10 s (the worker is gone or starved), failed, or taken and not finished: not used again.
    if (awaitWorkerTask(this.#control, 10_000) !== 'done') {
      this.#abandon();
      return false;
    }
    grads.set(this.#grads);
    diffs.set(this.#diffs.subarray(0, batch));
    Atomics.store(this.#control, 0, TASK_STATE.IDLE);
    return true;
  }

  close(): void {
    Atomics.store(this.#control, 0, CLOSED);
    Atomics.notify(this.#control, 0);
    void this.#worker.terminate();
    this.#usable = false;
  }

  #abandon(): void {
    this.#usable = false;
    void this.#worker.terminate();
  }
}

/** The control word's states, handed to the worker (value-lane-entry.mjs). */
const LANE_STATES = { ...TASK_STATE, FAILED, CLOSED };
