import { OitraderError, type Frame } from '@oitrader/core';
import type { InstrumentMarket } from '../execution/simulated-exchange.ts';
import type { Portfolio } from '../portfolio/portfolio.ts';
import type { PortfolioSnapshot } from '../risk/risk-engine.ts';
import type { Intent } from './intent.ts';
import type { IntentExecutor } from './intent-executor.ts';
import type { StrategyContext } from './strategy.ts';

export interface SimulatedContextSource {
  symbol: string;
  frame: Frame;
  market: InstrumentMarket;
  portfolio: Portfolio;
  executor: IntentExecutor;
  /** The account as the executor sees it, brought up to date before the strategies decide. */
  snapshot: PortfolioSnapshot;
  strategyName: string;
  /** The frame row being decided on. */
  row(): number;
  /** The decision's clock (the bar's close in a backtest). */
  now(): number;
}

/**
 * The StrategyContext over the execution model — one object per instrument,
 * read through getters at each bar — for the backtester and the RL env. The
 * live bot builds its own over its venue; both expose bar t and earlier only.
 */
export function simulatedContext(src: SimulatedContextSource): StrategyContext {
  const { frame, market, portfolio, executor, snapshot, symbol } = src;
  const close = frame.column('close');
  const position = market.position;
  return {
    symbol,
    frame,
    get index() {
      return src.row();
    },
    get timeMs() {
      return frame.time[src.row()];
    },
    get closeUsd() {
      return close[src.row()];
    },
    get qtyBase() {
      return position.qtyBase;
    },
    get entryPriceUsd() {
      return position.entryPriceUsd;
    },
    get liquidationPriceUsd() {
      return position.liquidationPriceUsd;
    },
    get equityUsd() {
      return snapshot.equityUsd;
    },
    get availableUsd() {
      return portfolio.availableUsd();
    },
    get leverage() {
      return position.leverage;
    },
    instrument: market.instrument,
    get risk() {
      return executor.riskView(symbol, src.now(), snapshot.equityUsd);
    },
    check: (intent: Intent) => {
      const row = src.row();
      return executor.check(src.now(), snapshot, { symbol, timeMs: frame.time[row], closeUsd: close[row], lastCandleCloseMs: src.now() }, intent);
    },
    value(column: string, barsAgo = 0): number {
      if (barsAgo < 0) throw new OitraderError(`strategy ${src.strategyName} asked for ${column} ${-barsAgo} bars in the future`);
      const i = src.row() - barsAgo;
      return i < 0 ? Number.NaN : frame.column(column)[i];
    },
  };
}
