/**
 * Why the risk engine refused an intent: a code callers branch on (the
 * simulator maps margin codes to Binance's errors, the bot records it, the
 * dashboard counts it) and a message for people. Never parsed back from text.
 */
export type RefusalCode =
  | 'kill_switch'
  | 'entries_stopped'
  | 'max_drawdown'
  | 'daily_loss'
  | 'circuit_breaker'
  | 'data_unhealthy'
  | 'entry_resting'
  | 'stale_data'
  | 'cooldown'
  | 'max_scale_ins'
  | 'max_open_positions'
  | 'invalid_stop'
  | 'no_margin'
  | 'max_gross_exposure'
  | 'max_total_risk'
  | 'instrument_risk_share'
  | 'exchange_filters'
  | 'liquidation_distance'
  | 'no_position'
  | 'flattening'
  | 'lost_ranking';

export interface Refusal {
  code: RefusalCode;
  message: string;
}

export const refusal = (code: RefusalCode, message: string): Refusal => ({ code, message });

export const isRefusal = (x: unknown): x is Refusal => typeof x === 'object' && x !== null && 'code' in x && 'message' in x && !('qtyBase' in x);
