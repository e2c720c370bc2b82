/**
 * The hand-off both compute workers use (the forest kernel's second thread,
 * the RL value lane): the caller writes a task into shared memory and sets
 * word 0 of `control` to TASK; the worker claims it (compare-exchange TASK →
 * RUNNING) before touching anything, and sets DONE (or a failure state of its
 * own) when it ends. A claimed task is the worker's to finish; an unclaimed
 * one may be taken back.
 */
export const TASK_STATE = { IDLE: 0, TASK: 1, RUNNING: 2, DONE: 3 } as const;

/**
 * Waits for the task the caller posted: 'done' when the worker finished it; 'taken-back' when the worker had
 * not claimed it after `unclaimedMs` (word 0 is IDLE again, nothing was touched: the caller does the work);
 * 'lost' when it failed, or was claimed and not finished `claimedMs` later (the worker may still write into
 * the shared memory, so the caller must not read it again). A worker descheduled on a loaded machine may lag;
 * one that never answers must not hang the caller.
 */
export function awaitWorkerTask(control: Int32Array, unclaimedMs: number, claimedMs = 60_000): 'done' | 'taken-back' | 'lost' {
  const { TASK, RUNNING, DONE, IDLE } = TASK_STATE;
  const busyUntil = (deadline: number) => {
    let state = Atomics.load(control, 0);
    for (; (state === TASK || state === RUNNING) && performance.now() < deadline; state = Atomics.load(control, 0)) Atomics.wait(control, 0, state, 50);
    return state;
  };
  let state = busyUntil(performance.now() + unclaimedMs);
  if (state === TASK && Atomics.compareExchange(control, 0, TASK, IDLE) === TASK) return 'taken-back';
  if (state === TASK || state === RUNNING) state = busyUntil(performance.now() + claimedMs);
  return state === DONE ? 'done' : 'lost';
}
