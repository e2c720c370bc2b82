import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import lockfile from 'proper-lockfile';
import { createLogger, OitraderError, writeFileAtomic } from '@oitrader/core';
import { HandoverExecutor } from './handover-executor.ts';
import { PostgresExecutor, ensureInitialized, type SqlExecutor } from './sql-executor.ts';

/**
 * One owner for the embedded database (docs/architecture.md, "One owner for the
 * embedded database"). PGlite is a single-process, single-connection Postgres:
 * two processes opening one data directory corrupt it silently. So the first
 * oitrader process to open `dir` takes an exclusive lock (`<dir>.lock`, via
 * proper-lockfile: atomic mkdir, refreshed mtime, stale after a crash), opens
 * PGlite and serves it over the Postgres wire protocol on 127.0.0.1 (a random
 * port, published in `<dir>.owner.json`). Every process, the owner included,
 * then talks to it with `pg` exactly as to a real server, so transactions are
 * isolated per connection by the socket server's queue. A process that cannot
 * get the lock connects to the owner; when the owner does not answer, it says
 * who holds the lock. When the owner leaves, the others take over (see
 * openEmbedded).
 */

export interface OwnerInfo {
  pid: number;
  host: string;
  port: number;
  startedAtMs: number;
  command: string;
}

/** The lock lives beside the data directory, never inside it (initdb renames into `dir`). */
export function lockPath(dir: string): string {
  return `${resolve(dir)}.lock`;
}

export function ownerInfoPath(dir: string): string {
  return `${resolve(dir)}.owner.json`;
}

/**
 * A lock not refreshed for this long is taken over. Long, because a busy owner's
 * event loop can stall for seconds inside PGlite; a crashed owner is detected
 * sooner by its pid (see openEmbedded).
 */
const STALE_MS = 60_000;
/**
 * How long a process that lost the race for the lock waits for the owner to
 * answer. Generous: a first start runs initdb, which takes tens of seconds on
 * a loaded 2-core machine.
 */
const OWNER_WAIT_MS = 120_000;

export interface EmbeddedOptions {
  /** Called once with a line for the user (who owns the database, waiting for clients). */
  onNote?: (line: string) => void;
}

/**
 * Opens the embedded database in `dir`: as its owner when the lock is free,
 * else as a client of the owner. When the owner leaves (its command ends, it is
 * stopped or killed), the next statement reopens it the same way and runs
 * again: some process takes ownership, the others connect to it.
 */
export async function openEmbedded(dir: string, requested: EmbeddedOptions = {}): Promise<SqlExecutor> {
  const options: EmbeddedOptions = { onNote: (line) => createLogger('embedded-db').info(line), ...requested };
  const first = await ownOrConnect(dir, options, false);
  const sql = new HandoverExecutor(first, () => ownOrConnect(dir, options, true), {
    onReopen: (cause) => options.onNote?.(`the process serving the embedded database at ${dir} went away (${cause}); taking over or waiting for the new owner`),
    isFatal: (error) => error instanceof DatabaseDeletedError,
  });
  const close = sql.close.bind(sql);
  // Writes into a deleted directory succeed (PGlite writes on into unlinked files) and vanish at exit:
  // a command that finishes before the owner's watchdog notices must still fail, not report rows stored.
  sql.close = async () => {
    await close();
    if (!existsSync(`${dir}/PG_VERSION`)) throw deletedError(dir);
  };
  return sql;
}

class DatabaseDeletedError extends OitraderError {}

function deletedError(dir: string): OitraderError {
  return new DatabaseDeletedError(`the embedded database directory ${dir} was deleted while in use; what was written since is lost`, {
    hint: `restore it from a backup, or delete ${lockPath(dir)} and run the command again to start a new database`,
  });
}

/** `takeover`: the database was open a moment ago, so it must exist; never create an empty one in its place. */
async function ownOrConnect(dir: string, options: EmbeddedOptions, takeover: boolean): Promise<SqlExecutor> {
  const deadline = Date.now() + OWNER_WAIT_MS;
  let lastProblem = '';
  for (;;) {
    const claim = await claimOwnership(dir, options);
    if (claim.release) {
      if (takeover && !existsSync(`${dir}/PG_VERSION`)) {
        await releaseClaim(dir, claim.release);
        throw deletedError(dir);
      }
      return becomeOwner(dir, claim.release);
    }
    const owner = claim.owner;
    if (owner && owner.port === 0) {
      lastProblem = `process ${owner.pid} (${owner.command}) has been opening it since ${new Date(owner.startedAtMs).toISOString()}`;
    } else if (owner) {
      const client = await connectToOwner(owner);
      if (client) return client;
      lastProblem = `it is held by process ${owner.pid} (${owner.command}, since ${new Date(owner.startedAtMs).toISOString()}), which does not answer on ${owner.host}:${owner.port}`;
    } else {
      lastProblem = 'it is locked by a process that has not published its address';
    }
    if (Date.now() > deadline) {
      throw new OitraderError(`cannot open the embedded database at ${dir}: ${lastProblem}`, {
        hint: `wait for that process to finish or stop it; if no oitrader process is running, delete ${lockPath(dir)}`,
      });
    }
    await sleep(250);
  }
}

/**
 * Takes the lock, or takes it over from an owner that is no longer running,
 * or names the live owner. Every change of ownership happens under a short
 * gate lock (`<dir>.gate.lock`) and publishes the new owner's pid before the gate
 * opens: two clients that see the same dead owner would otherwise both remove
 * its lock, and the second would remove the lock the first had just taken —
 * two owners of one directory, which corrupts it.
 */
async function claimOwnership(dir: string, options: EmbeddedOptions): Promise<{ release?: () => Promise<void>; owner?: OwnerInfo }> {
  const openGate = await lockGate(dir);
  try {
    let release = await tryLock(dir);
    if (!release) {
      const owner = readOwnerInfo(dir);
      if (!owner || processAlive(owner.pid)) return { owner };
      // Killed without releasing (kill -9, power loss): nobody serves the data, so the lock is free to take.
      options.onNote?.(`taking over the embedded database at ${dir} from process ${owner.pid}, which is no longer running`);
      rmSync(ownerInfoPath(dir), { force: true });
      rmSync(lockPath(dir), { recursive: true, force: true });
      release = await tryLock(dir);
      if (!release) return {};
    }
    // Published at once (port 0 = starting), so others can name us, and see if we die during initdb.
    writeOwnerInfo(dir, { pid: process.pid, host: '127.0.0.1', port: 0, startedAtMs: Date.now(), command: commandLine() });
    return { release };
  } finally {
    await openGate();
  }
}

async function releaseClaim(dir: string, release: () => Promise<void>): Promise<void> {
  removeOwnInfo(dir);
  await release().catch(() => undefined);
}

/** Held for milliseconds; a holder killed inside it leaves a gate that is stale after GATE_STALE_MS (long: a loaded machine can stall a holder for seconds, and a stale gate would let two owners in). */
const GATE_STALE_MS = 10_000;

async function lockGate(dir: string): Promise<() => Promise<void>> {
  try {
    // Its own key: proper-lockfile tracks locks by file, and the gate must not replace the lock's record.
    const release = await lockfile.lock(`${resolve(dir)}.gate`, {
      realpath: false,
      stale: GATE_STALE_MS,
      retries: { retries: 250, minTimeout: 20, maxTimeout: 100 },
      onCompromised: () => undefined,
    });
    return () => release().catch(() => undefined);
  } catch (error) {
    throw new OitraderError(`cannot lock the embedded database at ${dir}: ${(error as Error).message}`, {
      hint: `check that ${dirname(resolve(dir))} exists and is writable; if no oitrader process is running, delete ${resolve(dir)}.gate.lock`,
      cause: error,
    });
  }
}

function commandLine(): string {
  return process.argv.slice(2).join(' ') || 'oitrader';
}

function writeOwnerInfo(dir: string, info: OwnerInfo): void {
  writeFileAtomic(ownerInfoPath(dir), JSON.stringify(info));
}

/** Removes the owner file only while it still names this process (a new owner may have written its own). */
function removeOwnInfo(dir: string): void {
  if (readOwnerInfo(dir)?.pid === process.pid) rmSync(ownerInfoPath(dir), { force: true });
}

async function tryLock(dir: string): Promise<(() => Promise<void>) | undefined> {
  try {
    return await lockfile.lock(resolve(dir), {
      realpath: false,
      lockfilePath: lockPath(dir),
      stale: STALE_MS,
      update: 1_000,
      // Losing the lock (clock jump, the lock folder deleted) must not crash a running import with an
      // uncaught throw; the owner keeps serving, and the next start takes the lock over cleanly.
      onCompromised: () => undefined,
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') return undefined;
    throw new OitraderError(`cannot lock the embedded database at ${dir}: ${(error as Error).message}`, {
      hint: `check that ${dirname(resolve(dir))} exists and is writable, or set database.url to use a PostgreSQL server`,
      cause: error,
    });
  }
}

function readOwnerInfo(dir: string): OwnerInfo | undefined {
  try {
    return JSON.parse(readFileSync(ownerInfoPath(dir), 'utf8')) as OwnerInfo;
  } catch {
    return undefined; // not written yet (the owner is starting) or half-replaced: the caller retries
  }
}

function ownerUrl(owner: Pick<OwnerInfo, 'host' | 'port'>): string {
  return `postgres://postgres@${owner.host}:${owner.port}/postgres`;
}

async function connectToOwner(owner: OwnerInfo): Promise<SqlExecutor | undefined> {
  const sql = PostgresExecutor.connect(ownerUrl(owner), { engine: 'pglite', connectionTimeoutMs: 5_000 });
  try {
    await sql.query('SELECT 1');
    return sql;
  } catch {
    await sql.close().catch(() => undefined);
    return undefined;
  }
}

/** Removes staging folders of a first creation that was killed (`db.init-<pid>-<n>`); only the lock holder does this. */
function removeAbandonedStaging(dir: string): void {
  const parent = dirname(resolve(dir));
  const prefix = `${basename(resolve(dir))}.init-`;
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    if (name.startsWith(prefix)) rmSync(`${parent}/${name}`, { recursive: true, force: true });
  }
}

async function becomeOwner(dir: string, release: () => Promise<void>): Promise<SqlExecutor> {
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  const command = commandLine();
  // A process that exits without closing (process.exit, an uncaught error) leaves no owner file behind;
  // proper-lockfile removes the lock itself on exit and on a fatal signal.
  const onExit = () => removeOwnInfo(dir);
  try {
    removeAbandonedStaging(dir);
    await ensureInitialized(dir);
    db = new PGlite(dir);
    await db.waitReady;
    server = new PGLiteSocketServer({ db: pipelineAwareDb(db), host: '127.0.0.1', port: 0, maxConnections: 64 });
    await server.start();
    const [host, port] = server.getServerConn().split(':');
    const info: OwnerInfo = { pid: process.pid, host, port: Number(port), startedAtMs: Date.now(), command };
    writeOwnerInfo(dir, info);
    process.on('exit', onExit);
    const sql = PostgresExecutor.connect(ownerUrl(info), { engine: 'pglite' });
    const ownedServer = server;
    const ownedDb = db;
    const watchdog = watchDirectory(dir);
    const closeClient = sql.close.bind(sql);
    sql.close = async () => {
      clearInterval(watchdog);
      await closeClient();
      // Hand over: statements already queued are served, then every other process's connection is cut;
      // their next statement takes ownership or connects to whoever took it (HandoverExecutor).
      const graceEnd = Date.now() + HANDOVER_GRACE_MS;
      while (ownedServer.getStats().queuedQueries > 0 && Date.now() < graceEnd) await sleep(20);
      await ownedServer.stop();
      // PGlite closing over a deleted directory retries its file operations forever; nothing could be saved anyway.
      const deleted = !existsSync(`${dir}/PG_VERSION`);
      if (!deleted) await ownedDb.close();
      // The owner file goes before the lock: a new owner's file, written after it takes the lock, must survive us.
      removeOwnInfo(dir);
      process.off('exit', onExit);
      await release().catch(() => undefined);
      if (deleted) throw deletedError(dir);
    };
    return sql;
  } catch (error) {
    process.off('exit', onExit);
    await server?.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    removeOwnInfo(dir);
    await release().catch(() => undefined);
    if (error instanceof OitraderError) throw error;
    throw new OitraderError(`cannot open the embedded database at ${dir}: ${(error as Error).message}`, {
      hint: 'check permissions and free disk space, or set database.url to use a PostgreSQL server',
      cause: error,
    });
  }
}

/** How long a closing owner keeps serving statements already queued before it hands over. */
const HANDOVER_GRACE_MS = 2_000;

/**
 * The data directory deleted under a running PGlite (rm -rf data/db during an
 * import) leaves it retrying file operations forever at full CPU with no
 * output. Nothing can be saved then: the owner says so and exits, and every
 * client sees its connection drop (an import reports the file as failed).
 */
function watchDirectory(dir: string): NodeJS.Timeout {
  const timer = setInterval(() => {
    if (existsSync(`${dir}/PG_VERSION`)) return;
    process.stderr.write(`error: the embedded database directory ${dir} was deleted while in use; nothing more can be stored\nfix: restore it from a backup or delete ${lockPath(dir)} and import again\n`);
    process.exit(1);
  }, 1_000);
  timer.unref();
  return timer;
}

/** Extended-protocol messages that leave the backend mid-statement until the client's Sync. */
const PIPELINE_MESSAGES = new Set(['P', 'B', 'D', 'E', 'C', 'H', 'F'].map((c) => c.charCodeAt(0)));

/**
 * The socket server queues messages, not statements, and keeps a connection's
 * messages together only inside a transaction. One parameterised pg query is
 * Parse/Bind/Describe/Execute/Sync: interleaving another connection's Parse
 * between them would bind the wrong statement (PGlite has one backend). This
 * view of the database reports "in a transaction" from a pipeline's first
 * message until its Sync, so the queue serves that connection alone meanwhile.
 */
const SYNC_MESSAGE = new Uint8Array([0x53, 0, 0, 0, 4]);

function pipelineAwareDb(db: PGlite): PGlite {
  let midPipeline = false;
  const view = {
    get waitReady() {
      return db.waitReady;
    },
    isInTransaction: () => midPipeline || db.isInTransaction(),
    runExclusive: <T>(fn: () => Promise<T>) => db.runExclusive(fn),
    execProtocolRawStream: async (message: Uint8Array, opts: Parameters<PGlite['execProtocolRawStream']>[1]) => {
      midPipeline = PIPELINE_MESSAGES.has(message[0]);
      return db.execProtocolRawStream(message, opts);
    },
    // Used by the server to roll back a disconnected client's transaction.
    exec: async (text: string) => {
      if (midPipeline) {
        // A client that vanished mid-pipeline: its Sync ends the half-sent statement (and any error state).
        midPipeline = false;
        await db.execProtocolRaw(SYNC_MESSAGE).catch(() => undefined);
      }
      return db.isInTransaction() ? db.exec(text) : [];
    },
  };
  return view as unknown as PGlite;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
