import { gunzipSync, strFromU8 } from 'fflate';
import { readFileSync } from 'node:fs';
import type { Frame } from '@oitrader/core';
import { DEFAULT_RISK_LIMITS, type RiskLimits, type Strategy } from '@oitrader/trading';
import { BASELINES, baselineByName } from '../strategies/baselines.ts';
import { DEFAULT_ML_SIGNAL, mlSignal } from '../strategies/ml-signal.ts';
import type { BacktestOptions } from '../engine/backtester.ts';
import { realOpenInterestFrame } from './real-sample.ts';

/** One backtest of the one-symbol golden set (captured from the engine before the trading core, commit 4385faa). */
export interface GoldenCase {
  key: string;
  frame: Frame;
  strategy: () => Strategy;
  options: BacktestOptions;
}

export interface GoldenResult {
  finalEquityUsd: number;
  feesUsd: number;
  fundingUsd: number;
  liquidations: number;
  trades: number;
  rejections: number;
  /** [timeMs, side, qtyBase, priceUsd, feeUsd, reason] */
  fills: Array<[number, string, number, number, number, string]>;
}

/** Seeded class probabilities (a fixture: they exercise ml-signal's ATR stops and targets, they predict nothing). */
export function seededProbabilities(n: number, seed: number): { p_short: Float64Array; p_neutral: Float64Array; p_long: Float64Array } {
  let s = seed;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const p_short = new Float64Array(n);
  const p_neutral = new Float64Array(n);
  const p_long = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = r() ** 2;
    const b = r();
    const c = r() ** 2;
    const t = a + b + c;
    p_short[i] = a / t;
    p_neutral[i] = b / t;
    p_long[i] = c / t;
  }
  return { p_short, p_neutral, p_long };
}

/** The real SOLUSDT and BTCUSDT sample (90 days), every baseline raw at 1x and 5x, and the risk-managed runs under two sets of limits. */
export function goldenCases(): GoldenCase[] {
  const cases: GoldenCase[] = [];
  for (const symbol of ['SOLUSDT', 'BTCUSDT'] as const) {
    const base = realOpenInterestFrame(symbol, 90);
    const frame = base.withColumns(seededProbabilities(base.length, symbol === 'SOLUSDT' ? 7 : 11));
    for (const name of Object.keys(BASELINES)) {
      for (const leverage of [1, 5]) cases.push({ key: `${symbol} raw ${name} ${leverage}x`, frame, strategy: () => baselineByName(name), options: { leverage, initialBalanceUsd: 2000 } });
    }
    const limitsSets: Record<string, RiskLimits> = { default: DEFAULT_RISK_LIMITS, loose: { ...DEFAULT_RISK_LIMITS, maxDailyLoss: 0.05, maxDrawdown: 0.5 } };
    for (const [limitsName, limits] of Object.entries(limitsSets)) {
      const options: BacktestOptions = { leverage: 5, initialBalanceUsd: 2000, risk: { limits, stopLoss: 0.02 } };
      for (const name of ['sma-trend', 'oi-trend', 'buy-and-hold', 'random']) cases.push({ key: `${symbol} risk(${limitsName}) ${name} 5x`, frame, strategy: () => baselineByName(name), options });
      cases.push({ key: `${symbol} risk(${limitsName}) ml-signal 5x`, frame, strategy: () => mlSignal({ ...DEFAULT_ML_SIGNAL, threshold: 1.1, priors: [0.3, 0.4, 0.3] }), options });
    }
  }
  return cases;
}

export function readGolden(): Record<string, GoldenResult> {
  return JSON.parse(strFromU8(gunzipSync(readFileSync(new URL('./golden/one-symbol-backtests.json.gz', import.meta.url))))) as Record<string, GoldenResult>;
}

/**
 * The decision policy of the risk gate before the trading core
 * (RiskManagedStrategy at 4385faa), rebuilt on intents for the one-symbol
 * test: an entry the strategy asked for stands until it fills, the strategy
 * exits, a halt flattens or the position is stopped out — retried on later
 * bars with the configured stop. The engine itself evaluates an intent only
 * at its bar; with this wrapper it reproduces the old results to the cent.
 */
export function standingIntents(inner: Strategy): Strategy {
  let desired = 0;
  let lastQty = 0;
  let closing = false;
  return {
    name: inner.name,
    reset(frame) {
      desired = 0;
      lastQty = 0;
      closing = false;
      inner.reset?.(frame);
    },
    onBar(ctx) {
      const q = ctx.qtyBase;
      if (lastQty !== 0 && q === 0 && !closing) desired = 0;
      closing = false;
      lastQty = q;
      const asked = inner.onBar(ctx) ?? [];
      const fresh = asked.find((i) => i.kind === 'enter' || (i.kind === 'exit' && q !== 0));
      if (fresh) desired = fresh.kind === 'enter' ? (fresh.side === 'long' ? 1 : -1) : 0;
      if (ctx.risk.flattening) {
        desired = 0;
        closing = q !== 0;
        return [];
      }
      const current = Math.sign(q);
      if (desired === current) return [];
      if (current !== 0) {
        closing = true;
        return [desired === 0 ? { kind: 'exit' } : { kind: 'enter', side: desired > 0 ? 'long' : 'short' }];
      }
      const own = fresh?.kind === 'enter' ? fresh : undefined;
      return [{ kind: 'enter', side: desired > 0 ? 'long' : 'short', ...(own?.stopUsd !== undefined && { stopUsd: own.stopUsd }), ...(own?.targetUsd !== undefined && { targetUsd: own.targetUsd }) }];
    },
  };
}
