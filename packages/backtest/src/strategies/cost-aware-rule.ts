import { OitraderError, timeframeMs, type Frame } from '@oitrader/core';
import { enter, exit, type Intent, type Strategy, type StrategyContext } from '@oitrader/trading';
import { PROBABILITY_COLUMNS, wilderAtr } from './ml-signal.ts';

/** Binance USDⓈ-M settles funding every 8 hours. */
const FUNDING_INTERVAL_MS = 8 * 3_600_000;

/**
 * What one class of the label pays over the label's horizon, as the forward
 * return close[t + horizon] / close[t] − 1 of the bars that carried that label:
 * its mean (the expected move) and its mean square (for the variance Kelly needs).
 */
export interface ClassPayoffs {
  /** Mean forward return of [short, neutral, long] rows (fractions). */
  mean: readonly [number, number, number];
  /** Mean squared forward return of [short, neutral, long] rows. */
  meanSquare: readonly [number, number, number];
}

/**
 * The label's own geometry when no labelled bar is known yet: a LONG row moved
 * at least +threshold, a SHORT row at least −threshold, a NEUTRAL row about 0.
 * The least a class guarantees, so the edge is understated rather than invented.
 */
export function geometricPayoffs(threshold: number): ClassPayoffs {
  const sq = threshold * threshold;
  return { mean: [-threshold, 0, threshold], meanSquare: [sq, sq / 3, sq] };
}

/**
 * A triple-barrier label's geometry (López de Prado; TargetEngineer.createTripleBarrierTarget):
 * a LONG row reached +takeProfit first, a SHORT row −stopLoss first, a NEUTRAL row neither
 * (its move at the time barrier, about 0 on average).
 */
export function tripleBarrierPayoffs({ takeProfit, stopLoss }: { takeProfit: number; stopLoss: number }): ClassPayoffs {
  return { mean: [-stopLoss, 0, takeProfit], meanSquare: [stopLoss * stopLoss, (takeProfit * stopLoss) / 3, takeProfit * takeProfit] };
}

/** What one entry and its exit cost, each as a fraction of notional per fill. */
export interface TradeCosts {
  /** Taker fee per fill (entry and exit are market orders / stop-market). */
  takerFeeRate: number;
  /** Expected slippage per fill: half the spread plus the size impact. */
  slippageRate: number;
}

export interface CostAwareParams {
  payoffs: ClassPayoffs;
  costs: TradeCosts;
  /** The label horizon in bars: the holding period the probabilities are about, and when the trade exits. */
  horizonBars: number;
  /** Minimum expected net return (fraction) of an entry after every cost: the margin that keeps marginal trades out. */
  hurdle: number;
  /** Fraction of the Kelly exposure to take (0, 1]; the risk engine's risk_per_trade caps it. */
  kellyFraction: number;
  /** The protective stop in ATRs (an exchange-side stop; the risk engine sizes the entry by it). */
  stopAtr: number;
  /** Take-profit in ATRs; 0 = none (a fixed-horizon label has no profit barrier). */
  takeProfitAtr: number;
  /** ATR period (Wilder). */
  atrPeriod: number;
}

export const DEFAULT_COST_AWARE: Omit<CostAwareParams, 'payoffs' | 'costs' | 'horizonBars'> = { hurdle: 0.0005, kellyFraction: 0.25, stopAtr: 6, takeProfitAtr: 0, atrPeriod: 14 };

/** One bar's arithmetic, every figure a fraction of notional over the horizon. */
export interface ExpectedEdge {
  /** Σ P(class) × mean forward return of the class: the move the model expects. */
  grossMove: number;
  /** Taker fees and slippage of the entry and the exit. */
  roundTripCost: number;
  /** Funding a LONG pays over the horizon at the latest known rate (a SHORT receives it; negative: the reverse). */
  longFunding: number;
  /** grossMove − roundTripCost − longFunding */
  long: number;
  /** −grossMove − roundTripCost + longFunding */
  short: number;
  /** Variance of the forward return under the class mixture (for Kelly). */
  variance: number;
}

/**
 * The expected net return of a long and of a short held for the label's
 * horizon, from calibrated class probabilities: the label's payoff per class
 * weighted by its probability, minus taker fees and slippage on both fills,
 * minus the funding the side pays at the latest settled rate (persistence is
 * the forecast: Binance's next rate is usually close to the last). NaN
 * probabilities give NaN edges (no prediction, no trade).
 */
export function expectedEdge(probabilities: readonly [number, number, number], fundingRate: number, params: Pick<CostAwareParams, 'payoffs' | 'costs' | 'horizonBars'>, barMs: number): ExpectedEdge {
  const { mean, meanSquare } = params.payoffs;
  let grossMove = 0;
  let second = 0;
  for (let c = 0; c < 3; c++) {
    grossMove += probabilities[c] * mean[c];
    second += probabilities[c] * meanSquare[c];
  }
  const roundTripCost = 2 * (params.costs.takerFeeRate + params.costs.slippageRate);
  const rate = Number.isFinite(fundingRate) ? fundingRate : 0;
  const longFunding = (rate * params.horizonBars * barMs) / FUNDING_INTERVAL_MS;
  return { grossMove, roundTripCost, longFunding, long: grossMove - roundTripCost - longFunding, short: -grossMove - roundTripCost + longFunding, variance: Math.max(second - grossMove * grossMove, 0) };
}

/** +1 long, −1 short, 0 stand aside: the side whose expected net return clears the hurdle (the larger when both do). */
export function costAwareSide(edge: Pick<ExpectedEdge, 'long' | 'short'>, hurdle: number): -1 | 0 | 1 {
  const longOk = edge.long >= hurdle;
  const shortOk = edge.short >= hurdle;
  if (longOk && (!shortOk || edge.long >= edge.short)) return 1;
  if (shortOk) return -1;
  return 0;
}

/**
 * Fractional Kelly as an exposure hint, a fraction of equity × leverage:
 * Kelly's notional/equity for a bet of mean μ and variance σ² is μ/σ².
 */
export function kellyExposure(netEdge: number, variance: number, kellyFraction: number, leverage: number): number {
  if (!(netEdge > 0) || !(variance > 0) || !(leverage > 0)) return 0;
  return Math.min(1, (kellyFraction * netEdge) / variance / leverage);
}

/** The sentence a bar's decision gives when it stands aside, e.g. "stood aside: best expected net return −0.04 % < hurdle 0.05 %". */
export function standAsideReason(edge: Pick<ExpectedEdge, 'long' | 'short'>, hurdle: number): string {
  const best = Math.max(edge.long, edge.short);
  // Two decimals of a percent, a third when it matters (a 0.025 % hurdle).
  const pct = (x: number) => `${x < 0 ? '−' : ''}${Math.abs(x * 100).toFixed(3).replace(/(\.\d\d)0$/, '$1')} %`;
  return `stood aside: best expected net return ${pct(best)} (${best === edge.long ? 'long' : 'short'}) < hurdle ${pct(hurdle)}`;
}

/** Causal class-conditional forward returns: only labels whose horizon had ended before `knownBeforeMs`; geometry when none (or a class has none). */
export function labelPayoffs(frame: Frame, labels: { horizon: number; threshold: number }, knownBeforeMs: number): ClassPayoffs {
  const close = frame.column('close');
  const barMs = timeframeMs(frame.timeframe);
  const sum = [0, 0, 0];
  const sumSq = [0, 0, 0];
  const count = [0, 0, 0];
  for (let t = 0; t + labels.horizon < frame.length; t++) {
    if (!(frame.time[t] + labels.horizon * barMs < knownBeforeMs)) break;
    const r = close[t + labels.horizon] / close[t] - 1;
    if (!Number.isFinite(r)) continue;
    const c = r > labels.threshold ? 2 : r < -labels.threshold ? 0 : 1;
    sum[c] += r;
    sumSq[c] += r * r;
    count[c]++;
  }
  const geometry = geometricPayoffs(labels.threshold);
  const pick = (values: number[], fallback: readonly [number, number, number]) => [0, 1, 2].map((c) => (count[c] > 0 ? values[c] / count[c] : fallback[c])) as unknown as readonly [number, number, number];
  return { mean: pick(sum, geometry.mean), meanSquare: pick(sumSq, geometry.meanSquare) };
}

/**
 * The cost-aware ML rule (issue 26): at each bar's close, from the calibrated
 * class probabilities (columns p_short, p_neutral, p_long), enters the side
 * whose expected net return over the label's horizon — after taker fees both
 * ways, slippage and funding — clears the hurdle, sized by fractional Kelly
 * (the risk engine caps it at risk_per_trade and vetoes it as for any entry).
 * It exits where the label ends: after `horizonBars` (or holds on for another
 * horizon when the same side still clears the hurdle then, rather than exit
 * and re-enter), at the protective stop, or early only when the opposite side
 * clears the hurdle (hysteresis: the band between the two hurdles holds, so a
 * lean that fades does not churn fees).
 * Reads bar t and earlier only.
 */
export function costAwareRule(params: CostAwareParams): Strategy {
  checkCostAwareParams(params);
  let atr: Float64Array = new Float64Array(0);
  let barMs = 0;
  let entryIndex = -1;
  const NONE: readonly Intent[] = [];
  const EXIT: readonly Intent[] = [exit()];
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  return {
    name: `cost-aware(hurdle ${pct(params.hurdle)}, costs ${pct(2 * (params.costs.takerFeeRate + params.costs.slippageRate))} round trip, ${params.horizonBars} bars, stop ${params.stopAtr} ATR, Kelly x${params.kellyFraction})`,
    reset(frame) {
      for (const c of PROBABILITY_COLUMNS) if (!frame.has(c)) throw new OitraderError(`the cost-aware rule needs a ${c} column`, { hint: 'backtest --strategy ml-signal --model <run-id> joins the run\'s out-of-fold probabilities' });
      atr = wilderAtr(frame, params.atrPeriod);
      barMs = timeframeMs(frame.timeframe);
      entryIndex = -1;
    },
    onBar(ctx: StrategyContext) {
      const p: [number, number, number] = [ctx.value('p_short'), ctx.value('p_neutral'), ctx.value('p_long')];
      const known = p.every(Number.isFinite);
      const funding = ctx.frame.has('funding_rate') ? ctx.value('funding_rate') : Number.NaN;
      const edge = known ? expectedEdge(p, funding, params, barMs || timeframeMs(ctx.frame.timeframe)) : undefined;
      const side = edge ? costAwareSide(edge, params.hurdle) : 0;
      const current = Math.sign(ctx.qtyBase);
      if (current === 0) entryIndex = -1;
      if (current !== 0) {
        if (entryIndex < 0) entryIndex = ctx.index;
        if (side === -current) {
          entryIndex = -1;
          return EXIT;
        }
        // Entered at the open of bar t + 1 (≈ close[t]); the label's return ends at close[t + horizon], so the exit is decided then —
        // unless the rule would enter the same side now: then the position rolls over for another horizon instead of paying a round trip.
        if (ctx.index - entryIndex >= params.horizonBars - 1) {
          if (side === current) {
            entryIndex = ctx.index + 1;
            return NONE;
          }
          entryIndex = -1;
          return EXIT;
        }
        return NONE;
      }
      if (side === 0 || !edge) return NONE;
      if (ctx.index >= atr.length) atr = wilderAtr(ctx.frame, params.atrPeriod);
      const a = atr[ctx.index];
      if (!(a > 0)) return NONE;
      const net = side > 0 ? edge.long : edge.short;
      const exposure = kellyExposure(net, edge.variance, params.kellyFraction, ctx.leverage);
      if (!(exposure > 0)) return NONE;
      const target = params.takeProfitAtr > 0 ? ctx.closeUsd + side * params.takeProfitAtr * a : undefined;
      return [enter(side > 0 ? 'long' : 'short', { stopUsd: ctx.closeUsd - side * params.stopAtr * a, exposure, score: net, ...(target !== undefined && { targetUsd: target }) })];
    },
  };
}

/** Parameters that would trade nonsense are refused before any bar. */
export function checkCostAwareParams(params: CostAwareParams): void {
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => ok || problems.push(what);
  check(Number.isInteger(params.horizonBars) && params.horizonBars >= 1, `horizonBars ${params.horizonBars} is not a whole number ≥ 1`);
  check((params.hurdle >= 0 && params.hurdle < 1) || params.hurdle === Number.POSITIVE_INFINITY, `hurdle ${params.hurdle} is not in [0, 1) (or ∞: never enter)`);
  check(params.kellyFraction > 0 && params.kellyFraction <= 1, `kellyFraction ${params.kellyFraction} is not in (0, 1]`);
  check(params.stopAtr > 0, `stopAtr ${params.stopAtr} is not > 0`);
  check(params.takeProfitAtr >= 0, `takeProfitAtr ${params.takeProfitAtr} is negative`);
  check(Number.isInteger(params.atrPeriod) && params.atrPeriod >= 1, `atrPeriod ${params.atrPeriod} is not a whole number ≥ 1`);
  check(params.costs.takerFeeRate >= 0 && params.costs.slippageRate >= 0, 'a negative fee or slippage would pay the trader for trading');
  check([...params.payoffs.mean, ...params.payoffs.meanSquare].every(Number.isFinite), 'the class payoffs are not finite');
  if (problems.length > 0) throw new OitraderError(`cost-aware rule: ${problems.join('; ')}`, { exitCode: 2 });
}

/** The best expected net return any bar of `frame` offered (either side), for the stand-aside line of a run without trades. */
export function bestExpectedEdge(frame: Frame, params: Pick<CostAwareParams, 'payoffs' | 'costs' | 'horizonBars'>): { long: number; short: number; timeMs: number } | undefined {
  const [pShort, pNeutral, pLong] = PROBABILITY_COLUMNS.map((c) => frame.column(c));
  const funding = frame.has('funding_rate') ? frame.column('funding_rate') : undefined;
  const barMs = timeframeMs(frame.timeframe);
  let best: { long: number; short: number; timeMs: number } | undefined;
  for (let i = 0; i < frame.length; i++) {
    const p: [number, number, number] = [pShort[i], pNeutral[i], pLong[i]];
    if (!p.every(Number.isFinite)) continue;
    const e = expectedEdge(p, funding?.[i] ?? Number.NaN, params, barMs);
    if (!best || Math.max(e.long, e.short) > Math.max(best.long, best.short)) best = { long: e.long, short: e.short, timeMs: frame.time[i] };
  }
  return best;
}
