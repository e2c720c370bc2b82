import type { Frame } from '@oitrader/core';
import { FeatureEngineer } from '@oitrader/features';

/** One element of the observation vector, as written into an agent's manifest. */
export interface ObservationElement {
  index: number;
  name: string;
  group: 'position' | 'ml' | 'market' | 'account';
  description: string;
}

/**
 * Phase 2 features that describe the market state (causal by construction:
 * the features package tests every one on truncated history). A feature whose
 * source column is missing (e.g. no open interest) is 0 in the observation and
 * listed as unavailable in the manifest.
 */
export const MARKET_FEATURES = ['ret_1', 'ret_12', 'ret_48', 'natr_14', 'rsi_14', 'oi_change_12', 'oi_z_288', 'funding_rate', 'volume_ratio_48', 'sma_dist_48'] as const;

const POSITION: Array<[string, string]> = [
  ['position_side', '+1 long, −1 short, 0 flat'],
  ['position_exposure', 'signed notional / (equity × leverage) at the close'],
  ['unrealised_pnl', 'unrealised PnL / equity'],
  ['bars_in_trade', 'bars since the position opened / 288 (one day of 5m bars)'],
  ['stop_distance_atr', 'distance from the close to the newest stop, in ATRs (0 flat)'],
  ['liquidation_distance', '|close − liquidation price| / close (0 flat)'],
  ['units', 'scale-in units held / maxUnits'],
];
const ML: Array<[string, string]> = [
  ['p_short', 'ensemble out-of-fold P(SHORT)'],
  ['p_neutral', 'ensemble out-of-fold P(NEUTRAL)'],
  ['p_long', 'ensemble out-of-fold P(LONG)'],
];
const ACCOUNT: Array<[string, string]> = [
  ['equity_vs_start', 'equity / initial balance − 1'],
  ['drawdown', '1 − equity / peak equity'],
  ['daily_pnl_vs_limit', "today's PnL / (max_daily_loss × the UTC day's start equity); −1 = the halt"],
  ['entries_blocked', '1 while the risk manager refuses entries (daily loss, drawdown halt), else 0'],
];

export const OBSERVATION_SPEC: readonly ObservationElement[] = [
  ...POSITION.map(([name, description]) => ({ name, description, group: 'position' as const })),
  ...ML.map(([name, description]) => ({ name, description, group: 'ml' as const })),
  ...MARKET_FEATURES.map((name) => ({ name, description: `Phase 2 feature ${name} at the bar's close`, group: 'market' as const })),
  ...ACCOUNT.map(([name, description]) => ({ name, description, group: 'account' as const })),
].map((e, index) => ({ index, ...e }));

export const OBSERVATION_SIZE = OBSERVATION_SPEC.length;
export const MARKET_OFFSET = POSITION.length + ML.length;

export interface MarketColumns {
  names: readonly string[];
  columns: Float64Array[];
  /** Features that could not be computed on this frame (missing source): 0 in the observation. */
  unavailable: string[];
}

/** The market-state features for every bar of the frame (NaN in warm-up). */
export function marketColumns(frame: Frame): MarketColumns {
  const table = new FeatureEngineer({ features: [...MARKET_FEATURES] }).engineerAllFeatures(frame);
  const unavailable = MARKET_FEATURES.filter((n) => !(n in table.columns));
  const columns = MARKET_FEATURES.map((n) => table.columns[n] ?? new Float64Array(frame.length));
  return { names: MARKET_FEATURES, columns, unavailable };
}
