import { OitraderError } from '@oitrader/core';
import { bundledInstruments } from '../instrument/bundled-instruments.ts';
import { applyFilters, type Instrument } from '../instrument/instrument.ts';
import type { InstrumentProvider } from '../instrument/instrument-provider.ts';
import { Portfolio, type ExitReason, type IsolatedPosition, type Side } from '../portfolio/portfolio.ts';

export type OrderType = 'market' | 'limit' | 'stop' | 'take_profit';

export interface OrderRequest {
  type: OrderType;
  side: Side;
  qtyBase: number;
  /** Limit price (limit orders). */
  priceUsd?: number;
  /** Trigger price (stop and take-profit market orders). */
  triggerUsd?: number;
  /**
   * May only shrink the position. A position's reduce-only orders (its stop and
   * take-profit) are one group: the fill that closes the position cancels the rest.
   */
  reduceOnly?: boolean;
  /** The caller's label: cancel or replace the order by it (`cancel(tag)`); it is copied onto the fill (the simulator maps fills back to exchange order ids with it). */
  tag?: string;
  /** Why a market order closes (a halt's flatten, the strategy's exit); copied onto its fill. Default `signal`. */
  reason?: ExitReason;
}

export interface Rejection {
  symbol: string;
  timeMs: number;
  order: OrderRequest;
  reason: string;
}

export interface ExecutionConfig {
  initialBalanceUsd: number;
  /** Leverage of every instrument's isolated position (Binance sets it per symbol). */
  leverage: number;
  /** Per-symbol leverage where it differs from `leverage`. */
  leverageBySymbol?: Readonly<Record<string, number>>;
  /** Binance defaults: taker 0.05 %, maker 0.02 % (fractions). */
  takerFeeRate: number;
  makerFeeRate: number;
  /** Half the bid/ask spread paid by every taker fill, in basis points. */
  halfSpreadBps: number;
  /** Extra slippage per 100,000 USDT of order notional, in basis points (linear size impact). */
  impactBpsPer100k: number;
}

export const DEFAULT_EXECUTION: ExecutionConfig = {
  initialBalanceUsd: 2000,
  leverage: 5,
  takerFeeRate: 0.0005,
  makerFeeRate: 0.0002,
  halfSpreadBps: 1,
  impactBpsPer100k: 5,
};

const MAX_REJECTIONS_KEPT = 1000;

export interface Bar {
  timeMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

/**
 * Settings that would invent money are refused before any bar runs: a negative
 * or zero leverage flips the sign of margin (a "liquidation" at a price no bar
 * traded), negative fees or spread pay the trader for trading.
 */
export function checkExecutionConfig(config: ExecutionConfig): void {
  const problems: string[] = [];
  const leverages = [['leverage', config.leverage] as const, ...Object.entries(config.leverageBySymbol ?? {}).map(([s, l]) => [`${s} leverage`, l] as const)];
  for (const [name, leverage] of leverages) if (!(Number.isInteger(leverage) && leverage >= 1 && leverage <= 125)) problems.push(`${name} must be a whole number 1..125, got ${leverage}`);
  if (!(Number.isFinite(config.initialBalanceUsd) && config.initialBalanceUsd > 0)) problems.push(`initial balance must be > 0 USDT, got ${config.initialBalanceUsd}`);
  for (const [name, rate] of [['taker fee', config.takerFeeRate], ['maker fee', config.makerFeeRate]] as const) {
    if (!(Number.isFinite(rate) && rate >= 0 && rate <= 0.01)) problems.push(`${name} must be a fraction 0..0.01, got ${rate}`);
  }
  if (!(Number.isFinite(config.halfSpreadBps) && config.halfSpreadBps >= 0)) problems.push(`half-spread must be >= 0 bps, got ${config.halfSpreadBps}`);
  if (!(Number.isFinite(config.impactBpsPer100k) && config.impactBpsPer100k >= 0)) problems.push(`impact must be >= 0 bps per 100k, got ${config.impactBpsPer100k}`);
  if (problems.length > 0) throw new OitraderError(`execution model: ${problems.join('; ')}`, { hint: 'fix the backtest settings (see oitrader backtest --help)', exitCode: 2 });
}

/**
 * The execution model shared by the backtester, the RL environment, paper
 * trading and the local simulator: one Portfolio (one wallet) and one
 * InstrumentMarket per instrument. Intrabar rules (docs/backtesting.md):
 * market orders fill at the next bar's open; the bar is then walked along the
 * path that hurts the open position first (long: open → low → high; short:
 * open → high → low), so when a stop and a target are both inside one bar the
 * stop fills first; a stop that gaps fills at the open; liquidation is checked
 * against that adverse extreme after any stop.
 */
export class SimulatedExchange {
  readonly config: ExecutionConfig;
  readonly portfolio: Portfolio;
  readonly instruments: InstrumentProvider;
  /** The first MAX_REJECTIONS_KEPT rejections in detail; `rejectionCount` counts them all. */
  readonly rejections: Rejection[] = [];
  rejectionCount = 0;
  readonly #markets = new Map<string, InstrumentMarket>();

  constructor(config: Partial<ExecutionConfig> = {}, instruments: InstrumentProvider = bundledInstruments()) {
    this.config = { ...DEFAULT_EXECUTION, ...config };
    checkExecutionConfig(this.config);
    this.instruments = instruments;
    this.portfolio = new Portfolio(this.config.initialBalanceUsd);
  }

  /** The order book of `symbol` (opened flat on first use, at the configured leverage). */
  market(symbol: string): InstrumentMarket {
    let market = this.#markets.get(symbol);
    if (!market) {
      const instrument = this.instruments.instrument(symbol);
      const position = this.portfolio.addInstrument(instrument, this.config.leverageBySymbol?.[symbol] ?? this.config.leverage);
      market = new InstrumentMarket(this, instrument, position);
      this.#markets.set(symbol, market);
    }
    return market;
  }

  get markets(): readonly InstrumentMarket[] {
    return [...this.#markets.values()];
  }

  /** @internal A rejection, kept for the report (a broke account refused every bar would otherwise fill memory). */
  reject(symbol: string, timeMs: number, order: OrderRequest, reason: string): false {
    if (this.rejectionCount++ < MAX_REJECTIONS_KEPT) this.rejections.push({ symbol, timeMs, order, reason });
    return false;
  }
}

/** One instrument on the simulated exchange: its resting orders, matched bar by bar against the shared portfolio. */
export class InstrumentMarket {
  readonly instrument: Instrument;
  readonly position: IsolatedPosition;
  readonly #exchange: SimulatedExchange;
  readonly #portfolio: Portfolio;
  #pending: OrderRequest[] = [];

  constructor(exchange: SimulatedExchange, instrument: Instrument, position: IsolatedPosition) {
    this.#exchange = exchange;
    this.#portfolio = exchange.portfolio;
    this.instrument = instrument;
    this.position = position;
  }

  get symbol(): string {
    return this.instrument.symbol;
  }

  get pendingOrders(): readonly OrderRequest[] {
    return this.#pending;
  }

  /** Queues an order for the next bar. Invalid orders are rejected now, with a reason. */
  submit(timeMs: number, order: OrderRequest, referencePriceUsd: number): boolean {
    const price = order.type === 'limit' ? order.priceUsd : order.type === 'market' ? referencePriceUsd : order.triggerUsd;
    if (!(order.qtyBase > 0) || price === undefined || !(price > 0)) return this.#exchange.reject(this.symbol, timeMs, order, 'quantity and price must be positive');
    const checked = applyFilters(this.instrument, order.side, order.qtyBase, price, order.reduceOnly === true);
    if (!checked.ok) return this.#exchange.reject(this.symbol, timeMs, order, checked.reason);
    const normalized: OrderRequest = { ...order, qtyBase: checked.qtyBase };
    if (order.type === 'limit') normalized.priceUsd = checked.priceUsd;
    if (order.type === 'stop' || order.type === 'take_profit') normalized.triggerUsd = checked.priceUsd;
    this.#pending.push(normalized);
    return true;
  }

  cancelAll(): void {
    this.#pending = [];
  }

  /** Cancels the pending orders carrying `tag`; returns how many. */
  cancel(tag: string): number {
    const before = this.#pending.length;
    this.#pending = this.#pending.filter((o) => o.tag !== tag);
    return before - this.#pending.length;
  }

  /** Funding settles at a bar's open for the position carried in. */
  settleFunding(rate: number, markPriceUsd: number): void {
    this.#portfolio.applyFunding(this.symbol, rate, markPriceUsd);
  }

  /** Runs one bar: fills, stops, targets, liquidation; marks the position at the close. */
  processBar(bar: Bar): void {
    if (this.#pending.length > 0) {
      const market = this.#pending.filter((o) => o.type === 'market');
      if (market.length > 0) {
        this.#pending = this.#pending.filter((o) => o.type !== 'market');
        for (const order of market) this.#execute(bar.timeMs, order, this.#takerPrice(order, bar.open), 'taker', order.reason ?? 'signal');
      }
    }
    const p = this.position;
    const long = p.qtyBase >= 0;
    // Adverse leg first, then the favourable leg.
    this.#walkLeg(bar, long ? bar.low : bar.high, true);
    this.#checkLiquidation(bar, long ? bar.low : bar.high);
    this.#walkLeg(bar, long ? bar.high : bar.low, false);
    this.#checkLiquidation(bar, p.qtyBase > 0 ? bar.low : bar.high);
    if (p.qtyBase === 0 && this.#pending.length > 0) this.#pending = this.#pending.filter((o) => !o.reduceOnly);
    p.markUsd = bar.close;
  }

  /** Moves price from the open to `extreme`, filling every resting order it crosses, nearest first. */
  #walkLeg(bar: Bar, extreme: number, adverse: boolean): void {
    if (this.#pending.length === 0) return;
    const down = extreme < bar.open;
    const triggered = this.#pending
      .map((order) => ({ order, level: triggerLevel(order, down) }))
      .filter((t): t is { order: OrderRequest; level: number } => t.level !== undefined && (down ? t.level >= extreme : t.level <= extreme))
      .sort((a, b) => (down ? b.level - a.level : a.level - b.level));
    for (const { order, level } of triggered) {
      if (!this.#pending.includes(order)) continue;
      this.#pending = this.#pending.filter((o) => o !== order);
      const gapped = down ? bar.open <= level : bar.open >= level;
      const atPrice = gapped ? bar.open : level;
      if (order.type === 'limit') {
        // A limit the open already crossed executes at the open as a taker; one reached later rests and fills at its price as a maker.
        this.#execute(bar.timeMs, order, gapped ? bar.open : level, gapped ? 'taker' : 'maker', 'signal');
      } else {
        const reason: ExitReason = order.type === 'stop' ? 'stop' : 'target';
        this.#execute(bar.timeMs, order, this.#takerPrice(order, atPrice), 'taker', reason);
      }
      if (adverse && this.position.qtyBase === 0) this.#pending = this.#pending.filter((o) => !o.reduceOnly);
    }
  }

  #checkLiquidation(bar: Bar, extreme: number): void {
    const p = this.position;
    if (p.qtyBase === 0 || !Number.isFinite(p.liquidationPriceUsd)) return;
    const hit = p.qtyBase > 0 ? extreme <= p.liquidationPriceUsd : extreme >= p.liquidationPriceUsd;
    if (hit) {
      // The bar traded from the open to the extreme: a gap past the liquidation price
      // liquidates at the open, never at a price the bar did not trade.
      const gapped = p.qtyBase > 0 ? bar.open <= p.liquidationPriceUsd : bar.open >= p.liquidationPriceUsd;
      this.#portfolio.liquidate(this.symbol, bar.timeMs, gapped ? bar.open : p.liquidationPriceUsd);
      this.#pending = this.#pending.filter((o) => !o.reduceOnly);
    }
  }

  #takerPrice(order: OrderRequest, priceUsd: number): number {
    const c = this.#exchange.config;
    const impact = (c.halfSpreadBps + (c.impactBpsPer100k * order.qtyBase * priceUsd) / 100_000) / 10_000;
    return order.side === 'buy' ? priceUsd * (1 + impact) : priceUsd * (1 - impact);
  }

  #execute(timeMs: number, order: OrderRequest, priceUsd: number, liquidity: 'maker' | 'taker', reason: ExitReason): void {
    const p = this.position;
    let qty = order.qtyBase;
    if (order.reduceOnly) {
      const closable = order.side === 'buy' ? Math.max(0, -p.qtyBase) : Math.max(0, p.qtyBase);
      qty = Math.min(qty, closable);
      if (qty <= 0) {
        this.#exchange.reject(this.symbol, timeMs, order, 'reduce-only order would not reduce the position');
        return;
      }
    }
    const c = this.#exchange.config;
    const feeRate = liquidity === 'maker' ? c.makerFeeRate : c.takerFeeRate;
    const refusal = this.#portfolio.refusal(this.symbol, order.side === 'buy' ? qty : -qty, priceUsd, feeRate);
    if (refusal !== undefined) {
      this.#exchange.reject(this.symbol, timeMs, order, refusal.message);
      return;
    }
    this.#portfolio.fill(this.symbol, timeMs, order.side, qty, priceUsd, feeRate, liquidity, reason, order.tag);
    // One-cancels-the-other: once the position is gone, its remaining stop and target are cancelled at once.
    if (p.qtyBase === 0) this.#pending = this.#pending.filter((o) => !o.reduceOnly);
  }
}

/** The price at which an order acts on a move in this direction, if any. */
function triggerLevel(order: OrderRequest, down: boolean): number | undefined {
  if (order.type === 'limit') return (order.side === 'buy') === down ? order.priceUsd : undefined;
  if (order.type === 'stop') return (order.side === 'sell') === down ? order.triggerUsd : undefined;
  if (order.type === 'take_profit') return (order.side === 'buy') === down ? order.triggerUsd : undefined;
  return undefined;
}
