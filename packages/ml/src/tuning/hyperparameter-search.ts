import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { OitraderError } from '@oitrader/core';
import type { GbdtParams } from '../gbdt/gbdt.ts';
import { seededRandom } from '../gbdt/matrix.ts';
import type { GrowPolicy } from '../gbdt/grow.ts';
import { evaluateWalkForward, gbdtModel, type EvalData } from '../evaluation/walk-forward-eval.ts';
import type { Fold } from '../validation/walk-forward.ts';

export interface SearchOptions {
  policy: GrowPolicy;
  /** Configurations sampled at the first rung. */
  trials: number;
  /** Trees at the first rung; each later rung multiplies by `eta`. */
  minTrees: number;
  /** Keep the best 1/eta of each rung. */
  eta: number;
  rungs: number;
  seed: number;
  /** JSONL file with one line per evaluation; existing lines are reused (resume). */
  logFile?: string;
}

export interface TrialRecord {
  policy: GrowPolicy;
  trial: number;
  rung: number;
  trees: number;
  params: Partial<GbdtParams>;
  /** Walk-forward out-of-sample log-loss (the objective). */
  logLoss: number;
  accuracy: number;
  seconds: number;
}

export interface SearchResult {
  best: TrialRecord;
  /** Every evaluation, in order (needed for the Deflated Sharpe Ratio's number of trials). */
  records: TrialRecord[];
  /** Evaluations reused from the log instead of recomputed. */
  resumed: number;
}

const logUniform = (random: () => number, lo: number, hi: number) => Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo)));
const round = (v: number, digits = 4) => Number(v.toPrecision(digits));

/** One configuration from the policy's search space (seeded). */
function sampleParams(policy: GrowPolicy, random: () => number): Partial<GbdtParams> {
  const common = {
    learningRate: round(logUniform(random, 0.02, 0.3)),
    lambda: round(logUniform(random, 0.1, 10)),
    minChildWeight: round(logUniform(random, 0.5, 10)),
    subsample: round(0.6 + 0.4 * random()),
    colsampleBytree: round(0.5 + 0.5 * random()),
  };
  if (policy === 'leafwise') return { ...common, growPolicy: policy, maxDepth: 0, numLeaves: 7 + Math.floor(random() * 57), minDataInLeaf: 5 + Math.floor(random() * 40) };
  return { ...common, growPolicy: policy, maxDepth: 3 + Math.floor(random() * 5) };
}

const key = (r: Pick<TrialRecord, 'policy' | 'trial' | 'rung'>) => `${r.policy}|${r.trial}|${r.rung}`;

/**
 * Random search with successive halving: `trials` seeded configurations get
 * `minTrees` trees; the best 1/eta go on with eta× more trees, for `rungs`
 * rungs. The objective is walk-forward out-of-sample log-loss. Every
 * evaluation is appended to `logFile`; a rerun with the same settings reuses
 * logged evaluations, so an interrupted search resumes where it stopped.
 */
export function hyperparameterSearch(data: EvalData, folds: Fold[], options: SearchOptions): SearchResult {
  if (options.trials < 1 || options.rungs < 1 || options.eta < 2) throw new OitraderError('search needs trials >= 1, rungs >= 1, eta >= 2');
  const random = seededRandom(options.seed);
  const configs = Array.from({ length: options.trials }, () => sampleParams(options.policy, random));
  const logged = new Map<string, TrialRecord>();
  if (options.logFile && existsSync(options.logFile)) {
    for (const line of readFileSync(options.logFile, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const record = JSON.parse(line) as TrialRecord;
        logged.set(key(record), record);
      } catch {
        // A line cut off by an interruption: that evaluation simply runs again.
      }
    }
  }
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    // After a cut-off write, start on a fresh line so the next record stays readable.
    if (existsSync(options.logFile) && !readFileSync(options.logFile, 'utf8').endsWith('\n') && readFileSync(options.logFile, 'utf8').length > 0) appendFileSync(options.logFile, '\n');
  }
  const records: TrialRecord[] = [];
  let resumed = 0;
  let alive = configs.map((_, i) => i);
  for (let rung = 0; rung < options.rungs && alive.length > 0; rung++) {
    const trees = options.minTrees * options.eta ** rung;
    const scored: TrialRecord[] = [];
    for (const trial of alive) {
      const previous = logged.get(key({ policy: options.policy, trial, rung }));
      const params = { ...configs[trial], nEstimators: trees, seed: options.seed };
      if (previous && JSON.stringify(previous.params) === JSON.stringify(params)) {
        scored.push(previous);
        resumed++;
        continue;
      }
      const started = performance.now();
      const [evaluation] = evaluateWalkForward(data, folds, [gbdtModel(`trial ${trial}`, params)]);
      const record: TrialRecord = { policy: options.policy, trial, rung, trees, params, logLoss: evaluation.overall.logLoss, accuracy: evaluation.overall.accuracy, seconds: (performance.now() - started) / 1000 };
      if (options.logFile) appendFileSync(options.logFile, `${JSON.stringify(record)}\n`);
      scored.push(record);
    }
    records.push(...scored);
    const keep = Math.max(1, Math.floor(scored.length / options.eta));
    alive = [...scored].sort((a, b) => a.logLoss - b.logLoss || a.trial - b.trial).slice(0, keep).map((r) => r.trial);
  }
  const best = [...records].sort((a, b) => b.rung - a.rung || a.logLoss - b.logLoss || a.trial - b.trial)[0];
  return { best, records, resumed };
}
