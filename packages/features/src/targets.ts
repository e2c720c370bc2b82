import { OitraderError, timeframeMs, type Frame } from '@oitrader/core';

export const SHORT = 0;
export const NEUTRAL = 1;
export const LONG = 2;

export interface ClassBalance {
  short: number;
  neutral: number;
  long: number;
  unlabeled: number;
}

/**
 * Labels from the future, used only as training targets. The last rows whose
 * horizon runs past the data get NaN (no label), never a made-up one.
 */
export class TargetEngineer {
  /**
   * SPEC.md: future return r = close[t + horizon] / close[t] − 1;
   * 0 SHORT if r < −threshold, 2 LONG if r > threshold, else 1 NEUTRAL.
   */
  createClassificationTarget(frame: Frame, { horizon = 48, threshold = 0.005 } = {}): Float64Array {
    const r = this.createRegressionTarget(frame, { horizon });
    return r.map((v) => (Number.isNaN(v) ? Number.NaN : v > threshold ? LONG : v < -threshold ? SHORT : NEUTRAL));
  }

  /**
   * Class shares [short, neutral, long] among the classification labels known
   * before `knownBeforeMs` (a bar's label is known once the bar `horizon` bars
   * later has opened): the class priors a model trained on those labels saw.
   * Uniform when no label is known yet.
   */
  classPriors(frame: Frame, labels: { horizon: number; threshold: number }, knownBeforeMs: number): [number, number, number] {
    const y = this.createClassificationTarget(frame, labels);
    const barMs = timeframeMs(frame.timeframe);
    const counts = [0, 0, 0];
    for (let t = 0; t < frame.length; t++) if (frame.time[t] + labels.horizon * barMs < knownBeforeMs && !Number.isNaN(y[t])) counts[y[t]]++;
    const total = counts[0] + counts[1] + counts[2];
    return total > 0 ? [counts[0] / total, counts[1] / total, counts[2] / total] : [1 / 3, 1 / 3, 1 / 3];
  }

  /** Forward return close[t + horizon] / close[t] − 1. */
  createRegressionTarget(frame: Frame, { horizon = 48 } = {}): Float64Array {
    checkHorizon(horizon);
    const close = frame.column('close');
    const out = new Float64Array(frame.length).fill(Number.NaN);
    for (let t = 0; t + horizon < frame.length; t++) out[t] = close[t + horizon] / close[t] - 1;
    return out;
  }

  /**
   * Triple barrier (López de Prado): from close[t], LONG if high reaches
   * +takeProfit before low reaches −stopLoss within `horizon` bars, SHORT if
   * the lower barrier comes first, NEUTRAL at the time barrier. When both
   * barriers are inside the same bar the order is unknown: NEUTRAL.
   */
  createTripleBarrierTarget(frame: Frame, { horizon = 48, takeProfit = 0.01, stopLoss = 0.01 } = {}): Float64Array {
    checkHorizon(horizon);
    const close = frame.column('close');
    const high = frame.column('high');
    const low = frame.column('low');
    const out = new Float64Array(frame.length).fill(Number.NaN);
    for (let t = 0; t + horizon < frame.length; t++) {
      const up = close[t] * (1 + takeProfit);
      const down = close[t] * (1 - stopLoss);
      let label = NEUTRAL;
      for (let j = t + 1; j <= t + horizon; j++) {
        const hitUp = high[j] >= up;
        const hitDown = low[j] <= down;
        if (hitUp || hitDown) {
          label = hitUp && hitDown ? NEUTRAL : hitUp ? LONG : SHORT;
          break;
        }
      }
      out[t] = label;
    }
    return out;
  }
}

function checkHorizon(horizon: number): void {
  if (!Number.isInteger(horizon) || horizon < 1) throw new OitraderError(`label horizon must be a positive whole number of bars, got ${horizon}`);
}

export function classBalance(labels: Float64Array): ClassBalance {
  const balance = { short: 0, neutral: 0, long: 0, unlabeled: 0 };
  for (const v of labels) {
    if (v === SHORT) balance.short++;
    else if (v === NEUTRAL) balance.neutral++;
    else if (v === LONG) balance.long++;
    else balance.unlabeled++;
  }
  return balance;
}
