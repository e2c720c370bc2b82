import type { Config } from '@oitrader/core';
import type { Strategy } from '@oitrader/trading';
import { costAwareRule, type ClassPayoffs, type CostAwareParams, type TradeCosts } from './cost-aware-rule.ts';
import { DEFAULT_ML_SIGNAL, mlSignal, type MlSignalParams } from './ml-signal.ts';

/**
 * The rule that turns a model run's probabilities into intents, with its
 * parameters: what the ML backtest trades and what the bot's champion trades
 * (and what a bot decision records, so a replay rebuilds the same rule).
 * A record without `rule` predates the cost-aware rule: it is ML-signal.
 */
export type MlRuleParams = ({ rule: 'ml-signal' } & MlSignalParams) | ({ rule: 'cost-aware' } & CostAwareParams);

/** The one place a rule's parameters become a strategy. */
export function mlRuleStrategy(params: MlRuleParams | MlSignalParams): Strategy {
  if ('rule' in params && params.rule === 'cost-aware') {
    const { rule: _rule, ...rest } = params;
    return costAwareRule(rest);
  }
  const { rule: _rule, ...rest } = params as { rule?: string } & MlSignalParams;
  return mlSignal(rest);
}

/** What a run and its data tell the rule: the label horizon, the class priors and payoffs of labels known before trading. */
export interface RunLabelFacts {
  horizonBars: number;
  priors: readonly [number, number, number];
  payoffs: ClassPayoffs;
}

/**
 * trading.ml_rule's values as a rule's parameters (undefined: the ML-signal rule, as before the cost-aware rule);
 * `costs` overrides the configured fee and slippage (a backtest's own); `mlSignalChosen` are ML-signal values chosen for the run.
 */
export function mlRuleParams(config: Config['trading']['ml_rule'] | undefined, facts: RunLabelFacts, costs?: TradeCosts, mlSignalChosen: Partial<MlSignalParams> = {}): MlRuleParams {
  if (config === undefined || config.rule === 'ml-signal') return { rule: 'ml-signal', ...DEFAULT_ML_SIGNAL, maxBars: facts.horizonBars, ...mlSignalChosen, priors: facts.priors };
  return {
    rule: 'cost-aware',
    payoffs: facts.payoffs,
    costs: costs ?? { takerFeeRate: config.taker_fee, slippageRate: config.slippage_bps / 10_000 },
    horizonBars: facts.horizonBars,
    hurdle: config.hurdle,
    kellyFraction: config.kelly_fraction,
    stopAtr: config.stop_atr,
    takeProfitAtr: config.take_profit_atr,
    atrPeriod: DEFAULT_ML_SIGNAL.atrPeriod,
  };
}

/** One line naming the rule and its settings (the bot's banner, the backtest's header). */
export function describeMlRule(params: MlRuleParams | MlSignalParams): string {
  if ('rule' in params && params.rule === 'cost-aware') {
    const pct = (x: number) => `${(x * 100).toFixed(3)}%`;
    return `cost-aware rule: enter when the expected net return over ${params.horizonBars} bars clears ${pct(params.hurdle)} after ${pct(2 * (params.costs.takerFeeRate + params.costs.slippageRate))} round trip (taker ${pct(params.costs.takerFeeRate)} + slippage ${pct(params.costs.slippageRate)} a side) and funding; class payoffs [${params.payoffs.mean.map(pct).join(', ')}], ${params.kellyFraction} Kelly, stop ${params.stopAtr} ATR${params.takeProfitAtr > 0 ? `, target ${params.takeProfitAtr} ATR` : ''}`;
  }
  const p = params as MlSignalParams;
  return `ml-signal: x${p.threshold} prior [${p.priors.map((x) => x.toFixed(3)).join(', ')}], stop ${p.stopAtr} ATR, target ${p.takeProfitAtr} ATR, ${p.maxBars} bars`;
}
