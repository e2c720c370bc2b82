import { formatUtc, timeframeMs, type Frame } from '@oitrader/core';
import type { FeatureEngineer } from './feature-engineer.ts';
import { warmupBars, type FeatureSpec } from './registry.ts';

/**
 * A deliberately wrong feature (the next bar's return) for the tests of every
 * guard against look-ahead: the check here, and the retrain that must refuse it.
 */
export const PLANTED_NEXT_BAR_LEAK: FeatureSpec = {
  name: 'leaky_next_return',
  group: 'price',
  description: 'return of the NEXT bar (deliberately wrong)',
  warmup: 0,
  sources: ['close'],
  compute: (x) => {
    const c = x.col('close');
    return c.map((v, i) => (i + 1 < c.length ? c[i + 1] / v - 1 : Number.NaN));
  },
};

export interface Offender {
  feature: string;
  /** Bar time of the first value that differed. */
  timeMs: number;
  /** Where the history was cut (look-ahead) or started (recursive). */
  atRow: number;
  full: number;
  partial: number;
}

export interface CheckReport {
  check: 'lookahead' | 'recursive';
  features: number;
  points: number[];
  offenders: Offender[];
}

function randomPoints(count: number, lo: number, hi: number, seed: number): number[] {
  let state = seed;
  const random = () => ((state = (state * 16807) % 2147483647) / 2147483647);
  const points = new Set<number>([hi]);
  while (points.size < Math.min(count, hi - lo + 1)) points.add(lo + Math.floor(random() * (hi - lo + 1)));
  return [...points].sort((a, b) => a - b);
}

const same = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

/**
 * Look-ahead analysis: recomputes every feature on the history truncated after
 * row t, for `cuts` random t, and demands bit-identical values at every row up
 * to t. Any difference means the feature used data from after t.
 */
export function checkLookahead(engineer: FeatureEngineer, frame: Frame, { cuts = 12, seed = 42 } = {}): CheckReport {
  const full = engineer.engineerAllFeatures(frame);
  const points = randomPoints(cuts, Math.min(frame.length - 1, 50), frame.length - 2, seed);
  const first = new Map<string, Offender>();
  for (const cut of points) {
    const part = engineer.engineerAllFeatures(frame.slice(0, cut + 1));
    for (const name of full.names) {
      if (first.has(name)) continue;
      const a = full.columns[name];
      const b = part.columns[name];
      if (b === undefined) continue; // not computable on the short prefix: nothing to compare
      for (let i = 0; i <= cut; i++) {
        if (!same(a[i], b[i])) {
          first.set(name, { feature: name, timeMs: frame.time[i], atRow: cut, full: a[i], partial: b[i] });
          break;
        }
      }
    }
  }
  return { check: 'lookahead', features: full.names.length, points, offenders: [...first.values()].sort((x, y) => x.timeMs - y.timeMs) };
}

/**
 * Recursive analysis: recomputes every feature on history that starts later
 * (dropping the first s rows) and demands the same values (to 1e-8 relative)
 * once the feature's declared warm-up has passed since its sources began.
 * A difference means the feature depends on history beyond its warm-up.
 */
export function checkRecursive(engineer: FeatureEngineer, frame: Frame, { starts = 4, seed = 7, tolerance = 1e-8 } = {}): CheckReport {
  const full = engineer.engineerAllFeatures(frame);
  const barMs = timeframeMs(frame.timeframe);
  const points = randomPoints(starts, 1, Math.floor(frame.length / 2), seed);
  const first = new Map<string, Offender>();
  for (const start of points) {
    const part = engineer.engineerAllFeatures(frame.slice(start));
    for (const spec of full.specs) {
      if (first.has(spec.name)) continue;
      const b = part.columns[spec.name];
      if (b === undefined) continue;
      const a = full.columns[spec.name];
      const sourcesFrom = firstRowWithSources(frame, spec.sources, start);
      for (let i = sourcesFrom + warmupBars(spec, barMs); i < frame.length; i++) {
        const x = a[i];
        const y = b[i - start];
        if (same(x, y)) continue;
        if (Math.abs(x - y) <= tolerance * Math.max(1, Math.abs(x))) continue;
        first.set(spec.name, { feature: spec.name, timeMs: frame.time[i], atRow: start, full: x, partial: y });
        break;
      }
    }
  }
  return { check: 'recursive', features: full.names.length, points, offenders: [...first.values()].sort((x, y) => x.timeMs - y.timeMs) };
}

function firstRowWithSources(frame: Frame, sources: string[], from: number): number {
  for (let i = from; i < frame.length; i++) {
    if (sources.every((s) => !frame.has(s) || !Number.isNaN(frame.column(s)[i]))) return i;
  }
  return frame.length;
}

export function formatCheckReport(report: CheckReport): string {
  const lines = [
    `${report.check} analysis: ${report.features} features, ${report.points.length} ${report.check === 'lookahead' ? 'cuts' : 'start offsets'} (${report.points.join(', ')})`,
  ];
  for (const o of report.offenders) {
    lines.push(`  OFFENDER ${o.feature}: first differs at ${formatUtc(o.timeMs)} (${report.check === 'lookahead' ? 'history cut after row' : 'history starting at row'} ${o.atRow}): ${o.full} vs ${o.partial}`);
  }
  lines.push(report.offenders.length === 0 ? 'PASS: no offenders' : `FAIL: ${report.offenders.length} offending features`);
  return lines.join('\n');
}
