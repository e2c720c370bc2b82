import type { ClassificationReport } from '../evaluation/classification-metrics.ts';
import type { CalibrationSummary, Figures, SymbolSummary } from '../pipeline/run-summary.ts';

export interface TrainingReportInput {
  runId: string;
  title: string;
  /** One line describing data, folds, purge and embargo. */
  setup: string;
  /** Plain statements on the ensemble against the prior and the majority class. */
  verdict?: string[];
  /** E.g. a calendar feature leading SHAP. */
  warnings?: string[];
  models: Array<{ name: string; overall: ClassificationReport; folds: ClassificationReport[] }>;
  /** Before → after calibration on the comparison rows. */
  calibration?: CalibrationSummary;
  /** Per-class reliability diagrams: these reports' class calibration bins (dashed: uncalibrated references). */
  reliability?: Array<{ name: string; report: ClassificationReport; dashed?: boolean }>;
  /** A pooled run, per symbol. */
  perSymbol?: SymbolSummary[];
  /** Top features by mean |SHAP| per GBDT model. */
  shap: Array<{ model: string; top: Array<{ feature: string; value: number }> }>;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');
const CLASSES = ['SHORT', 'NEUTRAL', 'LONG'];

function metricsRow(name: string, r: ClassificationReport): string {
  return `<tr><td>${esc(name)}</td><td>${r.rows}</td><td>${f3(r.accuracy)}</td><td>${f3(r.balancedAccuracy)}</td><td>${f3(r.macroF1)}</td><td>${f3(r.logLoss)}</td><td>${f3(r.brier)}</td><td>${f3(r.directionalAccuracy)} (${r.directionalRows})</td><td>${f3(r.ece)}</td></tr>`;
}

const HEADER = '<tr><th>model</th><th>rows</th><th>accuracy</th><th>balanced acc.</th><th>macro-F1</th><th>log-loss</th><th>Brier</th><th>directional (rows)</th><th>ECE</th></tr>';

function confusion(r: ClassificationReport): string {
  const rows = r.confusion.map((row, a) => `<tr><th>${CLASSES[a] ?? a}</th>${row.map((v) => `<td>${v}</td>`).join('')}</tr>`);
  return `<table class="small"><tr><th>actual \\ predicted</th>${r.confusion.map((_, p) => `<th>${CLASSES[p] ?? p}</th>`).join('')}</tr>${rows.join('')}</table>`;
}

/** Reliability diagram: mean confidence (x) against accuracy (y) per bin, with the diagonal. */
function reliabilityChart(models: TrainingReportInput['models']): string {
  const size = 260;
  const pad = 30;
  const x = (v: number) => pad + v * (size - 2 * pad);
  const y = (v: number) => size - pad - v * (size - 2 * pad);
  const colors = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#6b7280', '#0ea5e9'];
  const lines = models.map((m, i) => {
    const points = m.overall.reliability.map((b) => `${x(b.confidence).toFixed(1)},${y(b.accuracy).toFixed(1)}`);
    return points.length > 0 ? `<polyline points="${points.join(' ')}" fill="none" stroke="${colors[i % colors.length]}" stroke-width="1.5"><title>${esc(m.name)}</title></polyline>` : '';
  });
  const legend = models.map((m, i) => `<text x="${size + 10}" y="${20 + i * 16}" fill="${colors[i % colors.length]}">■ ${esc(m.name)}</text>`).join('');
  return `<svg viewBox="0 0 ${size + 260} ${size}" class="chart"><line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#ccc"/><text x="${x(0.5)}" y="${size - 6}" text-anchor="middle">confidence</text><text x="8" y="${y(0.5)}" transform="rotate(-90 8 ${y(0.5)})" text-anchor="middle">accuracy</text>${lines.join('')}${legend}</svg>`;
}

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '—');
const arrow = (a: number, b: number, f: (x: number) => string) => `${f(a)} → ${f(b)}`;

function calibrationTable(c: CalibrationSummary): string {
  const classEce = (x: Figures) => (x.classEce.length > 0 ? x.classEce.map(f3).join(' / ') : '—');
  const rows = c.models.map((m) => `<tr><td>${esc(m.name)}</td><td>${esc(m.kind)}</td><td>${esc(Object.entries(m.innerLogLoss).map(([k, v]) => `${k} ${f4(v)}`).join(', ') || 'too few rows')}</td><td>${arrow(m.raw.logLoss, m.calibrated.logLoss, f4)}</td><td>${arrow(m.raw.ece, m.calibrated.ece, f3)}</td><td>${classEce(m.raw)} → ${classEce(m.calibrated)}</td><td>${f3(m.calibrated.leanCorrelation)}</td></tr>`);
  const fixed = (name: string, x: Figures) => `<tr><td>${esc(name)}</td><td>—</td><td></td><td>${f4(x.logLoss)}</td><td>${f3(x.ece)}</td><td>${classEce(x)}</td><td>${f3(x.leanCorrelation)}</td></tr>`;
  return `<p>${c.rows} out-of-fold rows (from the second fold on): every calibration and meta-model applied to a fold was fitted on earlier folds' rows only. Calibration chosen by nested out-of-fold log-loss (each kind fitted on the earlier two thirds of those rows, scored on the rest).</p>
<table><tr><th>model</th><th>saved calibration</th><th>nested log-loss by kind</th><th>log-loss raw → calibrated</th><th>ECE (top class) raw → calibrated</th><th>ECE per class S / N / L, raw → calibrated</th><th>lean IC</th></tr>${rows.join('')}${c.ensemble ? fixed('ensemble (as it answers)', c.ensemble) : ''}${c.baselines.map((b) => fixed(b.name, b)).join('')}</table>`;
}

/** One reliability diagram per class: mean predicted probability of the class (x) against its observed frequency (y), per bin. */
function classReliabilityCharts(entries: NonNullable<TrainingReportInput['reliability']>): string {
  const size = 260;
  const pad = 30;
  const colors = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#6b7280', '#0ea5e9'];
  const charts = CLASSES.map((label, c) => {
    const top = Math.max(0.05, ...entries.flatMap((e) => e.report.classCalibration[c]?.bins.flatMap((b) => [b.predicted, b.observed]) ?? []));
    const scale = Math.min(1, Math.ceil(top * 10) / 10);
    const x = (v: number) => pad + (v / scale) * (size - 2 * pad);
    const y = (v: number) => size - pad - (v / scale) * (size - 2 * pad);
    const lines = entries.map((e, i) => {
      const points = (e.report.classCalibration[c]?.bins ?? []).map((b) => `${x(b.predicted).toFixed(1)},${y(b.observed).toFixed(1)}`);
      return points.length > 0 ? `<polyline points="${points.join(' ')}" fill="none" stroke="${colors[i % colors.length]}" stroke-width="1.5"${e.dashed ? ' stroke-dasharray="4 3"' : ''}><title>${esc(e.name)}</title></polyline>` : '';
    });
    const legend = entries.map((e, i) => `<text x="${size + 6}" y="${20 + i * 15}" fill="${colors[i % colors.length]}">${e.dashed ? '┄' : '■'} ${esc(e.name)}: ECE ${f3(e.report.classCalibration[c]?.ece ?? Number.NaN)}</text>`).join('');
    return `<div><h3>${label}</h3><svg viewBox="0 0 ${size + 300} ${size}" class="chart" style="max-width:560px"><line x1="${x(0)}" y1="${y(0)}" x2="${x(scale)}" y2="${y(scale)}" stroke="#ccc"/><text x="${x(scale / 2)}" y="${size - 6}" text-anchor="middle">predicted P(${label}) (0 … ${scale})</text><text x="8" y="${y(scale / 2)}" transform="rotate(-90 8 ${y(scale / 2)})" text-anchor="middle">observed share</text>${lines.join('')}${legend}</svg></div>`;
  });
  return `<div class="grid">${charts.join('')}</div>`;
}

function perSymbolTable(summaries: SymbolSummary[]): string {
  return summaries
    .map((s) => `<h3>${esc(s.symbol)} (${s.rows} rows)</h3><table><tr><th>model</th><th>log-loss</th><th>accuracy</th><th>ECE</th><th>lean IC</th></tr>${s.models.map((m) => `<tr><td>${esc(m.name)}</td><td>${f4(m.logLoss)}</td><td>${f3(m.accuracy)}</td><td>${f3(m.ece)}</td><td>${f3(m.leanCorrelation)}</td></tr>`).join('')}</table>`)
    .join('');
}

function shapChart(entry: TrainingReportInput['shap'][number]): string {
  const width = 640;
  const bar = 16;
  const max = Math.max(1e-12, ...entry.top.map((t) => t.value));
  const rows = entry.top.map((t, i) => {
    // Leave room right of the longest bar for its value label.
    const w = (t.value / max) * (width - 320);
    return `<text x="0" y="${i * (bar + 4) + 12}">${esc(t.feature)}</text><rect x="220" y="${i * (bar + 4)}" width="${w.toFixed(1)}" height="${bar}" fill="#2563eb"/><text x="${(226 + w).toFixed(1)}" y="${i * (bar + 4) + 12}">${t.value.toExponential(2)}</text>`;
  });
  return `<svg viewBox="0 0 ${width} ${entry.top.length * (bar + 4)}" class="chart">${rows.join('')}</svg>`;
}

/** A self-contained HTML page (no script, no external asset): readable offline. */
export function renderTrainingReport(input: TrainingReportInput): string {
  const perFold = input.models
    .filter((m) => m.folds.length > 0)
    .map((m) => `<h3>${esc(m.name)}</h3><table>${HEADER}${m.folds.map((r, i) => metricsRow(`fold ${i + 1}`, r)).join('')}</table>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(input.title)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.chart{width:100%;max-width:900px;font-size:11px;fill:#333}.small td,.small th{padding:2px 6px}.grid{display:flex;flex-wrap:wrap;gap:24px}.verdict{font-weight:600}.warning{color:#b45309;font-weight:600}@media (max-width:700px){body{margin:12px}table{display:block;overflow-x:auto;max-width:100%;font-size:12px}.grid{display:block}}</style>
</head><body>
<h1>${esc(input.title)}</h1>
<p>${esc(input.setup)}. Every number is out of sample (walk-forward test windows).</p>
${(input.verdict ?? []).map((v) => `<p class="verdict">${esc(v)}</p>`).join('')}
${(input.warnings ?? []).map((w) => `<p class="warning">${esc(w)}</p>`).join('')}
<h2>Models and baselines, side by side</h2>
<table>${HEADER}${input.models.map((m) => metricsRow(m.name, m.overall)).join('')}</table>
<h2>Per fold</h2>${perFold}
<h2>Confusion matrices (all test windows)</h2>
<div class="grid">${input.models.map((m) => `<div><h3>${esc(m.name)}</h3>${confusion(m.overall)}</div>`).join('')}</div>
<h2>Calibration</h2>${input.calibration ? calibrationTable(input.calibration) : ''}
${input.reliability && input.reliability.length > 0 ? `<h3>Reliability per class (the rows above)</h3>${classReliabilityCharts(input.reliability)}` : ''}
<h3>Top-class reliability (each model on all its test windows)</h3>${reliabilityChart(input.models)}
${input.perSymbol && input.perSymbol.length > 0 ? `<h2>Per symbol (pooled run; the calibration rows)</h2>${perSymbolTable(input.perSymbol)}` : ''}
<h2>SHAP: top features by mean |SHAP| (final models)</h2>
${input.shap.map((s) => `<h3>${esc(s.model)}</h3>${shapChart(s)}`).join('')}
</body></html>
`;
}
