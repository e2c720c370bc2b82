import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { OitraderError } from '@oitrader/core';

/** What the dashboard's Backtest tab asks for: a strategy on some of the bot's symbols over stored data. */
export interface BacktestRequest {
  strategy: string;
  symbols: string[];
  /** First bar, YYYY-MM-DD (UTC); absent = everything stored. */
  start?: string;
  /** Stop before, YYYY-MM-DD (UTC). */
  end?: string;
  /** Through the bot's risk engine (default) or the strategy's raw intents. */
  risk?: boolean;
}

export interface BacktestLine {
  strategy: string;
  /** Fractions of the initial balance, after fees, funding and slippage. */
  totalReturn: number;
  sharpe: number;
  maxDrawdown: number;
  trades: number;
  feesUsd: number;
}

export interface BacktestJob {
  id: string;
  request: BacktestRequest;
  state: 'running' | 'done' | 'failed';
  startedAtMs: number;
  finishedAtMs?: number;
  /** The report's file name (served at /reports/<name>). */
  report?: string;
  /** The tested strategy first, then the baselines and the 1x buy-and-hold benchmark. */
  lines?: BacktestLine[];
  error?: string;
}

/** The dashboard's backtests: validated requests, one at a time, each a bounded child process. */
export interface DashboardBacktests {
  readonly strategies: readonly string[];
  submit(request: unknown): BacktestJob;
  job(id: string): BacktestJob | undefined;
  jobs(): BacktestJob[];
  /** The absolute path of a report this runner wrote, or undefined (never a path outside its directory). */
  reportPath(name: string): string | undefined;
  close(): Promise<void>;
}

export interface ProcessBacktestsOptions {
  /** The command that runs `oitrader` with this process's database and config: e.g. [node, bin/oitrader.mjs, '--config', file]. */
  command: readonly string[];
  /** Arguments after `backtest` naming the database (e.g. --db data/paper/db). */
  storeArgs?: readonly string[];
  /** Where the reports are written (the child's --out). */
  reportsDir: string;
  /** Strategy names the form may pick (built-ins and ./strategies files). */
  strategies: readonly string[];
  /** Symbols the form may pick (the bot's). */
  symbols: readonly string[];
  /** The child is stopped after this long (default 10 minutes). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  clock?: () => number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const KEEP_JOBS = 20;
const MAX_STDOUT = 4_000_000;

export class BacktestRequestError extends OitraderError {
  readonly status: 400 | 409;
  constructor(message: string, status: 400 | 409) {
    super(message, { exitCode: 2 });
    this.status = status;
  }
}

/** Checks a request from the browser against what this dashboard offers: nothing else reaches a command line. */
export function parseBacktestRequest(body: unknown, strategies: readonly string[], symbols: readonly string[]): BacktestRequest {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const strategy = String(b.strategy ?? '');
  if (!strategies.includes(strategy)) throw new BacktestRequestError(`unknown strategy "${strategy}"; one of ${strategies.join(', ')}`, 400);
  const asked = Array.isArray(b.symbols) ? b.symbols.map(String) : [];
  if (asked.length === 0) throw new BacktestRequestError(`choose at least one symbol of ${symbols.join(', ')}`, 400);
  const unknown = asked.filter((s) => !symbols.includes(s));
  if (unknown.length > 0) throw new BacktestRequestError(`this bot does not trade ${unknown.join(', ')}; it trades ${symbols.join(', ')}`, 400);
  const date = (key: 'start' | 'end') => {
    const v = b[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string' || !DATE.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) throw new BacktestRequestError(`${key} must be a date YYYY-MM-DD (UTC), got "${String(v)}"`, 400);
    return v;
  };
  const start = date('start');
  const end = date('end');
  if (start && end && start >= end) throw new BacktestRequestError(`start ${start} is not before end ${end}`, 400);
  return { strategy, symbols: [...new Set(asked)], ...(start && { start }), ...(end && { end }), risk: b.risk !== false };
}

/**
 * Runs each backtest as `oitrader backtest … --json` in a child process: the
 * same code and reports as the command line, without blocking the bot that
 * may share this process, killed at its deadline or when the dashboard closes.
 * One at a time (a 2-core machine also runs the bot); a second is refused (409).
 */
export function processBacktests(options: ProcessBacktestsOptions): DashboardBacktests {
  const clock = options.clock ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const reportsDir = resolve(options.reportsDir);
  const jobs: BacktestJob[] = [];
  const written = new Set<string>();
  let running: { job: BacktestJob; child: ChildProcess; done: Promise<void> } | undefined;
  let seq = 0;

  const finish = (job: BacktestJob, outcome: Partial<BacktestJob>) => Object.assign(job, { finishedAtMs: clock(), ...outcome });

  const start = (job: BacktestJob) => {
    const r = job.request;
    const args = [...options.command.slice(1), 'backtest', '--strategy', r.strategy, '--symbols', r.symbols.join(','), '--out', reportsDir, '--json', ...(options.storeArgs ?? [])];
    if (r.start) args.push('--start', r.start);
    if (r.end) args.push('--end', r.end);
    if (r.risk === false) args.push('--no-risk');
    const child = spawn(options.command[0], args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    // Only the final JSON result is read: a strategy file that logs every bar must not grow the bot's memory.
    child.stdout!.on('data', (d: string) => (stdout = (stdout + d).slice(-MAX_STDOUT)));
    child.stderr!.on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, timeoutMs);
    const done = new Promise<void>((resolveDone) => {
      child.on('error', (e) => {
        clearTimeout(timer);
        finish(job, { state: 'failed', error: `could not start the backtest: ${e.message}` });
        resolveDone();
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (job.state === 'running') {
          if (code === 0) {
            try {
              const result = JSON.parse(stdout.slice(Math.max(0, stdout.lastIndexOf('\n{') + 1))) as { report: string; strategies: Array<{ strategy: string; metrics: Record<string, number> }> };
              const name = basename(result.report);
              written.add(name);
              const m = (x: { metrics: Record<string, number> }, k: string) => Number(x.metrics[k]);
              const lines = result.strategies.map((s) => ({ strategy: s.strategy, totalReturn: m(s, 'totalReturn'), sharpe: m(s, 'sharpe'), maxDrawdown: m(s, 'maxDrawdown'), trades: m(s, 'trades'), feesUsd: m(s, 'feesUsd') }));
              finish(job, { state: 'done', report: name, lines });
            } catch (e) {
              finish(job, { state: 'failed', error: `the backtest printed no result: ${(e as Error).message}` });
            }
          } else {
            const why = timedOut ? `stopped after ${timeoutMs / 1000} s` : signal ? `ended by ${signal}` : lastLines(stderr) || `exit code ${code}`;
            finish(job, { state: 'failed', error: why });
          }
        }
        running = undefined;
        resolveDone();
      });
    });
    running = { job, child, done };
  };

  return {
    strategies: options.strategies,
    submit(body) {
      const request = parseBacktestRequest(body, options.strategies, options.symbols);
      if (running) throw new BacktestRequestError(`a backtest is already running (${running.job.id}, ${running.job.request.strategy}); wait for it`, 409);
      const job: BacktestJob = { id: `bt-${clock().toString(36)}-${++seq}`, request, state: 'running', startedAtMs: clock() };
      jobs.unshift(job);
      jobs.splice(KEEP_JOBS);
      start(job);
      return job;
    },
    job: (id) => jobs.find((j) => j.id === id),
    jobs: () => [...jobs],
    reportPath(name) {
      if (!written.has(name) || name !== basename(name)) return undefined;
      const path = join(reportsDir, name);
      return existsSync(path) ? path : undefined;
    },
    async close() {
      const r = running;
      if (!r) return;
      if (r.job.state === 'running') finish(r.job, { state: 'failed', error: 'the dashboard stopped' });
      r.child.kill('SIGTERM');
      const killed = setTimeout(() => r.child.kill('SIGKILL'), 3000);
      await r.done;
      clearTimeout(killed);
    },
  };
}

/** The error an `oitrader` command printed: its last non-empty lines, ANSI colours removed. */
function lastLines(text: string): string {
  // eslint-disable-next-line no-control-regex
  const lines = text.replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.slice(-3).join(' ');
}
