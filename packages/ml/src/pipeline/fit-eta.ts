import type { ModelFitJob } from './model-fits.ts';

/**
 * The time left of a training run's fits, for the progress line. Fit time
 * grows with the training rows, at a rate per model learned from that
 * model's finished fits (expanding folds make later fits longer). The LSTM
 * trains beside the GBDTs (its own thread), so the run ends when the slower
 * of the two lanes does. Unknown (undefined) until every lane has a rate.
 */
export class FitEta {
  readonly #rows: (job: ModelFitJob) => number;
  readonly #left: ModelFitJob[];
  readonly #done = new Map<string, { kind: ModelFitJob['kind']; seconds: number; rows: number }>();

  constructor(jobs: ModelFitJob[], rows: (job: ModelFitJob) => number) {
    this.#left = [...jobs];
    this.#rows = rows;
  }

  /** Records a finished fit; returns the estimated seconds left (undefined: not yet known). */
  finished(job: ModelFitJob, seconds: number): number | undefined {
    this.#left.splice(this.#left.indexOf(job), 1);
    const seen = this.#done.get(job.name) ?? { kind: job.kind, seconds: 0, rows: 0 };
    this.#done.set(job.name, { kind: job.kind, seconds: seen.seconds + seconds, rows: seen.rows + this.#rows(job) });
    return this.secondsLeft();
  }

  secondsLeft(): number | undefined {
    const gbdtRates = [...this.#done.values()].filter((d) => d.kind === 'gbdt').map((d) => d.seconds / d.rows);
    // A GBDT policy not yet seen costs what the others did on average.
    const fallback = gbdtRates.length > 0 ? gbdtRates.reduce((a, b) => a + b, 0) / gbdtRates.length : undefined;
    const lanes = { gbdt: 0, lstm: 0 };
    for (const job of this.#left) {
      const done = this.#done.get(job.name);
      const rate = done ? done.seconds / done.rows : job.kind === 'gbdt' ? fallback : undefined;
      if (rate === undefined) return undefined;
      lanes[job.kind] += rate * this.#rows(job);
    }
    return Math.max(lanes.gbdt, lanes.lstm);
  }
}
