import type { Clock } from '@oitrader/core';

/**
 * A request-weight budget over fixed windows, the way Binance counts it:
 * weight used in the current minute, reset at the minute boundary, reported
 * back in `X-MBX-USED-WEIGHT-1M`. `acquire` waits (on the clock, not a fixed
 * sleep) until the weight fits under `limit × headroom`; the server's header
 * wins over our own count, since other processes on the IP spend weight too.
 */
export class WeightBudget {
  limit: number;
  readonly windowMs: number;
  readonly #clock: Clock;
  readonly #headroom: number;
  #ceiling: number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #used = 0;
  #pausedUntil = 0;
  /** Milliseconds spent waiting for budget (for the ingest log and the bench). */
  waitedMs = 0;

  constructor(limit: number, windowMs: number, clock: Clock, headroom = 0.9) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.#clock = clock;
    this.#headroom = headroom;
    this.#ceiling = Math.floor(limit * headroom);
  }

  /** The exchange published another limit (exchangeInfo rateLimits): every client spending this budget paces by it. */
  setLimit(limit: number): void {
    this.limit = limit;
    this.#ceiling = Math.floor(limit * this.#headroom);
  }

  get used(): number {
    this.#roll();
    return this.#used;
  }

  #roll(): void {
    const start = Math.floor(this.#clock.now() / this.windowMs) * this.windowMs;
    if (start !== this.#windowStart) {
      this.#windowStart = start;
      this.#used = 0;
    }
  }

  /** Waits until `weight` fits in the window (or a pause ends), then spends it; `signal` ends the wait (it throws). */
  async acquire(weight: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('stopped while waiting for request weight');
      const now = this.#clock.now();
      if (now < this.#pausedUntil) {
        await this.#wait(this.#pausedUntil - now, signal);
        continue;
      }
      this.#roll();
      if (this.#used + weight <= this.#ceiling || this.#used === 0) {
        this.#used += weight;
        return;
      }
      await this.#wait(this.#windowStart + this.windowMs - now + 1, signal);
    }
  }

  async #wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    // The time really waited: a stop can end the wait early.
    const started = this.#clock.now();
    await this.#clock.sleep(ms, signal);
    this.waitedMs += Math.max(0, this.#clock.now() - started);
  }

  /** The server's count for the current window (from the response header). */
  observe(usedWeight: number): void {
    this.#roll();
    if (Number.isFinite(usedWeight) && usedWeight > this.#used) this.#used = usedWeight;
  }

  /** Nothing is sent before `untilMs` (a 429's Retry-After). */
  pauseUntil(untilMs: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, untilMs);
  }
}
