import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { WebSocketServer } from 'ws';
import { applyFaults, noFaults, type Faults } from './faults.ts';
import type { ReplayDataset } from './replay-dataset.ts';
import { ROUTES, SimApiError, type Route } from './rest-routes.ts';
import type { SimClock } from './sim-clock.ts';
import { StreamHub } from './stream-hub.ts';
import { TradingEngine, type TradingOptions } from './trading/engine.ts';
import { TradingApi } from './trading/trading-api.ts';
import { UserHub } from './trading/user-hub.ts';
import type { StreamBase } from '@oitrader/binance';
import type { InstrumentProvider } from '@oitrader/trading';

/** The simulator's API key and secret when none are configured (documented in docs/phase-5-exchange.md). */
export const SIM_API_KEY = 'sim-api-key';
export const SIM_SECRET = 'sim-secret';

export interface SimServerOptions {
  datasets: ReplayDataset[];
  clock: SimClock;
  port?: number;
  host?: string;
  /** Serve this directory under /data/ in the archive layout, so the archive importer can point at the simulator. */
  archiveDir?: string;
  /** Binance's per-IP limit (2,400); requests beyond it in a real-time minute get 429. Published in exchangeInfo, so a client paces itself by it. */
  weightPerMinute?: number;
  /** Real-time milliseconds between stream ticks when the clock runs (speed > 0). */
  tickMs?: number;
  /** The trading account (signed endpoints, user stream); default key/secret SIM_API_KEY/SIM_SECRET, 2,000 USDT. */
  trading?: Partial<TradingOptions>;
  /** The instruments traded and published on exchangeInfo / leverageBracket (default: the bundled snapshot). */
  instruments?: InstrumentProvider;
}

export interface SimStats {
  requests: number;
  requestsByPath: Record<string, number>;
  rateLimited: number;
  wsConnections: number;
  wsDrops: number;
  /** Connections opened on the legacy root paths (/stream, /ws/…), which get no data, as on Binance. */
  legacyConnections: number;
}

/**
 * A local stand-in for Binance USDⓈ-M: the market-data REST endpoints and
 * streams with Binance's JSON shapes, replaying stored data on a SimClock.
 * Routes live in a table (rest-routes.ts), so the trading endpoints of a later
 * issue are more entries in it, not a new server.
 */
export class SimServer {
  readonly clock: SimClock;
  readonly faults: Faults = noFaults();
  readonly hub: StreamHub;
  readonly stats: SimStats = { requests: 0, requestsByPath: {}, rateLimited: 0, wsConnections: 0, wsDrops: 0, legacyConnections: 0 };
  readonly trading: TradingApi;
  readonly userHub = new UserHub();
  readonly routes: Record<string, Route> = { ...ROUTES };
  readonly #datasets: Map<string, ReplayDataset>;
  readonly #options: SimServerOptions;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  #weightWindow = 0;
  #weightUsed = 0;
  #ticker: NodeJS.Timeout | undefined;
  #unsubscribe: () => void = () => {};

  private constructor(options: SimServerOptions) {
    this.#options = options;
    this.clock = options.clock;
    this.#datasets = new Map(options.datasets.map((d) => [d.symbol, d]));
    this.hub = new StreamHub(this.#datasets, this.faults.ws, options.clock.now());
    const engine = new TradingEngine(this.#datasets, { apiKey: SIM_API_KEY, secret: SIM_SECRET, ...options.trading, ...(options.instruments && { instruments: options.instruments }) }, options.clock);
    this.trading = new TradingApi(engine, this.faults.trading);
    engine.onEvent((event) => this.userHub.send(event));
    this.trading.onListenKeyGone = (key) => this.userHub.expire(key, this.clock.now());
    this.#http = createServer((req, res) => void this.#handle(req, res));
    this.#wss = new WebSocketServer({ noServer: true });
    this.#http.on('upgrade', (req, socket, head) => {
      const target = upgradeTarget(req.url ?? '');
      if (!target || (target.kind === 'user' && !this.trading.validListenKey(target.listenKey))) {
        socket.end(target ? 'HTTP/1.1 400 Bad Request\r\n\r\n' : 'HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        this.stats.wsConnections++;
        if (target.kind === 'user') return this.userHub.add(ws, target.listenKey);
        if (target.base === 'legacy') this.stats.legacyConnections++;
        this.hub.add(ws, target.names, target.combined, target.base);
      });
    });
  }

  static async start(options: SimServerOptions): Promise<SimServer> {
    const server = new SimServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#http.once('error', reject);
      server.#http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    server.#unsubscribe = options.clock.onChange((now) => server.#tick(now));
    server.#ticker = setInterval(() => {
      if (server.clock.speed > 0) server.#tick(server.clock.now());
    }, options.tickMs ?? 10);
    return server;
  }

  get port(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  get restUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Market streams, then the matching engine: candles that closed fill resting orders and stops. */
  #tick(now: number): void {
    this.hub.tick(now);
    this.trading.engine.advance(now);
  }

  /** Kills every user-data stream (a network drop); returns how many. */
  dropUserStreams(): number {
    const n = this.userHub.dropAll();
    this.stats.wsDrops += n;
    return n;
  }

  dataset(symbol: string): ReplayDataset | undefined {
    return this.#datasets.get(symbol);
  }

  /** Kills every stream connection (a network drop); returns how many. */
  dropStreams(): number {
    const n = this.hub.dropAll();
    this.stats.wsDrops += n;
    return n;
  }

  async close(): Promise<void> {
    clearInterval(this.#ticker);
    this.#unsubscribe();
    this.hub.dropAll();
    this.userHub.dropAll();
    this.#wss.close();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    try {
      if (url.pathname.startsWith('/sim/')) return await this.#admin(req, res, url);
      if (url.pathname.startsWith('/data/')) return this.#archiveFile(res, url.pathname.slice('/data/'.length));
      const route = this.routes[url.pathname];
      this.stats.requests++;
      this.stats.requestsByPath[url.pathname] = (this.stats.requestsByPath[url.pathname] ?? 0) + 1;
      if (this.faults.rest.delayMs > 0) await new Promise((r) => setTimeout(r, this.faults.rest.delayMs));
      if (this.faults.rest.banned) return send(res, 418, { code: -1003, msg: 'Way too many requests; IP banned.' }, { 'retry-after': '120' });
      const method = req.method ?? 'GET';
      const signed = this.trading.handles(method, url.pathname);
      if (!route && !signed) return send(res, 404, { code: -5000, msg: `Path ${url.pathname} not found in the simulator.` });
      const used = this.#spend(signed ? this.trading.weight(method, url.pathname) : route!.weight(url.searchParams));
      const weightHeader = { 'x-mbx-used-weight-1m': String(used) };
      if (this.faults.rest.tooManyRequests > 0 || used > (this.#options.weightPerMinute ?? 2400)) {
        if (this.faults.rest.tooManyRequests > 0) this.faults.rest.tooManyRequests--;
        this.stats.rateLimited++;
        const retryAfter = this.faults.rest.retryAfterSeconds;
        return send(res, 429, { code: -1003, msg: 'Too many requests; current limit is 2400 requests per minute.' }, { ...weightHeader, 'retry-after': String(retryAfter) });
      }
      if (this.faults.rest.serverErrors > 0) {
        this.faults.rest.serverErrors--;
        return send(res, 503, { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' }, weightHeader);
      }
      if (signed) {
        const rawBody = method === 'GET' ? '' : await readRaw(req);
        const answer = this.trading.handle(method, url.pathname, req.headers, url.search.slice(1), rawBody, this.clock.now(), this.clock.speed);
        // "Timeout after accept": executed, never answered; the socket stays open until the client gives up.
        if (answer.hang) return;
        return send(res, answer.status, answer.body, { ...weightHeader, ...answer.headers });
      }
      const body = JSON.stringify(route!.handle({ datasets: this.#datasets, now: this.clock.now(), weightPerMinute: this.#options.weightPerMinute ?? 2400, instruments: this.trading.engine.instruments }, url.searchParams));
      if (this.faults.rest.malformedBodies > 0) {
        this.faults.rest.malformedBodies--;
        return sendText(res, 200, body.slice(0, Math.max(1, Math.floor(body.length / 2))), weightHeader);
      }
      return sendText(res, 200, body, weightHeader);
    } catch (error) {
      if (error instanceof SimApiError) return send(res, error.status, { code: error.code, msg: error.message });
      return send(res, 400, { code: -1100, msg: (error as Error).message });
    }
  }

  /** Weight per real-time minute, like Binance's per-IP counter. */
  #spend(weight: number): number {
    const window = Math.floor(Date.now() / 60_000);
    if (window !== this.#weightWindow) {
      this.#weightWindow = window;
      this.#weightUsed = 0;
    }
    this.#weightUsed += weight;
    return this.#weightUsed;
  }

  async #admin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (url.pathname === '/sim/state') {
      // ?changedFrom=T&waitMs=N: a stepped clock not past T answers when it is stepped (or after N ms, at most 5 s),
      // so a bot trading a stepped replay reacts at once instead of polling.
      const waitMs = Math.min(Number(url.searchParams.get('waitMs') ?? 0), 5000);
      const from = Number(url.searchParams.get('changedFrom'));
      if (waitMs > 0 && this.clock.speed === 0 && this.clock.now() <= from) await this.#clockMoved(waitMs, res);
      return send(res, 200, { now: this.clock.now(), speed: this.clock.speed, faults: this.faults, stats: { ...this.stats, wsOpen: this.hub.connections, wsMessages: this.hub.messagesSent } });
    }
    if (req.method !== 'POST') return send(res, 405, { msg: 'POST /sim/faults, /sim/clock, /sim/drop-streams, /sim/drop-user-streams, /sim/expire-listen-keys; GET /sim/state' });
    const body = await readBody(req);
    if (url.pathname === '/sim/faults') {
      applyFaults(this.faults, body);
      return send(res, 200, this.faults);
    }
    if (url.pathname === '/sim/clock') {
      const { speed, advanceMs, setMs } = body as { speed?: number; advanceMs?: number; setMs?: number };
      if (speed !== undefined) this.clock.setSpeed(speed);
      if (advanceMs !== undefined) this.clock.advance(advanceMs);
      if (setMs !== undefined) this.clock.set(setMs);
      return send(res, 200, { now: this.clock.now(), speed: this.clock.speed });
    }
    if (url.pathname === '/sim/drop-streams') return send(res, 200, { dropped: this.dropStreams() });
    if (url.pathname === '/sim/drop-user-streams') return send(res, 200, { dropped: this.dropUserStreams() });
    if (url.pathname === '/sim/expire-listen-keys') return send(res, 200, { expired: this.trading.expireListenKeys().length });
    return send(res, 404, { msg: `unknown admin path ${url.pathname}` });
  }

  #clockMoved(waitMs: number, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        res.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      const unsubscribe = this.clock.onChange(done);
      res.on('close', done);
    });
  }

  #archiveFile(res: ServerResponse, path: string): void {
    const root = this.#options.archiveDir;
    const clean = normalize(path);
    if (!root || clean.startsWith('..')) return sendText(res, 404, 'not found', {});
    const full = join(root, clean);
    if (!existsSync(full) || !statSync(full).isFile()) return sendText(res, 404, 'not found', {});
    res.writeHead(200, { 'content-type': 'application/zip' });
    res.end(readFileSync(full));
  }
}

type UpgradeTarget =
  | { kind: 'market'; names: string[]; combined: boolean; base: StreamBase | 'legacy' }
  | { kind: 'user'; listenKey: string };

/**
 * Binance's WebSocket paths since the 2026-04-23 split: `/public/…` and
 * `/market/…` (each `/stream?streams=a/b` or `/ws/a/b`), user data at
 * `/private/ws?listenKey=K` (or `/private/ws/K`). The legacy root paths are
 * accepted but get nothing, exactly as Binance answers them today.
 */
function upgradeTarget(rawUrl: string): UpgradeTarget | undefined {
  const url = new URL(rawUrl, 'ws://sim');
  const path = url.pathname.replace(/\/+$/, '');
  if (path === '/private/ws' || path.startsWith('/private/ws/')) {
    const listenKey = url.searchParams.get('listenKey') ?? path.slice('/private/ws/'.length);
    return listenKey ? { kind: 'user', listenKey } : undefined;
  }
  const m = /^(\/public|\/market)?(\/stream|\/ws\/.+)$/.exec(path);
  if (!m) return undefined;
  const base = m[1] ? (m[1].slice(1) as StreamBase) : 'legacy';
  const combined = m[2] === '/stream';
  const names = combined ? (url.searchParams.get('streams') ?? '').split('/').filter(Boolean) : m[2].slice(4).split('/').filter(Boolean);
  if (names.length === 0) return undefined;
  return { kind: 'market', names, combined, base };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(body), headers);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

async function readRaw(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const text = await readRaw(req);
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    throw new SimApiError(400, -1100, 'admin body must be JSON');
  }
}
