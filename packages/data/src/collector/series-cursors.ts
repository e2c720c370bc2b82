import { TABLES, type MarketTable } from '../store/tables.ts';

/** One series of one table, e.g. `ohlcv:SOLUSDT:5m` or `long_short_ratio:SOLUSDT:5m:top_account`. */
export function seriesKey(table: MarketTable, keys: Record<string, string>): string {
  return [table, ...TABLES[table].keys.map((k) => keys[k])].join(':');
}

/**
 * Where each series' next fetch starts: the time of its newest row stored or
 * queued. A write the queue had to drop leaves a hole; the cursor cannot move
 * past it until a backfill begins below it, so REST fetches the lost rows again.
 */
export class SeriesCursors {
  readonly #at = new Map<string, number>();
  readonly #holes = new Map<string, number>();

  get(key: string): number | undefined {
    return this.#at.get(key);
  }

  /** Moves the cursor forward to `time`, unless a hole holds it back. */
  advance(key: string, time: number): void {
    if (!this.#holes.has(key) && time > (this.#at.get(key) ?? Number.NEGATIVE_INFINITY)) this.#at.set(key, time);
  }

  holds(key: string): boolean {
    return this.#holes.has(key);
  }

  /** The write of rows from `time` on was dropped. */
  hole(key: string, time: number): void {
    this.#holes.set(key, Math.min(time, this.#holes.get(key) ?? Number.POSITIVE_INFINITY));
  }

  /**
   * A backfill begins: a hole moves the cursor back to `step` before it and is
   * cleared. Returns the cursor the backfill starts after.
   */
  begin(key: string, step: number): number | undefined {
    const hole = this.#holes.get(key);
    this.#holes.delete(key);
    if (hole !== undefined && (this.#at.get(key) ?? Number.NEGATIVE_INFINITY) >= hole) this.#at.set(key, hole - step);
    return this.#at.get(key);
  }
}
