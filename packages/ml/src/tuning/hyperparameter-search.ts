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

/** One evaluation to run: a configuration at a rung's tree count (what a worker receives, beside its dataset). */
export interface TrialJob {
  policy: GrowPolicy;
  trial: number;
  rung: number;
  trees: number;
  /** Complete GBDT parameters, including nEstimators and seed. */
  params: Partial<GbdtParams>;
}

/**
 * Where a rung's evaluations run: in this process (the default) or on
 * workers (bullmqTrialRunner). Records come back in the order of `jobs`;
 * `onRecord` is called as each one finishes (any order) so the search can log
 * it at once and a crash loses no finished work.
 */
export interface TrialRunner {
  evaluate(jobs: TrialJob[], onRecord?: (record: TrialRecord) => void): Promise<TrialRecord[]>;
}

/** Walk-forward out-of-sample score of one job: the same function in-process and on a worker. */
export function evaluateTrial(data: EvalData, folds: Fold[], job: TrialJob): TrialRecord {
  const started = performance.now();
  const [evaluation] = evaluateWalkForward(data, folds, [gbdtModel(`trial ${job.trial}`, job.params)]);
  return { policy: job.policy, trial: job.trial, rung: job.rung, trees: job.trees, params: job.params, logLoss: evaluation.overall.logLoss, accuracy: evaluation.overall.accuracy, seconds: (performance.now() - started) / 1000 };
}

/** The embedded default: evaluates the jobs one after another in this process. */
export function inProcessTrialRunner(data: EvalData, folds: Fold[]): TrialRunner {
  return {
    evaluate: async (jobs, onRecord) => evaluateJobs(data, folds, jobs, onRecord),
  };
}

function evaluateJobs(data: EvalData, folds: Fold[], jobs: TrialJob[], onRecord?: (record: TrialRecord) => void): TrialRecord[] {
  return jobs.map((job) => {
    const record = evaluateTrial(data, folds, job);
    onRecord?.(record);
    return record;
  });
}

/** The search's state between rungs; shared by the synchronous and the runner-driven loop so both decide alike. */
interface SearchState {
  options: SearchOptions;
  configs: Array<Partial<GbdtParams>>;
  logged: Map<string, TrialRecord>;
  records: TrialRecord[];
  resumed: number;
  alive: number[];
  rung: number;
}

function startSearch(options: SearchOptions): SearchState {
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
  return { options, configs, logged, records: [], resumed: 0, alive: configs.map((_, i) => i), rung: 0 };
}

/** The next rung's work: evaluations found in the log (reused) and jobs still to run; undefined when the search is over. */
function planRung(state: SearchState): { slots: Array<TrialRecord | TrialJob>; jobs: TrialJob[] } | undefined {
  const { options } = state;
  if (state.rung >= options.rungs || state.alive.length === 0) return undefined;
  const trees = options.minTrees * options.eta ** state.rung;
  const slots: Array<TrialRecord | TrialJob> = [];
  const jobs: TrialJob[] = [];
  for (const trial of state.alive) {
    const previous = state.logged.get(key({ policy: options.policy, trial, rung: state.rung }));
    const params = { ...state.configs[trial], nEstimators: trees, seed: options.seed };
    if (previous && JSON.stringify(previous.params) === JSON.stringify(params)) {
      slots.push(previous);
      state.resumed++;
      continue;
    }
    const job: TrialJob = { policy: options.policy, trial, rung: state.rung, trees, params };
    slots.push(job);
    jobs.push(job);
  }
  return { slots, jobs };
}

function finishRung(state: SearchState, slots: Array<TrialRecord | TrialJob>, jobs: TrialJob[], evaluated: TrialRecord[]): void {
  if (evaluated.length !== jobs.length) throw new OitraderError(`the trial runner returned ${evaluated.length} records for ${jobs.length} jobs`);
  const byJob = new Map(jobs.map((job, i) => [job, evaluated[i]]));
  const scored = slots.map((slot) => byJob.get(slot as TrialJob) ?? (slot as TrialRecord));
  state.records.push(...scored);
  const keep = Math.max(1, Math.floor(scored.length / state.options.eta));
  state.alive = [...scored].sort((a, b) => a.logLoss - b.logLoss || a.trial - b.trial).slice(0, keep).map((r) => r.trial);
  state.rung++;
}

function endSearch(state: SearchState): SearchResult {
  const best = [...state.records].sort((a, b) => b.rung - a.rung || a.logLoss - b.logLoss || a.trial - b.trial)[0];
  return { best, records: state.records, resumed: state.resumed };
}

const logTo = (logFile: string | undefined) => (record: TrialRecord) => {
  if (logFile) appendFileSync(logFile, `${JSON.stringify(record)}\n`);
};

/**
 * Random search with successive halving: `trials` seeded configurations get
 * `minTrees` trees; the best 1/eta go on with eta× more trees, for `rungs`
 * rungs. The objective is walk-forward out-of-sample log-loss. Every
 * evaluation is appended to `logFile`; a rerun with the same settings reuses
 * logged evaluations, so an interrupted search resumes where it stopped.
 * Evaluates in this process; searchWithRunner runs the same search on any TrialRunner.
 */
export function hyperparameterSearch(data: EvalData, folds: Fold[], options: SearchOptions): SearchResult {
  const state = startSearch(options);
  for (let plan = planRung(state); plan; plan = planRung(state)) {
    finishRung(state, plan.slots, plan.jobs, evaluateJobs(data, folds, plan.jobs, logTo(options.logFile)));
  }
  return endSearch(state);
}

/**
 * hyperparameterSearch with each rung's evaluations sent to `runner`
 * (default: in this process). Same seeds → same jobs → same records and best
 * trial whichever runner evaluates them.
 */
export async function searchWithRunner(data: EvalData, folds: Fold[], options: SearchOptions, runner: TrialRunner = inProcessTrialRunner(data, folds)): Promise<SearchResult> {
  const state = startSearch(options);
  for (let plan = planRung(state); plan; plan = planRung(state)) {
    finishRung(state, plan.slots, plan.jobs, await runner.evaluate(plan.jobs, logTo(options.logFile)));
  }
  return endSearch(state);
}
