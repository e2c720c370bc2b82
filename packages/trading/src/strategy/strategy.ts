import type { Frame } from '@oitrader/core';
import type { Instrument } from '../instrument/instrument.ts';
import type { Verdict } from '../risk/risk-engine.ts';
import type { TradingState } from '../risk/risk-state.ts';
import type { Intent } from './intent.ts';

/** What the risk engine knows that a strategy may read (the RL agent observes it). */
export interface RiskView {
  tradingState: TradingState;
  /** A halt demands a flat book now (kill switch, drawdown, daily loss): every position is being closed. */
  flattening: boolean;
  /** The stop the engine placed for this instrument's position (NaN: none). */
  stopUsd: number;
  /** Scale-ins on this instrument's position. */
  scaleIns: number;
  peakEquityUsd: number;
  dayStartEquityUsd: number;
}

/** What a strategy sees at the close of bar `index` of one instrument: never anything later. */
export interface StrategyContext {
  readonly symbol: string;
  readonly frame: Frame;
  readonly index: number;
  readonly timeMs: number;
  readonly closeUsd: number;
  /** This instrument's position. */
  readonly qtyBase: number;
  readonly entryPriceUsd: number;
  readonly liquidationPriceUsd: number;
  /** The account's equity: one wallet, every position marked at its latest close. */
  readonly equityUsd: number;
  readonly availableUsd: number;
  readonly leverage: number;
  /** The instrument's exchange rules (tick, step, minimums, brackets). */
  readonly instrument: Instrument;
  readonly risk: RiskView;
  /** Would the risk engine take `intent` now, and at what size? (The RL agent's action mask asks this.) */
  check(intent: Intent): Verdict;
  /** `column` at `barsAgo` bars before this one (0 = this bar). Negative lags throw: that would be the future. */
  value(column: string, barsAgo?: number): number;
}

/**
 * The decision interface shared by baselines, the ML rule, the RL agent and
 * the live bot: called once per closed bar of an instrument; it returns
 * intents, which the risk engine turns into orders that execute from the
 * next bar on.
 */
export interface Strategy {
  readonly name: string;
  /** Called once before the first bar. */
  reset?(frame: Frame): void;
  onBar(context: StrategyContext): readonly Intent[] | undefined;
}
