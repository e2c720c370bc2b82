import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awaitWorkerTask, TASK_STATE } from './worker-task.ts';

describe('the worker hand-off (forest kernel, RL value lane)', () => {
  const control = (state: number) => new Int32Array(new SharedArrayBuffer(16)).fill(state, 0, 1);

  it('a task no worker claimed is taken back (IDLE again, nothing touched); a claimed one is waited for, never taken back', () => {
    const unclaimed = control(TASK_STATE.TASK);
    assert.equal(awaitWorkerTask(unclaimed, 20), 'taken-back');
    assert.equal(unclaimed[0], TASK_STATE.IDLE);
    const claimed = control(TASK_STATE.RUNNING);
    assert.equal(awaitWorkerTask(claimed, 20, 20), 'lost', 'a claimed task still running after both deadlines');
    assert.equal(claimed[0], TASK_STATE.RUNNING, 'a claimed task must stay the worker\'s');
  });

  it('a finished task is done; a worker\'s own failure state is lost', () => {
    assert.equal(awaitWorkerTask(control(TASK_STATE.DONE), 20), 'done');
    assert.equal(awaitWorkerTask(control(4), 20), 'lost');
  });
});
