// The value lane's worker (value-lane.ts). Plain JavaScript that registers the TypeScript loader itself: a worker
// does not inherit loader hooks registered in code.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { Mlp } = await import('../nn/mlp.ts');
const { buffer, sizes, maxBatch, layout, states } = workerData;
const control = new Int32Array(buffer, 0, 16);
const vfCoef = new Float64Array(buffer, layout.vfCoef, 1);
const obs = new Float32Array(buffer, layout.obs, maxBatch * sizes[0]);
const returns = new Float64Array(buffer, layout.returns, maxBatch);
const diffs = new Float64Array(buffer, layout.diffs, maxBatch);
const net = new Mlp(sizes, 0);
const params = new Float32Array(buffer, layout.params, net.params.length);
const grads = new Float32Array(buffer, layout.grads, net.params.length);
const valueGrad = new Float32Array(maxBatch);
Atomics.store(control, 2, 1);

for (;;) {
  const state = Atomics.load(control, 0);
  if (state === states.CLOSED) break;
  if (state !== states.TASK) {
    Atomics.wait(control, 0, state);
    continue;
  }
  // Claimed before it is touched: the caller may take back a task nobody started.
  if (Atomics.compareExchange(control, 0, states.TASK, states.RUNNING) !== states.TASK) continue;
  try {
    const batch = control[1];
    net.params.set(params);
    net.zeroGrad();
    const v = net.forward(obs, batch);
    // The same float64 arithmetic as the caller's loop in on-policy.ts, row by row.
    for (let b = 0; b < batch; b++) {
      const diff = v[b] - returns[b];
      diffs[b] = diff;
      valueGrad[b] = (2 * vfCoef[0] * diff) / batch;
    }
    net.backward(valueGrad, batch);
    grads.set(net.grads);
    Atomics.store(control, 0, states.DONE);
  } catch {
    Atomics.store(control, 0, states.FAILED);
  }
  Atomics.notify(control, 0);
}
