/**
 * bench/rl: environment steps/s of FuturesTradingEnv alone and of PPO
 * training end to end (collection + updates) at the guide's settings
 * (n_steps 2048, batch 64, 10 epochs, lr 3e-4), against the guide's 512
 * steps/s; and the PPO update alone (same network, batch, epochs) in our
 * Float32Array MLP, in TensorFlow.js (WASM backend) and in PyTorch
 * (python3-torch, if installed) as measured ratios.
 *   npm run bench:rl
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { tensorflow } from '../packages/ml/src/lstm/tf.ts';
import { type OutOfFoldPredictions } from '../packages/ml/src/index.ts';
import { realSampleFrame } from '../packages/backtest/src/testing/real-sample.ts';
import { alignOutOfSample, FuturesTradingEnv, marketColumns, OBSERVATION_SIZE, trainPpo, ACTION_COUNT, type Env, type StepResult } from '../packages/rl/src/index.ts';
import { bestSeconds, bestSecondsAsync } from './timing.ts';

const GUIDE_STEPS_PER_SECOND = 512;
const N = 2048;
const BATCH = 64;
const EPOCHS = 10;

// The real XRPUSDT week (2,016 5m bars with real funding); the ML signal is a flat 1/3 each
// (speed does not depend on it), marked out of sample.
const frame = realSampleFrame();
const third = new Float64Array(frame.length).fill(1 / 3);
const predictions: OutOfFoldPredictions = {
  model: 'ensemble',
  timeMs: frame.time,
  fold: new Int32Array(frame.length),
  pShort: third,
  pNeutral: third,
  pLong: third,
  folds: [{ fold: 0, trainStartMs: 0, trainEndMs: 0, knownUntilMs: frame.time[0] - 1, testStartMs: frame.time[0], testEndMs: frame.time[frame.length - 1] }],
};
const ml = alignOutOfSample(predictions, frame);
const market = marketColumns(frame);
const makeEnv = () => new FuturesTradingEnv(frame, ml, { startIndex: 300, episodeBars: 1024, market });

// 1. The env alone: seeded random valid actions.
const env = makeEnv();
let state = 7;
const random = () => ((state = (state * 16807) % 2147483647) / 2147483647);
const ENV_STEPS = 100_000;
const envSeconds = bestSeconds(3, () => {
  env.reset(1);
  for (let k = 0; k < ENV_STEPS; k++) {
    const mask = env.actionMask();
    let a = Math.floor(random() * ACTION_COUNT);
    while (!mask[a]) a = (a + 1) % ACTION_COUNT;
    const r = env.step(a);
    if (r.terminated || r.truncated) env.reset();
  }
});
const envRate = ENV_STEPS / envSeconds;

// 2. PPO end to end at the guide's settings: 4 envs × 2048 steps per update, 2 updates.
const ppoSteps = 4 * N * 2;
// On one thread, then with the value network's half of each minibatch on the second core (value-lane.ts).
const ppo = (valueThread: boolean) => bestSecondsAsync(1, () => trainPpo(Array.from({ length: 4 }, makeEnv), { totalTimesteps: ppoSteps, nSteps: N, batchSize: BATCH, nEpochs: EPOCHS, seed: 1 }, { valueThread }));
const ppoRate = ppoSteps / (await ppo(false));
const ppoRateTwoThreads = ppoSteps / (await ppo(true));

// 3. The update alone: the same loop on a free environment, minus its collection time (epochs = 0).
class FreeEnv implements Env {
  readonly observationSize = OBSERVATION_SIZE;
  readonly actionCount = ACTION_COUNT;
  readonly #obs = Float32Array.from({ length: OBSERVATION_SIZE }, (_, j) => Math.sin(j));
  readonly #mask = new Uint8Array(ACTION_COUNT).fill(1);
  reset(): Float32Array {
    return this.#obs;
  }
  actionMask(): Uint8Array {
    return this.#mask;
  }
  step(a: number): StepResult {
    return { obs: this.#obs, reward: a === 1 ? 1 : 0, terminated: false, truncated: false, info: {} };
  }
}
const free = (epochs: number, valueThread = false) => bestSecondsAsync(3, () => trainPpo([new FreeEnv()], { totalTimesteps: N, nSteps: N, batchSize: BATCH, nEpochs: epochs, seed: 1, entCoef: 0.01 }, { valueThread }));
const ownUpdate = Math.max(1e-6, (await free(EPOCHS)) - (await free(0)));
const ownUpdateTwoThreads = Math.max(1e-6, (await free(EPOCHS, true)) - (await free(0, true)));

async function tfjsUpdateSeconds(): Promise<number> {
  await tensorflow();
  const dense = (units: number, activation?: 'tanh') => tf.layers.dense({ units, activation, kernelInitializer: tf.initializers.glorotNormal({ seed: units }) });
  const pi = tf.sequential({ layers: [tf.layers.dense({ units: 64, activation: 'tanh', inputShape: [OBSERVATION_SIZE] }), dense(64, 'tanh'), dense(ACTION_COUNT)] });
  const vf = tf.sequential({ layers: [tf.layers.dense({ units: 64, activation: 'tanh', inputShape: [OBSERVATION_SIZE] }), dense(64, 'tanh'), dense(1)] });
  const optimizer = tf.train.adam(3e-4, 0.9, 0.999, 1e-5);
  const obs = tf.randomNormal([N, OBSERVATION_SIZE], 0, 1, 'float32', 1);
  const actions = tf.randomUniform([N], 0, ACTION_COUNT, 'int32', 2);
  const oldLogp = tf.fill([N], -1.79);
  const adv = tf.randomNormal([N], 0, 1, 'float32', 3);
  const ret = tf.randomNormal([N], 0, 1, 'float32', 4);
  const update = () => {
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      const perm = tf.tensor1d(Int32Array.from(tf.util.createShuffledIndices(N)), 'int32');
      for (let s = 0; s < N; s += BATCH) {
        tf.tidy(() => {
          const idx = perm.slice(s, BATCH);
          const o = tf.gather(obs, idx);
          const a = tf.gather(actions, idx);
          const advRaw = tf.gather(adv, idx);
          const { mean, variance } = tf.moments(advRaw);
          const advN = advRaw.sub(mean).div(variance.sqrt().add(1e-8));
          const { grads } = tf.variableGrads(() => {
            const logits = pi.apply(o) as tf.Tensor2D;
            const logProbs = tf.logSoftmax(logits);
            const logp = tf.sum(logProbs.mul(tf.oneHot(a, ACTION_COUNT)), 1);
            const ratio = tf.exp(logp.sub(tf.gather(oldLogp, idx)));
            const pl = tf.neg(tf.mean(tf.minimum(ratio.mul(advN), tf.clipByValue(ratio, 0.8, 1.2).mul(advN))));
            const entropy = tf.mean(tf.neg(tf.sum(tf.exp(logProbs).mul(logProbs), 1)));
            const vl = tf.mean(tf.square((vf.apply(o) as tf.Tensor2D).squeeze([1]).sub(tf.gather(ret, idx))));
            return pl.add(vl.mul(0.5)).sub(entropy.mul(0.01)) as tf.Scalar;
          });
          const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
          const scale = tf.minimum(1, tf.div(0.5, norm.add(1e-6)));
          optimizer.applyGradients(Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.mul(scale)])));
        });
      }
      perm.dispose();
    }
  };
  update(); // warm-up
  return bestSeconds(2, update);
}
const tfjsUpdate = await tfjsUpdateSeconds();

function torchUpdateSeconds(): { seconds: number; version: string; threads: string } | undefined {
  // Debian's python3-torch lives in the system Python, which a pyenv python3 on PATH does not see.
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      const out = execFileSync(python, [fileURLToPath(new URL('./rl-ppo-update.py', import.meta.url)), String(BATCH)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split(' ');
      return { seconds: Number(out[0]), version: out[1], threads: out[2] };
    } catch {
      // try the next interpreter
    }
  }
  return undefined;
}
const torch = torchUpdateSeconds();

const f = (x: number) => Math.round(x).toLocaleString('en-US').padStart(9);
console.log(`bench/rl: node ${process.version}, load average ${loadavg()[0].toFixed(1)} on this machine (figures scale with it; the ratios are measured side by side), observation ${OBSERVATION_SIZE} values, ${ACTION_COUNT} actions, MLP 64-64 (policy and value)`);
console.log(`FuturesTradingEnv alone (real XRPUSDT 5m week, random valid actions): ${f(envRate)} env-steps/s`);
console.log(`PPO training end to end (4 envs × n_steps ${N}, batch ${BATCH}, ${EPOCHS} epochs): ${f(ppoRate)} env-steps/s = ${(ppoRate / GUIDE_STEPS_PER_SECOND).toFixed(1)}× the guide's ${GUIDE_STEPS_PER_SECOND} steps/s`);
console.log(`  with the value network on the second core: ${f(ppoRateTwoThreads)} env-steps/s (${(ppoRateTwoThreads / ppoRate).toFixed(2)}× one thread; rl train's default for 50,000+ steps)`);
console.log(`PPO update alone (${N} samples, batch ${BATCH}, ${EPOCHS} epochs = ${(N / BATCH) * EPOCHS} minibatches):`);
console.log(`  ours (Float32Array MLP + Adam): ${(ownUpdate * 1000).toFixed(0).padStart(7)} ms`);
console.log(`  ours, value net on core 2:      ${(ownUpdateTwoThreads * 1000).toFixed(0).padStart(7)} ms${torch ? `  (${(ownUpdateTwoThreads / torch.seconds).toFixed(2)}× PyTorch's time)` : ''}`);
console.log(`  tfjs WASM backend:              ${(tfjsUpdate * 1000).toFixed(0).padStart(7)} ms  (ours is ${(tfjsUpdate / ownUpdate).toFixed(1)}× faster)`);
if (torch) console.log(`  PyTorch ${torch.version} (${torch.threads} threads):   ${(torch.seconds * 1000).toFixed(0).padStart(7)} ms  (ours takes ${(ownUpdate / torch.seconds).toFixed(2)}× PyTorch's time; goal ≤ 1.5×)`);
else console.log('  PyTorch: not installed (apt-get install -y python3-torch)');
