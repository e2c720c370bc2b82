import type { Clock } from '@oitrader/core';

/**
 * The simulator's market time. Three ways to run it: stepped (speed 0: time
 * moves only when a test calls `advance`/`set`), real time (speed 1), or N×
 * (speed N). Sleeping on it waits for market time, so a 1-hour sleep at 3600×
 * takes one second.
 */
export class SimClock implements Clock {
  #simAnchor: number;
  #realAnchor = Date.now();
  #speed: number;
  readonly #listeners = new Set<(now: number) => void>();

  constructor(startMs: number, speed = 0) {
    if (!Number.isFinite(startMs)) throw new RangeError(`SimClock start must be a time, got ${startMs}`);
    this.#simAnchor = startMs;
    this.#speed = checkSpeed(speed);
  }

  get speed(): number {
    return this.#speed;
  }

  now(): number {
    return this.#speed === 0 ? this.#simAnchor : Math.floor(this.#simAnchor + (Date.now() - this.#realAnchor) * this.#speed);
  }

  /** Changes speed without a jump in market time. */
  setSpeed(speed: number): void {
    this.#simAnchor = this.now();
    this.#realAnchor = Date.now();
    this.#speed = checkSpeed(speed);
    this.#notify();
  }

  /** Moves market time forward (never backward: the exchange's time does not rewind). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`SimClock can only move forward, got ${ms} ms`);
    this.set(this.now() + ms);
  }

  set(timeMs: number): void {
    if (timeMs < this.now()) throw new RangeError(`SimClock cannot go back from ${this.now()} to ${timeMs}`);
    this.#simAnchor = timeMs;
    this.#realAnchor = Date.now();
    this.#notify();
  }

  onChange(listener: (now: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  sleep(ms: number): Promise<void> {
    const target = this.now() + Math.max(0, ms);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        if (this.now() < target) {
          if (this.#speed > 0) {
            clearTimeout(timer);
            timer = setTimeout(check, Math.max(1, (target - this.now()) / this.#speed));
          }
          return;
        }
        clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      const unsubscribe = this.onChange(check);
      check();
    });
  }

  #notify(): void {
    const now = this.now();
    for (const listener of [...this.#listeners]) listener(now);
  }
}

function checkSpeed(speed: number): number {
  if (!(speed >= 0) || !Number.isFinite(speed)) throw new RangeError(`SimClock speed must be >= 0, got ${speed}`);
  return speed;
}
