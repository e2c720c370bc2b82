import { timeframeMs, DAY_MS, type Timeframe } from '@oitrader/core';
import type { BacktestResult } from '../engine/backtester.ts';
import { normalCdf, normalInverseCdf } from './normal.ts';

const YEAR_MS = 365 * DAY_MS; // crypto trades every day of the year
const EULER_GAMMA = 0.5772156649015329;
const MIN_ANNUALISE_MS = 30 * DAY_MS;

export interface DailyStats {
  days: number;
  meanReturn: number;
  medianReturn: number;
  positiveDays: number;
  bestDay: number;
  worstDay: number;
  /** Share of days meeting the guide's +0.25 %/day target. */
  daysAtTarget: number;
  meanPnlUsd: number;
}

export interface Metrics {
  initialUsd: number;
  finalUsd: number;
  pnlUsd: number;
  totalReturn: number;
  cagr: number;
  sharpe: number;
  sortino: number;
  maxDrawdown: number;
  maxDrawdownDurationMs: number;
  calmar: number;
  trades: number;
  winRate: number;
  profitFactor: number;
  expectancyUsd: number;
  exposure: number;
  /** Traded notional / initial balance. */
  turnover: number;
  feesUsd: number;
  fundingUsd: number;
  liquidations: number;
  /** Probability that the true Sharpe exceeds what the best of `trials` random strategies would show (Bailey & López de Prado 2014). */
  deflatedSharpe: number;
  trials: number;
  daily: DailyStats;
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length === 0 ? Number.NaN : s / values.length;
}

export function moments(values: Float64Array): { mean: number; std: number; skew: number; kurtosis: number } {
  const m = mean(values);
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (const v of values) {
    const d = v - m;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  const n = values.length;
  m2 /= n;
  m3 /= n;
  m4 /= n;
  const std = Math.sqrt(m2);
  return { mean: m, std: Math.sqrt((m2 * n) / Math.max(1, n - 1)), skew: std > 0 ? m3 / std ** 3 : 0, kurtosis: std > 0 ? m4 / std ** 4 : 3 };
}

/** Per-bar simple returns of an equity curve. */
export function barReturns(equity: Float64Array, initial: number): Float64Array {
  const out = new Float64Array(equity.length);
  let previous = initial;
  for (let i = 0; i < equity.length; i++) {
    out[i] = previous > 0 ? equity[i] / previous - 1 : 0;
    previous = equity[i];
  }
  return out;
}

/**
 * Deflated Sharpe Ratio: the probability that the observed per-bar Sharpe `sr`
 * beats the expected maximum Sharpe of `trials` unskilled trials, given the
 * returns' skew and kurtosis over `n` observations. `trialVariance` is the
 * variance of Sharpe across the trials (default: the estimator's own variance).
 */
export function deflatedSharpe(sr: number, n: number, skew: number, kurtosis: number, trials: number, trialVariance?: number): number {
  if (n < 3 || !Number.isFinite(sr)) return Number.NaN;
  const estimatorVariance = (1 - skew * sr + ((kurtosis - 1) / 4) * sr * sr) / (n - 1);
  const variance = trialVariance ?? estimatorVariance;
  const sr0 =
    trials <= 1
      ? 0
      : Math.sqrt(variance) * ((1 - EULER_GAMMA) * normalInverseCdf(1 - 1 / trials) + EULER_GAMMA * normalInverseCdf(1 - 1 / (trials * Math.E)));
  return normalCdf((sr - sr0) / Math.sqrt(Math.max(estimatorVariance, 1e-300)));
}

export function computeMetrics(result: BacktestResult, options: { trials?: number } = {}): Metrics {
  const { equity, time, initialBalanceUsd: initial } = result;
  const barMs = timeframeMs(result.timeframe as Timeframe);
  const returns = barReturns(equity, initial);
  const m = moments(returns);
  const periodsPerYear = YEAR_MS / barMs;
  let downside = 0;
  for (const r of returns) if (r < 0) downside += r * r;
  const downsideDev = Math.sqrt(downside / Math.max(1, returns.length));
  const final = equity[equity.length - 1];
  const spanMs = time[time.length - 1] + barMs - time[0];
  // Annualising less than a month of returns produces absurd numbers; those stay NaN (shown as —).
  const cagr = spanMs < MIN_ANNUALISE_MS ? Number.NaN : final > 0 ? (final / initial) ** (YEAR_MS / spanMs) - 1 : -1;
  let peak = initial;
  let peakTime = time[0];
  let maxDd = 0;
  let maxDdDuration = 0;
  for (let i = 0; i < equity.length; i++) {
    if (equity[i] >= peak) {
      peak = equity[i];
      peakTime = time[i];
    } else {
      maxDd = Math.max(maxDd, 1 - equity[i] / peak);
      maxDdDuration = Math.max(maxDdDuration, time[i] + barMs - peakTime);
    }
  }
  const wins = result.trades.filter((t) => t.netPnlUsd > 0);
  const grossWin = wins.reduce((s, t) => s + t.netPnlUsd, 0);
  const grossLoss = -result.trades.filter((t) => t.netPnlUsd <= 0).reduce((s, t) => s + t.netPnlUsd, 0);
  let exposed = 0;
  for (const q of result.position) if (q !== 0) exposed++;
  const sharpePerBar = m.std > 0 ? m.mean / m.std : 0;
  const trials = options.trials ?? 1;
  return {
    initialUsd: initial,
    finalUsd: final,
    pnlUsd: final - initial,
    totalReturn: final / initial - 1,
    cagr,
    sharpe: sharpePerBar * Math.sqrt(periodsPerYear),
    sortino: downsideDev > 0 ? (m.mean / downsideDev) * Math.sqrt(periodsPerYear) : 0,
    maxDrawdown: maxDd,
    maxDrawdownDurationMs: maxDdDuration,
    calmar: maxDd > 0 ? cagr / maxDd : Number.isNaN(cagr) ? Number.NaN : 0,
    trades: result.trades.length,
    winRate: result.trades.length > 0 ? wins.length / result.trades.length : 0,
    profitFactor: grossLoss > 0 ? grossWin / grossLoss : grossWin > 0 ? Number.POSITIVE_INFINITY : 0,
    expectancyUsd: result.trades.length > 0 ? result.trades.reduce((s, t) => s + t.netPnlUsd, 0) / result.trades.length : 0,
    exposure: exposed / result.position.length,
    turnover: result.turnoverUsd / initial,
    feesUsd: result.feesUsd,
    fundingUsd: result.fundingUsd,
    liquidations: result.liquidations,
    deflatedSharpe: deflatedSharpe(sharpePerBar, returns.length, m.skew, m.kurtosis, trials),
    trials,
    daily: dailyStats(time, equity, initial),
  };
}

/** The last equity of each UTC day (bars by their open time), in time order. */
export function dailyCloses(time: Float64Array, equity: Float64Array): Array<{ dayMs: number; equityUsd: number }> {
  const ends: Array<{ dayMs: number; equityUsd: number }> = [];
  for (let i = 0; i < time.length; i++) {
    const day = Math.floor(time[i] / DAY_MS);
    const nextDay = i + 1 < time.length ? Math.floor(time[i + 1] / DAY_MS) : Number.NaN;
    if (day !== nextDay) ends.push({ dayMs: day * DAY_MS, equityUsd: equity[i] });
  }
  return ends;
}

/** UTC-day returns of the equity curve (each day: last equity vs the previous day's last). */
export function dailyStats(time: Float64Array, equity: Float64Array, initial: number, targetDailyReturn = 0.0025): DailyStats {
  const ends = dailyCloses(time, equity).map((d) => d.equityUsd);
  const returns: number[] = [];
  const pnl: number[] = [];
  let previous = initial;
  for (const e of ends) {
    returns.push(e / previous - 1);
    pnl.push(e - previous);
    previous = e;
  }
  const sorted = [...returns].sort((a, b) => a - b);
  const median = sorted.length === 0 ? Number.NaN : sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return {
    days: returns.length,
    meanReturn: mean(returns),
    medianReturn: median,
    positiveDays: returns.filter((r) => r > 0).length / Math.max(1, returns.length),
    bestDay: sorted[sorted.length - 1] ?? Number.NaN,
    worstDay: sorted[0] ?? Number.NaN,
    daysAtTarget: returns.filter((r) => r >= targetDailyReturn).length / Math.max(1, returns.length),
    meanPnlUsd: mean(pnl),
  };
}
