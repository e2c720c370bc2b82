/**
 * Fault-injection switches. Tests flip them directly; `oitrader sim` exposes
 * them at POST /sim/faults. Counters ("next N requests") count down as used.
 */
export interface RestFaults {
  /** The next N REST requests answer 429 with Retry-After. */
  tooManyRequests: number;
  retryAfterSeconds: number;
  /** Every request answers 418 (IP banned) while set. */
  banned: boolean;
  /** The next N requests answer 503. */
  serverErrors: number;
  /** The next N requests answer 200 with a truncated JSON body. */
  malformedBodies: number;
  /** Added to every REST response, ms of real time. */
  delayMs: number;
}

export interface StreamFaults {
  /** Added before every stream message, ms of real time. */
  delayMs: number;
  /** Send every message twice. */
  duplicate: boolean;
  /** Swap each pair of consecutive messages on a connection. */
  outOfOrder: boolean;
  /** The next N messages are cut in half (malformed JSON). */
  malformedNext: number;
}

/** Faults of the money path (signed trading endpoints and the user stream). */
export interface TradingFaults {
  /** The next N new orders (regular or algo) are executed, but no answer is ever sent: the client times out. */
  timeoutAfterAccept: number;
  /** The next N new orders are executed, then answered 503 (Binance: outcome unknown). */
  serverErrorAfterAccept: number;
  /** The next N new orders are refused with `rejectCode` (any mapped Binance error), before anything executes. */
  rejectNext: number;
  rejectCode: number;
  /** MARKET orders are answered NEW and fill this many ms of real time later (user stream only). */
  fillDelayMs: number;
  /** MARKET orders are answered NEW and fill once the simulator's clock has moved this many ms past them (market time). */
  fillDelayMarketMs: number;
  /** MARKET orders fill in two trades (PARTIALLY_FILLED, then FILLED). */
  partialFills: boolean;
}

export interface Faults {
  rest: RestFaults;
  ws: StreamFaults;
  trading: TradingFaults;
}

export function noFaults(): Faults {
  return {
    rest: { tooManyRequests: 0, retryAfterSeconds: 1, banned: false, serverErrors: 0, malformedBodies: 0, delayMs: 0 },
    ws: { delayMs: 0, duplicate: false, outOfOrder: false, malformedNext: 0 },
    trading: { timeoutAfterAccept: 0, serverErrorAfterAccept: 0, rejectNext: 0, rejectCode: -2019, fillDelayMs: 0, fillDelayMarketMs: 0, partialFills: false },
  };
}

/** Applies a partial update (the admin endpoint's body), rejecting unknown keys and wrong types. */
export function applyFaults(faults: Faults, update: unknown): void {
  if (typeof update !== 'object' || update === null) throw new TypeError('faults: expected an object like {"rest": {"tooManyRequests": 3}}');
  for (const [group, values] of Object.entries(update)) {
    if (group !== 'rest' && group !== 'ws' && group !== 'trading') throw new TypeError(`faults: unknown group ${JSON.stringify(group)} (rest, ws, trading)`);
    const target = faults[group] as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
      if (!(key in target)) throw new TypeError(`faults.${group}: unknown switch ${JSON.stringify(key)} (${Object.keys(target).join(', ')})`);
      if (typeof value !== typeof target[key]) throw new TypeError(`faults.${group}.${key}: expected ${typeof target[key]}, got ${JSON.stringify(value)}`);
      target[key] = value;
    }
  }
}
