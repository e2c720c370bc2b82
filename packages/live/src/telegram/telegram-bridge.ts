import { limit } from '@grammyjs/ratelimiter';
import { Cron } from 'croner';
import { Bot, type Context } from 'grammy';
import { OitraderError, redactSecret, silentLogger, type Logger } from '@oitrader/core';
import { staleStreams, readStreamHealth, type SqlExecutor } from '@oitrader/data';
import { formatPrice } from '@oitrader/trading';
import type { BotEvents } from '../bot/bot-events.ts';
import { BotStore, type StoredFill, type StoredFunding, type StoredRiskEvent } from '../state/bot-store.ts';
import { applyControl, type ControlAction } from '../monitoring/dashboard-server.ts';
import { TradeLedger } from '../monitoring/round-trips.ts';
import { exposureLine, pnlLine, portfolioLines, positionLines } from '../monitoring/portfolio-text.ts';
import { readPortfolio, symbolTrades, type PortfolioLimits, type PortfolioView, type SymbolTrade } from '../state/bot-read-model.ts';

export interface TelegramBridgeOptions {
  /** TELEGRAM_TOKEN: registered with the logger's redaction; it appears only in the Bot API request path. */
  token: string;
  /** TELEGRAM_CHAT_ID: the one chat whose commands are obeyed and to which alerts go. */
  chatId: string;
  /** Default Telegram's; tests point it at a local fake Bot API server. */
  apiRoot?: string;
  sql: SqlExecutor;
  bot: string;
  /** The symbol /flatten names in its question when the bot trades one; a portfolio bot's come from its record. */
  symbol: string;
  /** The bot's timeframe (positions are marked at its last close; default 5m). */
  timeframe?: string;
  /** The configured portfolio limits /status reads exposure against. */
  limits?: PortfolioLimits;
  events?: BotEvents;
  /** 'HH:MM' UTC for the daily summary (croner); undefined: none. */
  dailySummaryAt?: string;
  /** telegram.notify: which alerts go out (default all). */
  notify?: { entry: boolean; exit: boolean; risk: boolean; daily: boolean };
  /** Commands accepted per window (default 5 per 10 s); more are answered once with a warning and ignored. */
  rateLimit?: { commands: number; perMs: number };
  /** How long a /kill or /flatten waits for /confirm (default 60 s). */
  confirmMs?: number;
  /** Long-polling timeout in seconds (Telegram's default use: 30). */
  pollTimeoutSeconds?: number;
  /**
   * telegram.timeout_seconds × 1000: the deadline of the start-up (getMe, the
   * first poll), of each alert and of each reply (default 10 s). grammY retries
   * a network error forever by itself; without a deadline an unreachable host
   * hangs the bot's start-up.
   */
  timeoutMs?: number;
  /** Stream silence (ms) that counts as a data gap (default 120 s). */
  maxStreamAgeMs?: number;
  log?: Logger;
  clock?: () => number;
}

const DAY_MS = 86_400_000;
/** grammY's Node build types its signals with the abort-controller polyfill; Node's own AbortSignal is what it uses at run time. */
type GrammySignal = Parameters<Bot['init']>[0];
const usd = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${x >= 0 ? '' : '-'}${Math.abs(x).toFixed(2)}`);
const signed = (x: number) => `${x >= 0 ? '+' : '-'}${Math.abs(x).toFixed(2)}`;
const iso = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? '–' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16));

/** `3 h 25 min`, `2 d 4 h`. */
function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  return `${Math.floor(minutes / 1440)} d ${Math.floor((minutes % 1440) / 60)} h`;
}

const CONTROL_REPLIES: Record<ControlAction, string> = {
  kill: 'kill switch engaged: the bot flattens and stops at its next step',
  resume: 'resumed: the bot trades again from its next step (kill switch and stop-entries released)',
  flatten: 'flatten requested: the position closes at the next step',
  'stop-entries': 'entries stopped: no new positions from the next step; the open position keeps its stop and exits. /resume to enter again',
  'force-long': 'forced entry requested',
  'force-short': 'forced entry requested',
};

const HELP = [
  '/status – every symbol: position, exposure, risk budget, P&L',
  '/balance – equity, wallet and available margin',
  '/pnl (/profit) – PnL since the session started and today, per symbol',
  '/positions – the open positions with stop and liquidation price',
  '/count – open positions of the allowed maximum',
  '/trades – the last closed trades with PnL and fees',
  '/performance – closed-trade P&L per symbol',
  '/daily – PnL per UTC day (last 7); /weekly, /monthly – closed-trade P&L per ISO week, month',
  '/logs – the last risk events',
  '/stopentry – stop opening positions; the open ones keep their stops and exit (/resume releases it)',
  '/resume – release the kill switch and stop-entries',
  '/forceexit SYMBOL (/fx) – close one symbol\'s position (asks /confirm); /forceexit all = /flatten',
  '/flatten – close every position (asks /confirm)',
  '/kill – kill switch: flatten and stop trading (asks /confirm)',
  '/help – this list',
].join('\n');

/**
 * Telegram for the operator (grammY, long polling): alerts from the bot's
 * events, commands from the one configured chat only, rate-limited, with
 * confirmation for /flatten and /kill. Controls go through the bot's control
 * row, exactly like `oitrader bot kill|resume|flatten|stop-entries`.
 */
export class TelegramBridge {
  readonly #o: TelegramBridgeOptions;
  readonly #bot: Bot;
  readonly #store: BotStore;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #timeoutMs: number;
  /** One ledger per symbol: one-way mode nets a symbol's fills, never two symbols'. */
  #ledgers = new Map<string, TradeLedger>();
  #pending: { action: ControlAction; untilMs: number; symbol?: string } | undefined;
  #cron: Cron | undefined;
  #detach: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #ledgerReady: Promise<void> | undefined;
  readonly #errors = new Map<string, { count: number; firstMs: number; alerted: boolean }>();
  #gaps = new Set<string>();
  #alerts: Promise<void> = Promise.resolve();
  /** Alerts of the burst in progress (one bot step's events), sent as one message when its events are handled. */
  #outbox: string[] = [];
  #flushQueued = false;

  constructor(options: TelegramBridgeOptions) {
    if (!options.token) throw new OitraderError('telegram is enabled but has no token', { hint: 'set TELEGRAM_TOKEN (from @BotFather) or telegram.enabled: false', exitCode: 2 });
    if (!/^-?\d+$/.test(options.chatId)) throw new OitraderError(`telegram.chat_id must be a numeric chat id, got "${options.chatId}"`, { hint: 'set TELEGRAM_CHAT_ID to your chat id (send /start to @userinfobot to learn it)', exitCode: 2 });
    redactSecret(options.token);
    this.#o = options;
    this.#log = options.log ?? silentLogger;
    this.#clock = options.clock ?? Date.now;
    this.#store = new BotStore(options.sql);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    // Every call gets a deadline; a long poll's is its own timeout plus ours.
    const timeoutSeconds = (options.pollTimeoutSeconds ?? 30) + Math.ceil(this.#timeoutMs / 1000);
    this.#bot = new Bot(options.token, { client: { timeoutSeconds, ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}) } });
    this.#bot.catch((e) => this.#log.warn(`telegram: update failed: ${(e.error as Error)?.message ?? e.message}`));
    const chat = options.chatId;
    this.#bot.use(async (ctx, next) => {
      if (String(ctx.chat?.id) !== chat) {
        this.#log.warn(`telegram: ignored a message from chat ${ctx.chat?.id ?? '?'} (only ${chat} may command this bot)`);
        return;
      }
      await next();
    });
    const rate = options.rateLimit ?? { commands: 5, perMs: 10_000 };
    this.#bot.use(
      limit({
        timeFrame: rate.perMs,
        limit: rate.commands,
        // The window is read from the bridge's clock (tests step it instead of sleeping through a window).
        keyGenerator: (ctx) => `${ctx.chat?.id}:${Math.floor(this.#clock() / rate.perMs)}`,
        onLimitExceeded: (ctx) => void ctx.reply(`too many commands: at most ${rate.commands} per ${rate.perMs / 1000} s; this one was ignored`).catch(() => undefined),
      }),
    );
    const command = (name: string, reply: (ctx: Context) => Promise<string>) =>
      this.#bot.command(name, async (ctx) => {
        await ctx.reply(await reply(ctx));
      });
    command('help', async () => HELP);
    command('start', async () => HELP);
    command('status', () => this.status());
    command('balance', () => this.balance());
    command('pnl', () => this.pnl());
    command('profit', () => this.pnl());
    command('count', () => this.count());
    command('performance', () => this.performance());
    command('weekly', () => this.periods('week'));
    command('monthly', () => this.periods('month'));
    command('logs', () => this.logs());
    const forceExit = async (ctx: Context) => {
      const arg = String(ctx.match ?? '').trim().toUpperCase();
      if (arg === '') return 'which symbol? /forceexit SOLUSDT (or /forceexit all)';
      if (arg === 'ALL') return this.#ask('flatten');
      const control = await this.#store.control(this.#o.bot);
      if (control && !control.symbols.includes(arg)) return `bot ${this.#o.bot} does not trade ${arg}; it trades ${control.symbols.join(', ')}`;
      return this.#ask('flatten', arg);
    };
    const forceEnter = (fixed?: 'long' | 'short') => async (ctx: Context) => {
      const [symbol = '', given = ''] = String(ctx.match ?? '').trim().toUpperCase().split(/\s+/);
      const side = fixed ?? (given === 'LONG' ? 'long' : given === 'SHORT' ? 'short' : undefined);
      if (symbol === '' || side === undefined) return fixed ? `which symbol? /force${fixed} SOLUSDT` : 'which symbol and side? /forceenter SOLUSDT long (or short)';
      const control = await this.#store.control(this.#o.bot);
      if (control && !control.symbols.includes(symbol)) return `bot ${this.#o.bot} does not trade ${symbol}; it trades ${control.symbols.join(', ')}`;
      return this.#ask(side === 'long' ? 'force-long' : 'force-short', symbol);
    };
    command('forcelong', forceEnter('long'));
    command('forceshort', forceEnter('short'));
    command('forceenter', forceEnter());
    command('forceexit', forceExit);
    command('fx', forceExit);
    command('positions', () => this.positions());
    command('trades', () => this.tradesText());
    command('daily', () => this.daily());
    command('stopentry', async () => this.#control('stop-entries'));
    command('resume', async () => this.#control('resume'));
    command('kill', async () => this.#ask('kill'));
    command('flatten', async () => this.#ask('flatten'));
    command('confirm', async () => {
      const p = this.#pending;
      this.#pending = undefined;
      if (!p || this.#clock() > p.untilMs) return 'nothing to confirm (send /kill, /flatten, /forceexit or /forcelong first; a confirmation lasts 60 s)';
      return this.#control(p.action, p.symbol);
    });
    this.#bot.on('message', (ctx) => ctx.reply('unknown command; /help lists them'));
  }

  /**
   * Connects (getMe), starts long polling, subscribes to the bot's events and
   * schedules the daily summary — within the deadline, or it throws (exit 2)
   * naming the step that did not answer; `signal` (SIGINT/SIGTERM) ends the wait at once.
   */
  async start(signal?: AbortSignal): Promise<void> {
    const seconds = this.#timeoutMs / 1000;
    const deadline = AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), ...(signal ? [signal] : [])]);
    const failed = (step: string, e: unknown) => {
      if (signal?.aborted) return new OitraderError(`stopped while waiting for the Telegram Bot API (${step})`, { exitCode: 1 });
      const why = deadline.aborted ? `did not answer within ${seconds} s` : `refused: ${(e as Error).message}`;
      return new OitraderError(`telegram: the Bot API at ${this.#o.apiRoot ?? 'https://api.telegram.org'} ${why} (${step})`, {
        hint: 'check the network and TELEGRAM_TOKEN (from @BotFather), raise telegram.timeout_seconds, or set telegram.enabled: false',
        exitCode: 2,
      });
    };
    try {
      await this.#bot.init(deadline as GrammySignal);
    } catch (e) {
      throw failed('getMe', e);
    }
    this.#ledgerReady = Promise.all([this.#store.fills(this.#o.bot), this.#store.funding(this.#o.bot)]).then(([fills, funding]) => {
      for (const symbol of new Set([...fills.map((f) => f.symbol), ...funding.map((f) => f.symbol)])) {
        this.#ledgers.set(symbol, TradeLedger.of(fills.filter((f) => f.symbol === symbol), funding.filter((f) => f.symbol === symbol)));
      }
    });
    await this.#ledgerReady;
    if (this.#o.events) this.#detach = this.#subscribe(this.#o.events);
    if (this.#o.dailySummaryAt) {
      const m = /^(\d{2}):(\d{2})$/.exec(this.#o.dailySummaryAt);
      if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new OitraderError(`telegram.daily_summary_at must be HH:MM (UTC), got "${this.#o.dailySummaryAt}"`, { exitCode: 2 });
      this.#cron = new Cron(`${Number(m[2])} ${Number(m[1])} * * *`, { timezone: 'UTC' }, () => void ((this.#o.notify?.daily ?? true) && this.sendDailySummary()));
    }
    try {
      await new Promise<void>((resolve, reject) => {
        const expired = () => reject(deadline.reason);
        if (deadline.aborted) return expired();
        deadline.addEventListener('abort', expired, { once: true });
        this.#running = this.#bot
          .start({ timeout: this.#o.pollTimeoutSeconds ?? 30, onStart: () => (deadline.removeEventListener('abort', expired), resolve()), allowed_updates: ['message'] })
          .catch((e: Error) => {
            this.#log.error(`telegram: polling stopped: ${e.message}`);
            reject(e);
          });
      });
    } catch (e) {
      await this.stop();
      throw failed('the first poll', e);
    }
    this.#log.info(`telegram: listening to chat ${this.#o.chatId}`);
  }

  async stop(): Promise<void> {
    this.#cron?.stop();
    this.#detach?.();
    // Each alert has its own deadline; stopping (grammY confirms the update offset with one more call) is bounded too.
    // Drain the queue, including a burst whose flush is queued in this very tick (it extends the queue when it runs).
    for (let tail = this.#alerts; ; tail = this.#alerts) {
      await tail;
      if (tail === this.#alerts && !this.#flushQueued) break;
    }
    const stopped = Promise.all([this.#bot.isRunning() ? this.#bot.stop().catch(() => undefined) : undefined, this.#running?.catch(() => undefined)]);
    const STOP_MS = 3000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_MS)));
    if ((await Promise.race([stopped, late])) === 'late') this.#log.warn(`telegram: the Bot API did not confirm the stop within ${STOP_MS / 1000} s; stopped anyway`);
    clearTimeout(timer);
  }

  /** Sends one message to the configured chat; a failure is logged (token redacted), never thrown into the bot loop. */
  async send(text: string): Promise<boolean> {
    try {
      await this.#bot.api.sendMessage(this.#o.chatId, text, undefined, AbortSignal.timeout(this.#timeoutMs) as GrammySignal);
      return true;
    } catch (e) {
      this.#log.warn(`telegram: could not send an alert: ${(e as Error).message}`);
      return false;
    }
  }

  modelPromoted(text: string): Promise<boolean> {
    return this.send(`🧠 MODEL PROMOTED: ${text}`);
  }

  /** Reports an error; the same error (digits ignored) 3 times within 10 minutes alerts once. */
  async reportError(message: string): Promise<void> {
    const key = message.replace(/\d+/g, '#');
    const now = this.#clock();
    let e = this.#errors.get(key);
    if (!e || now - e.firstMs > 600_000) this.#errors.set(key, (e = { count: 0, firstMs: now, alerted: false }));
    e.count++;
    if (e.count >= 3 && !e.alerted) {
      e.alerted = true;
      await this.send(`⚠️ REPEATED ERROR (${e.count}× in ${Math.round((now - e.firstMs) / 1000)} s): ${message}`);
    }
  }

  /** Looks at the collector's streams: alerts when one goes silent and when it is back. */
  async checkDataHealth(): Promise<void> {
    const stale = new Set(staleStreams(await readStreamHealth(this.#o.sql), this.#clock(), this.#o.maxStreamAgeMs ?? 120_000));
    const fresh = [...stale].filter((s) => !this.#gaps.has(s));
    const back = [...this.#gaps].filter((s) => !stale.has(s));
    this.#gaps = stale;
    if (fresh.length) await this.send(`📉 DATA GAP: no data from ${fresh.join(', ')} for over ${Math.round((this.#o.maxStreamAgeMs ?? 120_000) / 1000)} s`);
    if (back.length) await this.send(`✅ data back: ${back.join(', ')}`);
  }

  /** When the daily summary goes out next (undefined when none is configured). */
  nextSummaryAt(): Date | undefined {
    return this.#cron?.nextRun() ?? undefined;
  }

  async sendDailySummary(): Promise<boolean> {
    return this.send(`📊 DAILY SUMMARY ${this.#o.bot} ${this.#o.symbol}\n${await this.daily(2)}\n${await this.pnl()}`);
  }

  /** Every symbol's position, exposure and P&L: the read model `bot status` prints. */
  async status(): Promise<string> {
    const view = await this.#view();
    return view ? portfolioLines(view).join('\n') : `no bot named "${this.#o.bot}" has run yet`;
  }

  async balance(): Promise<string> {
    const e = await this.#store.latestEquity(this.#o.bot);
    if (!e) return 'no equity recorded yet';
    return `equity ${usd(e.equityUsd)} USDT\nwallet ${usd(e.walletUsd)} USDT\navailable ${usd(e.availableUsd)} USDT\nat ${iso(e.timeMs)} UTC`;
  }

  async pnl(): Promise<string> {
    const [first, last] = await this.#equityEnds();
    if (!first || !last) return 'no equity recorded yet';
    const dayStart = Math.floor((last.timeMs - 1) / DAY_MS) * DAY_MS;
    // The day starts at the equity of the step that closed at 00:00 UTC (as the risk manager counts it).
    const [today] = await this.#o.sql.query<{ e: number }>('SELECT equity_usd AS e FROM bot_equity WHERE bot = $1 AND time <= to_timestamp($2 / 1000.0) ORDER BY time DESC LIMIT 1', [this.#o.bot, dayStart]);
    const [view, funding] = await Promise.all([this.#view(), this.#store.funding(this.#o.bot)]);
    const settled = funding.reduce((x, f) => x + f.incomeUsd, 0);
    const pnl = view?.pnl;
    return [
      `PnL since ${iso(first.timeMs)}: ${signed(last.equityUsd - first.equityUsd)} USDT (${signed(((last.equityUsd - first.equityUsd) / first.equityUsd) * 100)}%)`,
      `today: ${signed(last.equityUsd - Number(today?.e ?? last.equityUsd))} USDT`,
      `closed trades: ${pnl ? pnlLine(pnl.total) : 'none'}`,
      ...(pnl && pnl.bySymbol.length > 1 ? pnl.bySymbol.filter((x) => x.trades > 0).map((x) => `  ${x.symbol}: ${pnlLine(x)}`) : []),
      `funding settled: ${signed(settled)} USDT (+ received, − paid; the open positions' share included)`,
    ].join('\n');
  }

  async positions(): Promise<string> {
    const view = await this.#view();
    if (!view || view.positions.length === 0) return 'no open position';
    return [...positionLines(view).filter((line) => !line.endsWith(': flat')), exposureLine(view)].join('\n');
  }

  async tradesText(count = 5): Promise<string> {
    const trades = (await this.#storedTrades()).slice(-count);
    if (trades.length === 0) return 'no closed trades yet';
    return trades
      .reverse()
      .map((t) => `${iso(t.exitTimeMs)} ${t.symbol} ${t.side} ${t.qtyBase} ${formatPrice(t.symbol, t.entryPriceUsd)}→${formatPrice(t.symbol, t.exitPriceUsd)} ${signed(t.netPnlUsd)} USDT (fees ${usd(t.feesUsd)}, funding ${signed(t.fundingIncomeUsd)}, ${t.exitReason})`)
      .join('\n');
  }

  /** PnL per UTC day from equity (so funding is in it), with the day's funding settlements shown apart. */
  async daily(days = 7): Promise<string> {
    const rows = await this.#o.sql.query<{ day: string; first: number; last: number; funding: number | null }>(
      `SELECT e.day, e.first, e.last, f.funding FROM (
         SELECT to_char(date_trunc('day', time - interval '1 millisecond'), 'YYYY-MM-DD') AS day,
                (array_agg(equity_usd ORDER BY time))[1] AS first, (array_agg(equity_usd ORDER BY time DESC))[1] AS last
         FROM bot_equity WHERE bot = $1 GROUP BY 1) AS e
       LEFT JOIN (SELECT to_char(date_trunc('day', time), 'YYYY-MM-DD') AS day, sum(income_usd) AS funding FROM bot_funding WHERE bot = $1 GROUP BY 1) AS f ON f.day = e.day
       ORDER BY e.day DESC LIMIT $2`,
      [this.#o.bot, days],
    );
    if (rows.length === 0) return 'no equity recorded yet';
    // A day's PnL runs from the previous day's last equity (or the day's first) to its last.
    const asc = rows.reverse();
    return asc
      .map((r, i) => `${r.day}: ${signed(Number(r.last) - Number(i > 0 ? asc[i - 1].last : r.first))} USDT${r.funding === null ? '' : ` (funding ${signed(Number(r.funding))})`}`)
      .join('\n');
  }

  /** Closed trades from the stored fills and funding, symbol by symbol (what a restart of the bridge would rebuild). */
  async #storedTrades(): Promise<SymbolTrade[]> {
    const [control, fills, funding] = await Promise.all([this.#store.control(this.#o.bot), this.#store.fills(this.#o.bot), this.#store.funding(this.#o.bot)]);
    return symbolTrades(control?.symbols ?? [this.#o.symbol], fills, funding);
  }

  #view(): Promise<PortfolioView | undefined> {
    return readPortfolio(this.#store, { bot: this.#o.bot, timeframe: this.#o.timeframe ?? '5m', limits: this.#o.limits });
  }

  async #equityEnds() {
    const rows = await this.#o.sql.query<{ t: number; e: number }>(
      `(SELECT (extract(epoch FROM time) * 1000)::float8 AS t, equity_usd AS e FROM bot_equity WHERE bot = $1 ORDER BY time LIMIT 1)
       UNION ALL (SELECT (extract(epoch FROM time) * 1000)::float8, equity_usd FROM bot_equity WHERE bot = $1 ORDER BY time DESC LIMIT 1)`,
      [this.#o.bot],
    );
    return rows.map((r) => ({ timeMs: Number(r.t), equityUsd: Number(r.e) }));
  }

  #ask(action: ControlAction, symbol?: string): string {
    this.#pending = { action, untilMs: this.#clock() + (this.#o.confirmMs ?? 60_000), symbol };
    const within = `Send /confirm within ${(this.#o.confirmMs ?? 60_000) / 1000} s.`;
    if (action === 'kill') return `⚠️ /kill engages the kill switch: the bot flattens and stops trading until /resume. ${within}`;
    if (action === 'force-long' || action === 'force-short') return `⚠️ enters ${symbol} ${action === 'force-long' ? 'long' : 'short'} at the next candle, sized and stopped by the risk limits (which may still refuse it). ${within}`;
    return symbol ? `⚠️ /forceexit closes the ${symbol} position at the next candle; the other symbols trade on. ${within}` : `⚠️ /flatten closes every position at the next candle. ${within}`;
  }

  async #control(action: ControlAction, symbol?: string): Promise<string> {
    if (!(await applyControl(this.#store, this.#o.bot, action, 'telegram', symbol))) return `no bot named "${this.#o.bot}" in the database`;
    this.#log.warn(`telegram: ${action}${symbol ? ` ${symbol}` : ''} requested from chat ${this.#o.chatId}`);
    if (action === 'force-long' || action === 'force-short') return `forced entry requested: ${symbol} ${action === 'force-long' ? 'long' : 'short'} at the next step, unless the risk limits refuse it (/logs, /status)`;
    return symbol ? `forced exit requested: the ${symbol} position closes at the next step` : CONTROL_REPLIES[action];
  }

  async count(): Promise<string> {
    const view = await this.#view();
    if (!view) return 'no open position';
    const max = view.exposure.limits.maxOpenPositions;
    return `${view.exposure.openPositions}${max === undefined ? '' : ` of ${max}`} positions open (${view.positions.map((p) => `${p.symbol} ${p.side}`).join(', ') || 'none'})`;
  }

  async performance(): Promise<string> {
    const view = await this.#view();
    if (!view || view.pnl.total.trades === 0) return 'no closed trades yet';
    return [...[...view.pnl.bySymbol].sort((a, b) => b.netPnlUsd - a.netPnlUsd).map((x) => `${x.symbol}: ${pnlLine(x)}`), `total: ${pnlLine(view.pnl.total)}`].join('\n');
  }

  async periods(kind: 'week' | 'month', count = 4): Promise<string> {
    const view = await this.#view();
    const rows = kind === 'week' ? view?.pnl.byWeek : view?.pnl.byMonth;
    if (!rows || rows.length === 0) return 'no closed trades yet';
    return [`closed-trade P&L per ${kind === 'week' ? 'ISO week' : 'month'}:`, ...rows.slice(-count).map((r) => `${r.period}: ${pnlLine(r)}`)].join('\n');
  }

  async logs(count = 10): Promise<string> {
    const events = await this.#store.riskEvents(this.#o.bot);
    if (events.length === 0) return 'no risk events yet';
    return events.slice(-count).map((e) => `${iso(e.timeMs)} ${e.kind}${e.symbol ? ` ${e.symbol}` : ''}: ${e.message}`).join('\n');
  }

  #subscribe(events: BotEvents): () => void {
    // One queue for every alert, so the chat reads entries, exits and risk events in the order they happened.
    // A step emits its events together: they are coalesced into one message (a 4-symbol step can close four
    // positions at once, and Telegram throttles a chat that gets more than about one message a second).
    const queue = (work: () => Promise<void>) => {
      this.#alerts = this.#alerts.then(work).catch((e: Error) => this.#log.warn(`telegram: alert failed: ${e.message}`));
      if (this.#flushQueued) return;
      this.#flushQueued = true;
      // After the emitting code's synchronous burst has queued all its work.
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.#alerts = this.#alerts.then(() => this.#flush()).catch((e: Error) => this.#log.warn(`telegram: alert failed: ${e.message}`));
      });
    };
    const onFunding = (f: StoredFunding) => queue(async () => {
      await this.#ledgerReady;
      this.#ledgerOf(f.symbol).applyFunding(f);
    });
    const onFill = (f: StoredFill) => queue(() => this.#onFill(f));
    const onRisk = (r: StoredRiskEvent) => queue(() => this.#onRisk(r));
    events.on('funding', onFunding);
    events.on('fill', onFill);
    events.on('risk', onRisk);
    return () => {
      events.off('funding', onFunding);
      events.off('fill', onFill);
      events.off('risk', onRisk);
    };
  }

  /** Sends the burst's alerts: one message, split only where Telegram's 4096-character limit demands. */
  async #flush(): Promise<void> {
    const alerts = this.#outbox.splice(0);
    for (const text of coalesce(alerts, TELEGRAM_MAX_CHARS)) await this.send(text);
  }

  async #onFill(f: StoredFill): Promise<void> {
    await this.#ledgerReady;
    const ledger = this.#ledgerOf(f.symbol);
    const effect = ledger.apply(f);
    const what = `${f.side} ${f.qtyBase} ${f.symbol} @ ${formatPrice(f.symbol, f.priceUsd)}, fee ${usd(f.feeUsd)} USDT`;
    const t = effect.closed;
    const notify = this.#o.notify ?? { entry: true, exit: true };
    if (t && notify.exit) {
      const head = f.reason === 'stop' ? '🛑 STOP HIT' : f.reason === 'liquidation' ? '💥 LIQUIDATED' : '🔴 EXIT';
      const returnPct = (t.netPnlUsd / (t.entryPriceUsd * t.qtyBase)) * 100;
      this.#outbox.push(
        `${head} ${f.symbol} ${t.side} (${t.exitReason}): ${what}\n${formatPrice(f.symbol, t.entryPriceUsd)} → ${formatPrice(f.symbol, t.exitPriceUsd)} after ${duration(t.exitTimeMs - t.entryTimeMs)}, ${signed(returnPct)}% of the notional\n` +
          `PnL ${signed(t.netPnlUsd)} USDT (gross ${signed(t.grossPnlUsd)}, fees ${usd(t.feesUsd)}, funding ${signed(t.fundingIncomeUsd)})`,
      );
    }
    if (effect.opening && notify.entry) this.#outbox.push(`🟢 ENTRY ${ledger.qtyBase > 0 ? 'LONG' : 'SHORT'} ${Math.abs(ledger.qtyBase)} ${f.symbol} @ ${formatPrice(f.symbol, ledger.entryPriceUsd)}: ${what}`);
  }

  #ledgerOf(symbol: string): TradeLedger {
    let ledger = this.#ledgers.get(symbol);
    if (!ledger) this.#ledgers.set(symbol, (ledger = new TradeLedger()));
    return ledger;
  }

  async #onRisk(r: StoredRiskEvent): Promise<void> {
    const heads: Record<string, string> = { daily_loss: '⛔ DAILY LOSS LIMIT', drawdown: '⛔ MAX DRAWDOWN', circuit_breaker: '⛔ CIRCUIT BREAKER', kill: '🛑 KILL SWITCH', resume: '▶️ RESUMED', flatten: '⏹ FLATTEN', stop_entries: '⏸ ENTRIES STOPPED', force_entry: '⏩ FORCE ENTRY' };
    const head = heads[r.kind];
    if (head && (this.#o.notify?.risk ?? true)) this.#outbox.push(`${head}${r.symbol ? ` ${r.symbol}` : ''}: ${r.message}`);
  }
}

const TELEGRAM_MAX_CHARS = 4096;

/** Alerts joined by blank lines into as few messages as fit `maxChars` each (an alert longer than that is cut). */
export function coalesce(alerts: readonly string[], maxChars: number): string[] {
  const messages: string[] = [];
  let current = '';
  for (const raw of alerts) {
    const alert = raw.length > maxChars ? `${raw.slice(0, maxChars - 1)}…` : raw;
    if (current && current.length + 2 + alert.length > maxChars) {
      messages.push(current);
      current = '';
    }
    current = current ? `${current}\n\n${alert}` : alert;
  }
  if (current) messages.push(current);
  return messages;
}
