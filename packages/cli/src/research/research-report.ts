import type { ConfigSummary, ResearchSummary, Spread } from './research-summary.ts';

const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '–');
const signed = (x: number, d = 4) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(d)}` : '–');
const band = (s: Spread, fmt: (x: number) => string) => `${fmt(s.median)} [${fmt(s.min)}, ${fmt(s.max)}]`;

/** The headline and the tables, as the terminal prints them. */
export function researchText(s: ResearchSummary, seconds: number): string[] {
  const lines: string[] = [];
  lines.push(`Does open interest add anything? (CPCV paths: median [min, max]; log-loss gain = training prior − model, > 0 beats the prior)`);
  lines.push(`${'symbol'.padEnd(9)} ${'tf'.padEnd(4)} ${'h'.padStart(3)} ${'ablation'.padEnd(13)} ${'log-loss gain'.padEnd(31)} ${'IC [95% CI]'.padEnd(24)} ${'net Sharpe'.padEnd(24)} ${'trades'.padStart(6)}  above flat`);
  for (const row of s.oi) {
    for (const [ablation, c] of Object.entries(row.byAblation)) {
      if (!c) continue;
      lines.push(
        `${row.symbol.padEnd(9)} ${row.timeframe.padEnd(4)} ${String(row.horizon).padStart(3)} ${ablation.padEnd(13)} ${band(c.logLossGain, (x) => signed(x)).padEnd(31)} ${`${signed(c.ic.median, 3)} [${signed(c.ic.interval[0], 3)}, ${signed(c.ic.interval[1], 3)}]`.padEnd(24)} ${band(c.sharpe, (x) => f(x, 2)).padEnd(24)} ${f(c.trades.median, 0).padStart(6)}  ${c.pathsAboveFlat}/${c.paths}`,
      );
    }
    if (row.oiLogLossGain && row.oiSharpe) lines.push(`${' '.repeat(19)}→ open interest adds: log-loss ${band(row.oiLogLossGain, (x) => signed(x))}, net Sharpe ${band(row.oiSharpe, (x) => signed(x, 2))} (paired by path)`);
  }
  lines.push(verdictLine(s));
  const b = s.best;
  if (b) {
    lines.push(`best configuration by median path Sharpe: ${b.key}; deflated Sharpe ${f(b.deflatedSharpe)} (P[skill] after ${s.trials} trials, daily Sharpe ${f(b.dailySharpe)} over ${b.days} days)`);
    const c = s.configs.find((x) => x.key === b.key)!.config;
    lines.push(
      c.ablation === 'all' || c.ablation === 'with-calendar'
        ? `  to train it: oitrader features build --symbol ${c.symbol} --timeframe ${c.timeframe} --horizon ${c.horizon} --threshold ${c.threshold}${c.ablation === 'with-calendar' ? ' --calendar' : ''} && oitrader train   (trading.ml_rule.hurdle: ${c.hurdle})`
        : `  (its feature set, ${c.ablation}, is a research ablation: features build has no flag for it; train the 'all' configuration to use it in the bot)`,
    );
  }
  lines.push('pbo' in s.pbo ? `probability of backtest overfitting (CSCV, ${s.pbo.splits} splits over ${s.pbo.days} days, ${s.pbo.configurations} configurations): ${f(s.pbo.pbo, 2)}${s.pbo.pbo >= 0.5 ? ' — choosing the best of this grid is choosing luck' : ''}` : `probability of backtest overfitting: not computed (${s.pbo.skipped})`);
  lines.push(`${s.trials} trials (configurations × hurdles), every one logged; ${seconds.toFixed(0)} s`);
  return lines;
}

/** One sentence per symbol × timeframe: did adding open interest help out of sample, beyond the paths' spread? */
function verdictLine(s: ResearchSummary): string {
  const rows = s.oi.filter((r) => r.oiLogLossGain);
  if (rows.length === 0) return 'verdict: the grid has no all/no-oi pair, so it cannot say what open interest adds';
  const helped = rows.filter((r) => r.oiLogLossGain!.min > 0).length;
  const hurt = rows.filter((r) => r.oiLogLossGain!.max < 0).length;
  return `verdict: open interest improved log-loss on every path in ${helped} of ${rows.length} symbol/timeframe pairs, worsened it on every path in ${hurt}, and was mixed in ${rows.length - helped - hurt}`;
}

const escape = (x: string) => x.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function cell(x: string, cls = ''): string {
  return `<td${cls ? ` class="${cls}"` : ''}>${escape(x)}</td>`;
}

function configRow(c: ConfigSummary): string {
  const sign = (x: number) => (x > 0 ? 'pos' : x < 0 ? 'neg' : '');
  return `<tr>${cell(c.config.symbol)}${cell(c.config.timeframe)}${cell(String(c.config.horizon))}${cell(String(c.config.threshold))}${cell(c.config.ablation)}${cell(String(c.config.hurdle))}${cell(String(c.features))}${cell(String(c.rows))}${cell(band(c.logLossGain, (x) => signed(x)), sign(c.logLossGain.median))}${cell(`${signed(c.ic.median, 3)} [${signed(c.ic.interval[0], 3)}, ${signed(c.ic.interval[1], 3)}]`, sign(c.ic.median))}${cell(band(c.sharpe, (x) => f(x, 2)), sign(c.sharpe.median))}${cell(band(c.totalReturn, pct), sign(c.totalReturn.median))}${cell(f(c.trades.median, 0))}${cell(`${c.pathsAboveFlat}/${c.paths}`)}</tr>`;
}

/** The report page: self-contained, readable on a phone. */
export function researchHtml(title: string, s: ResearchSummary, text: readonly string[], gridYaml: string): string {
  const head = ['symbol', 'tf', 'horizon', 'threshold', 'ablation', 'hurdle', 'features', 'rows', 'log-loss gain vs prior', 'IC [95% CI]', 'net Sharpe (paths)', 'net return (paths)', 'trades', 'paths above flat'];
  const headRow = `<tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title>
<style>
body{margin:0;padding:14px;font:13px/1.45 system-ui,sans-serif;background:#0f1419;color:#d8dee4}
h1{font-size:17px}h2{font-size:14px;color:#8b949e;text-transform:uppercase;letter-spacing:.04em;margin-top:22px}
.box{overflow-x:auto;background:#161b22;border:1px solid #30363d;border-radius:6px;padding:8px}
table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #21262d;white-space:nowrap;text-align:right}th{color:#8b949e;font-weight:500}
td:first-child,th:first-child{text-align:left}.pos{color:#3fb950}.neg{color:#f85149}
pre{white-space:pre-wrap;background:#161b22;border:1px solid #30363d;border-radius:6px;padding:8px;font-size:12px}
</style></head><body>
<h1>${escape(title)}</h1>
<pre>${escape(text.join('\n'))}</pre>
<h2>Every configuration (combinatorial purged cross-validation; median [min, max] over paths)</h2>
<div class="box"><table>${headRow}${s.configs.map(configRow).join('')}</table></div>
<h2>How to read it</h2>
<p>Each configuration is trained and scored on CPCV splits (López de Prado): the rows are cut into groups, every split tests some groups and trains on the rest, purged of rows whose label reaches a tested group and embargoed after it; the splits' predictions assemble into several whole out-of-sample paths. <b>log-loss gain</b> compares the calibrated probabilities with the training prior on the same rows; <b>IC</b> is the correlation of P(long) − P(short) with the forward return (its interval counts rows ÷ horizon as independent); <b>net Sharpe</b> is the cost-aware rule traded on each path through the bot's risk engine after taker fees, slippage and funding. <b>PBO</b> (CSCV) is the chance that the grid's in-sample best is below the median out of sample; the <b>deflated Sharpe</b> is the probability that the chosen configuration's Sharpe beats the best of that many unskilled trials.</p>
<h2>Grid</h2><pre>${escape(gridYaml)}</pre>
</body></html>
`;
}
