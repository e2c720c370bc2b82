import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirectorySource, type WireOrderTradeUpdate } from '@oitrader/binance';
import { importArchive, openStore, type SqlExecutor } from '@oitrader/data';
import { BotStore } from '@oitrader/live';
import { loadReplayDataset, SimClock, SimServer, type SimServerOptions } from '@oitrader/sim';
import { SAMPLE_ARCHIVE } from '../commands/demo.ts';

const BIN = fileURLToPath(new URL('../../bin/oitrader.mjs', import.meta.url));
export const BAR_MS = 300_000;
const SYMBOL = 'SOLUSDT';

/** A trade the simulator executed for the bot's account (its ORDER_TRADE_UPDATE with x = TRADE). */
export interface SimTrade {
  timeMs: number;
  clientOrderId: string;
  side: 'buy' | 'sell';
  qtyBase: number;
  priceUsd: number;
  feeUsd: number;
}

/**
 * The trading simulator replaying the real SOLUSDT sample, stepped candle by
 * candle in lockstep with a real `oitrader bot run` child process
 * (trading.mode: sim) on an embedded database on disk. The harness plays the
 * collector's part — the database holds the span's candles, and the bot may
 * only use those that closed on the simulator's clock — and checks on every
 * candle the exchange matches that an open position has its stop.
 */
export class SimBotHarness {
  readonly dir: string;
  /** PostgreSQL database URL, or undefined for the embedded database under `dir`. */
  readonly databaseUrl: string | undefined;
  readonly sim: SimServer;
  readonly sql: SqlExecutor;
  readonly store: BotStore;
  readonly trades: SimTrade[] = [];
  /** Candles the exchange matched while a position had no closing stop resting. */
  readonly unprotected: string[] = [];
  child: ChildProcess | undefined;
  output = '';
  #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;

  private constructor(dir: string, databaseUrl: string | undefined, sim: SimServer, sql: SqlExecutor) {
    this.dir = dir;
    this.databaseUrl = databaseUrl;
    this.sim = sim;
    this.sql = sql;
    this.store = new BotStore(sql);
    const engine = sim.trading.engine;
    engine.onEvent((event) => {
      if (event.e !== 'ORDER_TRADE_UPDATE' || event.o.x !== 'TRADE' || event.o.s !== SYMBOL) return;
      const o = (event as WireOrderTradeUpdate).o;
      this.trades.push({ timeMs: o.T, clientOrderId: o.c, side: o.S === 'BUY' ? 'buy' : 'sell', qtyBase: Number(o.l), priceUsd: Number(o.L), feeUsd: Number(o.n) });
    });
    const advance = engine.advance.bind(engine);
    engine.advance = (nowMs: number) => {
      const book = engine.book(SYMBOL);
      const next = book.bars[book.next];
      if (next && next.closeTime < nowMs) {
        const qty = Number(engine.positionRisk(SYMBOL, nowMs)[0]?.positionAmt ?? 0);
        const closing = qty > 0 ? 'SELL' : 'BUY';
        const stopped = engine.openAlgos(SYMBOL).some((a) => a.orderType === 'STOP_MARKET' && a.side === closing && (a.closePosition || Number(a.quantity) >= Math.abs(qty)));
        if (qty !== 0 && !stopped) this.unprotected.push(`${new Date(next.openTime).toISOString()}: position ${qty} with no stop`);
      }
      advance(nowMs);
    };
  }

  /** Imports the span's real candles and funding, and starts the simulator (stepped) at `startMs`. */
  static async start(dir: string, startMs: number, endMs: number, databaseUrl?: string, options: { speed?: number; trading?: SimServerOptions['trading'] } = {}): Promise<SimBotHarness> {
    const { sql } = await openStore(databaseUrl ? { url: databaseUrl } : { embeddedPath: join(dir, 'db') });
    if (endMs > startMs) await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE), { symbols: [SYMBOL], timeframes: ['5m'], datasets: ['klines', 'fundingRate'], startMs, endMs });
    const dataset = await loadReplayDataset(SAMPLE_ARCHIVE, SYMBOL);
    // Stepped (speed 0) as fast as the bot commits, or free-running: a real-time request budget would only add waiting.
    const sim = await SimServer.start({ datasets: [dataset], clock: new SimClock(startMs + 1000, options.speed ?? 0), weightPerMinute: 1_000_000, trading: options.trading });
    return new SimBotHarness(dir, databaseUrl, sim, sql);
  }

  /** A config.yaml for bot `bot` against this simulator; `yaml` replaces the default bot/trading/data sections. */
  config(bot: string, yaml?: string): string {
    const file = join(this.dir, `${bot}.yaml`);
    writeFileSync(
      file,
      `database:\n  embedded_path: ${join(this.dir, 'db')}\n  url: "${this.databaseUrl ?? ''}"\n` +
        `binance:\n  rest_url: ${this.sim.restUrl}\n  ws_url: ${this.sim.wsUrl}\n  trade_rest_url: ${this.sim.restUrl}\n` +
        // The bot serves its dashboard (dashboard.enabled): on a free port, never one another run holds.
        `dashboard:\n  port: 0\n` +
        (yaml ?? `bot:\n  name: ${bot}\n  collector: external\n  kill_file: ${join(this.dir, `${bot}.KILL`)}\ntrading:\n  mode: sim\n  symbol: ${SYMBOL}\n`),
    );
    return file;
  }

  /** Starts `oitrader bot run` as a child process (sim mode unless `yaml` says otherwise). */
  spawnBot(bot: string, args: string[] = [], env: Record<string, string> = {}, yaml?: string): void {
    this.output = '';
    const child = spawn(process.execPath, [BIN, '--config', this.config(bot, yaml), 'bot', 'run', ...args], {
      env: { ...process.env, DATABASE_URL: this.databaseUrl ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child = child;
    this.#exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  async stopBot(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const exited = this.#exited!;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return exited;
  }

  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exited!;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Open time of the bot's last committed candle (NaN before the first). */
  async lastCandle(bot: string): Promise<number> {
    return (await this.store.control(bot))?.lastCandleMs ?? Number.NaN;
  }

  /**
   * Moves the simulator to 1 s after the close of the candle opening at
   * `openMs` and waits until the bot has committed that candle. Returns false
   * when the bot process ended first (a planned SIGKILL).
   */
  async step(bot: string, openMs: number, timeoutMs = 60_000): Promise<boolean> {
    const target = openMs + BAR_MS + 1000;
    if (this.sim.clock.now() < target) this.sim.clock.set(target);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await this.lastCandle(bot)) >= openMs) return true;
      if (!this.running) return false;
      if (Date.now() > deadline) throw new Error(`the bot did not commit the candle at ${new Date(openMs).toISOString()} within ${timeoutMs} ms:\n${this.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async close(): Promise<void> {
    if (this.running) await this.stopBot();
    await this.sim.close();
    await this.sql.close();
  }
}
