import type { Frame } from '@oitrader/core';
import { FeatureEngineer } from '../feature-engineer.ts';

/** A feature computed across the symbols of a pool at each bar (group `cross_section`). */
export interface CrossSectionSpec {
  name: string;
  description: string;
  /** The per-symbol feature it compares across symbols. */
  source: string;
  kind: 'rank' | 'deviation';
}

export const CROSS_SECTION_GROUP = 'cross_section';

const rank = (source: string, what: string): CrossSectionSpec => ({ name: `xs_rank_${source}`, description: `rank of ${what} across the pool's symbols at this bar: 0 lowest … 1 highest`, source, kind: 'rank' });
const deviation = (source: string, what: string): CrossSectionSpec => ({ name: `xs_dev_${source}`, description: `${what} minus its mean across the pool's symbols at this bar`, source, kind: 'deviation' });

/** Cross-sectional features of a pooled dataset: where a symbol stands against the others on open interest, funding and return. */
export const CROSS_SECTION_FEATURES: readonly CrossSectionSpec[] = [
  rank('oi_change_12', 'the 12-bar open-interest change'),
  rank('oi_change_48', 'the 48-bar open-interest change'),
  rank('funding_rate', 'the funding rate'),
  rank('ret_12', 'the 12-bar return'),
  rank('ret_48', 'the 48-bar return'),
  deviation('oi_change_48', 'the 48-bar open-interest change'),
  deviation('funding_rate', 'the funding rate'),
  deviation('ret_48', 'the 48-bar return'),
];

/** Per symbol, the cross-sectional columns aligned with that symbol's bars. */
export interface CrossSection {
  names: string[];
  /** columns[symbol][feature] over that symbol's frame rows. */
  columns: Array<Record<string, Float64Array>>;
  /** Cross-sectional features no symbol's source could be computed for (no open interest, say). */
  omitted: Array<{ name: string; reason: string }>;
}

/**
 * Cross-sectional features over frames of the same timeframe. At bar t a
 * symbol's value compares its source feature at t with every other symbol's
 * source feature at exactly t (each causal: computed from bars ≤ t of its own
 * frame), so nothing after t of any symbol enters. A rank needs at least two
 * symbols with a value at t (NaN otherwise); ties count half.
 */
export function crossSectionalFeatures(frames: readonly Frame[]): CrossSection {
  const sources = [...new Set(CROSS_SECTION_FEATURES.map((s) => s.source))];
  const tables = frames.map((frame) => new FeatureEngineer({ features: sources }).engineerAllFeatures(frame));
  const values = frames.map(() => ({}) as Record<string, Float64Array>);
  const omitted: CrossSection['omitted'] = [];
  const names: string[] = [];
  // Every bar time of the pool, and each symbol's row at it (-1: none).
  const times = [...new Set(frames.flatMap((f) => Array.from(f.time)))].sort((a, b) => a - b);
  const rowAt = frames.map((frame) => {
    const rows = new Int32Array(times.length).fill(-1);
    let i = 0;
    times.forEach((t, k) => {
      while (i < frame.length && frame.time[i] < t) i++;
      if (i < frame.length && frame.time[i] === t) rows[k] = i;
    });
    return rows;
  });
  for (const spec of CROSS_SECTION_FEATURES) {
    const columns = tables.map((table) => table.columns[spec.source]);
    if (columns.filter(Boolean).length < 2) {
      omitted.push({ name: spec.name, reason: `${spec.source} is computable for fewer than two of the symbols` });
      continue;
    }
    names.push(spec.name);
    frames.forEach((frame, s) => (values[s][spec.name] = new Float64Array(frame.length).fill(Number.NaN)));
    const at = new Float64Array(frames.length);
    for (let k = 0; k < times.length; k++) {
      let count = 0;
      let sum = 0;
      for (let s = 0; s < frames.length; s++) {
        const row = rowAt[s][k];
        at[s] = row >= 0 && columns[s] ? columns[s][row] : Number.NaN;
        if (!Number.isNaN(at[s])) {
          count++;
          sum += at[s];
        }
      }
      if (count < 2) continue;
      for (let s = 0; s < frames.length; s++) {
        if (Number.isNaN(at[s])) continue;
        let below = 0;
        for (let o = 0; o < frames.length; o++) if (o !== s && !Number.isNaN(at[o])) below += at[o] < at[s] ? 1 : at[o] === at[s] ? 0.5 : 0;
        values[s][spec.name][rowAt[s][k]] = spec.kind === 'rank' ? below / (count - 1) : at[s] - sum / count;
      }
    }
  }
  return { names, columns: values, omitted };
}
