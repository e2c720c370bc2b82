import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { OitraderError, silentLogger, type Logger } from '@oitrader/core';
import type { BotEvents } from '../bot/bot-events.ts';
import { BotStore } from '../state/bot-store.ts';
import { BotMetrics } from './bot-metrics.ts';
import { BacktestRequestError, type DashboardBacktests } from './dashboard-backtests.ts';
import { allowedHostnames, checkExposure, FailedTokenLimiter } from './dashboard-guard.ts';
import { dashboardPage } from './dashboard-page.ts';
import { readDashboardState, type DashboardSource, type DashboardState } from './dashboard-state.ts';

export type ControlAction = 'kill' | 'resume' | 'flatten' | 'stop-entries' | 'force-long' | 'force-short';
export const CONTROL_ACTIONS: readonly ControlAction[] = ['kill', 'resume', 'flatten', 'stop-entries', 'force-long', 'force-short'];
/** The controls that act on one symbol only (?symbol= required). */
const FORCE_ENTRIES: readonly ControlAction[] = ['force-long', 'force-short'];

export interface DashboardOptions extends DashboardSource {
  barMs: number;
  /** Default 127.0.0.1: the dashboard is read-only for anyone who reaches it, so it is not exposed by default. */
  host?: string;
  /** 0 (default): a free port. */
  port?: number;
  /** The controls' token (OITRADER_DASHBOARD_TOKEN, at least 24 characters); without one the controls are refused. */
  token?: string;
  /** A bind beyond loopback (0.0.0.0, a LAN address) is refused without it, and needs a token with it. */
  allowRemote?: boolean;
  /** Host names besides loopback and the bound address that the page may be reached by (dashboard.allowed_hosts). */
  allowedHosts?: readonly string[];
  /** When the bot runs in this process: updates are pushed on its events, not only by polling. */
  events?: BotEvents;
  /** Polls the database for changes (a bot in another process) while a page listens. Default 2000 ms. */
  pollMs?: number;
  log?: Logger;
  /** The Backtest tab's runner; absent = no tab. */
  backtests?: DashboardBacktests;
  /** Called after a control is written (the Telegram bridge and the log hear of it). */
  onControl?: (action: ControlAction, who: string) => void;
}

export interface RunningDashboard {
  url: string;
  metrics: BotMetrics;
  /** Pushes a fresh state to every listening page now. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

const CHARTS_JS = join(dirname(createRequire(import.meta.url).resolve('lightweight-charts/package.json')), 'dist', 'lightweight-charts.standalone.production.js');
const CLIENT_JS = new URL('./dashboard-client.mjs', import.meta.url);
const BACKTEST_JS = new URL('./dashboard-backtest.mjs', import.meta.url);

/** Writes one control to the bot's control row; the running bot carries it out at its next step. */
export async function applyControl(store: BotStore, bot: string, action: ControlAction, who: string, symbol?: string): Promise<boolean> {
  if (action === 'kill') return store.setKilled(bot, true, `kill from ${who}`);
  if (action === 'resume') return store.resume(bot);
  if (action === 'stop-entries') return store.stopEntries(bot, `stop-entries from ${who}`);
  if (action === 'force-long' || action === 'force-short') {
    if (symbol === undefined) throw new OitraderError(`${action} needs a symbol`, { exitCode: 2 });
    // A forced entry goes through the risk engine like any entry: a halt, the budget or the filters still refuse it.
    return store.requestForceEntry(bot, symbol, action === 'force-long' ? 'long' : 'short');
  }
  // A flatten of one symbol is a forced exit: that position closes, the others trade on.
  return store.requestFlatten(bot, symbol);
}

function tokenMatches(expected: string | undefined, header: string | undefined): boolean {
  if (!expected) return false;
  const given = header?.startsWith('Bearer ') ? header.slice(7) : '';
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The dashboard's routes; `startDashboard` serves them. */
export function dashboardApp(options: DashboardOptions, metrics: BotMetrics, listeners: Map<SSEStreamingApi, string>): Hono {
  const app = new Hono();
  const store = new BotStore(options.sql);
  const log = options.log ?? silentLogger;
  const chartsJs = readFileSync(CHARTS_JS);
  const clientJs = readFileSync(CLIENT_JS);
  const backtestJs = readFileSync(BACKTEST_JS);
  // DNS rebinding: a page of another site whose name now points here must not read the bot's state.
  const hostAllowed = allowedHostnames(options.host ?? '127.0.0.1', options.allowedHosts);
  app.use('*', async (c, next) => {
    if (!hostAllowed(c.req.header('host'))) {
      log.warn(`dashboard: refused a request for Host "${c.req.header('host') ?? ''}" (not this dashboard's; add it to dashboard.allowed_hosts if you reach the page by that name)`);
      return c.text('this dashboard does not answer to that Host name (dashboard.allowed_hosts)', 403);
    }
    await next();
  });
  const failures = new FailedTokenLimiter();
  app.get('/', (c) => c.html(dashboardPage({ bot: options.bot, symbol: options.symbol, barMs: options.barMs, controls: Boolean(options.token), backtests: Boolean(options.backtests) })));
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.get('/assets/lightweight-charts.js', (c) => c.body(chartsJs, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=3600' }));
  app.get('/assets/dashboard-client.mjs', (c) => c.body(clientJs, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/assets/dashboard-backtest.mjs', (c) => c.body(backtestJs, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  const symbols = options.symbols ?? [options.symbol];
  // The page's symbol switcher: ?symbol= picks whose candles, position and markers come (the portfolio is always all).
  const stateOf = (symbol: string) => readDashboardState({ ...options, symbol });
  const pick = (asked: string | undefined) => (asked === undefined || asked === '' ? options.symbol : symbols.includes(asked) ? asked : undefined);
  app.get('/api/state', async (c) => {
    const symbol = pick(c.req.query('symbol'));
    if (!symbol) return c.json({ error: `unknown symbol "${c.req.query('symbol')}"; this bot trades ${symbols.join(', ')}` }, 400);
    return c.json(await stateOf(symbol));
  });
  app.get('/metrics', async (c) => c.body(await metrics.text(), 200, { 'content-type': metrics.contentType }));
  app.get('/api/events', (c) => {
    const symbol = pick(c.req.query('symbol'));
    if (!symbol) return c.json({ error: `unknown symbol "${c.req.query('symbol')}"; this bot trades ${symbols.join(', ')}` }, 400);
    return streamSSE(c, async (stream) => {
      listeners.set(stream, symbol);
      stream.onAbort(() => {
        listeners.delete(stream);
      });
      await stream.writeSSE({ event: 'state', data: JSON.stringify(await stateOf(symbol)) });
      while (!stream.aborted && !stream.closed) await stream.sleep(15_000).then(() => stream.writeSSE({ event: 'ping', data: '' }));
    });
  });
  /** The token gate of every request that changes something: undefined when it may go on, else the refusal. */
  const refused = (c: Context, what: string): Response | undefined => {
    if (!options.token) return c.json({ error: 'controls are disabled: start the dashboard with OITRADER_DASHBOARD_TOKEN set' }, 403);
    const client = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress ?? 'local';
    const waitMs = failures.blockedForMs(client);
    if (waitMs > 0) return c.json({ error: `too many wrong tokens from ${client}: try again in ${Math.ceil(waitMs / 1000)} s` }, 429, { 'retry-after': String(Math.ceil(waitMs / 1000)) });
    if (!tokenMatches(options.token, c.req.header('authorization'))) {
      failures.fail(client);
      log.warn(`dashboard: ${what} refused (missing or wrong token from ${client})`);
      return c.json({ error: 'wrong or missing token' }, 401);
    }
    return undefined;
  };
  app.post('/api/control/:action', async (c) => {
    const action = c.req.param('action') as ControlAction;
    if (!CONTROL_ACTIONS.includes(action)) return c.json({ error: `unknown control "${action}"; one of ${CONTROL_ACTIONS.join(', ')}` }, 404);
    const no = refused(c, action);
    if (no) return no;
    const symbol = c.req.query('symbol') || undefined;
    const perSymbol = action === 'flatten' || FORCE_ENTRIES.includes(action);
    if (symbol !== undefined && (!perSymbol || !symbols.includes(symbol))) return c.json({ error: `?symbol= goes with flatten, force-long or force-short and one of ${symbols.join(', ')}` }, 400);
    if (symbol === undefined && FORCE_ENTRIES.includes(action)) return c.json({ error: `${action} needs ?symbol=, one of ${symbols.join(', ')}` }, 400);
    if (!(await applyControl(store, options.bot, action, 'dashboard', symbol))) return c.json({ error: `no bot named "${options.bot}" in the database` }, 404);
    log.warn(`dashboard: ${action}${symbol ? ` ${symbol}` : ''} requested`);
    options.onControl?.(action, 'dashboard');
    const note = FORCE_ENTRIES.includes(action) ? 'the bot enters at its next step unless the risk engine refuses (the decision panel says why)' : 'the bot carries it out at its next step';
    return c.json({ ok: true, action, ...(symbol && { symbol }), note });
  });
  // The Backtest tab: a backtest on stored data, run by `oitrader backtest` in a child process, its report served here.
  const backtests = options.backtests;
  const noBacktests = (c: Context) => c.json({ error: 'this dashboard runs no backtests (start it with oitrader dashboard, paper or bot run)' }, 404);
  app.get('/api/backtests', (c) => (backtests ? c.json({ strategies: backtests.strategies, symbols, jobs: backtests.jobs() }) : noBacktests(c)));
  app.get('/api/backtests/:id', (c) => {
    const job = backtests?.job(c.req.param('id'));
    return job ? c.json(job) : c.json({ error: `no backtest ${c.req.param('id')}` }, 404);
  });
  app.post('/api/backtests', async (c) => {
    if (!backtests) return noBacktests(c);
    const no = refused(c, 'backtest');
    if (no) return no;
    const body: unknown = await c.req.json().catch(() => undefined);
    try {
      const job = backtests.submit(body);
      log.info(`dashboard: backtest ${job.id} started (${job.request.strategy} on ${job.request.symbols.join(',')})`);
      return c.json(job, 202);
    } catch (e) {
      if (e instanceof BacktestRequestError) return c.json({ error: e.message }, e.status);
      throw e;
    }
  });
  app.get('/reports/:name', (c) => {
    const path = backtests?.reportPath(c.req.param('name'));
    if (!path) return c.json({ error: `no report ${c.req.param('name')} from this dashboard` }, 404);
    return c.body(readFileSync(path), 200, { 'content-type': 'text/html; charset=utf-8' });
  });
  return app;
}

/**
 * Serves the dashboard: candles with the bot's trades, equity and drawdown,
 * position, orders, decision, risk, data health, champion, trades, live by
 * SSE; token-protected controls; Prometheus /metrics. All assets are local.
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  checkExposure({ host: options.host ?? '127.0.0.1', token: options.token, allowRemote: options.allowRemote, log: options.log });
  const metrics = new BotMetrics({ bot: options.bot, barMs: options.barMs, sql: options.sql, clock: options.clock });
  const listeners = new Map<SSEStreamingApi, string>();
  const app = dashboardApp(options, metrics, listeners);
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 0 }, () => resolve(s as Server)) as Server;
    s.once('error', (e) => reject(new OitraderError(`dashboard cannot listen on ${host}:${options.port ?? 0}: ${e.message}`, { hint: 'choose another port (--port, or dashboard.port in config.yaml; 0 = any free port), or set dashboard.enabled: false so oitrader bot run serves none', exitCode: 2 })));
  });
  const { port } = server.address() as AddressInfo;
  // What each symbol's listeners were sent last: an unchanged state is not sent again.
  const last = new Map<string, string>();
  const broadcast = async (force: boolean) => {
    for (const symbol of new Set(listeners.values())) {
      const state: DashboardState = await readDashboardState({ ...options, symbol });
      const key = JSON.stringify({ ...state, generatedAtMs: 0 });
      if (!force && key === last.get(symbol)) continue;
      last.set(symbol, key);
      const data = JSON.stringify(state);
      const mine = [...listeners].filter(([, s]) => s === symbol).map(([l]) => l);
      await Promise.all(mine.map((l) => l.writeSSE({ event: 'state', data }).catch(() => listeners.delete(l))));
    }
  };
  const log = options.log ?? silentLogger;
  let pending: NodeJS.Timeout | undefined;
  const soon = () => {
    pending ??= setTimeout(() => {
      pending = undefined;
      broadcast(true).catch((e: Error) => log.warn(`dashboard update failed: ${e.message}`));
    }, 50);
  };
  const detach = options.events ? metrics.attach(options.events) : undefined;
  options.events?.on('equity', soon);
  options.events?.on('risk', soon);
  const poll = setInterval(() => broadcast(false).catch((e: Error) => log.warn(`dashboard poll failed: ${e.message}`)), options.pollMs ?? 2000);
  poll.unref();
  return {
    url: `http://${host}:${port}/`,
    metrics,
    refresh: () => broadcast(true),
    async close() {
      clearInterval(poll);
      if (pending) clearTimeout(pending);
      await options.backtests?.close();
      detach?.();
      options.events?.off('equity', soon);
      options.events?.off('risk', soon);
      for (const l of listeners.keys()) await l.close().catch(() => undefined);
      listeners.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
