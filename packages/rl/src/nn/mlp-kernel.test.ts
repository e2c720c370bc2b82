import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '@oitrader/ml';
import { CorridorEnv } from '../algo/corridor-env.ts';
import { trainA2c } from '../algo/a2c.ts';
import { trainPpo } from '../algo/ppo.ts';
import { Adam, Mlp } from './mlp.ts';
import { MlpKernel } from './mlp-kernel.ts';

/** Builds `make()` with the kernels on, then off (OITRADER_RL_KERNELS=0: the JavaScript loops). */
async function bothWays<T>(make: () => T | Promise<T>): Promise<[T, T]> {
  const saved = process.env.OITRADER_RL_KERNELS;
  try {
    delete process.env.OITRADER_RL_KERNELS;
    const withKernel = await make();
    process.env.OITRADER_RL_KERNELS = '0';
    const without = await make();
    return [withKernel, without];
  } finally {
    if (saved === undefined) delete process.env.OITRADER_RL_KERNELS;
    else process.env.OITRADER_RL_KERNELS = saved;
  }
}

function randomArray(n: number, seed: number, zeros = 0): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (random() < zeros ? 0 : (random() * 2 - 1) * 1.7));
}

describe('the RL networks\' WebAssembly kernels (mlp.wat)', () => {
  it('exist on this runtime (Node 20)', () => assert.ok(MlpKernel.create()));

  for (const sizes of [[24, 64, 64, 6], [24, 64, 64, 1], [7, 10, 5, 3]]) {
    it(`forward and backward give the JavaScript loops' float32 values bit for bit (${sizes.join('-')}, batches 1, 4, 17, 64)`, async () => {
      const [k, js] = await bothWays(() => new Mlp(sizes, 11, 0.5));
      for (const batch of [1, 4, 17, 64]) {
        // Some inputs exactly 0 (the forward pass skips them) and some −0.
        const input = randomArray(batch * sizes[0], batch, 0.1);
        input[3] = -0;
        const a = k.forward(input, batch).slice();
        const b = js.forward(input, batch).slice();
        assert.deepEqual(a, b, `forward, batch ${batch}`);
        const gradOut = randomArray(batch * sizes[sizes.length - 1], batch + 1);
        k.zeroGrad();
        js.zeroGrad();
        k.backward(gradOut, batch);
        js.backward(gradOut, batch);
        assert.deepEqual(k.grads, js.grads, `gradients, batch ${batch}`);
        // Accumulates onto the gradients already there, as the loops do.
        k.backward(gradOut, batch);
        js.backward(gradOut, batch);
        assert.deepEqual(k.grads, js.grads, `accumulated gradients, batch ${batch}`);
      }
    });
  }

  it('Adam steps give the same parameters and moments bit for bit (an odd size)', async () => {
    const [k, js] = await bothWays(() => new Adam(1001, 3e-4, 0.9, 0.999, 1e-5));
    const pk = randomArray(1001, 1);
    const pj = pk.slice();
    for (let t = 0; t < 5; t++) {
      const g = randomArray(1001, 10 + t, 0.05);
      k.step(pk, g);
      js.step(pj, g);
      assert.deepEqual(pk, pj, `step ${t + 1}`);
    }
  });

  it('PPO and A2C with the same seed train the same agent bytes with the kernels and without', async () => {
    const ppo = await bothWays(async () => (await trainPpo([new CorridorEnv(), new CorridorEnv()], { totalTimesteps: 2048, nSteps: 256, batchSize: 64, nEpochs: 3, seed: 5 })).net);
    assert.deepEqual(ppo[0].policy.params, ppo[1].policy.params);
    assert.deepEqual(ppo[0].value.params, ppo[1].value.params);
    const a2c = await bothWays(async () => (await trainA2c([new CorridorEnv(), new CorridorEnv(), new CorridorEnv(), new CorridorEnv()], { totalTimesteps: 4096, seed: 6 })).net);
    assert.deepEqual(a2c[0].policy.params, a2c[1].policy.params);
  });
});
