import { OitraderError, type Logger } from '@oitrader/core';

/** A control token shorter than this is refused: `openssl rand -hex 16` makes 32 characters. */
export const MIN_TOKEN_LENGTH = 24;

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);
const isLoopback = (host: string) => LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);

export interface ExposureOptions {
  host: string;
  token: string | undefined;
  /** `--allow-remote` / dashboard.allow_remote: the operator knows the page is reachable beyond this machine. */
  allowRemote?: boolean;
  log?: Logger;
}

/**
 * Refuses a dashboard that would be exposed carelessly, before it listens:
 * a short token, or a bind beyond loopback without --allow-remote and a
 * token (anyone on the network could then read equity and positions, and
 * the token crosses the network in clear over plain HTTP).
 */
export function checkExposure(o: ExposureOptions): void {
  if (o.token !== undefined && o.token.length < MIN_TOKEN_LENGTH) {
    throw new OitraderError(`OITRADER_DASHBOARD_TOKEN has ${o.token.length} characters; the dashboard's controls need at least ${MIN_TOKEN_LENGTH}`, {
      hint: 'make one with: openssl rand -hex 16',
      exitCode: 2,
    });
  }
  if (isLoopback(o.host)) return;
  if (!o.allowRemote) {
    throw new OitraderError(`the dashboard would listen on ${o.host}, reachable beyond this machine`, {
      hint: 'keep dashboard.host 127.0.0.1 and reach it through an SSH tunnel, or pass --allow-remote (dashboard.allow_remote: true) with OITRADER_DASHBOARD_TOKEN set, behind a TLS reverse proxy',
      exitCode: 2,
    });
  }
  if (o.token === undefined) {
    throw new OitraderError(`the dashboard listens on ${o.host} (--allow-remote) but OITRADER_DASHBOARD_TOKEN is not set`, {
      hint: `a remote dashboard needs a control token of at least ${MIN_TOKEN_LENGTH} characters: openssl rand -hex 16`,
      exitCode: 2,
    });
  }
  o.log?.warn(`dashboard: listening on ${o.host} over plain HTTP: the control token crosses the network in clear unless a TLS reverse proxy (Caddy, nginx) stands in front`);
}

/**
 * The Host names the dashboard answers to: loopback, the address it is bound
 * to (unless a wildcard) and the names the operator lists. Any other Host is
 * a page on another site that re-pointed its DNS at us (DNS rebinding) and
 * must not read equity and positions.
 */
export function allowedHostnames(bindHost: string, extra: readonly string[] = []): (hostHeader: string | undefined) => boolean {
  const allowed = new Set([...LOOPBACK_NAMES, ...extra.map((h) => h.toLowerCase())]);
  if (bindHost !== '0.0.0.0' && bindHost !== '::' && bindHost !== '') allowed.add(bindHost.toLowerCase());
  return (hostHeader) => {
    if (!hostHeader) return false;
    const name = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.replace(/:\d+$/, '');
    const lower = name.toLowerCase();
    return allowed.has(lower) || /^127\.\d+\.\d+\.\d+$/.test(lower);
  };
}

/**
 * Wrong tokens per client address: after `maxFailures` within `windowMs` the
 * address is refused (429) until the window has passed, so a token cannot be
 * guessed at network speed.
 */
export class FailedTokenLimiter {
  readonly #failures = new Map<string, { count: number; sinceMs: number }>();
  constructor(
    private readonly clock: () => number = Date.now,
    private readonly maxFailures = 5,
    private readonly windowMs = 60_000,
  ) {}

  /** Milliseconds until `client` may try again; 0 when it may now. */
  blockedForMs(client: string): number {
    const f = this.#failures.get(client);
    if (!f) return 0;
    const left = f.sinceMs + this.windowMs - this.clock();
    if (left <= 0) {
      this.#failures.delete(client);
      return 0;
    }
    return f.count >= this.maxFailures ? left : 0;
  }

  fail(client: string): void {
    const now = this.clock();
    const f = this.#failures.get(client);
    if (!f || now - f.sinceMs >= this.windowMs) this.#failures.set(client, { count: 1, sinceMs: now });
    else f.count++;
  }
}
