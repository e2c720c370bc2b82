import type { SqlExecutor } from '@oitrader/data';
import { OitraderError } from '@oitrader/core';
import type { VenueFill, VenueFunding } from '../venue/venue.ts';

/** The bot's tables (migrations 2–6 in packages/data): every write of one candle's step commits together. */

export type BotMode = 'paper' | 'sim' | 'demo' | 'live';

export interface BotControl {
  bot: string;
  mode: BotMode;
  /** The symbols the bot trades, in its configured order. */
  symbols: string[];
  sessionStartMs: number;
  killed: boolean;
  killReason: string | undefined;
  flattenRequested: boolean;
  /** Symbols whose position is to be closed at the next step (a forced exit of some symbols; `flattenRequested` is all). */
  flattenSymbols: string[];
  /** Forced entries due at the next step (dashboard, Telegram /forceenter, bot force-entry): one per symbol. */
  forceEntries: ForceEntry[];
  /** Stop-entries: no new positions until resume; the open one keeps its stop and exits. */
  entriesStopped: boolean;
  entriesStoppedReason: string | undefined;
  /** Open time of the last candle whose step committed; undefined before the first. */
  lastCandleMs: number | undefined;
  state: unknown;
}

export interface ForceEntry {
  symbol: string;
  side: 'long' | 'short';
}

const parseForceEntries = (text: string): ForceEntry[] =>
  text
    .split(',')
    .filter(Boolean)
    .map((x) => x.split(':'))
    .filter(([, side]) => side === 'long' || side === 'short')
    .map(([symbol, side]) => ({ symbol, side: side as 'long' | 'short' }));
const forceEntryKey = (e: ForceEntry) => `${e.symbol}:${e.side}`;

export type OrderIntent = 'entry' | 'exit' | 'stop' | 'target';

export interface StoredOrder {
  clientOrderId: string;
  symbol: string;
  candleTimeMs: number;
  intent: OrderIntent;
  side: 'buy' | 'sell';
  type: 'market' | 'limit' | 'stop' | 'take_profit';
  qtyBase: number;
  priceUsd?: number;
  triggerUsd?: number;
  reduceOnly: boolean;
  /** NEW, FILLED, CANCELED, REJECTED (Binance's words). */
  status: string;
  exchangeOrderId?: string;
}

/** A venue's fill as stored. */
export type StoredFill = VenueFill;

/** One funding settlement as stored (bot_funding); `incomeUsd` + received, − paid. */
export type StoredFunding = VenueFunding;

export interface StoredPosition {
  symbol: string;
  qtyBase: number;
  entryPriceUsd: number;
  liquidationPriceUsd: number;
  stopUsd: number | undefined;
}

export interface StoredDecision {
  symbol: string;
  candleTimeMs: number;
  action: string;
  allowed: boolean;
  reason: string;
  /** The risk engine's refusal code, when it refused. */
  code?: string;
  qtyBase: number;
  priceUsd: number;
  stopUsd: number;
  detail?: unknown;
}

export interface EquitySnapshot {
  timeMs: number;
  equityUsd: number;
  walletUsd: number;
  availableUsd: number;
  /** The one symbol's position of a one-symbol bot; a portfolio's Σ |notional| / equity (gross exposure). */
  qtyBase: number;
}

export interface StoredRiskEvent {
  timeMs: number;
  kind: string;
  message: string;
  /** The symbol of a per-symbol event (a forced exit); absent for the account's. */
  symbol?: string;
  /** A command's own words, kept apart from the message (replays read this, never the message). */
  why?: string;
  /** A forced entry's side. */
  side?: 'long' | 'short';
}

/** Everything one closed candle's step wrote: committed in one transaction, so a crash leaves the step whole or absent. */
export interface BotStep {
  candleTimeMs: number;
  /** One per symbol stepped at this candle. */
  decisions: StoredDecision[];
  orders: StoredOrder[];
  fills: StoredFill[];
  /** Funding settled at this candle's open on the positions carried in. */
  funding: StoredFunding[];
  /** Every symbol stepped at this candle. */
  positions: StoredPosition[];
  equity: EquitySnapshot;
  riskEvents: StoredRiskEvent[];
  state: unknown;
  /** The flatten request this step carried out (cleared in the same transaction). */
  flattenDone: boolean;
  /** The forced exits of single symbols this step carried out (cleared in the same transaction). */
  flattenedSymbols?: string[];
  /** The forced entries this step decided (cleared in the same transaction; a newer request for the symbol stays). */
  forcedEntries?: ForceEntry[];
}

/** Every table holding a bot's rows (keyed by its name). */
export const BOT_TABLES = ['bot_decisions', 'bot_orders', 'bot_fills', 'bot_funding', 'bot_positions', 'bot_equity', 'bot_risk_events', 'bot_control'] as const;

const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;
const ts = (n: number) => `to_timestamp($${n} / 1000.0)`;
const num = (v: unknown): number => (v === null || v === undefined ? Number.NaN : Number(v));
const finiteOrNull = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);

export class BotStore {
  readonly sql: SqlExecutor;

  constructor(sql: SqlExecutor) {
    this.sql = sql;
  }

  /** The bot's control row; created with this session start when the bot has none. */
  async ensureSession(bot: string, mode: BotMode, symbols: readonly string[], sessionStartMs: number): Promise<BotControl> {
    await this.sql.query(
      `INSERT INTO bot_control (bot, mode, symbol, session_start) VALUES ($1, $2, $3, ${ts(4)}) ON CONFLICT (bot) DO NOTHING`,
      [bot, mode, symbols.join(','), sessionStartMs],
    );
    return (await this.control(bot))!;
  }

  async control(bot: string): Promise<BotControl | undefined> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT bot, mode, symbol, ${ms('session_start')} AS session_start_ms, killed, kill_reason, flatten_requested, flatten_symbols, force_entries, entries_stopped, entries_stopped_reason,
              ${ms('last_candle')} AS last_candle_ms, state FROM bot_control WHERE bot = $1`,
      [bot],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      bot: String(r.bot),
      mode: r.mode as BotMode,
      symbols: String(r.symbol).split(','),
      sessionStartMs: num(r.session_start_ms),
      killed: r.killed === true,
      killReason: r.kill_reason === null ? undefined : String(r.kill_reason),
      flattenRequested: r.flatten_requested === true,
      flattenSymbols: String(r.flatten_symbols ?? '').split(',').filter(Boolean),
      forceEntries: parseForceEntries(String(r.force_entries ?? '')),
      entriesStopped: r.entries_stopped === true,
      entriesStoppedReason: r.entries_stopped_reason === null ? undefined : String(r.entries_stopped_reason),
      lastCandleMs: r.last_candle_ms === null ? undefined : num(r.last_candle_ms),
      state: typeof r.state === 'string' ? JSON.parse(r.state) : (r.state ?? undefined),
    };
  }

  /** `oitrader bot kill` / `resume`: read by the running bot at its next step. */
  async setKilled(bot: string, killed: boolean, reason: string): Promise<boolean> {
    const rows = await this.sql.query('UPDATE bot_control SET killed = $2, kill_reason = $3, updated_at = now() WHERE bot = $1 RETURNING bot', [bot, killed, killed ? reason : null]);
    return rows.length > 0;
  }

  /** `oitrader bot stop-entries`: no new positions from the bot's next step until resume; the open one keeps its stop. */
  async stopEntries(bot: string, reason: string): Promise<boolean> {
    const rows = await this.sql.query('UPDATE bot_control SET entries_stopped = true, entries_stopped_reason = $2, updated_at = now() WHERE bot = $1 RETURNING bot', [bot, reason]);
    return rows.length > 0;
  }

  /** `oitrader bot resume`: releases the kill switch and stop-entries together (the bot also clears a drawdown halt). */
  async resume(bot: string): Promise<boolean> {
    const rows = await this.sql.query(
      'UPDATE bot_control SET killed = false, kill_reason = NULL, entries_stopped = false, entries_stopped_reason = NULL, updated_at = now() WHERE bot = $1 RETURNING bot',
      [bot],
    );
    return rows.length > 0;
  }

  /** A risk event outside a step (an unclean exit found at start-up); time is the database's now. */
  async noteRiskEvent(bot: string, kind: string, message: string): Promise<void> {
    await this.sql.query('INSERT INTO bot_risk_events (bot, time, kind, message) VALUES ($1, now(), $2, $3) ON CONFLICT DO NOTHING', [bot, kind, message]);
  }

  /** Deletes every row of `bot` (the drills' fresh starts): all of it or none. */
  async deleteBot(bot: string): Promise<void> {
    await this.sql.transaction(async (tx) => {
      for (const table of BOT_TABLES) await tx.query(`DELETE FROM ${table} WHERE bot = $1`, [bot]);
    });
  }

  /** Closes every position at the next step, or only `symbol`'s (a forced exit; the bot may enter it again later). */
  async requestFlatten(bot: string, symbol?: string): Promise<boolean> {
    if (symbol === undefined) {
      const rows = await this.sql.query('UPDATE bot_control SET flatten_requested = true, updated_at = now() WHERE bot = $1 RETURNING bot', [bot]);
      return rows.length > 0;
    }
    return this.sql.transaction(async (tx) => {
      const [row] = await tx.query<{ symbol: string; flatten_symbols: string }>('SELECT symbol, flatten_symbols FROM bot_control WHERE bot = $1 FOR UPDATE', [bot]);
      if (!row) return false;
      if (!row.symbol.split(',').includes(symbol)) throw new OitraderError(`bot "${bot}" does not trade ${symbol}`, { hint: `it trades ${row.symbol.split(',').join(', ')}`, exitCode: 2 });
      const pending = new Set(row.flatten_symbols.split(',').filter(Boolean)).add(symbol);
      await tx.query('UPDATE bot_control SET flatten_symbols = $2, updated_at = now() WHERE bot = $1', [bot, [...pending].join(',')]);
      return true;
    });
  }

  /** A forced entry of `symbol` at the next step (replacing an earlier one of the same symbol not yet carried out). */
  async requestForceEntry(bot: string, symbol: string, side: 'long' | 'short'): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const [row] = await tx.query<{ symbol: string; force_entries: string }>('SELECT symbol, force_entries FROM bot_control WHERE bot = $1 FOR UPDATE', [bot]);
      if (!row) return false;
      if (!row.symbol.split(',').includes(symbol)) throw new OitraderError(`bot "${bot}" does not trade ${symbol}`, { hint: `it trades ${row.symbol.split(',').join(', ')}`, exitCode: 2 });
      const pending = parseForceEntries(row.force_entries).filter((e) => e.symbol !== symbol);
      pending.push({ symbol, side });
      await tx.query('UPDATE bot_control SET force_entries = $2, updated_at = now() WHERE bot = $1', [bot, pending.map(forceEntryKey).join(',')]);
      return true;
    });
  }

  async commitStep(bot: string, step: BotStep): Promise<void> {
    await this.sql.transaction(async (tx) => {
      for (const d of step.decisions) {
        await tx.query(
          `INSERT INTO bot_decisions (bot, symbol, candle_time, action, allowed, reason, qty_base, price_usd, stop_usd, detail)
           VALUES ($1, $2, ${ts(3)}, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (bot, symbol, candle_time) DO NOTHING`,
          [bot, d.symbol, d.candleTimeMs, d.action, d.allowed, d.reason, finiteOrNull(d.qtyBase), finiteOrNull(d.priceUsd), finiteOrNull(d.stopUsd), d.detail === undefined && d.code === undefined ? null : JSON.stringify({ ...(d.detail as object), ...(d.code !== undefined && { code: d.code }) })],
        );
      }
      for (const o of step.orders) {
        await tx.query(
          `INSERT INTO bot_orders (client_order_id, bot, symbol, candle_time, intent, side, type, qty_base, price_usd, trigger_usd, reduce_only, status, exchange_order_id)
           VALUES ($1, $2, $3, ${ts(4)}, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (client_order_id) DO UPDATE SET status = EXCLUDED.status, exchange_order_id = COALESCE(EXCLUDED.exchange_order_id, bot_orders.exchange_order_id), updated_at = now()`,
          [o.clientOrderId, bot, o.symbol, o.candleTimeMs, o.intent, o.side, o.type, o.qtyBase, finiteOrNull(o.priceUsd), finiteOrNull(o.triggerUsd), o.reduceOnly, o.status, o.exchangeOrderId ?? null],
        );
      }
      for (const f of step.fills) {
        await tx.query(
          `INSERT INTO bot_fills (fill_id, bot, symbol, client_order_id, time, side, qty_base, price_usd, fee_usd, liquidity, reason)
           VALUES ($1, $2, $3, $4, ${ts(5)}, $6, $7, $8, $9, $10, $11) ON CONFLICT (fill_id) DO NOTHING`,
          [f.fillId, bot, f.symbol, f.clientOrderId ?? null, f.timeMs, f.side, f.qtyBase, f.priceUsd, f.feeUsd, f.liquidity, f.reason],
        );
      }
      for (const f of step.funding) {
        await tx.query(
          `INSERT INTO bot_funding (bot, symbol, time, rate, mark_price_usd, qty_base, income_usd) VALUES ($1, $2, ${ts(3)}, $4, $5, $6, $7) ON CONFLICT (bot, symbol, time) DO NOTHING`,
          [bot, f.symbol, f.timeMs, f.rate, f.markPriceUsd, f.qtyBase, f.incomeUsd],
        );
      }
      for (const p of step.positions) {
        await tx.query(
          `INSERT INTO bot_positions (bot, symbol, qty_base, entry_price_usd, liquidation_price_usd, stop_usd) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (bot, symbol) DO UPDATE SET qty_base = EXCLUDED.qty_base, entry_price_usd = EXCLUDED.entry_price_usd,
             liquidation_price_usd = EXCLUDED.liquidation_price_usd, stop_usd = EXCLUDED.stop_usd, updated_at = now()`,
          [bot, p.symbol, p.qtyBase, p.entryPriceUsd, finiteOrNull(p.liquidationPriceUsd), finiteOrNull(p.stopUsd)],
        );
      }
      const e = step.equity;
      await tx.query(
        `INSERT INTO bot_equity (bot, time, equity_usd, wallet_usd, available_usd, qty_base) VALUES ($1, ${ts(2)}, $3, $4, $5, $6) ON CONFLICT (bot, time) DO NOTHING`,
        [bot, e.timeMs, e.equityUsd, e.walletUsd, e.availableUsd, e.qtyBase],
      );
      for (const r of step.riskEvents) {
        await tx.query(`INSERT INTO bot_risk_events (bot, time, kind, message, symbol, detail) VALUES ($1, ${ts(2)}, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, [
          bot,
          r.timeMs,
          r.kind,
          r.message,
          r.symbol ?? null,
          r.why === undefined && r.side === undefined ? null : JSON.stringify({ why: r.why, side: r.side }),
        ]);
      }
      // A forced exit or entry requested while this step ran is kept for the next one: only what this step did is cleared.
      const [row] = await tx.query<{ flatten_symbols: string; force_entries: string }>('SELECT flatten_symbols, force_entries FROM bot_control WHERE bot = $1 FOR UPDATE', [bot]);
      const done = new Set(step.flattenDone ? (row?.flatten_symbols.split(',') ?? []) : (step.flattenedSymbols ?? []));
      const left = (row?.flatten_symbols ?? '').split(',').filter((s) => s && !done.has(s));
      const forced = new Set((step.forcedEntries ?? []).map(forceEntryKey));
      const entriesLeft = parseForceEntries(row?.force_entries ?? '').filter((e) => !forced.has(forceEntryKey(e)));
      await tx.query(
        `UPDATE bot_control SET last_candle = ${ts(2)}, state = $3, flatten_requested = flatten_requested AND NOT $4, flatten_symbols = $5, force_entries = $6, updated_at = now() WHERE bot = $1`,
        [bot, step.candleTimeMs, JSON.stringify(step.state ?? null), step.flattenDone, left.join(','), entriesLeft.map(forceEntryKey).join(',')],
      );
    });
  }

  async orders(bot: string): Promise<StoredOrder[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT client_order_id, symbol, ${ms('candle_time')} AS candle_ms, intent, side, type, qty_base, price_usd, trigger_usd, reduce_only, status, exchange_order_id
       FROM bot_orders WHERE bot = $1 ORDER BY candle_time, created_at, client_order_id`,
      [bot],
    );
    return rows.map((r) => ({
      clientOrderId: String(r.client_order_id),
      symbol: String(r.symbol),
      candleTimeMs: num(r.candle_ms),
      intent: r.intent as OrderIntent,
      side: r.side as 'buy' | 'sell',
      type: r.type as StoredOrder['type'],
      qtyBase: num(r.qty_base),
      priceUsd: r.price_usd === null ? undefined : num(r.price_usd),
      triggerUsd: r.trigger_usd === null ? undefined : num(r.trigger_usd),
      reduceOnly: r.reduce_only === true,
      status: String(r.status),
      exchangeOrderId: r.exchange_order_id === null ? undefined : String(r.exchange_order_id),
    }));
  }

  async fills(bot: string): Promise<StoredFill[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT fill_id, symbol, client_order_id, ${ms('time')} AS time_ms, side, qty_base, price_usd, fee_usd, liquidity, reason
       FROM bot_fills WHERE bot = $1 ORDER BY time, fill_id`,
      [bot],
    );
    return rows.map((r) => ({
      fillId: String(r.fill_id),
      symbol: String(r.symbol),
      clientOrderId: r.client_order_id === null ? undefined : String(r.client_order_id),
      timeMs: num(r.time_ms),
      side: r.side as 'buy' | 'sell',
      qtyBase: num(r.qty_base),
      priceUsd: num(r.price_usd),
      feeUsd: num(r.fee_usd),
      liquidity: r.liquidity as 'maker' | 'taker',
      reason: String(r.reason),
    }));
  }

  async funding(bot: string): Promise<StoredFunding[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT symbol, ${ms('time')} AS time_ms, rate, mark_price_usd, qty_base, income_usd FROM bot_funding WHERE bot = $1 ORDER BY time, symbol`,
      [bot],
    );
    return rows.map((r) => ({ symbol: String(r.symbol), timeMs: num(r.time_ms), rate: num(r.rate), markPriceUsd: num(r.mark_price_usd), qtyBase: num(r.qty_base), incomeUsd: num(r.income_usd) }));
  }

  async position(bot: string, symbol: string): Promise<StoredPosition | undefined> {
    const rows = await this.sql.query<Record<string, unknown>>('SELECT symbol, qty_base, entry_price_usd, liquidation_price_usd, stop_usd FROM bot_positions WHERE bot = $1 AND symbol = $2', [bot, symbol]);
    const r = rows[0];
    if (!r) return undefined;
    return { symbol: String(r.symbol), qtyBase: num(r.qty_base), entryPriceUsd: num(r.entry_price_usd), liquidationPriceUsd: num(r.liquidation_price_usd), stopUsd: r.stop_usd === null ? undefined : num(r.stop_usd) };
  }

  async riskEvents(bot: string): Promise<StoredRiskEvent[]> {
    const rows = await this.sql.query<Record<string, unknown>>(`SELECT ${ms('time')} AS time_ms, kind, message, symbol, detail->>'why' AS why, detail->>'side' AS side FROM bot_risk_events WHERE bot = $1 ORDER BY time, id`, [bot]);
    return rows.map((r) => ({ timeMs: num(r.time_ms), kind: String(r.kind), message: String(r.message), ...(r.symbol !== null && { symbol: String(r.symbol) }), ...(r.why !== null && { why: String(r.why) }), ...(r.side !== null && { side: r.side === 'short' ? 'short' : 'long' }) }));
  }

  async latestEquity(bot: string): Promise<EquitySnapshot | undefined> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT ${ms('time')} AS time_ms, equity_usd, wallet_usd, available_usd, qty_base FROM bot_equity WHERE bot = $1 ORDER BY time DESC LIMIT 1`,
      [bot],
    );
    const r = rows[0];
    return r ? { timeMs: num(r.time_ms), equityUsd: num(r.equity_usd), walletUsd: num(r.wallet_usd), availableUsd: num(r.available_usd), qtyBase: num(r.qty_base) } : undefined;
  }

  async decisionCount(bot: string): Promise<number> {
    const rows = await this.sql.query<{ n: number }>('SELECT count(*)::float8 AS n FROM bot_decisions WHERE bot = $1', [bot]);
    return Number(rows[0].n);
  }

  /** Per symbol, the open time of its newest candle that has closed by `nowMs` (absent: none stored). */
  async latestClosedCandles(symbols: readonly string[], timeframe: string, barMs: number, nowMs: number): Promise<Map<string, number>> {
    const rows = await this.sql.query<{ symbol: string; t: number | null }>(
      `SELECT symbol, ${ms('max(time)')} AS t FROM ohlcv WHERE symbol = ANY($1::text[]) AND timeframe = $2 AND time <= ${ts(3)} GROUP BY symbol`,
      [[...symbols], timeframe, nowMs - barMs],
    );
    return new Map(rows.filter((r) => r.t !== null).map((r) => [String(r.symbol), Number(r.t)]));
  }

  /** Open time of the newest candle that has closed by `nowMs`, or undefined when none is stored. */
  async latestClosedCandle(symbol: string, timeframe: string, barMs: number, nowMs: number): Promise<number | undefined> {
    const rows = await this.sql.query<{ t: number | null }>(
      `SELECT ${ms('max(time)')} AS t FROM ohlcv WHERE symbol = $1 AND timeframe = $2 AND time <= ${ts(3)}`,
      [symbol, timeframe, nowMs - barMs],
    );
    const t = rows[0]?.t;
    return t === null || t === undefined ? undefined : Number(t);
  }
}
