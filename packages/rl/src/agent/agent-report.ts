import { escapeHtml, renderHtmlReport, reportJson, strategyColor, type ReportCharts, type ReportEntry } from '@oitrader/backtest';
import { formatUtc } from '@oitrader/core';
import { ACTIONS } from '../env/actions.ts';
import type { AgentManifest, TrainingLogs } from './agent-artifact.ts';
import type { AgentBacktest } from './evaluate-agent.ts';

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '—');

function histogramTable(rows: Array<[string, number[]]>): string {
  const head = `<tr><th>actions taken</th>${ACTIONS.map((a) => `<th>${a}</th>`).join('')}</tr>`;
  const body = rows
    .map(([label, h]) => {
      const total = h.reduce((s, x) => s + x, 0) || 1;
      return `<tr><td>${escapeHtml(label)}</td>${h.map((x) => `<td>${x} (${pct(x / total)})</td>`).join('')}</tr>`;
    })
    .join('');
  return `<table><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

/** Training curves per window: the numbers that show an agent collapsing onto HOLD (entropy → 0, one action in the histogram). */
function trainingCurves(logs: TrainingLogs, charts: ReportCharts): string {
  if (logs.length === 0) return '<p>no training log saved with the agent.</p>';
  const colors = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6'];
  const chart = (label: string, pick: (l: TrainingLogs[number][number]) => number) => {
    const series = logs.map((w, k) => ({ label: `window ${k + 1}`, color: colors[k % colors.length], x: w.map((l) => l.timesteps), values: w.map(pick), width: 2 }));
    return `<div><h3>${escapeHtml(label)}</h3>${charts.add(series, { timeAxis: false, format: 'ratio', heightPx: 180 })}</div>`;
  };
  const holdShare = (l: TrainingLogs[number][number]) => l.actionHistogram[0] / Math.max(1, l.actionHistogram.reduce((s, x) => s + x, 0));
  return `<div class="cols">${[
    chart('mean episode return (scaled reward)', (l) => l.meanEpisodeReturn),
    chart('reward term: log equity change per episode (after costs)', (l) => l.episodeInfo.logReturn ?? Number.NaN),
    chart('reward term: drawdown penalty per episode', (l) => l.episodeInfo.drawdownPenalty ?? Number.NaN),
    chart('policy entropy (nats; ln 6 = 1.79 is uniform)', (l) => l.entropy),
    chart('share of HOLD in the rollout', holdShare),
    chart('approximate KL per update', (l) => l.approxKl),
    chart('clip fraction', (l) => l.clipFraction),
    chart('explained variance of the value function', (l) => l.explainedVariance),
  ].join('')}</div>`;
}

export interface WindowShare {
  window: number;
  /** Rows of the combined run this window traded: from its first test bar to the next window's first. */
  startIndex: number;
  endIndex: number;
  /** Per strategy of the combined table, in its order: equity change over the rows (USDT). */
  pnlUsd: number[];
  /** Trades of each strategy entered in the rows. */
  trades: number[];
  actionHistogram: number[];
}

/**
 * Each walk-forward window's share of the combined out-of-sample run (one wallet carried from window to window),
 * so the rows add up to the combined total: PnL is the equity change over the window's rows, trades are counted
 * by entry time, actions by bar.
 */
export function windowShares(manifest: AgentManifest, backtest: AgentBacktest): WindowShare[] {
  const time = backtest.combined[0].result.time;
  const firstAtOrAfter = (t: number) => {
    let i = 0;
    while (i < time.length && time[i] < t) i++;
    return i;
  };
  const starts = manifest.windows.map((w, k) => (k === 0 ? 0 : firstAtOrAfter(w.testStartMs)));
  const actions = backtest.combinedActions;
  return manifest.windows.map((w, k) => {
    const startIndex = starts[k];
    const endIndex = k + 1 < starts.length ? starts[k + 1] : time.length;
    const before = (e: ReportEntry) => (startIndex === 0 ? e.result.initialBalanceUsd : e.result.equity[startIndex - 1]);
    const endMs = endIndex < time.length ? time[endIndex] : Number.POSITIVE_INFINITY;
    const fromMs = startIndex === 0 ? Number.NEGATIVE_INFINITY : time[startIndex];
    const histogram = new Array<number>(ACTIONS.length).fill(0);
    for (let i = startIndex; i < endIndex && i < actions.length; i++) if (actions[i] >= 0) histogram[actions[i]]++;
    return {
      window: w.window,
      startIndex,
      endIndex,
      pnlUsd: backtest.combined.map((e) => (endIndex > startIndex ? e.result.equity[endIndex - 1] - before(e) : 0)),
      trades: backtest.combined.map((e) => e.result.trades.filter((t) => t.entryTimeMs >= fromMs && t.entryTimeMs < endMs).length),
      actionHistogram: histogram,
    };
  });
}

/** The agent's HTML report: the backtester's page (agent vs baselines, equity with risk halts, drawdown, fills over price) plus the RL sections. */
export function renderAgentReport(manifest: AgentManifest, backtest: AgentBacktest, logs: TrainingLogs): string {
  const agent = backtest.combined[0].result;
  const title = `oitrader rl backtest: agent ${manifest.runId} (${manifest.algorithm.toUpperCase()}) on ${manifest.symbol} ${manifest.timeframe}, out of sample ${formatUtc(agent.time[0])} .. ${formatUtc(agent.time[agent.time.length - 1])}`;
  const shares = windowShares(manifest, backtest);
  const names = backtest.combined.map((e) => e.result.strategy);
  const usd = (x: number) => `<span class="${x >= 0 ? 'pos' : 'neg'}">${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}</span>`;
  const initial = agent.initialBalanceUsd;
  const windowRows = shares
    .map((s, k) => {
      const w = manifest.windows[k];
      const end = s.endIndex > s.startIndex ? agent.time[s.endIndex - 1] : w.testEndMs;
      return `<tr><td>${w.window}</td><td>${formatUtc(w.trainStartMs)} .. ${formatUtc(w.trainEndMs)}</td><td>${formatUtc(agent.time[s.startIndex] ?? w.testStartMs)} .. ${formatUtc(end)}</td><td>${usd(s.pnlUsd[0])}</td><td>${pct(s.pnlUsd[0] / initial)}</td><td>${s.trades[0]}</td>${s.pnlUsd.slice(1).map((p) => `<td>${usd(p)}</td>`).join('')}</tr>`;
    })
    .join('');
  const column = (j: number) => shares.reduce((sum, s) => sum + s.pnlUsd[j], 0);
  const totalRow = `<tr class="total"><td colspan="3">total (the combined run)</td><td>${usd(column(0))}</td><td>${pct(column(0) / initial)}</td><td>${shares.reduce((s, x) => s + x.trades[0], 0)}</td>${names.slice(1).map((_, j) => `<td>${usd(column(j + 1))}</td>`).join('')}</tr>`;
  const extra = (charts: ReportCharts) => `
<h2>Walk-forward windows (each tested only after its training span; one wallet carried through, rows add up to the total)</h2>
<div class="table-wrap"><table><thead><tr><th>window</th><th>trained on</th><th>tested on</th><th>agent PnL (USDT)</th><th>of the wallet</th><th>agent trades</th>${names.slice(1).map((n) => `<th>${escapeHtml(n)} PnL</th>`).join('')}</tr></thead><tbody>${windowRows}${totalRow}</tbody></table></div>
<p class="note">The combined run's PnL (USDT), from the summary: ${names.map((n, j) => `${escapeHtml(n)} ${backtest.combined[j].metrics.pnlUsd.toFixed(2)}`).join(' · ')}. Each window run alone on a fresh wallet is in the JSON (<code>windows[].alone</code>).</p>
<h2>Action histogram (out of sample)</h2><div class="table-wrap">${histogramTable([['all test windows', backtest.combinedHistogram], ...shares.map((s): [string, number[]] => [`window ${s.window}`, s.actionHistogram])])}</div>
<section><h2>Agent position over time</h2>${charts.add([{ label: 'agent position (base qty, + long / − short)', color: strategyColor(agent.strategy), x: agent.time, values: agent.position, width: 1 }], { format: 'ratio', group: 'time', heightPx: 180 })}</section>
<h2>Training curves</h2>${trainingCurves(logs, charts)}
<h2>Agent</h2><p class="note">observation: ${manifest.observation.length} values (${manifest.observation.map((o) => escapeHtml(o.name)).join(', ')}); unavailable in training: ${manifest.unavailableFeatures.join(', ') || 'none'};
model run ${escapeHtml(manifest.modelRun.runId)} (${escapeHtml(manifest.modelRun.model)} out-of-fold); reward scale ${manifest.env.reward.scale}, drawdown penalty ${manifest.env.reward.drawdownPenalty}, turnover penalty ${manifest.env.reward.turnoverPenalty}, liquidation penalty ${manifest.env.reward.liquidationPenalty};
${manifest.training.totalTimesteps} steps per window, n_steps ${manifest.training.nSteps}, batch ${manifest.training.batchSize}, epochs ${manifest.training.nEpochs}, lr ${manifest.training.learningRate}, entropy coefficient ${manifest.training.entCoef}, seed ${manifest.seed}.</p>`;
  // Where each window agent takes over, on the agent's equity curve (the rows of the windows table).
  const windowStarts = shares.map((sh) => ({ timeMs: agent.time[sh.startIndex], position: 'belowBar' as const, shape: 'circle' as const, color: '#374151', text: `w${sh.window}`, keep: true }));
  return renderHtmlReport(title, backtest.combined, extra, undefined, { equityMarkers: windowStarts.filter((m) => Number.isFinite(m.timeMs)) });
}

/** The report's numbers for scripts. */
export function agentReportJson(manifest: AgentManifest, backtest: AgentBacktest): unknown {
  return {
    agent: manifest.runId,
    modelRun: manifest.modelRun.runId,
    combined: reportJson(backtest.combined),
    actionHistogram: Object.fromEntries(ACTIONS.map((a, i) => [a, backtest.combinedHistogram[i]])),
    // Each window's share of the combined run (adds up to its total) and, apart, the window run alone on a fresh wallet.
    windows: windowShares(manifest, backtest).map((s, k) => ({
      ...manifest.windows[k],
      shareOfCombined: { pnlUsd: Object.fromEntries(backtest.combined.map((e, j) => [e.result.strategy, s.pnlUsd[j]])), trades: Object.fromEntries(backtest.combined.map((e, j) => [e.result.strategy, s.trades[j]])), actionHistogram: s.actionHistogram },
      alone: { actionHistogram: backtest.windows[k].actionHistogram, strategies: reportJson(backtest.windows[k].entries) },
    })),
  };
}
