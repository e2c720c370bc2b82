import { formatUtc, type Frame } from '@oitrader/core';
import { runBacktest, type BacktestOptions, type BacktestResult } from '../engine/backtester.ts';
import { computeMetrics, type Metrics } from '../metrics/metrics.ts';
import { buyAndHold } from '../strategies/baselines.ts';
import type { RefusalCode, RiskEvent } from '@oitrader/trading';
import { ReportCharts, type ChartMarker } from './report-charts.ts';
import { strategyColor } from './strategy-colors.ts';

export interface ReportEntry {
  result: BacktestResult;
  metrics: Metrics;
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '—');
const usd = (x: number) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : '—');
const num = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : x === Number.POSITIVE_INFINITY ? '∞' : '—');
const days = (ms: number) => `${(ms / 86_400_000).toFixed(1)} d`;

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

const SYMBOL_COLORS = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#db2777', '#0891b2', '#a16207', '#4f46e5'];
const HALT_COLOR = '#b91c1c';

/** Why the risk engine refused an entry, in a trader's words (RefusalCode). */
export const REFUSAL_WHY: Record<RefusalCode, string> = {
  kill_switch: 'the kill switch was on',
  entries_stopped: 'entries were stopped by command',
  max_drawdown: 'the drawdown halt was on',
  daily_loss: 'the daily-loss halt was on',
  circuit_breaker: 'the circuit breaker had tripped',
  data_unhealthy: 'the data was unhealthy',
  entry_resting: 'an entry order was already resting',
  stale_data: 'the data was stale',
  cooldown: 'cooling down after a loss',
  max_scale_ins: 'the position had its maximum scale-ins',
  max_open_positions: 'the maximum number of open positions was reached',
  invalid_stop: 'the stop was on the wrong side or too close',
  no_margin: 'not enough free margin',
  max_gross_exposure: 'gross exposure was at its limit',
  max_total_risk: 'the total risk budget was used',
  instrument_risk_share: "the symbol's share of the risk budget was used",
  exchange_filters: 'the size was below the exchange minimum (step, minimum notional)',
  liquidation_distance: 'the stop lay beyond the liquidation price',
  no_position: 'there was no position to exit',
  flattening: 'the book was being flattened',
  lost_ranking: 'another symbol ranked higher for the budget',
};

const HALT_LABEL: Partial<Record<RiskEvent['kind'], string>> = {
  daily_loss: 'daily-loss halt',
  drawdown: 'drawdown halt',
  circuit_breaker: 'circuit breaker',
  kill: 'kill',
  flatten: 'flatten',
  stop_entries: 'entries stopped',
  resume: 'resume',
};

/** The risk engine's halts and commands (not day starts), as markers that stay visible at every zoom. */
export function haltMarkers(events: readonly RiskEvent[]): ChartMarker[] {
  return events.flatMap((e) => {
    const label = HALT_LABEL[e.kind];
    if (!label) return [];
    // Daily-loss halts come once a bad day: a square each, named only in the table (labels would pile up).
    const text = e.kind === 'daily_loss' ? undefined : e.symbol ? `${label} ${e.symbol}` : label;
    return [{ timeMs: e.timeMs, position: 'aboveBar' as const, shape: 'square' as const, color: e.kind === 'resume' ? '#15803d' : HALT_COLOR, text, keep: true }];
  });
}

/** Fills as markers: buys below the bar in green, sells above it in red. */
export function fillMarkers(fills: BacktestResult['fills']): ChartMarker[] {
  return fills.map((f) => (f.side === 'buy' ? { timeMs: f.timeMs, position: 'belowBar', shape: 'arrowUp', color: '#16a34a' } : { timeMs: f.timeMs, position: 'aboveBar', shape: 'arrowDown', color: '#dc2626' }));
}

/** A run with no trade says why: the entries the risk engine refused, by code, or that the strategy never asked. */
export function stoodAsideNote(result: BacktestResult, metrics: Metrics, because: readonly string[] = []): string {
  if (metrics.trades > 0 || result.fills.length > 0) return '';
  const refusals = Object.entries(result.refusals).filter(([, n]) => (n ?? 0) > 0).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0)) as Array<[RefusalCode, number]>;
  const halts = result.riskEvents.filter((e) => e.kind === 'drawdown' || e.kind === 'daily_loss' || e.kind === 'circuit_breaker' || e.kind === 'kill');
  const asked = refusals.reduce((s, [, n]) => s + n, 0);
  const why = refusals.length > 0
    ? `<p>The strategy asked to enter ${asked.toLocaleString('en-US')} time${asked === 1 ? '' : 's'}; the risk engine refused every entry:</p><ul>${refusals.map(([code, n]) => `<li><code>${code}</code> ×${n.toLocaleString('en-US')}: ${escapeHtml(REFUSAL_WHY[code] ?? code)}</li>`).join('')}</ul>`
    : result.rejectionCount > 0
      ? `<p>Every order was rejected by the exchange rules (${result.rejectionCount.toLocaleString('en-US')}; first: ${escapeHtml(result.rejections[0].reason)}).</p>`
      : `<p>The strategy never asked to enter on these bars${result.managed ? ' (the risk engine refused nothing)' : ''}.</p>`;
  const haltLine = halts.length > 0 ? `<p>Risk halts: ${halts.slice(0, 5).map((e) => `${escapeHtml(HALT_LABEL[e.kind] ?? e.kind)} at ${formatUtc(e.timeMs)}`).join('; ')}${halts.length > 5 ? ` and ${halts.length - 5} more` : ''}.</p>` : '';
  const own = because.map((line) => `<p>${escapeHtml(line)}.</p>`).join('');
  return `<div class="stood-aside"><h2>Stood aside: why</h2><p>${escapeHtml(result.strategy)} made no trade.</p>${own}${why}${haltLine}</div>`;
}

/** The risk engine's refusals by code and its halts, for a run through it. */
function riskSection(result: BacktestResult): string {
  if (!result.managed) return '';
  const refusals = Object.entries(result.refusals).filter(([, n]) => (n ?? 0) > 0).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0)) as Array<[RefusalCode, number]>;
  const halts = result.riskEvents.filter((e) => HALT_LABEL[e.kind]);
  const refusalTable = refusals.length === 0 ? '<p class="note">no entry was refused.</p>' : wrap(`<table><thead><tr><th>refused entries</th><th>count</th><th>why</th></tr></thead><tbody>${refusals.map(([code, n]) => `<tr><td><code>${code}</code></td><td>${n.toLocaleString('en-US')}</td><td class="text">${escapeHtml(REFUSAL_WHY[code] ?? code)}</td></tr>`).join('')}</tbody></table>`);
  const haltTable = halts.length === 0 ? '<p class="note">no halt.</p>' : wrap(`<table><thead><tr><th>time</th><th>event</th><th>message</th></tr></thead><tbody>${halts.slice(0, 200).map((e) => `<tr><td>${formatUtc(e.timeMs)}</td><td>${escapeHtml(HALT_LABEL[e.kind] ?? e.kind)}</td><td class="text">${escapeHtml(e.message)}</td></tr>`).join('')}</tbody></table>`, true);
  return `<h2>Risk engine (${escapeHtml(result.strategy)})</h2><div class="cols"><div>${refusalTable}</div><div>${haltTable}</div></div>`;
}

/** A table that scrolls inside its box (sideways on a phone; down, too, when `tall`), never the page. */
const wrap = (table: string, tall = false) => `<div class="table-wrap${tall ? ' tall' : ''}">${table}</div>`;

/** A portfolio backtest's per-symbol section: each symbol's contribution on the one wallet (rows add up to the total), its price and fills. */
function instrumentsSection(instruments: ReportEntry[], main: ReportEntry, charts: ReportCharts): string {
  const first = instruments[0].result;
  const rows = instruments.map(({ result: r, metrics: m }) => `<tr><td>${escapeHtml(r.symbol)}</td><td class="${m.pnlUsd >= 0 ? 'pos' : 'neg'}">${usd(m.pnlUsd)}</td><td>${pct(m.pnlUsd / r.initialBalanceUsd)}</td><td>${m.trades}</td><td>${pct(m.winRate)}</td><td>${usd(m.feesUsd)}</td><td>${usd(m.fundingUsd)}</td><td>${m.liquidations}</td><td>${pct(m.exposure)}</td></tr>`);
  const sum = (f: (m: Metrics) => number) => instruments.reduce((s, e) => s + f(e.metrics), 0);
  const total = `<tr class="total"><td>total (the portfolio: ${usd(main.metrics.pnlUsd)})</td><td>${usd(sum((m) => m.pnlUsd))}</td><td>${pct(sum((m) => m.pnlUsd) / first.initialBalanceUsd)}</td><td>${sum((m) => m.trades)}</td><td></td><td>${usd(sum((m) => m.feesUsd))}</td><td>${usd(sum((m) => m.fundingUsd))}</td><td>${sum((m) => m.liquidations)}</td><td></td></tr>`;
  const table = wrap(`<table><thead><tr><th>symbol</th><th>net contribution (USDT)</th><th>of the wallet</th><th>trades</th><th>win rate</th><th>fees</th><th>funding</th><th>liquidations</th><th>time in a position</th></tr></thead><tbody>${rows.join('')}${total}</tbody></table>`);
  const curves = charts.add(
    instruments.map((e, i) => ({ label: `${e.result.symbol} net USDT`, color: SYMBOL_COLORS[i % SYMBOL_COLORS.length], x: e.result.time, values: Float64Array.from(e.result.equity, (x) => x - e.result.initialBalanceUsd) })),
    { format: 'usd', group: 'time', heightPx: 260 },
  );
  const prices = instruments.map(({ result: r }, i) => `<div><h3>${escapeHtml(r.symbol)}</h3>${charts.add([{ label: `${r.symbol} close`, color: SYMBOL_COLORS[i % SYMBOL_COLORS.length], x: r.time, values: r.close, width: 1, markers: fillMarkers(r.fills) }], { format: 'price', group: 'time', heightPx: 260 })}</div>`);
  return `<h2>Per symbol (one wallet)</h2>${table}<section><h2>Contribution over time (USDT)</h2>${curves}</section><h2>Prices and fills</h2><div class="cols">${prices.join('')}</div>`;
}

/** Log when the equity spans more than 3× from its low to its high: a linear axis flattens a −99 % strategy. */
function defaultScale(entries: ReportEntry[]): 'linear' | 'log' {
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (const e of entries) for (const v of e.result.equity) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return lo > 0 && hi / lo <= 3 ? 'linear' : 'log';
}

const STYLE = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,sans-serif;margin:0 auto;padding:20px 24px;color:#111;max-width:1440px;background:#fff}
h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin:26px 0 8px;display:flex;align-items:center;gap:12px;flex-wrap:wrap}h3{font-size:14px;margin:14px 0 6px}
.table-wrap{overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch}.table-wrap.tall{max-height:360px;overflow-y:auto}
details.trades summary{cursor:pointer;list-style-position:outside}details.trades summary h2{display:inline-flex}
.table-wrap table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}.table-wrap td,.table-wrap th{border:1px solid #e5e7eb;padding:3px 8px;text-align:right;white-space:nowrap}.table-wrap td:first-child,.table-wrap th:first-child{text-align:left}.table-wrap td.text{text-align:left;white-space:normal;min-width:16em}.table-wrap th{white-space:normal;max-width:16em;vertical-align:bottom}
.table-wrap tr.total td{font-weight:600;border-top:2px solid #9ca3af}
.pos{color:#15803d}.neg{color:#b91c1c}
.note{color:#555;font-size:13px}
.lw-chart{width:100%;position:relative}
.legend{display:flex;flex-wrap:wrap;gap:4px 12px;margin:2px 0 4px}
.legend-item{font:12px system-ui,sans-serif;border:0;background:none;padding:2px 0;cursor:pointer;color:#111;display:inline-flex;align-items:center;gap:5px}
.legend-item.off{opacity:.35}.swatch{display:inline-block;width:14px;height:3px;border-radius:2px}
.marker-note{font-size:12px;color:#6b7280;min-height:1em}
.scale-switch{display:inline-flex;border:1px solid #d1d5db;border-radius:6px;overflow:hidden;font-weight:400}
.scale-switch button{font:12px system-ui,sans-serif;border:0;background:#fff;padding:3px 10px;cursor:pointer}.scale-switch button.on{background:#1f2937;color:#fff}
.cols{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:8px 28px}.cols>*{min-width:0}
.stood-aside{border:1px solid #f59e0b;background:#fffbeb;border-radius:8px;padding:4px 16px;margin:14px 0}.stood-aside h2{margin-top:10px}
code{font-size:12px;background:#f3f4f6;padding:0 4px;border-radius:3px}
@media (max-width:700px){body{padding:12px}h1{font-size:17px}.cols{grid-template-columns:minmax(0,1fr)}.table-wrap table{font-size:12px}.table-wrap td,.table-wrap th{padding:3px 5px}.table-wrap td:first-child{white-space:normal;min-width:8em}}
`;

/**
 * A self-contained HTML page: interactive charts (lightweight-charts, inlined with the data: zoom, crosshair,
 * markers), no external asset, readable offline and on a phone. `extra` goes at the end (callers' own sections;
 * a function receives the page's charts to add its own); `instruments` adds a portfolio's per-symbol section;
 * `equityMarkers` go on the first strategy's equity curve (an RL agent's window starts); `stoodAsideWhy` adds the
 * strategy's own reasons to the note of a run without trades (an ML rule's validation or hurdle).
 */
export function renderHtmlReport(title: string, entries: ReportEntry[], extra: string | ((charts: ReportCharts) => string) = '', instruments?: ReportEntry[], options: { equityMarkers?: ChartMarker[]; stoodAsideWhy?: readonly string[] } = {}): string {
  const [main] = entries;
  const r = main.result;
  const charts = new ReportCharts();
  const comparison = wrap(`<table><thead><tr><th>metric</th>${entries.map((e) => `<th><span class="swatch" style="background:${strategyColor(e.result.strategy)}"></span> ${escapeHtml(e.result.strategy)}</th>`).join('')}</tr></thead><tbody>${METRIC_ROWS.map(
    ([label, f]) => `<tr><td>${label}</td>${entries.map((e) => `<td>${f(e.metrics)}</td>`).join('')}</tr>`,
  ).join('')}</tbody></table>`);
  const equity = charts.add(
    entries.map((e, i) => ({
      label: e.result.strategy,
      color: strategyColor(e.result.strategy),
      x: e.result.time,
      values: e.result.equity,
      width: i === 0 ? 3 : 2,
      dashed: e.result.strategy === BENCHMARK_NAME,
      ...(i === 0 && { markers: [...haltMarkers(e.result.riskEvents), ...(options.equityMarkers ?? [])].sort((a, b) => a.timeMs - b.timeMs) }),
    })),
    { format: 'usd', logSwitch: true, defaultScale: defaultScale(entries), group: 'time', heightPx: 360 },
  );
  const drawdownChart = charts.add([{ label: `${r.strategy} drawdown %`, color: '#dc2626', x: r.time, values: drawdown(r.equity), area: true, width: 1 }], { format: 'percent', group: 'time', heightPx: 200 });
  const lower = instruments
    ? `<div class="cols"><section><h2>Drawdown (%)</h2>${drawdownChart}</section><section><h2>Gross exposure (× equity)</h2>${charts.add([{ label: 'Σ |notional| / equity', color: '#6b7280', x: r.time, values: r.position, width: 1 }], { format: 'ratio', group: 'time', heightPx: 200 })}</section></div>${instrumentsSection(instruments, main, charts)}`
    : `<section><h2>Drawdown (%)</h2>${drawdownChart}</section><section><h2>Price and ${escapeHtml(r.strategy)} fills</h2>${charts.add([{ label: `${r.symbol} close`, color: '#374151', x: r.time, values: r.close, width: 1, markers: fillMarkers(r.fills) }], { format: 'price', group: 'time', heightPx: 320 })}</section>`;
  const extraHtml = typeof extra === 'function' ? extra(charts) : extra;
  const c = r.config;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="note">${escapeHtml(r.symbol)} ${escapeHtml(r.timeframe)} · ${formatUtc(r.time[0])} → ${formatUtc(r.time[r.time.length - 1])} · ${r.time.length} bars ·
initial ${usd(r.initialBalanceUsd)} USDT · ${c.leverage}x isolated · taker ${(c.takerFeeRate * 100).toFixed(3)}% / maker ${(c.makerFeeRate * 100).toFixed(3)}% ·
slippage ${c.halfSpreadBps} bp + ${c.impactBpsPer100k} bp per 100k USDT · funding charged · all figures after costs. Charts: wheel or pinch to zoom, drag to pan, double-click the axis to reset.</p>
${stoodAsideNote(r, main.metrics, options.stoodAsideWhy)}
<h2>Summary, side by side with baselines</h2>${comparison}
<section><h2>Equity (USDT)</h2>${equity}${r.riskEvents.some((e) => HALT_LABEL[e.kind]) ? `<p class="note"><span class="swatch" style="background:${HALT_COLOR};height:8px;width:8px"></span> risk halts on ${escapeHtml(r.strategy)}'s curve (daily-loss halts unlabelled; every one is listed under Risk engine). Click a legend entry to hide its line.</p>` : '<p class="note">Click a legend entry to hide its line.</p>'}</section>
${lower}
${riskSection(r)}
<div class="cols"><div><h2>Monthly returns (${escapeHtml(r.strategy)})</h2>${wrap(monthlyTable(r))}</div><div></div></div>
<details class="trades"><summary><h2>Trades (${escapeHtml(r.strategy)}): ${r.trades.length.toLocaleString('en-US')}</h2></summary>${wrap(tradesTable(r), true)}</details>
${r.rejectionCount > 0 ? `<h2>Rejected orders</h2><p>${r.rejectionCount} rejected; first: ${escapeHtml(r.rejections[0].reason)}</p>` : ''}
${extraHtml}
${charts.script()}
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

/** The benchmark line every report shows: buy-and-hold at 1x on the same bars and costs (never sized by the risk engine, never liquidated). */
export const BENCHMARK_NAME = 'buy-and-hold 1x';

export function benchmarkEntry(frame: Frame, options: BacktestOptions, trials: number): ReportEntry {
  const result = runBacktest(frame, buyAndHold(1), { ...options, leverage: 1, risk: undefined });
  result.strategy = BENCHMARK_NAME;
  return { result, metrics: computeMetrics(result, { trials }) };
}
