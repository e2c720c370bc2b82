import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { BacktestOptions } from '@oitrader/backtest';
import { OitraderError, type Frame } from '@oitrader/core';
import { jobQueue, jobWorker, type BullmqRunnerOptions, type QueueConnection, type JobWorkerOptions, type TrialWorker } from '@oitrader/ml';
import type { ResearchGrid } from './research-grid.ts';
import { readFrameFile, writeFrameFile } from './research-frame-file.ts';
import { researchData, ResearchStoppedError, runResearchConfig, type ConfigResult, type ResearchConfig, type ResearchData } from './run-research.ts';

/** The BullMQ queue research configurations go through (under the configured key prefix). */
export const RESEARCH_QUEUE = 'research-configs';

/** One trained configuration of the grid (every hurdle of it): what a runner evaluates. */
export interface ResearchTask {
  frame: Frame;
  base: Omit<ResearchConfig, 'hurdle'>;
}

/** What the grid needs besides the data: the same for every task. */
export interface ResearchSettings {
  hurdles: readonly number[];
  grid: Pick<ResearchGrid, 'cpcv' | 'model'>;
  execution: BacktestOptions;
}

export interface ResearchRunner {
  /** Every task's results, in task order; `onDone` hears each task as it finishes (in any order). */
  runAll(tasks: ResearchTask[], onDone: (index: number, results: ConfigResult[]) => void, signal?: AbortSignal): Promise<ConfigResult[][]>;
  close(): Promise<void>;
}

/** This process, one configuration after another (features computed once per frame for all its ablations). */
export function inProcessResearchRunner(settings: ResearchSettings): ResearchRunner {
  return {
    async runAll(tasks, onDone, signal) {
      const out: ConfigResult[][] = [];
      let data: ResearchData | undefined;
      for (const [index, task] of tasks.entries()) {
        if (data?.frame !== task.frame) data = researchData(task.frame);
        out.push(await runResearchConfig(data, task.base, settings.hurdles, settings.grid, settings.execution, signal));
        onDone(index, out[index]);
      }
      return out;
    },
    close: async () => undefined,
  };
}

/** A ConfigResult as JSON carries it (daily returns as [day, return] pairs). */
type WireResult = Omit<ConfigResult, 'paths'> & { paths: Array<Omit<ConfigResult['paths'][number], 'daily'> & { daily: Array<[number, number]> }> };

/** The data of one research job: the frame file on the shared disk and what to do with it. Never rows. */
export interface ResearchJobData extends ResearchSettings {
  framePath: string;
  frameDigest: string;
  base: Omit<ResearchConfig, 'hurdle'>;
}

const toWire = (results: ConfigResult[]): WireResult[] => results.map((r) => ({ ...r, paths: r.paths.map((p) => ({ ...p, daily: [...p.daily] })) }));
const fromWire = (results: WireResult[]): ConfigResult[] => results.map((r) => ({ ...r, paths: r.paths.map((p) => ({ ...p, daily: new Map(p.daily) })) }));

/** One job per (frame content, configuration, settings): a rerun finds the finished configurations again. */
export function researchJobId(data: ResearchJobData): string {
  const { framePath: _path, ...named } = data;
  return `research-${createHash('sha256').update(JSON.stringify(named)).digest('hex').slice(0, 24)}`;
}

/**
 * The grid on `oitrader worker` processes through BullMQ: each frame is written once to
 * `frameDir` on the shared disk (workers must see it at the same path), each configuration
 * is a job, all submitted at once so every connected worker takes one. Results are
 * deterministic (seeded fits), so a job retried after its worker died answers the same.
 * Stopping (SIGINT/--for) stops waiting; queued jobs stay and a rerun reuses what finished.
 */
export function queuedResearchRunner(connection: QueueConnection, frameDir: string, settings: ResearchSettings, options: BullmqRunnerOptions = {}): ResearchRunner {
  const queue = jobQueue<ResearchJobData, WireResult[]>(connection, RESEARCH_QUEUE, options);
  const attempts = options.attempts ?? 3;
  const files = new Map<Frame, { path: string; digest: string }>();
  return {
    async runAll(tasks, onDone, signal) {
      const jobs = tasks.map(async (task, index) => {
        let file = files.get(task.frame);
        if (!file) files.set(task.frame, (file = writeFrameFile(resolve(frameDir), task.frame)));
        const data: ResearchJobData = { framePath: file.path, frameDigest: file.digest, base: task.base, ...settings };
        const wire = await queue.submit(researchJobId(data), 'research', data, (reason) =>
          new OitraderError(`research configuration ${task.base.symbol} ${task.base.timeframe} h${task.base.horizon} ${task.base.ablation} failed on a worker after ${attempts} tries: ${reason}`, {
            hint: "read the worker's output; configurations already finished are kept in Redis for a week and reused on the next run",
          }),
        );
        const results = fromWire(wire);
        onDone(index, results);
        return results;
      });
      const stopped = new Promise<never>((_, reject) => {
        if (signal?.aborted) reject(new ResearchStoppedError());
        signal?.addEventListener('abort', () => reject(new ResearchStoppedError()), { once: true });
      });
      // Every job is awaited (no unhandled rejection) even when stopping ends the wait first.
      const all = Promise.all(jobs);
      all.catch(() => undefined);
      return Promise.race([all, stopped]);
    },
    close: () => queue.close(),
  };
}

/** The research side of `oitrader worker`: one configuration with the same function as the in-process run. */
export function startResearchWorker(connection: QueueConnection, options: JobWorkerOptions): TrialWorker {
  // The features of the last frame, kept while the next jobs name the same content (one frame's ablations).
  let cached: { digest: string; data: ResearchData } | undefined;
  return jobWorker<ResearchJobData, WireResult[]>(
    connection,
    RESEARCH_QUEUE,
    async (job) => {
      const { framePath, frameDigest, base, hurdles, grid, execution } = job.data;
      if (cached?.digest !== frameDigest) {
        options.onEvent?.(`loading ${framePath}`);
        cached = { digest: frameDigest, data: researchData(readFrameFile(framePath)) };
      }
      const results = await runResearchConfig(cached.data, base, hurdles, grid, execution);
      options.onEvent?.(`research ${base.symbol} ${base.timeframe} h${base.horizon} ${base.ablation}: ${results.length} hurdles in ${(results.reduce((s, r) => s + r.seconds, 0)).toFixed(1)} s`);
      return toWire(results);
    },
    options,
  );
}
