import { deadlineSignal, OitraderError, sleep, type Clock } from '@oitrader/core';

/**
 * The exchange's time as the bot sees it. Decisions ("has this candle
 * closed?", "is the data stale?") and signed-request timestamps run on it.
 * `sync` is called once per loop turn, before the bot looks for a candle.
 */
export interface MarketClock extends Clock {
  sync(): Promise<void>;
  /** Waits up to `ms` (real time) for market time to move; ends early when `signal` aborts. */
  idle(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Binance (demo or live): this machine's clock; the trading client measures its offset to the server's itself. */
export const wallClock: MarketClock = {
  now: () => Date.now(),
  sleep,
  sync: async () => {},
  idle: sleep,
};

/**
 * The local simulator's market clock, read from its `/sim/state`: the replay
 * runs at N× real time (or stepped, N = 0), so this machine's clock says
 * nothing about the market's. Between two syncs it extrapolates at the
 * replay's speed; a stepped replay's time moves only when it is synced.
 */
export class SimMarketClock implements MarketClock {
  readonly #url: string;
  readonly #fetch: typeof fetch;
  #anchorMs = Number.NaN;
  #realAnchorMs = 0;
  #speed = 0;

  constructor(simRestUrl: string, fetchImpl: typeof fetch = fetch) {
    this.#url = `${simRestUrl.replace(/\/+$/, '')}/sim/state`;
    this.#fetch = fetchImpl;
  }

  static async connect(simRestUrl: string): Promise<SimMarketClock> {
    const clock = new SimMarketClock(simRestUrl);
    await clock.sync();
    return clock;
  }

  get speed(): number {
    return this.#speed;
  }

  now(): number {
    if (Number.isNaN(this.#anchorMs)) throw new OitraderError('SimMarketClock.now before the first sync');
    return Math.floor(this.#anchorMs + (Date.now() - this.#realAnchorMs) * this.#speed);
  }

  async sync(): Promise<void> {
    const sentAt = Date.now();
    let state: { now?: unknown; speed?: unknown };
    try {
      const response = await this.#fetch(this.#url, { signal: AbortSignal.timeout(5000) });
      state = (await response.json()) as typeof state;
    } catch (error) {
      throw new OitraderError(`cannot read the simulator's clock at ${this.#url}: ${(error as Error).message}`, {
        hint: 'start it with oitrader sim (trading.mode: sim trades against the local simulator), or point binance.rest_url at it',
        exitCode: 2,
      });
    }
    const now = Number(state.now);
    const speed = Number(state.speed);
    if (!Number.isFinite(now) || !(speed >= 0)) throw new OitraderError(`${this.#url} answered no clock (now ${String(state.now)}, speed ${String(state.speed)}): is this the oitrader simulator?`, { exitCode: 2 });
    const realNow = Date.now();
    // The server read its clock about half-way through the round trip.
    const estimate = Math.floor(now + ((realNow - sentAt) / 2) * speed);
    // Never backwards: a decision already made at a later time stays made.
    const current = Number.isNaN(this.#anchorMs) ? estimate : this.now();
    this.#anchorMs = Math.max(estimate, current);
    this.#realAnchorMs = realNow;
    this.#speed = speed;
  }

  /** A stepped replay: asks the simulator to answer as soon as it is stepped (a long poll); otherwise sleeps. */
  async idle(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#speed !== 0 || Number.isNaN(this.#anchorMs)) return sleep(ms, signal);
    const started = Date.now();
    const deadline = deadlineSignal(ms + 5000, signal);
    let moved = false;
    try {
      const response = await this.#fetch(`${this.#url}?changedFrom=${this.#anchorMs}&waitMs=${Math.round(ms)}`, { signal: deadline.signal });
      moved = Number(((await response.json()) as { now?: unknown }).now) > this.#anchorMs;
    } catch {
      // Stopping, or the simulator did not answer: the next sync() says what is wrong.
    } finally {
      deadline.release();
    }
    // An answer without a later time (a simulator that does not long-poll, or an error) must not become a busy loop.
    if (!moved && !signal?.aborted) await sleep(Math.max(0, ms - (Date.now() - started)), signal);
  }

  async sleep(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.#speed > 0 ? Math.max(0, ms / this.#speed) : Math.max(0, ms)));
  }
}
