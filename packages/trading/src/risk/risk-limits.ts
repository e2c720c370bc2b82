import { leverageBySymbol, type Config } from '@oitrader/core';

/** The numbers the risk rules enforce (config.yaml `trading:` keys, docs/phase-5-live.md). */
export interface RiskLimits {
  /** Fraction of equity lost if the stop fills (trading.risk_per_trade). */
  riskPerTrade: number;
  /** Account leverage ceiling (trading.leverage); the exchange bracket may lower it. */
  leverage: number;
  /** Per-symbol leverage where it differs from `leverage` (trading.overrides). */
  leverageBySymbol?: Readonly<Record<string, number>>;
  /** Fraction of the UTC-day start equity (realised + unrealised) that halts entries till the next UTC day and flattens. */
  maxDailyLoss: number;
  /** Fraction below the peak equity that halts entries and flattens until an explicit resume. */
  maxDrawdown: number;
  /** The liquidation price must be at least this many stop distances from the entry (1 = just beyond the stop). */
  minLiquidationDistance: number;
  /** No entries when the newest closed candle is older than this (ms after its close). */
  staleAfterMs: number;
  /** Consecutive exchange errors that open the circuit breaker. */
  circuitBreakerErrors: number;
  /** How long an open circuit breaker refuses entries. */
  circuitBreakerCooldownMs: number;
  /** Positions open at once across every instrument. */
  maxOpenPositions: number;
  /** Σ |notional| of every position ≤ this × equity. */
  maxGrossExposure: number;
  /** Σ over positions of |size| × stop distance ≤ this fraction of equity: the risk budget. */
  maxTotalRisk: number;
  /** One instrument's share of the risk budget at most (1 = no per-instrument limit). */
  maxInstrumentRiskShare: number;
  /** No entry on an instrument for this long after one of its positions was stopped out or liquidated (0 = off). */
  cooldownAfterStopMs: number;
  /** Scale-ins on top of one entry. */
  maxScaleIns: number;
}

export const DEFAULT_RISK_LIMITS: RiskLimits = {
  riskPerTrade: 0.02,
  leverage: 5,
  maxDailyLoss: 0.03,
  maxDrawdown: 0.15,
  minLiquidationDistance: 2,
  staleAfterMs: 120_000,
  circuitBreakerErrors: 5,
  circuitBreakerCooldownMs: 15 * 60_000,
  maxOpenPositions: 3,
  maxGrossExposure: 5,
  maxTotalRisk: 0.06,
  maxInstrumentRiskShare: 1,
  cooldownAfterStopMs: 0,
  maxScaleIns: 2,
};

/** The risk limits a `trading:` config section sets. */
export function riskLimitsFromConfig(trading: Config['trading']): RiskLimits {
  return {
    riskPerTrade: trading.risk_per_trade,
    leverage: trading.leverage,
    leverageBySymbol: leverageBySymbol(trading),
    maxDailyLoss: trading.max_daily_loss,
    maxDrawdown: trading.max_drawdown,
    minLiquidationDistance: trading.min_liquidation_distance,
    staleAfterMs: trading.stale_after_seconds * 1000,
    circuitBreakerErrors: trading.circuit_breaker_errors,
    circuitBreakerCooldownMs: trading.circuit_breaker_cooldown_seconds * 1000,
    maxOpenPositions: trading.max_open_positions,
    maxGrossExposure: trading.max_gross_exposure ?? trading.leverage,
    maxTotalRisk: trading.max_total_risk,
    maxInstrumentRiskShare: trading.max_instrument_risk_share,
    cooldownAfterStopMs: trading.cooldown_after_stop_minutes * 60_000,
    maxScaleIns: trading.max_scale_ins,
  };
}

/** The leverage `symbol` trades at under these limits. */
export const leverageOf = (limits: RiskLimits, symbol: string): number => limits.leverageBySymbol?.[symbol] ?? limits.leverage;
