/**
 * bench/gbdt: our three growth policies side by side with XGBoost (hist,
 * nthread=2) and scikit-learn HistGradientBoostingClassifier on the same
 * train/test split, as ratios to XGBoost. Two datasets: the real SOLUSDT 5m
 * feature set with open interest (bench/real-solusdt.ts, cached under
 * bench/.cache; time-ordered 75/25 split), and a synthetic 50,000 × 140
 * three-class set. Ratios are to XGBoost depth-wise; our leaf-wise trees are
 * also compared with XGBoost's lossguide trees (63 leaves, no depth limit).
 * Every predict figure is the best of 3 runs, ours and the references'. Goal (issue 17): fit time <= 1.5x XGBoost's with test
 * log-loss within 1% of the engine's before the change; predict rows/s
 * beside XGBoost's. Fit time is printed as wall seconds (the goal) and CPU
 * seconds of all threads (steadier when other jobs share the machine; the
 * load average is printed with each set).
 *   npm run bench:gbdt   (installs nothing; needs Debian's python3-xgboost and python3-sklearn)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GradientBoostedTrees, matrix, seededRandom, SYSTEM_PYTHON, xgboostUnavailable, type Matrix } from '../packages/ml/src/index.ts';
import { realSolusdt } from './real-solusdt.ts';
import { bestSeconds } from './timing.ts';

interface Split {
  name: string;
  train: Matrix;
  yTrain: Float64Array;
  test: Matrix;
  yTest: Float64Array;
}

const ROUNDS = 100;
const DEPTH = 6;
const LR = 0.1;

async function realFeatures(): Promise<Split> {
  const set = await realSolusdt();
  const cut = Math.floor(set.x.rows * 0.75);
  const cols = set.x.cols;
  return {
    name: set.name,
    train: matrix(set.x.data.subarray(0, cut * cols), cut, cols),
    yTrain: set.y.subarray(0, cut),
    test: matrix(set.x.data.subarray(cut * cols), set.x.rows - cut, cols),
    yTest: set.y.subarray(cut),
  };
}

/** Synthetic (not market data): 140 features, 3 classes from a noisy nonlinear rule of 10 of them. */
function synthetic(rows = 50_000, cols = 140): Split {
  const random = seededRandom(123);
  const data = new Float32Array(rows * cols);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) data[i * cols + j] = random() * 2 - 1;
    const r = data.subarray(i * cols, i * cols + 10);
    const score = r[0] * r[1] + Math.sin(3 * r[2]) + r[3] - r[4] * r[5] + 0.5 * (r[6] > 0 ? r[7] : r[8]) + 0.3 * r[9] + (random() - 0.5) * 1.2;
    y[i] = score > 0.6 ? 2 : score < -0.6 ? 0 : 1;
  }
  const cut = Math.floor(rows * 0.8);
  return {
    name: `synthetic: ${rows.toLocaleString('en-US')} × ${cols}, 3 classes`,
    train: matrix(data.subarray(0, cut * cols), cut, cols),
    yTrain: y.subarray(0, cut),
    test: matrix(data.subarray(cut * cols), rows - cut, cols),
    yTest: y.subarray(cut),
  };
}

function metrics(proba: Float64Array, y: Float64Array, k: number) {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < y.length; i++) {
    loss -= Math.log(Math.max(proba[i * k + y[i]], 1e-15));
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[i * k + c] > proba[i * k + best]) best = c;
    if (best === y[i]) correct++;
  }
  return { logloss: loss / y.length, accuracy: correct / y.length };
}

function reference(split: Split): Array<{ library: string; fit_s: number; fit_cpu_s: number; predict_rows_s: number; logloss: number; accuracy: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'oitrader-bench-'));
  const write = (name: string, a: Float32Array | Float64Array) => {
    writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return join(dir, name);
  };
  const script = new URL('../packages/ml/scripts/gbdt_reference.py', import.meta.url).pathname;
  const run = spawnSync(SYSTEM_PYTHON, [script, write('xtr', split.train.data), write('ytr', Float64Array.from(split.yTrain)), write('xte', split.test.data), write('yte', Float64Array.from(split.yTest)), String(split.train.cols), String(ROUNDS), String(DEPTH), String(LR)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.trim().split('\n').map((line) => JSON.parse(line));
}

const unavailable = xgboostUnavailable();
console.log(`bench/gbdt: ${ROUNDS} rounds, depth ${DEPTH} (leaf-wise: 63 leaves), learning rate ${LR}, node ${process.version}`);
for (const split of [await realFeatures(), synthetic()]) {
  console.log(`\n${split.name}; train ${split.train.rows}, test ${split.test.rows}; load average ${loadavg()[0].toFixed(1)} on 2 cores`);
  const refs = unavailable ? [] : reference(split);
  const [xgb, lossguide] = refs;
  const ratio = (ours: number, ref: number | undefined) => (ref ? ` (${(ours / ref).toFixed(2)}x)` : '');
  const row = (library: string, fit: number, cpu: number, rowsPerSecond: number, m: { logloss: number; accuracy: number }, vs = xgb) =>
    console.log(
      `  ${library.padEnd(40)} fit ${fit.toFixed(2).padStart(6)} s${ratio(fit, vs?.fit_s)}  cpu ${cpu.toFixed(2).padStart(6)} s${ratio(cpu, vs?.fit_cpu_s)}   predict ${Math.round(rowsPerSecond).toLocaleString('en-US').padStart(10)} rows/s${ratio(rowsPerSecond, vs?.predict_rows_s)}   log-loss ${m.logloss.toFixed(4)}${vs ? ` (${(((m.logloss - vs.logloss) / vs.logloss) * 100).toFixed(1)}%)` : ''}   accuracy ${(m.accuracy * 100).toFixed(1)}%`,
    );
  for (const ref of refs) row(ref.library, ref.fit_s, ref.fit_cpu_s, ref.predict_rows_s, ref);
  for (const growPolicy of ['depthwise', 'leafwise', 'oblivious'] as const) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const model = new GradientBoostedTrees({ objective: 'multiclass', growPolicy, nEstimators: ROUNDS, maxDepth: growPolicy === 'leafwise' ? 0 : DEPTH, numLeaves: 63, learningRate: LR }).fit(split.train, split.yTrain);
    const fit = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    let proba: Float64Array = new Float64Array(0);
    const predict = bestSeconds(3, () => (proba = model.predictProba(split.test)));
    const m = metrics(proba, split.yTest, model.numClass);
    row(`oitrader ${growPolicy}`, fit, (used.user + used.system) / 1e6, split.test.rows / predict, m);
    // Leaf-wise trees (63 leaves, no depth limit) are deeper than depth-6 ones: also compared like for like.
    if (growPolicy === 'leafwise' && lossguide) row('  … vs xgboost lossguide 63 leaves', fit, (used.user + used.system) / 1e6, split.test.rows / predict, m, lossguide);
  }
  if (unavailable) console.log(`  (no reference: ${unavailable})`);
}
