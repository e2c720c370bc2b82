import WebSocket from 'ws';
import { BinancePayloadError } from '../rest/errors.ts';
import { BinanceOrderError } from './errors.ts';
import { toUserEvent } from './mapper.ts';
import type { UsdmTradingApi, UserDataEvent, UserStreamStatus } from './types.ts';

/** Binance's private base URL (user data) since the 2026-04-23 split. */
export const MAINNET_PRIVATE_WS_URL = 'wss://fstream.binance.com/private';
/**
 * Demo trading's stream host is demo-fstream.binance.com; that it follows the
 * same /private split is our assumption (not yet checked against demo trading):
 * `binance.private_ws_url` overrides it.
 */
export const DEMO_PRIVATE_WS_URL = 'wss://demo-fstream.binance.com/private';

export interface UserDataStreamOptions {
  client: Pick<UsdmTradingApi, 'createListenKey' | 'keepAliveListenKey'>;
  /** The private base URL, e.g. wss://fstream.binance.com/private or ws://127.0.0.1:PORT/private. */
  wsUrl: string;
  onEvent: (event: UserDataEvent) => void;
  onStatus?: (status: UserStreamStatus) => void;
  /** A message that is not a documented event (kept out of onEvent). */
  onReject?: (reason: string) => void;
  /** Binance: a key lives 60 min after the last keepalive; we renew every 30 min. */
  keepAliveMs?: number;
  pingIntervalMs?: number;
  idleTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Binance cuts connections at 24 h; we reconnect before. */
  reconnectAfterMs?: number;
}

/**
 * The user data stream: `<private>/ws?listenKey=<key>`, the key created and
 * kept alive over REST. A keepalive answered -1125, or a `listenKeyExpired`
 * event, makes a new key and a new connection. Every (re)connection after
 * the first is reported as `connected` with `resync: true`: events during the
 * gap are lost, and the owner must re-read its orders and positions over REST.
 */
export class UserDataStream {
  readonly #o: Required<Omit<UserDataStreamOptions, 'onStatus' | 'onReject'>> & Pick<UserDataStreamOptions, 'onStatus' | 'onReject'>;
  #socket: WebSocket | undefined;
  #listenKey: string | undefined;
  #closed = false;
  #connectedOnce = false;
  #attempt = 0;
  #keepAlive: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #socketTimers: NodeJS.Timeout[] = [];
  /** Counts reopenings (for tests and health output). */
  reconnects = 0;
  keyRenewals = 0;

  constructor(options: UserDataStreamOptions) {
    this.#o = {
      keepAliveMs: 30 * 60_000,
      pingIntervalMs: 30_000,
      idleTimeoutMs: 90_000,
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
      reconnectAfterMs: 23 * 3600_000,
      ...options,
      wsUrl: options.wsUrl.replace(/\/+$/, ''),
    };
  }

  get connected(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  /** Creates the listenKey and opens the connection; resolves once open. */
  async start(): Promise<void> {
    this.#listenKey = await this.#o.client.createListenKey();
    this.#keepAlive = setInterval(() => void this.#renew(), this.#o.keepAliveMs);
    await new Promise<void>((resolve, reject) => this.#connect(resolve, reject));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#keepAlive);
    clearTimeout(this.#retry);
    this.#clearSocketTimers();
    const socket = this.#socket;
    this.#socket = undefined;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.terminate();
    });
  }

  /** Keepalive now (also what the timer does); a vanished key is replaced. */
  async #renew(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#o.client.keepAliveListenKey();
    } catch (error) {
      if (error instanceof BinanceOrderError && error.code === -1125) await this.#newKey();
      // Other failures (network): the next keepalive or reconnect tries again; the key lives 60 min.
    }
  }

  async #newKey(): Promise<void> {
    if (this.#closed) return;
    this.#listenKey = await this.#o.client.createListenKey();
    this.keyRenewals++;
    this.#o.onStatus?.({ kind: 'listen-key-renewed' });
    // Reconnect on the new key; the close handler schedules it with resync.
    this.#socket?.terminate();
  }

  #connect(onOpen?: () => void, onFirstError?: (error: Error) => void): void {
    if (this.#closed || this.#listenKey === undefined) return;
    const socket = new WebSocket(`${this.#o.wsUrl}/ws?listenKey=${encodeURIComponent(this.#listenKey)}`);
    this.#socket = socket;
    let lastSeen = Date.now();
    socket.on('open', () => {
      this.#attempt = 0;
      lastSeen = Date.now();
      const resync = this.#connectedOnce;
      if (resync) this.reconnects++;
      this.#connectedOnce = true;
      this.#socketTimers.push(
        setInterval(() => {
          if (Date.now() - lastSeen > this.#o.idleTimeoutMs) socket.terminate();
          else socket.ping();
        }, this.#o.pingIntervalMs),
        setTimeout(() => socket.terminate(), this.#o.reconnectAfterMs),
      );
      this.#o.onStatus?.({ kind: 'connected', resync });
      onOpen?.();
    });
    socket.on('pong', () => (lastSeen = Date.now()));
    socket.on('message', (data) => {
      lastSeen = Date.now();
      this.#message(data.toString());
    });
    socket.on('error', (error) => {
      if (!this.#connectedOnce) onFirstError?.(error);
    });
    socket.on('close', (code, reason) => {
      this.#clearSocketTimers();
      if (this.#socket !== socket || this.#closed || !this.#connectedOnce) return;
      this.#attempt++;
      const cap = Math.min(this.#o.backoffMaxMs, this.#o.backoffBaseMs * 2 ** (this.#attempt - 1));
      const retryInMs = Math.round(cap / 2 + (Math.random() * cap) / 2);
      this.#o.onStatus?.({ kind: 'disconnected', reason: `${code} ${reason.toString()}`.trim(), retryInMs });
      this.#retry = setTimeout(() => void this.#reopen(), retryInMs);
    });
  }

  /** Before reopening, check the key is alive (it may have expired while we were away). */
  async #reopen(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#o.client.keepAliveListenKey();
    } catch (error) {
      if (error instanceof BinanceOrderError && error.code === -1125) {
        try {
          this.#listenKey = await this.#o.client.createListenKey();
          this.keyRenewals++;
          this.#o.onStatus?.({ kind: 'listen-key-renewed' });
        } catch {
          // REST down too: try the socket anyway; its close schedules the next attempt.
        }
      }
    }
    this.#connect();
  }

  #message(raw: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      this.#o.onReject?.(`malformed JSON: ${raw.slice(0, 80)}`);
      return;
    }
    // Combined-stream envelopes ({stream, data}) carry the event in `data`.
    const payload = typeof parsed === 'object' && parsed !== null && 'data' in parsed && 'stream' in parsed ? (parsed as { data: unknown }).data : parsed;
    let event: UserDataEvent | undefined;
    try {
      event = toUserEvent(payload);
    } catch (error) {
      if (!(error instanceof BinancePayloadError)) throw error;
      this.#o.onReject?.(error.message);
      return;
    }
    if (!event) return;
    this.#o.onEvent(event);
    if (event.kind === 'listen-key-expired') void this.#newKey();
  }

  #clearSocketTimers(): void {
    for (const t of this.#socketTimers) clearTimeout(t);
    this.#socketTimers = [];
  }
}
