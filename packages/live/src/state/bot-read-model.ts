import type { Config } from '@oitrader/core';
import type { SqlExecutor } from '@oitrader/data';
import { TradeLedger, type RoundTrip } from '../monitoring/round-trips.ts';
import { botLeaseHolder, type LeaseHolder } from './bot-lease.ts';
import type { BotControl, BotStore, EquitySnapshot, StoredOrder, StoredRiskEvent } from './bot-store.ts';

/**
 * One read model of a (portfolio) bot for every reader — `bot status`, the
 * dashboard and Telegram — so the three never disagree: positions of every
 * symbol marked at the last stepped close, exposure and the risk budget in
 * use, closed trades per symbol with their exit reasons, and P&L by symbol,
 * day, ISO week and month (net = price P&L − fees + funding).
 */

export interface PositionView {
  symbol: string;
  side: 'long' | 'short';
  qtyBase: number;
  entryPriceUsd: number;
  /** The close of the last candle the bot stepped (NaN before any). */
  markPriceUsd: number;
  notionalUsd: number;
  unrealizedPnlUsd: number;
  stopUsd: number | undefined;
  liquidationPriceUsd: number;
  /** What the position loses if its stop fills at the trigger (0 when there is no stop: see `protected`). */
  riskAtStopUsd: number;
  protected: boolean;
}

export interface PnlSummary {
  trades: number;
  wins: number;
  grossPnlUsd: number;
  feesUsd: number;
  fundingUsd: number;
  netPnlUsd: number;
}

export interface SymbolPnl extends PnlSummary {
  symbol: string;
}

export interface PeriodPnl extends PnlSummary {
  /** `2026-01-05` (UTC day), `2026-W02` (ISO week) or `2026-01` (month). */
  period: string;
}

export interface SymbolTrade extends RoundTrip {
  symbol: string;
}

/** The configured portfolio limits the budget figures are read against (from trading.*). */
export interface PortfolioLimits {
  maxOpenPositions?: number;
  /** Gross notional / equity allowed. */
  maxGrossExposure?: number;
  /** Σ risk at the stops / equity allowed. */
  maxTotalRisk?: number;
}

export function portfolioLimitsOf(t: Config['trading']): PortfolioLimits {
  return { maxOpenPositions: t.max_open_positions, maxGrossExposure: t.max_gross_exposure ?? t.leverage, maxTotalRisk: t.max_total_risk };
}

export interface PortfolioView {
  bot: string;
  mode: string;
  symbols: string[];
  sessionStartMs: number;
  lastCandleMs: number | undefined;
  /** The run holding the bot's lease, if one runs. */
  running: (LeaseHolder & { heartbeatAgeMs: number }) | null;
  control: Pick<BotControl, 'killed' | 'killReason' | 'entriesStopped' | 'entriesStoppedReason' | 'flattenRequested'>;
  equity: EquitySnapshot | undefined;
  peakEquityUsd: number | undefined;
  /** Below the session's peak equity, as a fraction (0 at the peak). */
  drawdown: number;
  positions: PositionView[];
  exposure: {
    openPositions: number;
    grossNotionalUsd: number;
    /** Gross notional / equity. */
    grossMultiple: number;
    riskAtStopsUsd: number;
    /** Σ risk at the stops / equity. */
    riskFraction: number;
    limits: PortfolioLimits;
  };
  pnl: { total: PnlSummary; bySymbol: SymbolPnl[]; byDay: PeriodPnl[]; byWeek: PeriodPnl[]; byMonth: PeriodPnl[] };
  /** Every funding settlement of the session, open positions' included (+ received, − paid). */
  fundingSettledUsd: number;
  /** The newest closed trades, newest last. */
  trades: SymbolTrade[];
  openOrders: StoredOrder[];
  riskEvents: StoredRiskEvent[];
}

export interface ReadPortfolioOptions {
  bot: string;
  /** The candles the marks come from. */
  timeframe: string;
  limits?: PortfolioLimits;
  /** How many closed trades and risk events to return (newest). Default 30. */
  recent?: number;
}

const OPEN_STATUSES = new Set(['NEW', 'PARTIALLY_FILLED', 'PENDING', 'UNKNOWN']);

export async function readPortfolio(store: BotStore, o: ReadPortfolioOptions): Promise<PortfolioView | undefined> {
  const control = await store.control(o.bot);
  if (!control) return undefined;
  const recent = o.recent ?? 30;
  const [positions, equity, peak, fills, funding, orders, riskEvents, running, marks] = await Promise.all([
    Promise.all(control.symbols.map((symbol) => store.position(o.bot, symbol))),
    store.latestEquity(o.bot),
    peakEquity(store.sql, o.bot),
    store.fills(o.bot),
    store.funding(o.bot),
    store.orders(o.bot),
    store.riskEvents(o.bot),
    botLeaseHolder(store.sql, o.bot),
    lastCloses(store.sql, control.symbols, o.timeframe, control.lastCandleMs),
  ]);
  const open: PositionView[] = [];
  for (const p of positions) {
    if (!p || p.qtyBase === 0) continue;
    const mark = marks.get(p.symbol) ?? Number.NaN;
    const direction = Math.sign(p.qtyBase);
    const size = Math.abs(p.qtyBase);
    const stopped = p.stopUsd !== undefined && Number.isFinite(p.stopUsd);
    open.push({
      symbol: p.symbol,
      side: direction > 0 ? 'long' : 'short',
      qtyBase: p.qtyBase,
      entryPriceUsd: p.entryPriceUsd,
      markPriceUsd: mark,
      notionalUsd: size * (Number.isFinite(mark) ? mark : p.entryPriceUsd),
      unrealizedPnlUsd: Number.isFinite(mark) ? (mark - p.entryPriceUsd) * p.qtyBase : 0,
      stopUsd: p.stopUsd,
      liquidationPriceUsd: p.liquidationPriceUsd,
      riskAtStopUsd: stopped ? Math.max(0, (p.entryPriceUsd - p.stopUsd!) * p.qtyBase) : 0,
      protected: stopped,
    });
  }
  const equityUsd = equity?.equityUsd ?? Number.NaN;
  const gross = open.reduce((s, p) => s + p.notionalUsd, 0);
  const risk = open.reduce((s, p) => s + p.riskAtStopUsd, 0);
  const trades = symbolTrades(control.symbols, fills, funding);
  return {
    bot: o.bot,
    mode: control.mode,
    symbols: control.symbols,
    sessionStartMs: control.sessionStartMs,
    lastCandleMs: control.lastCandleMs,
    running: running ? { ...running.holder, heartbeatAgeMs: running.ageMs } : null,
    control: { killed: control.killed, killReason: control.killReason, entriesStopped: control.entriesStopped, entriesStoppedReason: control.entriesStoppedReason, flattenRequested: control.flattenRequested },
    equity,
    peakEquityUsd: peak,
    drawdown: peak !== undefined && equity && peak > 0 ? Math.max(0, 1 - equity.equityUsd / peak) : 0,
    positions: open,
    exposure: {
      openPositions: open.length,
      grossNotionalUsd: gross,
      grossMultiple: equityUsd > 0 ? gross / equityUsd : 0,
      riskAtStopsUsd: risk,
      riskFraction: equityUsd > 0 ? risk / equityUsd : 0,
      limits: o.limits ?? {},
    },
    pnl: {
      total: summarize(trades),
      bySymbol: control.symbols.map((symbol) => ({ symbol, ...summarize(trades.filter((t) => t.symbol === symbol)) })),
      byDay: byPeriod(trades, (ms) => new Date(ms).toISOString().slice(0, 10)),
      byWeek: byPeriod(trades, isoWeek),
      byMonth: byPeriod(trades, (ms) => new Date(ms).toISOString().slice(0, 7)),
    },
    fundingSettledUsd: funding.reduce((x, f) => x + f.incomeUsd, 0),
    trades: trades.slice(-recent),
    openOrders: orders.filter((x) => OPEN_STATUSES.has(x.status)),
    riskEvents: riskEvents.slice(-recent),
  };
}

/** Closed trades symbol by symbol (a ledger per symbol: one-way mode nets per symbol, never across), in exit order. */
export function symbolTrades(symbols: readonly string[], fills: Parameters<typeof TradeLedger.of>[0], funding: Parameters<typeof TradeLedger.of>[1] = []): SymbolTrade[] {
  const all: SymbolTrade[] = [];
  for (const symbol of symbols) {
    const ledger = TradeLedger.of(
      fills.filter((f) => f.symbol === symbol),
      funding.filter((f) => f.symbol === symbol),
    );
    for (const t of ledger.trades) all.push({ symbol, ...t });
  }
  return all.sort((a, b) => a.exitTimeMs - b.exitTimeMs);
}

function summarize(trades: readonly RoundTrip[]): PnlSummary {
  const sum = (f: (t: RoundTrip) => number) => trades.reduce((s, t) => s + f(t), 0);
  return {
    trades: trades.length,
    wins: trades.filter((t) => t.netPnlUsd > 0).length,
    grossPnlUsd: sum((t) => t.grossPnlUsd),
    feesUsd: sum((t) => t.feesUsd),
    fundingUsd: sum((t) => t.fundingIncomeUsd),
    netPnlUsd: sum((t) => t.netPnlUsd),
  };
}

function byPeriod(trades: readonly RoundTrip[], key: (ms: number) => string): PeriodPnl[] {
  const groups = new Map<string, RoundTrip[]>();
  for (const t of trades) {
    const k = key(t.exitTimeMs);
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  return [...groups].sort(([a], [b]) => (a < b ? -1 : 1)).map(([period, group]) => ({ period, ...summarize(group) }));
}

/** ISO 8601 week of a UTC time: `2026-W01` (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(ms: number): string {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7;
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

async function peakEquity(sql: SqlExecutor, bot: string): Promise<number | undefined> {
  const [row] = await sql.query<{ peak: number | null }>('SELECT max(equity_usd) AS peak FROM bot_equity WHERE bot = $1', [bot]);
  return row?.peak === null || row?.peak === undefined ? undefined : Number(row.peak);
}

/** Each symbol's close of the last candle the bot stepped (the candle opening at `lastCandleMs`, or the newest before it). */
async function lastCloses(sql: SqlExecutor, symbols: readonly string[], timeframe: string, lastCandleMs: number | undefined): Promise<Map<string, number>> {
  const marks = new Map<string, number>();
  if (lastCandleMs === undefined) return marks;
  await Promise.all(
    symbols.map(async (symbol) => {
      const [row] = await sql.query<{ close: number }>(
        'SELECT close FROM ohlcv WHERE symbol = $1 AND timeframe = $2 AND time <= to_timestamp($3 / 1000.0) ORDER BY time DESC LIMIT 1',
        [symbol, timeframe, lastCandleMs],
      );
      if (row) marks.set(symbol, Number(row.close));
    }),
  );
  return marks;
}
