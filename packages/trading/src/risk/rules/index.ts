import type { RiskRule } from '../risk-rule.ts';
import { cooldownRule } from './cooldown.ts';
import { dailyLossRule } from './daily-loss.ts';
import { dataHealthRule } from './data-health.ts';
import { exchangeFiltersRule } from './exchange-filters.ts';
import { haltsRule } from './halts.ts';
import { leverageAndMarginRule } from './leverage-and-margin.ts';
import { liquidationDistanceRule } from './liquidation-distance.ts';
import { maxDrawdownRule } from './max-drawdown.ts';
import { maxGrossExposureRule } from './max-gross-exposure.ts';
import { maxOpenPositionsRule } from './max-open-positions.ts';
import { maxScaleInsRule } from './max-scale-ins.ts';
import { maxTotalRiskRule } from './max-total-risk.ts';
import { protectiveStopRule } from './protective-stop.ts';
import { restingEntryRule } from './resting-entry.ts';
import { riskPerTradeRule } from './risk-per-trade.ts';
import { staleDataRule } from './stale-data.ts';

export {
  cooldownRule,
  dailyLossRule,
  dataHealthRule,
  exchangeFiltersRule,
  haltsRule,
  leverageAndMarginRule,
  liquidationDistanceRule,
  maxDrawdownRule,
  maxGrossExposureRule,
  maxOpenPositionsRule,
  maxScaleInsRule,
  maxTotalRiskRule,
  protectiveStopRule,
  restingEntryRule,
  riskPerTradeRule,
  staleDataRule,
};

/**
 * The rules every runner applies, in the order an entry passes them: the
 * account's halts and the data's health first (they refuse whatever the
 * size), then the entry's own validity, then sizing (risk per trade →
 * leverage and margin → the portfolio's gross exposure and risk budget →
 * the exchange's filters), and last the liquidation distance of the size
 * that would be sent. Account rules with `mark` watch equity every step.
 * Adding a rule is one file here and one line in this list.
 */
export const DEFAULT_RULES: readonly RiskRule[] = [
  dailyLossRule,
  maxDrawdownRule,
  haltsRule,
  dataHealthRule,
  staleDataRule,
  restingEntryRule,
  cooldownRule,
  maxScaleInsRule,
  maxOpenPositionsRule,
  protectiveStopRule,
  riskPerTradeRule,
  leverageAndMarginRule,
  maxGrossExposureRule,
  maxTotalRiskRule,
  exchangeFiltersRule,
  liquidationDistanceRule,
];
