import { deflatedSharpe, moments, probabilityOfBacktestOverfitting, type PboResult } from '@oitrader/backtest';
import { median } from '@oitrader/core';
import { configKey, correlationInterval, type ConfigResult, type ResearchConfig } from './run-research.ts';

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface ConfigSummary {
  key: string;
  config: ResearchConfig;
  features: number;
  rows: number;
  paths: number;
  /** Prior log-loss − model log-loss per path (> 0: the model beats the training prior out of sample). */
  logLossGain: Spread;
  ic: Spread & { interval: [number, number] };
  sharpe: Spread;
  totalReturn: Spread;
  trades: Spread;
  /** Paths whose net return was above flat. */
  pathsAboveFlat: number;
}

/** What open interest adds, per symbol × timeframe × label × hurdle: the paired difference of `all` and `no-oi` path by path. */
export interface OiAblationRow {
  symbol: string;
  timeframe: string;
  horizon: number;
  threshold: number;
  hurdle: number;
  byAblation: Partial<Record<string, ConfigSummary>>;
  oiLogLossGain?: Spread;
  oiSharpe?: Spread;
}

export interface ResearchSummary {
  configs: ConfigSummary[];
  oi: OiAblationRow[];
  /** Every configuration evaluated counts as a trial of the deflated Sharpe. */
  trials: number;
  best: { key: string; dailySharpe: number; days: number; deflatedSharpe: number } | undefined;
  pbo: (PboResult & { days: number }) | { skipped: string };
}

export const spread = (xs: readonly number[]): Spread => {
  const s = xs.filter(Number.isFinite);
  return { median: median(s), min: s.length ? Math.min(...s) : Number.NaN, max: s.length ? Math.max(...s) : Number.NaN };
};

/** One configuration's return per day, averaged over its paths (the CPCV "mean path"). */
function meanPathDaily(r: ConfigResult): Map<number, number> {
  const sum = new Map<number, { s: number; n: number }>();
  for (const p of r.paths) for (const [d, x] of p.daily) sum.set(d, { s: (sum.get(d)?.s ?? 0) + x, n: (sum.get(d)?.n ?? 0) + 1 });
  return new Map([...sum].map(([d, v]) => [d, v.s / v.n]));
}

export function summarize(results: readonly ConfigResult[], pboBlocks: number): ResearchSummary {
  const configs = results.map((r): ConfigSummary => {
    const ic = spread(r.paths.map((p) => p.ic));
    return {
      key: configKey(r.config),
      config: r.config,
      features: r.features,
      rows: r.rows,
      paths: r.paths.length,
      logLossGain: spread(r.paths.map((p) => p.priorLogLoss - p.logLoss)),
      ic: { ...ic, interval: correlationInterval(ic.median, r.effectiveRows) },
      sharpe: spread(r.paths.map((p) => p.sharpe)),
      totalReturn: spread(r.paths.map((p) => p.totalReturn)),
      trades: spread(r.paths.map((p) => p.trades)),
      pathsAboveFlat: r.paths.filter((p) => p.totalReturn > 0).length,
    };
  });
  const rowsOf = new Map<string, OiAblationRow>();
  results.forEach((r, i) => {
    const c = r.config;
    const key = `${c.symbol} ${c.timeframe} ${c.horizon} ${c.threshold} ${c.hurdle}`;
    const row = rowsOf.get(key) ?? { symbol: c.symbol, timeframe: c.timeframe, horizon: c.horizon, threshold: c.threshold, hurdle: c.hurdle, byAblation: {} };
    row.byAblation[c.ablation] = configs[i];
    rowsOf.set(key, row);
  });
  const resultOf = new Map(results.map((r) => [configKey(r.config), r]));
  for (const row of rowsOf.values()) {
    const all = row.byAblation.all && resultOf.get(row.byAblation.all.key);
    const noOi = row.byAblation['no-oi'] && resultOf.get(row.byAblation['no-oi'].key);
    if (!all || !noOi) continue;
    // Paired: the same CPCV paths (same rows, groups and splits) with and without the open-interest family.
    row.oiLogLossGain = spread(all.paths.map((p, k) => noOi.paths[k].logLoss - p.logLoss));
    row.oiSharpe = spread(all.paths.map((p, k) => p.sharpe - noOi.paths[k].sharpe));
  }
  const daily = results.map(meanPathDaily);
  const trials = results.length;
  // The deflated Sharpe of the configuration a researcher would pick (best median path Sharpe), against every trial.
  let best: ResearchSummary['best'];
  if (results.length > 0) {
    const sharpeOfDays = (m: Map<number, number>) => {
      const mo = moments(Float64Array.from(m.values()));
      return mo.std > 0 ? mo.mean / mo.std : 0;
    };
    const pick = configs.reduce((a, b, i) => (b.sharpe.median > configs[a].sharpe.median ? i : a), 0);
    const values = Float64Array.from(daily[pick].values());
    const mo = moments(values);
    const srs = daily.map(sharpeOfDays);
    const meanSr = srs.reduce((a, b) => a + b, 0) / srs.length;
    const trialVariance = srs.length > 1 ? srs.reduce((a, b) => a + (b - meanSr) ** 2, 0) / (srs.length - 1) : undefined;
    const sr = mo.std > 0 ? mo.mean / mo.std : 0;
    best = { key: configs[pick].key, dailySharpe: sr, days: values.length, deflatedSharpe: deflatedSharpe(sr, values.length, mo.skew, mo.kurtosis, trials, trialVariance) };
  }
  // PBO over the days every configuration covers.
  let pbo: ResearchSummary['pbo'];
  const days = [...(daily[0]?.keys() ?? [])].filter((d) => daily.every((m) => m.has(d))).sort((a, b) => a - b);
  if (results.length < 2) pbo = { skipped: 'one configuration: nothing was selected, so nothing can be overfitted by selection' };
  else if (days.length < pboBlocks * 2) pbo = { skipped: `${days.length} days that every configuration covers; PBO over ${pboBlocks} blocks needs ${pboBlocks * 2}` };
  else pbo = { ...probabilityOfBacktestOverfitting(days.map((d) => Float64Array.from(daily, (m) => m.get(d)!)), pboBlocks), days: days.length };
  return { configs, oi: [...rowsOf.values()], trials, best, pbo };
}
