import { OitraderError } from './errors.ts';

/**
 * Parses a user-supplied UTC time: `2024-01-31`, `2024-01-31T12:00`, a full ISO
 * string, or epoch milliseconds. Dates without a zone are UTC, never local time.
 */
export function parseUtcTimeMs(value: string | number): number {
  if (typeof value === 'number') return value;
  const trimmed = value.trim();
  if (/^\d{12,14}$/.test(trimmed)) return Number(trimmed);
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/i.test(trimmed);
  const iso = /^\d{4}-\d\d-\d\d$/.test(trimmed) ? `${trimmed}T00:00:00Z` : hasZone ? trimmed : `${trimmed.replace(' ', 'T')}Z`;
  const ms = Date.parse(iso);
  // Date.parse rolls 2024-02-30 over to March 1: a date must read back as itself.
  const day = /^(\d{4}-\d\d-\d\d)/.exec(trimmed)?.[1];
  if (Number.isNaN(ms) || (day !== undefined && !hasZone && new Date(ms).toISOString().slice(0, 10) !== day)) {
    throw new OitraderError(`cannot read "${value}" as a UTC time`, {
      hint: 'use YYYY-MM-DD, YYYY-MM-DDTHH:MM or epoch milliseconds',
      exitCode: 2,
    });
  }
  return ms;
}

export function formatUtc(timeMs: number): string {
  if (!Number.isFinite(timeMs)) return String(timeMs);
  return new Date(timeMs).toISOString().replace('.000Z', 'Z');
}

/** `YYYY-MM-DD` of the UTC day containing `timeMs`. */
export function utcDay(timeMs: number): string {
  return new Date(timeMs).toISOString().slice(0, 10);
}

/** `YYYY-MM` of the UTC month containing `timeMs`. */
export function utcMonth(timeMs: number): string {
  return new Date(timeMs).toISOString().slice(0, 7);
}

/** Time and waiting behind one seam, so rate limiters and backoffs can be tested without real sleeps. */
export interface Clock {
  now(): number;
  /** Waits `ms`; a clock may end the wait early when `signal` aborts (the caller looks at the signal). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Waits `ms`, or less when `signal` aborts first, and then clears its timer (resolves either way). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep,
};

/**
 * A signal that aborts after `ms` or as soon as `parent` does, and `release()` to call when the work is done.
 * Why not AbortSignal.any([parent, AbortSignal.timeout(ms)]): on Node 20 every such call stays attached to a
 * long-lived parent for good (a collector's requests or a bot's polls would grow it without bound).
 */
export function deadlineSignal(ms: number, parent?: AbortSignal): { signal: AbortSignal; timedOut: () => boolean; release: () => void } {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new Error(`no answer within ${ms} ms`));
  }, ms);
  const stop = () => controller.abort(parent?.reason);
  if (parent?.aborted) stop();
  else parent?.addEventListener('abort', stop, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired,
    release: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', stop);
    },
  };
}

/** Resolves when `work` does, or rejects with `stopped()` as soon as `signal` aborts (the work itself goes on unobserved). */
export async function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, stopped: () => Error): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => {}); // given up on: its own failure (often the same abort) is nobody's to handle
    throw stopped();
  }
  let onAbort: () => void = () => {};
  try {
    const result = await Promise.race([work, new Promise<never>((_, reject) => signal.addEventListener('abort', (onAbort = () => reject(stopped())), { once: true }))]);
    // Work that ends because of the abort (a wait given the same signal) must not pass for finished work.
    if (signal.aborted) throw stopped();
    return result;
  } catch (error) {
    if (signal.aborted) throw stopped();
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
