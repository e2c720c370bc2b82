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

export interface SimServerOptions {
  datasets: ReplayDataset[];
  clock: SimClock;
  port?: number;
  host?: string;
  /** Serve this directory under /data/ in the archive layout, so the archive importer can point at the simulator. */
  archiveDir?: string;
  /** Binance's per-IP limit; requests beyond it in a real-time minute get 429. */
  weightPerMinute?: number;
  /** Real-time milliseconds between stream ticks when the clock runs (speed > 0). */
  tickMs?: number;
}

export interface SimStats {
  requests: number;
  requestsByPath: Record<string, number>;
  rateLimited: number;
  wsConnections: number;
  wsDrops: number;
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
  readonly stats: SimStats = { requests: 0, requestsByPath: {}, rateLimited: 0, wsConnections: 0, wsDrops: 0 };
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
    this.#http = createServer((req, res) => void this.#handle(req, res));
    this.#wss = new WebSocketServer({ noServer: true });
    this.#http.on('upgrade', (req, socket, head) => {
      const streams = requestedStreams(req.url ?? '');
      if (!streams) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        this.stats.wsConnections++;
        this.hub.add(ws, streams.names, streams.combined);
      });
    });
  }

  static async start(options: SimServerOptions): Promise<SimServer> {
    const server = new SimServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#http.once('error', reject);
      server.#http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    server.#unsubscribe = options.clock.onChange((now) => server.hub.tick(now));
    server.#ticker = setInterval(() => {
      if (server.clock.speed > 0) server.hub.tick(server.clock.now());
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
      if (!route) return send(res, 404, { code: -5000, msg: `Path ${url.pathname} not found in the simulator.` });
      const used = this.#spend(route.weight(url.searchParams));
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
      const body = JSON.stringify(route.handle({ datasets: this.#datasets, now: this.clock.now() }, url.searchParams));
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
      return send(res, 200, { now: this.clock.now(), speed: this.clock.speed, faults: this.faults, stats: { ...this.stats, wsOpen: this.hub.connections, wsMessages: this.hub.messagesSent } });
    }
    if (req.method !== 'POST') return send(res, 405, { msg: 'POST /sim/faults, /sim/clock, /sim/drop-streams; GET /sim/state' });
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
    return send(res, 404, { msg: `unknown admin path ${url.pathname}` });
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

function requestedStreams(rawUrl: string): { names: string[]; combined: boolean } | undefined {
  const url = new URL(rawUrl, 'ws://sim');
  if (url.pathname === '/stream') {
    const names = (url.searchParams.get('streams') ?? '').split('/').filter(Boolean);
    return names.length > 0 ? { names, combined: true } : undefined;
  }
  if (url.pathname.startsWith('/ws/')) return { names: url.pathname.slice(4).split('/').filter(Boolean), combined: false };
  return undefined;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(body), headers);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    throw new SimApiError(400, -1100, 'admin body must be JSON');
  }
}
