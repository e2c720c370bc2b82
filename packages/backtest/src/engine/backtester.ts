import { OitraderError, timeframeMs, type Frame } from '@oitrader/core';
import { SimulatedExchange, type ExecutionConfig } from '../execution/exchange.ts';
import type { Fill, Trade } from '../execution/account.ts';
import type { Bar, Rejection } from '../execution/exchange.ts';
import type { Strategy, StrategyContext } from './strategy.ts';

export interface BacktestOptions extends Partial<Omit<ExecutionConfig, 'symbol'>> {
  /** Funding settles every this many ms, at multiples of it (Binance: 8 h for most symbols). */
  fundingIntervalMs?: number;
  /** Close any open position at the last bar's close (default true), so every cost is in the trade list. */
  closeAtEnd?: boolean;
}

export interface BacktestResult {
  strategy: string;
  symbol: string;
  timeframe: string;
  initialBalanceUsd: number;
  config: ExecutionConfig;
  time: Float64Array;
  close: Float64Array;
  /** Equity (wallet + unrealised PnL at the close) after each bar. */
  equity: Float64Array;
  /** Signed position size after each bar. */
  position: Float64Array;
  trades: Trade[];
  fills: Fill[];
  rejections: Rejection[];
  rejectionCount: number;
  feesUsd: number;
  fundingUsd: number;
  liquidations: number;
  turnoverUsd: number;
}

const HOUR = 3_600_000;

/** A frame's price and funding columns, as `advanceBar` reads them. */
export interface BarFeed {
  time: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  funding: Float64Array | undefined;
  fundingIntervalMs: number;
  fundingsPerBar: number;
}

export function barFeed(frame: Frame, fundingIntervalMs = 8 * HOUR): BarFeed {
  return {
    time: frame.time,
    open: frame.column('open'),
    high: frame.column('high'),
    low: frame.column('low'),
    close: frame.column('close'),
    funding: frame.has('funding_rate') ? frame.column('funding_rate') : undefined,
    fundingIntervalMs,
    fundingsPerBar: Math.max(1, Math.floor(timeframeMs(frame.timeframe) / fundingIntervalMs)),
  };
}

/**
 * Plays bar `index` on the exchange: funding for the position carried in,
 * then the bar's fills, stops and liquidation. The one bar step shared by
 * the backtester and the RL environment (which steps bar by bar).
 */
export function advanceBar(exchange: SimulatedExchange, feed: BarFeed, index: number, bar: Bar = { timeMs: 0, open: 0, high: 0, low: 0, close: 0 }): void {
  const t = feed.time[index];
  const funding = feed.funding;
  // Funding at a settlement time is paid by whoever holds the position at that instant,
  // i.e. before this bar's orders (placed after the previous close) fill.
  if (funding !== undefined && exchange.account.qtyBase !== 0 && t % feed.fundingIntervalMs === 0 && Number.isFinite(funding[index])) {
    for (let k = 0; k < feed.fundingsPerBar; k++) exchange.settleFunding(funding[index], feed.open[index]);
  }
  bar.timeMs = t;
  bar.open = feed.open[index];
  bar.high = feed.high[index];
  bar.low = feed.low[index];
  bar.close = feed.close[index];
  exchange.processBar(bar);
}

/**
 * Event-driven backtest over a Frame: for each bar, settle funding for the
 * position carried in, execute pending orders against the bar, mark to the
 * close, then ask the strategy for orders that execute from the next bar.
 */
export function runBacktest(frame: Frame, strategy: Strategy, options: BacktestOptions = {}): BacktestResult {
  if (frame.length < 2) throw new OitraderError('a backtest needs at least 2 bars');
  const exchange = new SimulatedExchange({ ...options, symbol: frame.symbol });
  const account = exchange.account;
  const feed = barFeed(frame, options.fundingIntervalMs);
  const close = feed.close;
  const n = frame.length;
  const equity = new Float64Array(n);
  const position = new Float64Array(n);
  const bar = { timeMs: 0, open: 0, high: 0, low: 0, close: 0 };
  let index = 0;
  const context: StrategyContext = {
    frame,
    get index() {
      return index;
    },
    get timeMs() {
      return frame.time[index];
    },
    get closeUsd() {
      return close[index];
    },
    get qtyBase() {
      return account.qtyBase;
    },
    get entryPriceUsd() {
      return account.entryPriceUsd;
    },
    get liquidationPriceUsd() {
      return account.liquidationPriceUsd;
    },
    get equityUsd() {
      return account.equityUsd(close[index]);
    },
    get availableUsd() {
      return account.availableUsd();
    },
    leverage: exchange.config.leverage,
    minNotionalUsd: exchange.filters.minNotionalUsd,
    filters: exchange.filters,
    get pendingOrders() {
      return exchange.pendingOrders;
    },
    cancel: (tag: string) => exchange.cancel(tag),
    value(column: string, barsAgo = 0): number {
      if (barsAgo < 0) throw new OitraderError(`strategy ${strategy.name} asked for ${column} ${-barsAgo} bars in the future`);
      const i = index - barsAgo;
      return i < 0 ? Number.NaN : frame.column(column)[i];
    },
  };
  strategy.reset?.(frame);
  for (index = 0; index < n; index++) {
    const t = frame.time[index];
    advanceBar(exchange, feed, index, bar);
    if (index === n - 1 && options.closeAtEnd !== false && account.qtyBase !== 0) {
      exchange.cancelAll();
      const qty = Math.abs(account.qtyBase);
      account.fill(t, account.qtyBase > 0 ? 'sell' : 'buy', qty, close[index], exchange.config.takerFeeRate, 'taker', 'end');
    }
    equity[index] = account.equityUsd(close[index]);
    position[index] = account.qtyBase;
    if (index < n - 1) {
      const orders = strategy.onBar(context);
      if (orders !== undefined) for (const order of orders) exchange.submit(t, order, close[index]);
    }
  }
  return {
    strategy: strategy.name,
    symbol: frame.symbol,
    timeframe: frame.timeframe,
    initialBalanceUsd: exchange.config.initialBalanceUsd,
    config: exchange.config,
    time: frame.time,
    close,
    equity,
    position,
    trades: account.trades,
    fills: account.fills,
    rejections: exchange.rejections,
    rejectionCount: exchange.rejectionCount,
    feesUsd: account.feesPaidUsd,
    fundingUsd: account.fundingPaidUsd,
    liquidations: account.liquidations,
    turnoverUsd: account.turnoverUsd,
  };
}
