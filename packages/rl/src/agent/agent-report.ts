import { escapeHtml, lineChart, renderHtmlReport, reportJson } from '@oitrader/backtest';
import { formatUtc } from '@oitrader/core';
import { ACTIONS } from '../env/actions.ts';
import type { AgentManifest, TrainingLogs } from './agent-artifact.ts';
import type { AgentBacktest } from './evaluate-agent.ts';

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '—');
const num = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');

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
function trainingCurves(logs: TrainingLogs): string {
  if (logs.length === 0) return '<p>no training log saved with the agent.</p>';
  const colors = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6'];
  const chart = (label: string, pick: (l: TrainingLogs[number][number]) => number) => {
    const longest = logs.reduce((a, b) => (b.length > a.length ? b : a));
    const x = Float64Array.from(longest, (l) => l.timesteps);
    const series = logs.map((w, k) => ({ values: Float64Array.from(longest, (_, i) => (i < w.length ? pick(w[i]) : Number.NaN)), color: colors[k % colors.length], label: `window ${k + 1}` }));
    return `<h3>${escapeHtml(label)}</h3>${lineChart(x, series, { height: 150, xLabel: (t) => `${Math.round(t).toLocaleString('en-US')} steps` })}`;
  };
  const holdShare = (l: TrainingLogs[number][number]) => l.actionHistogram[0] / Math.max(1, l.actionHistogram.reduce((s, x) => s + x, 0));
  return [
    chart('mean episode return (scaled reward)', (l) => l.meanEpisodeReturn),
    chart('reward term: log equity change per episode (after costs)', (l) => l.episodeInfo.logReturn ?? Number.NaN),
    chart('reward term: drawdown penalty per episode', (l) => l.episodeInfo.drawdownPenalty ?? Number.NaN),
    chart('policy entropy (nats; ln 6 = 1.79 is uniform)', (l) => l.entropy),
    chart('share of HOLD in the rollout', holdShare),
    chart('approximate KL per update', (l) => l.approxKl),
    chart('clip fraction', (l) => l.clipFraction),
    chart('explained variance of the value function', (l) => l.explainedVariance),
  ].join('');
}

/** The agent's HTML report: the backtester's page (agent vs baselines, equity, drawdown, fills over price) plus the RL sections. */
export function renderAgentReport(manifest: AgentManifest, backtest: AgentBacktest, logs: TrainingLogs): string {
  const agent = backtest.combined[0].result;
  const title = `oitrader rl backtest: agent ${manifest.runId} (${manifest.algorithm.toUpperCase()}) on ${manifest.symbol} ${manifest.timeframe}, out of sample ${formatUtc(agent.time[0])} .. ${formatUtc(agent.time[agent.time.length - 1])}`;
  const windowRows = manifest.windows
    .map((w, k) => {
      const e = backtest.windows[k].entries;
      const a = e[0].metrics;
      const best = e.slice(1).reduce((x, y) => (y.metrics.sharpe > x.metrics.sharpe ? y : x));
      return `<tr><td>${w.window}</td><td>${formatUtc(w.trainStartMs)} .. ${formatUtc(w.trainEndMs)}</td><td>${formatUtc(w.testStartMs)} .. ${formatUtc(w.testEndMs)}</td><td>${pct(a.totalReturn)}</td><td>${num(a.sharpe)}</td><td>${pct(a.maxDrawdown)}</td><td>${a.trades}</td><td>${escapeHtml(best.result.strategy)}: ${pct(best.metrics.totalReturn)} / ${num(best.metrics.sharpe)}</td></tr>`;
    })
    .join('');
  const position = { values: agent.position, color: '#2563eb', label: 'agent position (base qty, + long / − short)' };
  const extra = `
<h2>Walk-forward windows (each tested only after its training span)</h2>
<table><thead><tr><th>window</th><th>trained on</th><th>tested on</th><th>agent return</th><th>Sharpe</th><th>max DD</th><th>trades</th><th>best baseline (return / Sharpe)</th></tr></thead><tbody>${windowRows}</tbody></table>
<h2>Action histogram (out of sample)</h2>${histogramTable([['all test windows', backtest.combinedHistogram], ...backtest.windows.map((w): [string, number[]] => [`window ${w.window}`, w.actionHistogram])])}
<h2>Agent position over time</h2>${lineChart(agent.time, [position], { height: 160 })}
<h2>Training curves</h2>${trainingCurves(logs)}
<h2>Agent</h2><p class="note">observation: ${manifest.observation.length} values (${manifest.observation.map((o) => escapeHtml(o.name)).join(', ')}); unavailable in training: ${manifest.unavailableFeatures.join(', ') || 'none'};
model run ${escapeHtml(manifest.modelRun.runId)} (${escapeHtml(manifest.modelRun.model)} out-of-fold); reward scale ${manifest.env.reward.scale}, drawdown penalty ${manifest.env.reward.drawdownPenalty}, turnover penalty ${manifest.env.reward.turnoverPenalty}, liquidation penalty ${manifest.env.reward.liquidationPenalty};
${manifest.training.totalTimesteps} steps per window, n_steps ${manifest.training.nSteps}, batch ${manifest.training.batchSize}, epochs ${manifest.training.nEpochs}, lr ${manifest.training.learningRate}, entropy coefficient ${manifest.training.entCoef}, seed ${manifest.seed}.</p>`;
  return renderHtmlReport(title, backtest.combined, extra);
}

/** The report's numbers for scripts. */
export function agentReportJson(manifest: AgentManifest, backtest: AgentBacktest): unknown {
  return {
    agent: manifest.runId,
    modelRun: manifest.modelRun.runId,
    combined: reportJson(backtest.combined),
    actionHistogram: Object.fromEntries(ACTIONS.map((a, i) => [a, backtest.combinedHistogram[i]])),
    windows: backtest.windows.map((w, k) => ({ ...manifest.windows[k], actionHistogram: w.actionHistogram, strategies: reportJson(w.entries) })),
  };
}
