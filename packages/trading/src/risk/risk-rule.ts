import type { Instrument } from '../instrument/instrument.ts';
import type { Refusal } from './refusal.ts';
import type { RiskLimits } from './risk-limits.ts';
import type { AccountRiskState, RiskEvent } from './risk-state.ts';

/** An entry (or a scale-in) as it passes through the rules: sizing rules set or cap `qtyBase`, checks refuse. */
export interface EntryProposal {
  symbol: string;
  kind: 'enter' | 'scale_in';
  side: 'long' | 'short';
  /** The price the entry is expected to fill at (the last close: a market order fills at the next open). */
  entryPriceUsd: number;
  /** The stop of the position after this entry (already on the instrument's tick). */
  stopPriceUsd: number;
  targetUsd: number | undefined;
  /** Fraction of risk_per_trade this entry risks (scale-ins risk less). */
  riskScale: number;
  /** The strategy's size hint (fraction of equity × leverage), if any. */
  exposure: number | undefined;
  /** The size so far: NaN until the sizing rule, then on the exchange's step once the filters have run. */
  qtyBase: number;
  /** The leverage the size fits: min(trading.leverage, the bracket's maximum). */
  leverage: number;
  /** Isolated liquidation price of the position after the entry (NaN until computed). */
  liquidationPriceUsd: number;
}

/** The instrument's position as the rules see it. */
export interface PositionView {
  qtyBase: number;
  entryPriceUsd: number;
  marginUsd: number;
}

/** What the engine remembers of one instrument between decisions. */
export interface InstrumentRiskState {
  /** The position size at the last decision (a position that vanishes without our exit was stopped out). */
  lastQtyBase: number;
  /** The engine sent a close at the last decision. */
  closing: boolean;
  /** A one-off flatten is due at the next decision. */
  flattenDue: boolean;
  /** The stop the engine placed for the open position (NaN: none known). */
  stopUsd: number;
  /** Scale-ins accepted on the open position. */
  scaleIns: number;
  /** When the last position was stopped out or liquidated (ms; 0 = never). */
  stoppedOutAtMs: number;
  /** An operator's forced entry (dashboard, Telegram, bot force-entry) due at the next decision, and its words. */
  forcedEntry?: { side: 'long' | 'short'; why: string };
}

/** Everything an entry rule may read: plain data, no I/O, no clock of its own. */
export interface EntryEnv {
  limits: RiskLimits;
  state: AccountRiskState;
  nowMs: number;
  /** Close time (ms) of the newest closed candle the decision used. */
  lastCandleCloseMs: number;
  dataHealthy: boolean;
  /** Signed quantity of the instrument's entries resting unfilled on the exchange. */
  restingEntryQtyBase: number;
  /** Taker fee rate: margin + fee must fit the available balance. */
  feeRate: number;
  equityUsd: number;
  /** Balance free for margin and fees, after the entries accepted earlier in the same step. */
  availableUsd: number;
  instrument: Instrument;
  position: PositionView;
  book: InstrumentRiskState;
  /** Across every instrument, including entries accepted earlier in the same step. */
  portfolio: { openPositions: number; grossExposureUsd: number; openRiskUsd: number; instrumentRiskUsd: number };
}

export interface MarkInput {
  nowMs: number;
  equityUsd: number;
  limits: RiskLimits;
}

/**
 * One risk rule: a file, a scope, and the hooks it needs. Account rules watch
 * equity once per step (`mark`: the daily loss and drawdown halts); entry
 * rules see every entry in list order and either pass it on (sizing rules
 * change its size) or refuse it with a typed code. Exits, stops and
 * flattening are never refused: a halted bot must always be able to get out.
 */
export interface RiskRule {
  readonly name: string;
  readonly scope: 'account' | 'instrument';
  mark?(state: AccountRiskState, input: MarkInput): { state: AccountRiskState; events: RiskEvent[] };
  entry?(proposal: EntryProposal, env: EntryEnv): EntryProposal | Refusal;
}
