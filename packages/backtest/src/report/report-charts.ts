import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A point drawn on a chart's series: a trade's fill, a risk halt. `keep` markers stay visible at every zoom. */
export interface ChartMarker {
  timeMs: number;
  position: 'aboveBar' | 'belowBar' | 'inBar';
  shape: 'arrowUp' | 'arrowDown' | 'circle' | 'square';
  color: string;
  text?: string;
  keep?: boolean;
}

export interface ChartSeries {
  label: string;
  color: string;
  /** Values on the x axis: UTC milliseconds, or any increasing count when the chart's `timeAxis` is false. */
  x: ArrayLike<number>;
  values: ArrayLike<number>;
  width?: number;
  dashed?: boolean;
  area?: boolean;
  markers?: ChartMarker[];
}

export interface ChartOptions {
  heightPx?: number;
  /** How the price axis and crosshair print values. */
  format?: 'usd' | 'percent' | 'ratio' | 'price' | 'count';
  /** A linear / log switch on the value axis (equity), starting on `defaultScale`. */
  logSwitch?: boolean;
  defaultScale?: 'linear' | 'log';
  /** Charts of one group share the time axis: zooming one zooms the others. */
  group?: string;
  /** False: x is a count (training steps), not a time. */
  timeAxis?: boolean;
}

/** Per series: more points than this are reduced to each bucket's first, minimum and maximum, so spikes survive. */
export const MAX_POINTS_PER_SERIES = 20_000;
/** Fills in the visible range above which trade markers are hidden until the user zooms in. */
export const MAX_MARKERS_IN_VIEW = 150;

function keptIndices(values: ArrayLike<number>, max: number): number[] {
  const n = values.length;
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const bucket = Math.ceil((n * 3) / max);
  const out: number[] = [];
  for (let start = 0; start < n; start += bucket) {
    const end = Math.min(n, start + bucket);
    let lo = start;
    let hi = start;
    for (let i = start; i < end; i++) {
      if (values[i] < values[lo]) lo = i;
      if (values[i] > values[hi]) hi = i;
    }
    out.push(start, lo, hi, end - 1);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

interface SeriesSpec {
  label: string;
  color: string;
  width?: number;
  dashed?: boolean;
  area?: boolean;
  points: Array<[number, number | null]>;
  markers?: Array<{ time: number; position: string; shape: string; color: string; text?: string; keep?: boolean }>;
}

/** The time a marker is drawn at: the nearest drawn point's (lightweight-charts places markers on the series' own times). */
function snap(times: number[], t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && t - times[lo - 1] < times[lo] - t ? times[lo - 1] : times[lo];
}

/**
 * The interactive charts of one report page: each `add` returns the chart's placeholder, `script()` the
 * lightweight-charts build and the page's chart code with every chart's data, all inline (no request, offline).
 */
export class ReportCharts {
  private readonly specs: unknown[] = [];

  add(series: ChartSeries[], options: ChartOptions = {}): string {
    const timeAxis = options.timeAxis !== false;
    const toX = (x: number) => (timeAxis ? Math.floor(x / 1000) : Math.round(x));
    const floor = options.logSwitch ? 1e-2 : Number.NEGATIVE_INFINITY;
    const specs: SeriesSpec[] = series.map((s) => {
      const points: Array<[number, number | null]> = [];
      let last = Number.NEGATIVE_INFINITY;
      for (const i of keptIndices(s.values, MAX_POINTS_PER_SERIES)) {
        const x = toX(s.x[i]);
        if (!(x > last)) continue;
        last = x;
        const v = s.values[i];
        points.push([x, Number.isFinite(v) ? Math.max(floor, Number(v.toPrecision(8))) : null]);
      }
      const times = points.map((p) => p[0]);
      const markers = times.length === 0 ? [] : (s.markers ?? []).map((m) => ({ time: snap(times, toX(m.timeMs)), position: m.position, shape: m.shape, color: m.color, ...(m.text && { text: m.text }), ...(m.keep && { keep: true }) }));
      return { label: s.label, color: s.color, width: s.width, dashed: s.dashed, area: s.area, points, ...(markers.length > 0 && { markers }) };
    });
    const index = this.specs.length;
    this.specs.push({ series: specs, format: options.format ?? 'price', logSwitch: options.logSwitch ?? false, defaultScale: options.defaultScale ?? 'linear', group: options.group, timeAxis });
    return `<div class="lw-chart" data-chart="${index}" style="height:${options.heightPx ?? 300}px"></div>`;
  }

  get count(): number {
    return this.specs.length;
  }

  /** Every chart's data and code; empty when the page has no chart. */
  script(): string {
    if (this.specs.length === 0) return '';
    // JSON inside <script>: "<" escaped so no value can close the element.
    const data = JSON.stringify({ maxMarkersInView: MAX_MARKERS_IN_VIEW, charts: this.specs }).replace(/</g, '\\u003c');
    return `<script id="report-data" type="application/json">${data}</script>\n<script>${chartsLibrary()}</script>\n<script type="module">${clientCode()}</script>`;
  }
}

let library: string | undefined;
let client: string | undefined;

/** lightweight-charts' standalone build (Apache-2.0, TradingView), inlined: a report opens offline and fetches nothing. */
function chartsLibrary(): string {
  library ??= readFileSync(join(dirname(createRequire(import.meta.url).resolve('lightweight-charts/package.json')), 'dist', 'lightweight-charts.standalone.production.js'), 'utf8');
  return library;
}

function clientCode(): string {
  client ??= readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'report-client.mjs'), 'utf8');
  return client;
}
