// Captures the one-symbol backtest results of the engine at this commit on the real sample,
// so a rewrite of the engine can prove it changed nothing (packages/trading one-symbol test).
import { writeFileSync } from 'node:fs';
import { gzipSync, strToU8 } from 'fflate';
import { BASELINES, baselineByName, bracketsFor, DEFAULT_RISK_LIMITS, filtersFor, mlSignal, DEFAULT_ML_SIGNAL, RiskManagedStrategy, runBacktest, type Strategy } from '@oitrader/backtest';
import { realOpenInterestFrame } from '../packages/backtest/src/testing/real-sample.ts';

function seededProbabilities(n: number, seed: number): { p_short: Float64Array; p_neutral: Float64Array; p_long: Float64Array } {
  let s = seed;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const p_short = new Float64Array(n), p_neutral = new Float64Array(n), p_long = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = r() ** 2, b = r(), c = r() ** 2;
    const t = a + b + c;
    p_short[i] = a / t; p_neutral[i] = b / t; p_long[i] = c / t;
  }
  return { p_short, p_neutral, p_long };
}

const out: Record<string, unknown> = {};
for (const symbol of ['SOLUSDT', 'BTCUSDT'] as const) {
  const base = realOpenInterestFrame(symbol, 90);
  const frame = base.withColumns(seededProbabilities(base.length, symbol === 'SOLUSDT' ? 7 : 11));
  const cases: Array<{ name: string; strategy: () => Strategy; leverage: number }> = [];
  for (const name of Object.keys(BASELINES)) for (const leverage of [1, 5]) cases.push({ name: `raw ${name} ${leverage}x`, strategy: () => baselineByName(name), leverage });
  const limitsSets = { default: DEFAULT_RISK_LIMITS, loose: { ...DEFAULT_RISK_LIMITS, maxDailyLoss: 0.05, maxDrawdown: 0.5 } };
  for (const [limitsName, limits] of Object.entries(limitsSets)) {
    const wrap = (inner: Strategy) => new RiskManagedStrategy(inner, { limits, stopLoss: 0.02, filters: filtersFor(symbol), brackets: bracketsFor(symbol), barMs: 300_000, feeRate: 0.0005 });
    for (const name of ['sma-trend', 'oi-trend', 'buy-and-hold', 'random']) cases.push({ name: `risk(${limitsName}) ${name} 5x`, strategy: () => wrap(baselineByName(name)), leverage: 5 });
    cases.push({ name: `risk(${limitsName}) ml-signal 5x`, strategy: () => wrap(mlSignal({ ...DEFAULT_ML_SIGNAL, threshold: 1.1, priors: [0.3, 0.4, 0.3] })), leverage: 5 });
  }
  for (const c of cases) {
    const r = runBacktest(frame, c.strategy(), { leverage: c.leverage, initialBalanceUsd: 2000 });
    out[`${symbol} ${c.name}`] = {
      finalEquityUsd: r.equity[r.equity.length - 1],
      feesUsd: r.feesUsd,
      fundingUsd: r.fundingUsd,
      liquidations: r.liquidations,
      trades: r.trades.length,
      rejections: r.rejectionCount,
      fills: r.fills.map((f) => [f.timeMs, f.side, f.qtyBase, f.priceUsd, f.feeUsd, f.reason]),
    };
    console.log(symbol, c.name, r.equity[r.equity.length - 1].toFixed(2), r.trades.length);
  }
}
writeFileSync(new URL('../packages/backtest/src/testing/golden/one-symbol-backtests.json.gz', import.meta.url), gzipSync(strToU8(JSON.stringify(out)), { mtime: 0 }));
