import type { InstrumentDecision, InstrumentStep, PortfolioSnapshot, Verdict } from '../risk/risk-engine.ts';
import type { Intent } from './intent.ts';
import type { RiskView } from './strategy.ts';

/**
 * What turns intents into orders: the RiskEngine (every runner that trades,
 * and every backtest by default) or ExposureExecution (a raw backtest without
 * rules). One interface, so the backtester and the RL env run either.
 */
export interface IntentExecutor {
  /** Marks equity once per step before the strategies decide; returns whether the book must be flat. */
  mark(nowMs: number, equityUsd: number): boolean;
  check(nowMs: number, portfolio: PortfolioSnapshot, step: Omit<InstrumentStep, 'intents'>, intent: Intent): Verdict;
  decide(nowMs: number, portfolio: PortfolioSnapshot, steps: readonly InstrumentStep[]): InstrumentDecision[];
  /** What a strategy may read of the executor's state for `symbol`. */
  riskView(symbol: string, nowMs: number, equityUsd: number): RiskView;
}
