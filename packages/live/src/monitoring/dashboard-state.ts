import { BUNDLED_INSTRUMENTS } from '@oitrader/trading';
import { readStreamHealth, type SqlExecutor, type StreamHealthRow } from '@oitrader/data';
import type { BotControl, EquitySnapshot, StoredDecision, StoredFill, StoredOrder, StoredPosition, StoredRiskEvent } from '../state/bot-store.ts';
import { BotStore } from '../state/bot-store.ts';
import { readPortfolio, type PortfolioLimits, type PortfolioView, type SymbolTrade } from '../state/bot-read-model.ts';

/** The champion model and agent the bot trades with, as the dashboard shows them (from the runs' manifests). */
export interface ChampionInfo {
  modelRun?: string;
  agentRun?: string;
  /** Out-of-sample metrics of the champion (name → value), e.g. logLoss, auc. */
  metrics?: Record<string, number>;
}

export interface Candle {
  timeMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

/** Everything one dashboard render needs: read from the bot's tables only (the dashboard never writes them but for controls). */
export interface DashboardState {
  bot: string;
  /** The symbol the candles, position and markers are of (the page's switcher picks it). */
  symbol: string;
  /** Every symbol the bot trades. */
  symbols: string[];
  /** Each symbol's price tick (the page shows prices on it); absent for a symbol the bundled snapshot does not know. */
  tickSizes: Record<string, number>;
  /** All symbols at once: positions, exposure, the risk budget in use, P&L per symbol and period. */
  portfolio: PortfolioView | undefined;
  timeframe: string;
  generatedAtMs: number;
  control: BotControl | undefined;
  position: StoredPosition | undefined;
  openOrders: StoredOrder[];
  latestDecision: StoredDecision | undefined;
  equity: EquitySnapshot[];
  fills: StoredFill[];
  /** The newest closed trades of every symbol (from fills and funding): net = price PnL − fees + funding. */
  trades: SymbolTrade[];
  /** Every funding settlement of the session (+ received, − paid). */
  fundingIncomeUsd: number;
  riskEvents: StoredRiskEvent[];
  candles: Candle[];
  streams: StreamHealthRow[];
  /** Today's (UTC) equity change vs the day's first snapshot, and the configured limit as a fraction. */
  risk: {
    dayStartEquityUsd: number | undefined;
    dayPnlUsd: number;
    dayLossFraction: number;
    maxDailyLoss: number | undefined;
    killed: boolean;
    /** Stop-entries: no new positions, the open one keeps its stop (bot_control). */
    entriesStopped: boolean;
    /** The risk manager's standing halt (daily loss, drawdown, circuit breaker) since the last day start or resume. */
    halt: string | undefined;
  };
  champion: ChampionInfo | undefined;
  /** bot.strategy as configured (a baseline name, a strategy file, champion or agent). */
  strategy: string | undefined;
  /** Whether a run holds the bot's lease now; when none does, the last step it committed says since when it stopped. */
  heartbeat: { running: boolean; host?: string; pid?: number; ageMs?: number; lastStepMs?: number };
}

export interface DashboardSource {
  sql: SqlExecutor;
  bot: string;
  /** The symbol shown first (the first of `symbols`). */
  symbol: string;
  /** Every symbol the bot trades (default: `symbol` alone). */
  symbols?: string[];
  /** The configured portfolio limits the exposure figures are read against. */
  limits?: PortfolioLimits;
  timeframe: string;
  /** Candles and equity points sent to the page (newest). */
  maxPoints?: number;
  maxDailyLoss?: number;
  champion?: () => ChampionInfo | undefined;
  /** bot.strategy, shown in the header. */
  strategy?: string;
  clock?: () => number;
}

const DAY_MS = 86_400_000;

export async function readDashboardState(source: DashboardSource): Promise<DashboardState> {
  const store = new BotStore(source.sql);
  const limit = source.maxPoints ?? 2000;
  const control = await store.control(source.bot);
  const [position, orders, fills, portfolio, riskEvents, equity, candles, streams, decision] = await Promise.all([
    store.position(source.bot, source.symbol),
    store.orders(source.bot),
    store.fills(source.bot),
    readPortfolio(store, { bot: source.bot, timeframe: source.timeframe, limits: source.limits }),
    store.riskEvents(source.bot),
    readEquity(source.sql, source.bot, limit),
    readCandles(source.sql, source.symbol, source.timeframe, limit, control),
    readStreamHealth(source.sql),
    readLatestDecision(source.sql, source.bot),
  ]);
  const last = equity[equity.length - 1];
  // The UTC day starts at the equity of the step that closed at 00:00 (as the risk manager counts it).
  const dayStart = last ? Math.floor((last.timeMs - 1) / DAY_MS) * DAY_MS : undefined;
  const firstToday = dayStart === undefined ? undefined : (equity.findLast((e) => e.timeMs <= dayStart) ?? equity.find((e) => e.timeMs > dayStart));
  const dayPnlUsd = last && firstToday ? last.equityUsd - firstToday.equityUsd : 0;
  return {
    bot: source.bot,
    symbol: source.symbol,
    symbols: control?.symbols ?? source.symbols ?? [source.symbol],
    tickSizes: Object.fromEntries(BUNDLED_INSTRUMENTS.filter((i) => (control?.symbols ?? source.symbols ?? [source.symbol]).includes(i.symbol)).map((i) => [i.symbol, i.tickSize])),
    portfolio,
    timeframe: source.timeframe,
    generatedAtMs: (source.clock ?? Date.now)(),
    control,
    position,
    openOrders: orders.filter((o) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED'),
    latestDecision: decision,
    equity,
    fills,
    trades: portfolio?.trades ?? [],
    fundingIncomeUsd: portfolio?.fundingSettledUsd ?? 0,
    riskEvents: riskEvents.slice(-50),
    candles,
    streams,
    risk: {
      dayStartEquityUsd: firstToday?.equityUsd,
      dayPnlUsd,
      dayLossFraction: firstToday && firstToday.equityUsd > 0 ? Math.max(0, -dayPnlUsd) / firstToday.equityUsd : 0,
      maxDailyLoss: source.maxDailyLoss,
      killed: control?.killed === true,
      entriesStopped: control?.entriesStopped === true,
      halt: standingHalt(riskEvents),
    },
    champion: source.champion?.(),
    strategy: source.strategy,
    heartbeat: portfolio?.running
      ? { running: true, host: portfolio.running.host, pid: portfolio.running.pid, ageMs: portfolio.running.heartbeatAgeMs, lastStepMs: equity[equity.length - 1]?.timeMs }
      : { running: false, lastStepMs: equity[equity.length - 1]?.timeMs },
  };
}

async function readEquity(sql: SqlExecutor, bot: string, limit: number): Promise<EquitySnapshot[]> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT * FROM (SELECT (extract(epoch FROM time) * 1000)::float8 AS time_ms, equity_usd, wallet_usd, available_usd, qty_base
       FROM bot_equity WHERE bot = $1 ORDER BY time DESC LIMIT $2) AS newest ORDER BY time_ms`,
    [bot, limit],
  );
  return rows.map((r) => ({ timeMs: Number(r.time_ms), equityUsd: Number(r.equity_usd), walletUsd: Number(r.wallet_usd), availableUsd: Number(r.available_usd), qtyBase: Number(r.qty_base) }));
}

/** The newest candles the bot has stepped (its session's; a replay's stored future is not shown). */
async function readCandles(sql: SqlExecutor, symbol: string, timeframe: string, limit: number, control: BotControl | undefined): Promise<Candle[]> {
  const from = control?.sessionStartMs ?? 0;
  const to = control?.lastCandleMs ?? Number.MAX_SAFE_INTEGER / 2;
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT * FROM (SELECT (extract(epoch FROM time) * 1000)::float8 AS time_ms, open, high, low, close
       FROM ohlcv WHERE symbol = $1 AND timeframe = $2 AND time >= to_timestamp($4 / 1000.0) AND time <= to_timestamp($5 / 1000.0)
       ORDER BY time DESC LIMIT $3) AS newest ORDER BY time_ms`,
    [symbol, timeframe, limit, from, to],
  );
  return rows.map((r) => ({ timeMs: Number(r.time_ms), open: Number(r.open), high: Number(r.high), low: Number(r.low), close: Number(r.close) }));
}

async function readLatestDecision(sql: SqlExecutor, bot: string): Promise<StoredDecision | undefined> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT symbol, (extract(epoch FROM candle_time) * 1000)::float8 AS candle_ms, action, allowed, reason, qty_base, price_usd, stop_usd, detail
     FROM bot_decisions WHERE bot = $1 ORDER BY candle_time DESC LIMIT 1`,
    [bot],
  );
  const r = rows[0];
  if (!r) return undefined;
  const num = (v: unknown) => (v === null ? Number.NaN : Number(v));
  return {
    symbol: String(r.symbol),
    candleTimeMs: Number(r.candle_ms),
    action: String(r.action),
    allowed: r.allowed === true,
    reason: String(r.reason),
    qtyBase: num(r.qty_base),
    priceUsd: num(r.price_usd),
    stopUsd: num(r.stop_usd),
    detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : (r.detail ?? undefined),
  };
}

/**
 * The newest halt still in force: a daily-loss halt lasts until the next
 * day_start (resume does not lift it), a drawdown halt or circuit breaker
 * until a resume.
 */
function standingHalt(events: StoredRiskEvent[]): string | undefined {
  let dayStarted = false;
  let resumed = false;
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.kind === 'day_start') dayStarted = true;
    if (e.kind === 'resume') resumed = true;
    if (e.kind === 'daily_loss' && !dayStarted) return e.message;
    if ((e.kind === 'drawdown' || e.kind === 'circuit_breaker') && !resumed) return e.message;
    if (dayStarted && resumed) return undefined;
  }
  return undefined;
}
