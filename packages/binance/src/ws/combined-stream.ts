import WebSocket from 'ws';
import { groupStreamsByBase, type StreamBase } from './stream-routing.ts';

/** Binance allows up to 1024 streams per connection; we stay at 200 so one bad connection costs little. */
export const MAX_STREAMS_PER_CONNECTION = 200;
/** Binance cuts every connection after 24 h; we leave before, on our own terms. */
export const PROACTIVE_RECONNECT_MS = 23 * 3600_000;

export interface StreamOpen {
  connection: number;
  /** The split base URL the connection uses. */
  base: StreamBase;
  streams: string[];
  /** False on the first open; true after a drop, so the caller backfills the gap. */
  reconnect: boolean;
}

export interface StreamClose {
  connection: number;
  code: number;
  reason: string;
  /** Wait before the next attempt (exponential, full jitter). */
  retryInMs: number;
  attempt: number;
}

export interface CombinedStreamOptions {
  /** The root, e.g. wss://fstream.binance.com or ws://127.0.0.1:PORT; each stream goes to its split base (/public or /market) under it. */
  wsUrl: string;
  streams: string[];
  onOpen?: (open: StreamOpen) => void;
  onMessage: (raw: string, receivedAtMs: number, connection: number) => void;
  onClose?: (close: StreamClose) => void;
  /** Our ping cadence; a connection silent for `idleTimeoutMs` (no message, no pong) is presumed dead. */
  pingIntervalMs?: number;
  idleTimeoutMs?: number;
  reconnectAfterMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
}

type ResolvedOptions = Required<Omit<CombinedStreamOptions, 'onOpen' | 'onClose'>> & Pick<CombinedStreamOptions, 'onOpen' | 'onClose'>;

/**
 * Built on `ws` directly rather than the `binance` package's WebsocketClient
 * for the same reason as the REST client: the collector needs the reconnect
 * and gap signals (first open vs reopen) at this level, and `ws` is what that
 * package uses underneath.
 *
 * Combined-stream client: `<wsUrl>/<base>/stream?streams=a/b/c`, each stream
 * on the base URL Binance serves it from (stream-routing.ts; the legacy
 * `<wsUrl>/stream` sends nothing since 2026-04-23), split into connections of
 * at most 200 streams. Each connection reconnects forever with
 * exponential backoff and jitter until `close()`; the `ws` library answers the
 * server's pings itself, and our own pings detect half-open sockets.
 */
export class CombinedStream {
  readonly #options: ResolvedOptions;
  readonly #connections: StreamConnection[] = [];
  #closed = false;

  constructor(options: CombinedStreamOptions) {
    this.#options = {
      pingIntervalMs: 30_000,
      idleTimeoutMs: 90_000,
      reconnectAfterMs: PROACTIVE_RECONNECT_MS,
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
      random: Math.random,
      ...options,
      wsUrl: options.wsUrl.replace(/\/+$/, ''),
    };
  }

  start(): void {
    for (const { base, streams } of groupStreamsByBase(this.#options.streams)) {
      for (let i = 0; i < streams.length; i += MAX_STREAMS_PER_CONNECTION) {
        const connection = new StreamConnection(this.#connections.length, base, streams.slice(i, i + MAX_STREAMS_PER_CONNECTION), this.#options, () => this.#closed);
        this.#connections.push(connection);
        connection.connect();
      }
    }
  }

  get connectionCount(): number {
    return this.#connections.length;
  }

  /** Successful reopenings across all connections. */
  get reconnects(): number {
    return this.#connections.reduce((sum, c) => sum + c.reconnects, 0);
  }

  /** Closes every connection for good. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#connections.map((c) => c.shutdown()));
  }
}

class StreamConnection {
  readonly index: number;
  readonly base: StreamBase;
  readonly streams: string[];
  readonly #options: ResolvedOptions;
  readonly #isClosed: () => boolean;
  #socket: WebSocket | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Every socket not yet closed: during a rotation, two. */
  readonly #live = new Set<WebSocket>();
  #retryTimer: NodeJS.Timeout | undefined;
  #lastSeen = 0;
  #opened = false;
  #attempt = 0;
  reconnects = 0;

  constructor(index: number, base: StreamBase, streams: string[], options: ResolvedOptions, isClosed: () => boolean) {
    this.index = index;
    this.base = base;
    this.streams = streams;
    this.#options = options;
    this.#isClosed = isClosed;
  }

  /** Opens a socket; with `replacing`, the old one is closed only once the new one is open (make before break). */
  connect(replacing?: WebSocket): void {
    if (this.#isClosed()) return;
    const socket = new WebSocket(`${this.#options.wsUrl}/${this.base}/stream?streams=${this.streams.join('/')}`);
    this.#socket = socket;
    this.#live.add(socket);
    const timers: NodeJS.Timeout[] = [];
    socket.on('open', () => {
      this.#attempt = 0;
      this.#lastSeen = Date.now();
      const reconnect = this.#opened;
      if (reconnect) this.reconnects++;
      this.#opened = true;
      timers.push(
        setInterval(() => {
          if (Date.now() - this.#lastSeen > this.#options.idleTimeoutMs) socket.terminate();
          else socket.ping();
        }, this.#options.pingIntervalMs),
        setTimeout(() => this.connect(socket), this.#options.reconnectAfterMs),
      );
      timers.forEach((t) => this.#timers.add(t));
      replacing?.close(1000, 'rotated before the 24 h cut');
      this.#options.onOpen?.({ connection: this.index, base: this.base, streams: this.streams, reconnect });
    });
    socket.on('pong', () => (this.#lastSeen = Date.now()));
    socket.on('message', (data) => {
      const now = Date.now();
      this.#lastSeen = now;
      this.#options.onMessage(data.toString(), now, this.index);
    });
    // 'error' is always followed by 'close'; handling it here keeps it from crashing the process.
    socket.on('error', () => {});
    socket.on('close', (code, reason) => {
      this.#live.delete(socket);
      for (const timer of timers) {
        clearTimeout(timer);
        this.#timers.delete(timer);
      }
      // A replaced socket closing is the rotation finishing, not a drop.
      if (this.#socket !== socket || this.#isClosed()) return;
      this.#attempt++;
      const cap = Math.min(this.#options.backoffMaxMs, this.#options.backoffBaseMs * 2 ** (this.#attempt - 1));
      const retryInMs = Math.round(cap / 2 + (this.#options.random() * cap) / 2);
      this.#options.onClose?.({ connection: this.index, code, reason: reason.toString(), retryInMs, attempt: this.#attempt });
      this.#retryTimer = setTimeout(() => this.connect(), retryInMs);
    });
  }

  async shutdown(): Promise<void> {
    clearTimeout(this.#retryTimer);
    this.#socket = undefined;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all([...this.#live].map((socket) => closeSocket(socket)));
  }
}

function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(1000, 'shutdown');
    setTimeout(() => {
      socket.terminate();
      resolve();
    }, 2000).unref();
  });
}
