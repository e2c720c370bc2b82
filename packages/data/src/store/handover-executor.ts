import type { Engine, SqlExecutor } from './sql-executor.ts';

/**
 * The embedded database's owner can leave at any moment: its command ends, it
 * is stopped (SIGTERM) or killed (SIGKILL). A process using it through the
 * owner then finds the connection refused or cut. This executor reopens the
 * database (taking ownership itself, or connecting to whoever took it) and
 * runs the statement or transaction again, so the owner's exit is a pause of
 * a second or two for every other process, never an error
 * (docs/architecture.md, "One owner for the embedded database").
 *
 * A transaction cut before its COMMIT was rolled back by the server, so
 * running `work` again is the usual transaction retry: `work` must only touch
 * the database (reset any counters it fills at its start). A statement cut
 * while its COMMIT was in flight may have been applied: market data and the
 * bot's records are written by upserts or `ON CONFLICT DO NOTHING`, so
 * applying them twice changes nothing (an ingest_log line may appear twice).
 */
export class HandoverExecutor implements SqlExecutor {
  readonly engine: Engine = 'pglite';
  #inner: SqlExecutor;
  #generation = 0;
  #reopening: Promise<void> | undefined;
  /** The executor of the owner that went away, closed when it was replaced (a failed reopen leaves it in place). */
  #retired: SqlExecutor | undefined;
  #fatal: Error | undefined;
  #closed = false;
  readonly #reopen: () => Promise<SqlExecutor>;
  readonly #onReopen: ((cause: string) => void) | undefined;
  readonly #isFatal: (error: unknown) => boolean;

  /** `reopen` finds the database again: as its new owner, or as a client of the process that took it. */
  constructor(inner: SqlExecutor, reopen: () => Promise<SqlExecutor>, options: { onReopen?: (cause: string) => void; isFatal?: (error: unknown) => boolean } = {}) {
    this.#inner = inner;
    this.#reopen = reopen;
    this.#onReopen = options.onReopen;
    this.#isFatal = options.isFatal ?? (() => false);
  }

  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]> {
    return this.#withHandover((sql) => sql.query<Row>(text, params));
  }

  exec(text: string): Promise<void> {
    return this.#withHandover((sql) => sql.exec(text));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#withHandover((sql) => sql.transaction(work));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#reopening?.catch(() => undefined);
    if (this.#inner !== this.#retired) await this.#inner.close();
  }

  async #withHandover<T>(run: (sql: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.#fatal) throw this.#fatal;
    for (let attempt = 1; ; attempt++) {
      const generation = this.#generation;
      try {
        return await run(this.#inner);
      } catch (error) {
        // Each reopen already waits up to its own deadline for a new owner; more attempts would only
        // chase an owner that dies again and again.
        if (this.#closed || !isConnectionLoss(error) || attempt > MAX_REOPENS) throw error;
        await this.#reopenAfter(generation, (error as Error).message);
      }
    }
  }

  /** One reopen per lost connection, however many statements were cut by it. */
  async #reopenAfter(failedGeneration: number, cause: string): Promise<void> {
    if (this.#generation !== failedGeneration) return; // another statement already reopened it
    this.#reopening ??= (async () => {
      this.#onReopen?.(cause);
      // Not awaited: ending a pool waits for its checked-out clients, which the lost owner may never answer.
      this.#retired = this.#inner;
      void this.#inner.close().catch(() => undefined);
      try {
        this.#inner = await this.#reopen();
      } catch (error) {
        // The database is gone for good (its directory deleted): every later statement fails the same way.
        // Any other failure (no owner within the deadline) is tried again by the next statement.
        if (this.#isFatal(error)) this.#fatal = error as Error;
        throw error;
      }
      this.#generation++;
    })().finally(() => {
      this.#reopening = undefined;
    });
    await this.#reopening;
  }
}

const MAX_REOPENS = 5;

const LOSS_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03']);
const LOSS_MESSAGES = /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Cannot use a pool after calling end/i;

/** The owner went away (refused, reset, cut, shut down) — not an error of the statement itself. */
export function isConnectionLoss(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; errors?: unknown } | undefined;
  if (!e) return false;
  if (typeof e.code === 'string' && (LOSS_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  // Node reports a refused dual-stack connect as an AggregateError of per-address errors.
  if (Array.isArray(e.errors) && e.errors.some(isConnectionLoss)) return true;
  return typeof e.message === 'string' && LOSS_MESSAGES.test(e.message);
}
