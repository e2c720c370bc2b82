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
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
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
  if (signal.aborted) throw stopped();
  let onAbort: () => void = () => {};
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => signal.addEventListener('abort', (onAbort = () => reject(stopped())), { once: true }))]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
