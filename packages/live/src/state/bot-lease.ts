import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { OitraderError } from '@oitrader/core';
import type { SqlExecutor } from '@oitrader/data';

/**
 * One running bot per bot name and per exchange account. Two `bot run`s on one
 * name or one account race each other's orders (duplicate client ids, a stop
 * left on the wrong side, each recording the whole position as its own), so
 * the second one is refused before it touches the exchange.
 *
 * A lease is a row in bot_leases naming its holder (host, pid, a token of its
 * own) and a heartbeat the holder renews. A transaction-scoped advisory lock
 * serialises two starts that look at the same row at once (it works on
 * PostgreSQL and the embedded database alike; a session-scoped lock would not,
 * since every client of the embedded database shares its owner's one session).
 * A holder is gone when its process no longer exists on this host, or when its
 * heartbeat is older than `staleAfterMs` (a holder on another host).
 */

export interface LeaseHolder {
  key: string;
  bot: string;
  mode: string;
  host: string;
  pid: number;
  acquiredAtMs: number;
  heartbeatAtMs: number;
}

export interface AcquireLeaseOptions {
  bot: string;
  mode: string;
  /** The exchange account this bot trades (see `accountLeaseKey`); none for paper. */
  account?: string;
  /** A holder whose heartbeat is older than this is taken over. Default 60 s. */
  staleAfterMs?: number;
  host?: string;
  pid?: number;
  /** Whether a process of this host is alive (injected by tests). */
  isAlive?: (pid: number) => boolean;
}

export const DEFAULT_LEASE_STALE_AFTER_MS = 60_000;
/** How often a running bot renews its leases: well inside the stale window. */
export const LEASE_HEARTBEAT_MS = 10_000;

const LOCK_NAMESPACE = 7_242_002;

/** The lease key of an exchange account: the host and a digest of the API key (the key itself never leaves the process). */
export function accountLeaseKey(mode: string, restUrl: string, apiKey: string): string {
  const digest = createHash('sha256').update(apiKey).digest('hex').slice(0, 16);
  return `account:${mode}:${new URL(restUrl).host}:${digest}`;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LeaseRow {
  lease_key: string;
  bot: string;
  mode: string;
  host: string;
  pid: number;
  token: string;
  acquired_at: Date | string;
  heartbeat_at: Date | string;
  age_ms: number | string;
}

const toMs = (t: Date | string) => (t instanceof Date ? t.getTime() : Date.parse(t));

function holderOf(row: LeaseRow): LeaseHolder {
  return { key: row.lease_key, bot: row.bot, mode: row.mode, host: row.host, pid: Number(row.pid), acquiredAtMs: toMs(row.acquired_at), heartbeatAtMs: toMs(row.heartbeat_at) };
}

export function describeHolder(h: LeaseHolder, ageMs: number): string {
  return `${h.mode} bot "${h.bot}", pid ${h.pid} on ${h.host}, running since ${new Date(h.acquiredAtMs).toISOString()}, last heartbeat ${Math.round(ageMs / 1000)} s ago`;
}

export class BotLease {
  readonly #sql: SqlExecutor;
  readonly #token: string;
  readonly keys: readonly string[];
  /** The holders this lease replaced (gone processes), for the log. */
  readonly tookOver: readonly string[];
  #released = false;

  private constructor(sql: SqlExecutor, token: string, keys: string[], tookOver: string[]) {
    this.#sql = sql;
    this.#token = token;
    this.keys = keys;
    this.tookOver = tookOver;
  }

  /** Takes the bot's lease and its account's, all or none; refuses (exit 2, naming the holder) while another run holds either. */
  static async acquire(sql: SqlExecutor, o: AcquireLeaseOptions): Promise<BotLease> {
    const host = o.host ?? hostname();
    const pid = o.pid ?? process.pid;
    const isAlive = o.isAlive ?? processAlive;
    const staleAfterMs = o.staleAfterMs ?? DEFAULT_LEASE_STALE_AFTER_MS;
    const token = randomUUID();
    const keys = [`bot:${o.bot}`, ...(o.account ? [o.account] : [])].sort();
    const tookOver = await sql.transaction(async (tx) => {
      const replaced: string[] = [];
      for (const key of keys) {
        await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACE, key]);
        const [row] = await tx.query<LeaseRow>(
          `SELECT *, extract(epoch FROM (now() - heartbeat_at)) * 1000 AS age_ms FROM bot_leases WHERE lease_key = $1`,
          [key],
        );
        if (row) {
          const holder = holderOf(row);
          const ageMs = Number(row.age_ms);
          const gone = (holder.host === host && !isAlive(holder.pid)) || ageMs > staleAfterMs;
          if (!gone) throw refusal(key, o.bot, holder, ageMs, staleAfterMs);
          replaced.push(`took over the lease ${key} of ${describeHolder(holder, ageMs)} (${holder.host === host && !isAlive(holder.pid) ? 'that process is gone' : 'its heartbeat stopped'})`);
        }
        await tx.query(
          `INSERT INTO bot_leases (lease_key, bot, mode, host, pid, token, acquired_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, now(), now())
           ON CONFLICT (lease_key) DO UPDATE SET bot = $2, mode = $3, host = $4, pid = $5, token = $6, acquired_at = now(), heartbeat_at = now()`,
          [key, o.bot, o.mode, host, pid, token],
        );
      }
      return replaced;
    });
    return new BotLease(sql, token, keys, tookOver);
  }

  /** Renews the heartbeat; throws when another run has taken the lease over (this run must stop trading). */
  async heartbeat(): Promise<void> {
    const renewed = await this.#sql.query<{ lease_key: string }>('UPDATE bot_leases SET heartbeat_at = now() WHERE token = $1 RETURNING lease_key', [this.#token]);
    if (renewed.length < this.keys.length) {
      const held = new Set(renewed.map((r) => r.lease_key));
      const lost = this.keys.filter((k) => !held.has(k));
      const holders = await this.#sql.query<LeaseRow>(`SELECT *, extract(epoch FROM (now() - heartbeat_at)) * 1000 AS age_ms FROM bot_leases WHERE lease_key = ANY($1)`, [lost]);
      const by = holders.map((r) => describeHolder(holderOf(r), Number(r.age_ms))).join('; ');
      throw new OitraderError(`this run lost its lease ${lost.join(', ')}${by ? ` to ${by}` : ''}: it stops trading`, {
        hint: 'a run whose heartbeat stops (a machine asleep, a database out) for longer than the stale window is taken over; run one bot per name and per account',
        exitCode: 2,
      });
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#sql.query('DELETE FROM bot_leases WHERE token = $1', [this.#token]);
  }
}

/** The holder of a bot's lease, if a run holds it (`bot status`). */
export async function botLeaseHolder(sql: SqlExecutor, bot: string): Promise<{ holder: LeaseHolder; ageMs: number } | undefined> {
  const [row] = await sql.query<LeaseRow>(`SELECT *, extract(epoch FROM (now() - heartbeat_at)) * 1000 AS age_ms FROM bot_leases WHERE lease_key = $1`, [`bot:${bot}`]);
  return row ? { holder: holderOf(row), ageMs: Number(row.age_ms) } : undefined;
}

function refusal(key: string, bot: string, holder: LeaseHolder, ageMs: number, staleAfterMs: number): OitraderError {
  const who = describeHolder(holder, ageMs);
  const expiry = `if that process is gone, its lease ends ${Math.round(staleAfterMs / 1000)} s after its last heartbeat`;
  if (key.startsWith('bot:')) {
    return new OitraderError(`bot "${bot}" is already running: ${who}`, {
      hint: `stop it first (SIGTERM pid ${holder.pid}), or give this run another bot.name; ${expiry}`,
      exitCode: 2,
    });
  }
  return new OitraderError(`this exchange account is already traded by ${who}`, {
    hint: `one bot per account: add the symbols to that bot's trading.symbols instead of starting a second bot; ${expiry}`,
    exitCode: 2,
  });
}
