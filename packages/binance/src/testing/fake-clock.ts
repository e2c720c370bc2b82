import type { Clock } from '@oitrader/core';

/** A clock whose sleeps return at once and move time forward; `sleeps` records each wait. */
export class FakeClock implements Clock {
  time: number;
  readonly sleeps: number[] = [];

  constructor(start = Date.UTC(2024, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += Math.max(0, ms);
  }
}
