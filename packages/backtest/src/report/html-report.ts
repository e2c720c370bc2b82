import { formatUtc } from '@oitrader/core';
import type { BacktestResult } from '../engine/backtester.ts';
import type { Metrics } from '../metrics/metrics.ts';

export interface ReportEntry {
  result: BacktestResult;
  metrics: Metrics;
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '—');
const usd = (x: number) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : '—');
const num = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : x === Number.POSITIVE_INFINITY ? '∞' : '—');
const days = (ms: number) => `${(ms / 86_400_000).toFixed(1)} d`;

/** Indices to draw: at most `max` points, keeping each bucket's min and max so spikes survive. */
function sampleIndices(values: Float64Array, max: number): number[] {
  if (values.length <= max) return Array.from({ length: values.length }, (_, i) => i);
  const bucket = Math.ceil((values.length * 2) / max);
  const out: number[] = [];
  for (let start = 0; start < values.length; start += bucket) {
    let lo = start;
    let hi = start;
    for (let i = start; i < Math.min(values.length, start + bucket); i++) {
      if (values[i] < values[lo]) lo = i;
      if (values[i] > values[hi]) hi = i;
    }
    out.push(Math.min(lo, hi), Math.max(lo, hi));
  }
  return [...new Set(out)];
}

export interface Series {
  values: Float64Array;
  color: string;
  label: string;
}

/** An SVG line chart (time on x); exported for reports that add sections (the RL report's training curves). */
export function lineChart(time: Float64Array, series: Series[], options: { height?: number; markers?: Array<{ timeMs: number; price: number; color: string; up: boolean }>; fill?: boolean; xLabel?: (x: number) => string } = {}): string {
  const width = 1000;
  const height = options.height ?? 260;
  const pad = { left: 70, right: 10, top: 10, bottom: 24 };
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const s of series) for (const v of s.values) if (Number.isFinite(v)) [min, max] = [Math.min(min, v), Math.max(max, v)];
  if (!(max > min)) [min, max] = [min - 1, max + 1];
  const t0 = time[0];
  const t1 = time[time.length - 1];
  const x = (t: number) => pad.left + ((t - t0) / Math.max(1, t1 - t0)) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + (1 - (v - min) / (max - min)) * (height - pad.top - pad.bottom);
  const paths = series.map((s) => {
    const points = sampleIndices(s.values, 1600)
      .filter((i) => Number.isFinite(s.values[i]))
      .map((i) => `${x(time[i]).toFixed(1)},${y(s.values[i]).toFixed(1)}`);
    const d = `M${points.join('L')}`;
    const area = options.fill ? `<path d="${d}L${x(t1).toFixed(1)},${y(Math.max(min, Math.min(max, 0))).toFixed(1)}L${x(t0).toFixed(1)},${y(Math.max(min, Math.min(max, 0))).toFixed(1)}Z" fill="${s.color}" opacity="0.25"/>` : '';
    return `${area}<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.3"><title>${escapeHtml(s.label)}</title></path>`;
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = min + f * (max - min);
    return `<text x="${pad.left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4)}</text><line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`;
  });
  const dates = [0, 0.5, 1].map((f) => `<text x="${x(t0 + f * (t1 - t0))}" y="${height - 6}" text-anchor="${f === 0 ? 'start' : f === 1 ? 'end' : 'middle'}">${(options.xLabel ?? ((t: number) => formatUtc(t).slice(0, 16).replace('T', ' ')))(t0 + f * (t1 - t0))}</text>`);
  const markers = (options.markers ?? []).slice(0, 2000).map((m) => {
    const cx = x(m.timeMs);
    const cy = y(m.price);
    const d = m.up ? `M${cx - 4},${cy + 7}L${cx + 4},${cy + 7}L${cx},${cy}Z` : `M${cx - 4},${cy - 7}L${cx + 4},${cy - 7}L${cx},${cy}Z`;
    return `<path d="${d}" fill="${m.color}"/>`;
  });
  const legend = series.map((s, i) => `<tspan x="${pad.left + 8 + i * 200}" fill="${s.color}">■ ${escapeHtml(s.label)}</tspan>`).join('');
  return `<svg viewBox="0 0 ${width} ${height}" class="chart" role="img">${ticks.join('')}${dates.join('')}${paths.join('')}${markers.join('')}<text y="${pad.top + 12}">${legend}</text></svg>`;
}

/** Drawdown from the running peak, in percent (0 at a new high). */
function drawdown(equity: Float64Array): Float64Array {
  const out = new Float64Array(equity.length);
  let peak = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < equity.length; i++) {
    peak = Math.max(peak, equity[i]);
    out[i] = (equity[i] / peak - 1) * 100;
  }
  return out;
}

function monthlyTable(result: BacktestResult): string {
  const months = new Map<string, { start: number; end: number }>();
  let previous = result.initialBalanceUsd;
  for (let i = 0; i < result.time.length; i++) {
    const key = formatUtc(result.time[i]).slice(0, 7);
    const entry = months.get(key) ?? { start: previous, end: previous };
    entry.end = result.equity[i];
    months.set(key, entry);
    previous = result.equity[i];
  }
  const rows = [...months].map(([month, m]) => {
    const r = m.end / m.start - 1;
    return `<tr><td>${month}</td><td class="${r >= 0 ? 'pos' : 'neg'}">${pct(r)}</td><td>${usd(m.end - m.start)}</td></tr>`;
  });
  return `<table><thead><tr><th>month</th><th>return</th><th>PnL (USDT)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function tradesTable(result: BacktestResult, limit = 500): string {
  const rows = result.trades.slice(0, limit).map(
    (t) =>
      `<tr><td>${formatUtc(t.entryTimeMs)}</td><td>${formatUtc(t.exitTimeMs)}</td><td>${t.side}</td><td>${num(t.qtyBase, 4)}</td><td>${num(t.entryPriceUsd, 4)}</td><td>${num(t.exitPriceUsd, 4)}</td><td>${usd(t.feesUsd)}</td><td>${usd(t.fundingUsd)}</td><td class="${t.netPnlUsd >= 0 ? 'pos' : 'neg'}">${usd(t.netPnlUsd)}</td><td>${t.reason}</td></tr>`,
  );
  const more = result.trades.length > limit ? `<p>${result.trades.length - limit} more trades in the JSON file.</p>` : '';
  return `<table><thead><tr><th>entry</th><th>exit</th><th>side</th><th>qty</th><th>entry price</th><th>exit price</th><th>fees</th><th>funding</th><th>net PnL</th><th>reason</th></tr></thead><tbody>${rows.join('')}</tbody></table>${more}`;
}

export const METRIC_ROWS: Array<[string, (m: Metrics) => string]> = [
  ['final equity (USDT)', (m) => usd(m.finalUsd)],
  ['PnL (USDT)', (m) => usd(m.pnlUsd)],
  ['total return', (m) => pct(m.totalReturn)],
  ['CAGR', (m) => pct(m.cagr)],
  ['Sharpe (annualised)', (m) => num(m.sharpe)],
  ['Sortino (annualised)', (m) => num(m.sortino)],
  ['deflated Sharpe (P[skill])', (m) => `${num(m.deflatedSharpe, 3)} (${m.trials} trials)`],
  ['max drawdown', (m) => pct(m.maxDrawdown)],
  ['max drawdown duration', (m) => days(m.maxDrawdownDurationMs)],
  ['Calmar', (m) => num(m.calmar)],
  ['trades', (m) => String(m.trades)],
  ['win rate', (m) => pct(m.winRate)],
  ['profit factor', (m) => num(m.profitFactor)],
  ['expectancy per trade (USDT)', (m) => usd(m.expectancyUsd)],
  ['exposure', (m) => pct(m.exposure)],
  ['turnover (× initial)', (m) => num(m.turnover, 1)],
  ['fees paid (USDT)', (m) => usd(m.feesUsd)],
  ['funding paid (USDT)', (m) => usd(m.fundingUsd)],
  ['liquidations', (m) => String(m.liquidations)],
  ['mean daily return (target +0.25%)', (m) => pct(m.daily.meanReturn)],
  ['days at or above target', (m) => pct(m.daily.daysAtTarget)],
  ['worst day', (m) => pct(m.daily.worstDay)],
];

/** A portfolio backtest's per-symbol section: each symbol's contribution on the one wallet, its price and fills. */
function instrumentsSection(instruments: ReportEntry[], colors: string[]): string {
  const first = instruments[0].result;
  const rows = instruments.map(({ result: r, metrics: m }) => `<tr><td>${escapeHtml(r.symbol)}</td><td class="${m.pnlUsd >= 0 ? 'pos' : 'neg'}">${usd(m.pnlUsd)}</td><td>${pct(m.pnlUsd / r.initialBalanceUsd)}</td><td>${m.trades}</td><td>${pct(m.winRate)}</td><td>${usd(m.feesUsd)}</td><td>${usd(m.fundingUsd)}</td><td>${m.liquidations}</td><td>${pct(m.exposure)}</td></tr>`);
  const table = `<table><thead><tr><th>symbol</th><th>net contribution (USDT)</th><th>of the wallet</th><th>trades</th><th>win rate</th><th>fees</th><th>funding</th><th>liquidations</th><th>time in a position</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  const curves = lineChart(first.time, instruments.map((e, i) => ({ values: Float64Array.from(e.result.equity, (x) => x - e.result.initialBalanceUsd), color: colors[i % colors.length], label: `${e.result.symbol} net USDT` })));
  const prices = instruments.map(({ result: r }) => {
    const markers = r.fills.map((f) => ({ timeMs: f.timeMs, price: f.priceUsd, color: f.side === 'buy' ? '#16a34a' : '#dc2626', up: f.side === 'buy' }));
    return `<h3>${escapeHtml(r.symbol)}</h3>${lineChart(r.time, [{ values: r.close, color: '#374151', label: `${r.symbol} close` }], { markers, height: 200 })}`;
  });
  return `<h2>Per symbol (one wallet)</h2>${table}<h2>Contribution over time (USDT)</h2>${curves}<h2>Prices and fills</h2>${prices.join('')}`;
}

/**
 * A self-contained HTML page: no script, no external asset, readable offline. `extraHtml` goes at the end
 * (callers' own sections); `instruments` adds a portfolio's per-symbol section.
 */
export function renderHtmlReport(title: string, entries: ReportEntry[], extraHtml = '', instruments?: ReportEntry[]): string {
  const [main] = entries;
  const r = main.result;
  const colors = ['#2563eb', '#9ca3af', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6'];
  const comparison = `<table><thead><tr><th>metric</th>${entries.map((e) => `<th>${escapeHtml(e.result.strategy)}</th>`).join('')}</tr></thead><tbody>${METRIC_ROWS.map(
    ([label, f]) => `<tr><td>${label}</td>${entries.map((e) => `<td>${f(e.metrics)}</td>`).join('')}</tr>`,
  ).join('')}</tbody></table>`;
  const markers = r.fills.map((f) => ({ timeMs: f.timeMs, price: f.priceUsd, color: f.side === 'buy' ? '#16a34a' : '#dc2626', up: f.side === 'buy' }));
  const c = r.config;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
.pos{color:#15803d}.neg{color:#b91c1c}.chart{width:100%;height:auto;font-size:11px;fill:#444}.grid{stroke:#eee}
.note{color:#555;font-size:13px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="note">${escapeHtml(r.symbol)} ${escapeHtml(r.timeframe)} · ${formatUtc(r.time[0])} → ${formatUtc(r.time[r.time.length - 1])} · ${r.time.length} bars ·
initial ${usd(r.initialBalanceUsd)} USDT · ${c.leverage}x isolated · taker ${(c.takerFeeRate * 100).toFixed(3)}% / maker ${(c.makerFeeRate * 100).toFixed(3)}% ·
slippage ${c.halfSpreadBps} bp + ${c.impactBpsPer100k} bp per 100k USDT · funding charged · all figures after costs.</p>
<h2>Summary, side by side with baselines</h2>${comparison}
<h2>Equity (USDT)</h2>${lineChart(r.time, entries.map((e, i) => ({ values: e.result.equity, color: colors[i % colors.length], label: e.result.strategy })))}
<h2>Drawdown (%)</h2>${lineChart(r.time, [{ values: drawdown(r.equity), color: '#dc2626', label: `${r.strategy} drawdown %` }], { height: 160, fill: true })}
${instruments ? `<h2>Gross exposure (× equity)</h2>${lineChart(r.time, [{ values: r.position, color: '#6b7280', label: 'Σ |notional| / equity' }], { height: 140 })}${instrumentsSection(instruments, colors)}` : `<h2>Price and ${escapeHtml(r.strategy)} fills</h2>${lineChart(r.time, [{ values: r.close, color: '#374151', label: `${r.symbol} close` }], { markers })}`}
<h2>Monthly returns (${escapeHtml(r.strategy)})</h2>${monthlyTable(r)}
<h2>Trades (${escapeHtml(r.strategy)})</h2>${tradesTable(r)}
${r.rejectionCount > 0 ? `<h2>Rejected orders</h2><p>${r.rejectionCount} rejected; first: ${escapeHtml(r.rejections[0].reason)}</p>` : ''}
${extraHtml}
</body></html>
`;
}

/** The same numbers as the HTML, for scripts. */
export function reportJson(entries: ReportEntry[]): unknown {
  return entries.map(({ result, metrics }) => ({
    strategy: result.strategy,
    symbol: result.symbol,
    timeframe: result.timeframe,
    from: formatUtc(result.time[0]),
    to: formatUtc(result.time[result.time.length - 1]),
    bars: result.time.length,
    execution: result.config,
    metrics,
    trades: result.trades.map((t) => ({ ...t, entryTime: formatUtc(t.entryTimeMs), exitTime: formatUtc(t.exitTimeMs) })),
    fills: result.fills.map((f) => ({ ...f, time: formatUtc(f.timeMs) })),
    managed: result.managed,
    refusals: result.refusals,
    riskEvents: result.riskEvents.map((e) => ({ ...e, time: formatUtc(e.timeMs) })),
    rejectionCount: result.rejectionCount,
    rejections: result.rejections.map((x) => ({ time: formatUtc(x.timeMs), reason: x.reason, order: x.order })),
  }));
}

/** A fixed-width summary table for the terminal. */
export function formatSummary(entries: ReportEntry[]): string {
  const width = 34;
  const header = `${'metric'.padEnd(width)}${entries.map((e) => e.result.strategy.slice(0, 18).padStart(20)).join('')}`;
  const rows = METRIC_ROWS.map(([label, f]) => `${label.padEnd(width)}${entries.map((e) => f(e.metrics).padStart(20)).join('')}`);
  return [header, ...rows].join('\n');
}
