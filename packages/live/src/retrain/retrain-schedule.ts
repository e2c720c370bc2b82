import { Cron } from 'croner';
import { OitraderError, silentLogger, type Logger } from '@oitrader/core';

export interface RetrainScheduleOptions {
  /** models.retrain_at: 'HH:MM' UTC, the model retrain (challenger vs champion) every day. */
  retrainAt: string;
  /** models.rl_retrain_cron: a cron pattern in UTC for the RL agent's retrain (default weekly); undefined: no agent job. */
  rlRetrainCron?: string;
  retrainModel: () => Promise<unknown>;
  retrainAgent?: () => Promise<unknown>;
  log?: Logger;
}

export type RetrainJob = 'model' | 'agent';

/** croner's pattern for a daily 'HH:MM' (UTC). */
export function dailyPattern(hhmm: string): string {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new OitraderError(`models.retrain_at must be HH:MM (UTC), got "${hhmm}"`, { hint: 'e.g. retrain_at: "00:30"', exitCode: 2 });
  return `${Number(m[2])} ${Number(m[1])} * * *`;
}

/**
 * The retrain clock of a long-running `oitrader retrain --schedule`: the model
 * retrain every day at models.retrain_at and the RL agent's on
 * models.rl_retrain_cron (Sunday 01:00 UTC by default), both in UTC. The jobs
 * share one queue, so they never run at once (each takes both cores) and an
 * agent retrain due while the model retrain runs trains on the champion that
 * retrain left. A failed run is logged and the schedule goes on.
 */
export class RetrainSchedule {
  readonly #jobs = new Map<RetrainJob, Cron>();
  readonly #log: Logger;
  #queue: Promise<void> = Promise.resolve();
  /** Jobs started, in order (for the log and the tests). */
  readonly started: Array<{ job: RetrainJob; atMs: number }> = [];

  constructor(options: RetrainScheduleOptions) {
    this.#log = options.log ?? silentLogger;
    const model = new Cron(dailyPattern(options.retrainAt), { timezone: 'UTC', paused: true }, () => this.#enqueue('model', options.retrainModel));
    this.#jobs.set('model', model);
    if (options.rlRetrainCron !== undefined) {
      const retrainAgent = options.retrainAgent;
      if (!retrainAgent) {
        model.stop();
        throw new OitraderError('an RL retrain schedule needs the retrain function');
      }
      let agent: Cron;
      try {
        agent = new Cron(options.rlRetrainCron, { timezone: 'UTC', paused: true }, () => this.#enqueue('agent', retrainAgent));
      } catch (error) {
        model.stop();
        throw new OitraderError(`models.rl_retrain_cron "${options.rlRetrainCron}" is not a cron pattern: ${(error as Error).message}`, {
          hint: 'minute hour day-of-month month day-of-week, in UTC; e.g. "0 1 * * 0" (Sundays 01:00)',
          exitCode: 2,
        });
      }
      this.#jobs.set('agent', agent);
    }
  }

  /** Starts the clocks (the constructor leaves them paused, so a schedule can be inspected without firing). */
  start(): this {
    for (const job of this.#jobs.values()) job.resume();
    return this;
  }

  /** When `job` runs next after `from` (default now); undefined when it is not scheduled. */
  nextRun(job: RetrainJob, from?: Date): Date | undefined {
    return this.#jobs.get(job)?.nextRun(from) ?? undefined;
  }

  /** Runs `job` now, through the same queue as the clock (tests, and a first run at start if wanted). */
  async runNow(job: RetrainJob): Promise<void> {
    const cron = this.#jobs.get(job);
    if (!cron) throw new OitraderError(`no ${job} retrain is scheduled`);
    await cron.trigger();
    await this.idle();
  }

  /** Resolves when no retrain is running or queued. */
  async idle(): Promise<void> {
    let last: Promise<void>;
    do {
      last = this.#queue;
      await last;
    } while (last !== this.#queue);
  }

  async stop(): Promise<void> {
    for (const job of this.#jobs.values()) job.stop();
    await this.idle();
  }

  #enqueue(job: RetrainJob, work: () => Promise<unknown>): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      this.started.push({ job, atMs: Date.now() });
      this.#log.info(`retrain: ${job} retrain starts`);
      try {
        await work();
        this.#log.info(`retrain: ${job} retrain done`);
      } catch (error) {
        this.#log.error(`retrain: ${job} retrain failed: ${(error as Error).message}`);
      }
    });
    return this.#queue;
  }
}
