import { OitraderError, type Frame } from '@oitrader/core';
import { enter, exit, type Intent, type Strategy, type StrategyContext } from '@oitrader/trading';

/** Frame columns holding the model's class probabilities at each bar's close (NaN = no prediction). */
export const PROBABILITY_COLUMNS = ['p_short', 'p_neutral', 'p_long'] as const;

export interface MlSignalParams {
  /**
   * Enter when LONG (or SHORT) is the most probable class and its probability
   * is at least `threshold` × its prior (the class's share in the model's
   * training labels): relative to the prior, so a model whose probabilities
   * sit near the base rates still fires when it leans.
   */
  threshold: number;
  /** Class priors [short, neutral, long] from the training labels. */
  priors: readonly [number, number, number];
  /** Stop-loss distance in ATRs (an exchange-side stop order). */
  stopAtr: number;
  /** Take-profit distance in ATRs (an exchange-side take-profit order); 0 = none. */
  takeProfitAtr: number;
  /** Exit after this many bars in the trade (the label horizon). */
  maxBars: number;
  /** ATR period (Wilder). */
  atrPeriod: number;
}

export const DEFAULT_ML_SIGNAL: Omit<MlSignalParams, 'priors'> = { threshold: 1.2, stopAtr: 2, takeProfitAtr: 3, maxBars: 48, atrPeriod: 14 };

/** Wilder's ATR, causal: value at t uses bars ≤ t; NaN during warm-up. */
export function wilderAtr(frame: Frame, period: number): Float64Array {
  const high = frame.column('high');
  const low = frame.column('low');
  const close = frame.column('close');
  const out = new Float64Array(frame.length).fill(Number.NaN);
  let atr = 0;
  for (let i = 0; i < frame.length; i++) {
    const tr = i === 0 ? high[i] - low[i] : Math.max(high[i] - low[i], Math.abs(high[i] - close[i - 1]), Math.abs(low[i] - close[i - 1]));
    if (i < period) {
      atr += tr / period;
      if (i === period - 1) out[i] = atr;
    } else {
      atr = (atr * (period - 1) + tr) / period;
      out[i] = atr;
    }
  }
  return out;
}

/** The signal a bar's probabilities give: +1 long, -1 short, 0 none. */
export function mlSignalDirection(pShort: number, pNeutral: number, pLong: number, params: Pick<MlSignalParams, 'threshold' | 'priors'>): number {
  if (!(Number.isFinite(pShort) && Number.isFinite(pNeutral) && Number.isFinite(pLong))) return 0;
  if (pLong > pShort && pLong > pNeutral && pLong >= params.threshold * params.priors[2]) return 1;
  if (pShort > pLong && pShort > pNeutral && pShort >= params.threshold * params.priors[0]) return -1;
  return 0;
}

/**
 * Trades a model's class probabilities (frame columns p_short, p_neutral,
 * p_long): enters in the signal's direction with a stop and a take-profit at
 * ATR multiples, exits on the opposite signal or after `maxBars`. It only
 * says direction, stop and target: the risk engine sizes the entry so the
 * stop costs risk_per_trade of equity, caps leverage and applies the halts
 * (the same engine the bot runs).
 */
export function mlSignal(params: MlSignalParams): Strategy {
  let atr: Float64Array = new Float64Array(0);
  let entryIndex = -1;
  const NONE: readonly Intent[] = [];
  const EXIT: readonly Intent[] = [exit()];
  return {
    name: `ml-signal(x${params.threshold} prior, stop ${params.stopAtr} ATR, target ${params.takeProfitAtr} ATR, ${params.maxBars} bars)`,
    reset(frame) {
      for (const c of PROBABILITY_COLUMNS) if (!frame.has(c)) throw new OitraderError(`ml-signal needs a ${c} column`, { hint: 'backtest --strategy ml-signal --model <run-id> joins the run\'s out-of-fold probabilities' });
      atr = wilderAtr(frame, params.atrPeriod);
      entryIndex = -1;
    },
    onBar(ctx: StrategyContext) {
      const direction = mlSignalDirection(ctx.value('p_short'), ctx.value('p_neutral'), ctx.value('p_long'), params);
      const current = Math.sign(ctx.qtyBase);
      if (current === 0) entryIndex = -1;
      if (current !== 0) {
        if (entryIndex < 0) entryIndex = ctx.index;
        const expired = ctx.index - entryIndex >= params.maxBars;
        if (direction === -current || expired) {
          entryIndex = -1;
          return EXIT;
        }
        return NONE;
      }
      // The live bot's frame grows after reset: extend the (causal) ATR when it does.
      if (ctx.index >= atr.length) atr = wilderAtr(ctx.frame, params.atrPeriod);
      const a = atr[ctx.index];
      if (direction === 0 || !(a > 0)) return NONE;
      const target = params.takeProfitAtr > 0 ? ctx.closeUsd + direction * params.takeProfitAtr * a : undefined;
      return [enter(direction > 0 ? 'long' : 'short', { stopUsd: ctx.closeUsd - direction * params.stopAtr * a, ...(target !== undefined && { targetUsd: target }) })];
    },
  };
}
