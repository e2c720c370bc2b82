import { deadlineSignal, OitraderError, systemClock, unlessAborted, type Clock } from '@oitrader/core';
import { BinanceBannedError, BinanceHttpError } from './errors.ts';
import { WeightBudget } from './weight-budget.ts';

/**
 * Why our own REST transport rather than the `binance` npm package: the
 * collector only calls unsigned market-data GETs, and what it needs is at the
 * transport level — every response's X-MBX-USED-WEIGHT-1M fed to a budget
 * shared by all callers, Retry-After obeyed on 429, 418 turned into a stop,
 * 5xx/malformed bodies retried with jittered backoff, and each of those
 * reported as an event for the ingest log. Doing that around the package's
 * axios layer would be more code than this file. Signed trading endpoints
 * (a later issue) can still use the package.
 */

/** Which limit a request counts against. */
export type RatePool = 'ip' | 'futuresData';

export type RestEvent =
  | { kind: 'rate-limited'; path: string; status: 429; retryAfterMs: number; attempt: number }
  | { kind: 'retry'; path: string; status: number | undefined; reason: string; backoffMs: number; attempt: number };

export interface RestClientOptions {
  baseUrl: string;
  fetch?: typeof fetch;
  clock?: Clock;
  /** Attempts per request before giving up (429s, 5xx, network errors and malformed bodies). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt, with full jitter. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  onEvent?: (event: RestEvent) => void;
  random?: () => number;
  /** Deadline of one request, headers and body (ms; default 10 s): a host that accepts and never answers is retried, not waited on forever. */
  timeoutMs?: number;
  /** Aborting it ends every request in flight and every retry back-off at once (the caller is stopping). */
  signal?: AbortSignal;
  /** The process's one request-weight budget for this IP, shared with the trading client (Binance counts weight per IP, not per client). */
  ipBudget?: WeightBudget;
}

/** Binance's published limits: 2,400 weight per minute per IP; /futures/data endpoints 1,000 requests per 5 minutes. */
export const IP_WEIGHT_PER_MINUTE = 2400;
export const FUTURES_DATA_REQUESTS_PER_5M = 1000;

export class BinanceRestClient {
  readonly baseUrl: string;
  readonly budgets: Record<RatePool, WeightBudget>;
  readonly #fetch: typeof fetch;
  readonly #clock: Clock;
  readonly #maxAttempts: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #onEvent: (event: RestEvent) => void;
  readonly #random: () => number;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;

  constructor(options: RestClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? fetch;
    this.#clock = options.clock ?? systemClock;
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#backoffBaseMs = options.backoffBaseMs ?? 500;
    this.#backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#signal = options.signal;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#random = options.random ?? Math.random;
    this.budgets = {
      ip: options.ipBudget ?? new WeightBudget(IP_WEIGHT_PER_MINUTE, 60_000, this.#clock),
      futuresData: new WeightBudget(FUTURES_DATA_REQUESTS_PER_5M, 300_000, this.#clock),
    };
  }

  /** GET a public endpoint and return its parsed JSON body, spending `weight` from `pool`. */
  async get(path: string, params: Record<string, string | number | undefined>, weight: number, pool: RatePool = 'ip'): Promise<unknown> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, String(value));
    const url = `${this.baseUrl}${path}${query.size > 0 ? `?${query}` : ''}`;
    for (let attempt = 1; ; attempt++) {
      // A budget wait (up to a 429's Retry-After, or the next 5-minute window) ends when the caller stops.
      await this.#unlessStopped(this.budgets[pool].acquire(weight, this.#signal), path);
      // A 429 pause applies to every pool.
      if (pool !== 'ip') await this.#unlessStopped(this.budgets.ip.acquire(0, this.#signal), path);
      const deadline = deadlineSignal(this.#timeoutMs, this.#signal);
      let response: Response;
      let text: string;
      try {
        response = await this.#fetch(url, { signal: deadline.signal });
        text = await response.text();
      } catch (error) {
        this.#throwIfStopped(path);
        const reason = deadline.timedOut() ? `no answer within ${this.#timeoutMs} ms` : (error as Error).message;
        await this.#retry(path, undefined, `network: ${reason}`, attempt);
        continue;
      } finally {
        deadline.release();
      }
      const used = Number(response.headers.get('x-mbx-used-weight-1m'));
      if (response.headers.has('x-mbx-used-weight-1m')) this.budgets.ip.observe(used);
      if (response.status === 418) throw new BinanceBannedError(path, retryAfterMs(response) ?? 120_000);
      if (response.status === 429) {
        const wait = retryAfterMs(response) ?? 60_000;
        this.#onEvent({ kind: 'rate-limited', path, status: 429, retryAfterMs: wait, attempt });
        this.budgets.ip.pauseUntil(this.#clock.now() + wait);
        if (attempt >= this.#maxAttempts) throw new BinanceHttpError(path, 429, undefined, `still rate-limited after ${attempt} attempts`);
        continue;
      }
      if (response.status >= 500) {
        await this.#retry(path, response.status, text.slice(0, 200), attempt);
        continue;
      }
      if (!response.ok) {
        const body = safeJson(text) as { code?: number; msg?: string } | undefined;
        throw new BinanceHttpError(path, response.status, body?.code, body?.msg ?? text.slice(0, 200));
      }
      const body = safeJson(text);
      if (body === undefined) {
        await this.#retry(path, response.status, `malformed JSON body: ${JSON.stringify(text.slice(0, 80))}`, attempt);
        continue;
      }
      return body;
    }
  }

  async #retry(path: string, status: number | undefined, reason: string, attempt: number): Promise<void> {
    if (attempt >= this.#maxAttempts) throw new BinanceHttpError(path, status ?? 0, undefined, `gave up after ${attempt} attempts; last: ${reason}`);
    const cap = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** (attempt - 1));
    const backoffMs = Math.round(cap / 2 + (this.#random() * cap) / 2);
    this.#onEvent({ kind: 'retry', path, status, reason, backoffMs, attempt });
    await this.#unlessStopped(this.#clock.sleep(backoffMs, this.#signal), path);
  }

  #unlessStopped<T>(work: Promise<T>, path: string): Promise<T> {
    return unlessAborted(work, this.#signal, () => stoppedError(path));
  }

  #throwIfStopped(path: string): void {
    if (this.#signal?.aborted) throw stoppedError(path);
  }
}

const stoppedError = (path: string) => new OitraderError(`Binance ${path}: request abandoned, the caller is stopping`);

export function retryAfterMs(response: Response): number | undefined {
  const value = response.headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
