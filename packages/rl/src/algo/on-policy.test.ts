import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trainA2c } from './a2c.ts';
import type { ActorCritic } from './actor-critic.ts';
import { CorridorEnv } from './corridor-env.ts';
import { trainPpo } from './ppo.ts';

function greedyEpisode(net: ActorCritic): { steps: number; reachedGoal: boolean; maskedChosen: boolean } {
  const env = new CorridorEnv();
  let obs = env.reset();
  for (let steps = 1; steps <= env.maxSteps; steps++) {
    const probs = net.probabilities(obs, env.actionMask());
    if (probs[3] !== 0) return { steps, reachedGoal: false, maskedChosen: true };
    const r = env.step(net.act(obs, env.actionMask()));
    if (r.terminated) return { steps, reachedGoal: true, maskedChosen: false };
    obs = r.obs;
  }
  return { steps: env.maxSteps, reachedGoal: false, maskedChosen: false };
}

describe('PPO and A2C on a control task with a known optimum', () => {
  it('PPO learns the shortest path down the corridor (7 steps) and never picks the masked action', async () => {
    const envs = Array.from({ length: 4 }, () => new CorridorEnv());
    const { net, logs } = await trainPpo(envs, { totalTimesteps: 16_384, nSteps: 256, batchSize: 64, nEpochs: 4, seed: 1, entCoef: 0.01 });
    const episode = greedyEpisode(net);
    assert.equal(episode.maskedChosen, false, 'the masked action got a non-zero probability');
    assert.ok(episode.reachedGoal && episode.steps === 7, `greedy PPO policy took ${episode.steps} steps (goal reached: ${episode.reachedGoal}); optimum is 7`);
    const last = logs[logs.length - 1];
    assert.ok(last.meanEpisodeReturn > 0.8, `last mean episode return ${last.meanEpisodeReturn}, optimum 0.94`);
    assert.equal(last.actionHistogram[3], 0, 'masked action was sampled during training');
    for (const key of ['entropy', 'approxKl', 'clipFraction', 'explainedVariance'] as const) assert.ok(Number.isFinite(last[key]), `${key} not logged`);
  });

  it('A2C learns the shortest path down the corridor', async () => {
    const envs = Array.from({ length: 8 }, () => new CorridorEnv());
    const { net } = await trainA2c(envs, { totalTimesteps: 40_000, seed: 2, entCoef: 0.01 });
    const episode = greedyEpisode(net);
    assert.ok(episode.reachedGoal && episode.steps === 7, `greedy A2C policy took ${episode.steps} steps (goal reached: ${episode.reachedGoal}); optimum is 7`);
  });

  it('training is deterministic: the same seed gives the same weights', async () => {
    const run = async () => (await trainPpo([new CorridorEnv(), new CorridorEnv()], { totalTimesteps: 1024, nSteps: 128, nEpochs: 2, seed: 5 })).net.policy.params;
    assert.deepEqual(await run(), await run());
  });

  it('the value network on a second thread trains the same agent to the byte, logs included (PPO and A2C)', async () => {
    const run = async (train: typeof trainPpo, valueThread: boolean) => {
      const result = await train([new CorridorEnv(), new CorridorEnv()], { totalTimesteps: 2048, nSteps: 256, batchSize: 64, nEpochs: 3, seed: 9 }, { valueThread });
      assert.equal(result.valueThread, valueThread, valueThread ? 'the value lane did not run (its worker failed to start or was abandoned)' : 'a lane ran unasked');
      return { policy: Array.from(result.net.policy.params), value: Array.from(result.net.value.params), logs: result.logs.map(({ stepsPerSecond: _, ...log }) => log) };
    };
    for (const train of [trainPpo, trainA2c]) {
      const alone = await run(train, false);
      const twoThreads = await run(train, true);
      assert.deepEqual(twoThreads.value, alone.value, 'the value network differs with the second thread');
      assert.deepEqual(twoThreads.policy, alone.policy, 'the policy differs with the second thread');
      assert.deepEqual(twoThreads.logs, alone.logs, 'the update logs (value loss, gradient norm …) differ with the second thread');
    }
  });
});
