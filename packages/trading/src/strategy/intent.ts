/**
 * What a strategy, the ML rule or the RL agent wants for one instrument at a
 * bar's close. The risk engine turns intents into orders (sizing, stops,
 * refusals); a strategy never sizes or sends an order itself. An intent is
 * evaluated at the bar it is given and never carried to a later bar: a
 * refused entry is not retried on a stale signal.
 */
export type Intent = EnterIntent | ScaleInIntent | ScaleOutIntent | ExitIntent;

export interface EnterIntent {
  kind: 'enter';
  side: 'long' | 'short';
  /** The exchange-side stop; absent = trading.stop_loss from the price. */
  stopUsd?: number;
  /** A take-profit; absent = none. */
  targetUsd?: number;
  /** Size hint: at most this fraction (0, 1] of equity × leverage. Sizing never exceeds it. */
  exposure?: number;
  /** Ranks entries of the same bar when the risk budget cannot take them all (higher first). */
  score?: number;
}

export interface ScaleInIntent {
  kind: 'scale_in';
  /** The stop of the whole position after the add; absent = trading.stop_loss from the price. */
  stopUsd?: number;
  /** The add risks this fraction of risk_per_trade (0, 1]. */
  riskScale: number;
  score?: number;
}

export interface ScaleOutIntent {
  kind: 'scale_out';
  /** Fraction of the position to close, (0, 1). */
  fraction: number;
}

export interface ExitIntent {
  kind: 'exit';
}

export const enter = (side: 'long' | 'short', options: Omit<EnterIntent, 'kind' | 'side'> = {}): EnterIntent => ({ kind: 'enter', side, ...options });
export const exit = (): ExitIntent => ({ kind: 'exit' });
export const scaleIn = (riskScale: number, options: Omit<ScaleInIntent, 'kind' | 'riskScale'> = {}): ScaleInIntent => ({ kind: 'scale_in', riskScale, ...options });
export const scaleOut = (fraction: number): ScaleOutIntent => ({ kind: 'scale_out', fraction });
