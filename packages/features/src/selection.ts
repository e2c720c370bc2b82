/**
 * Feature-selection utilities. All deterministic: ties are broken by name.
 */
import { correlation } from '@oitrader/core';

export { correlation };

export interface SelectionResult {
  kept: string[];
  dropped: Array<{ name: string; reason: string }>;
}

/** Drops features that are constant, or whose most common value covers more than `maxShare` of rows. */
export function dropNearConstant(names: string[], columns: Record<string, Float64Array>, maxShare = 0.99): SelectionResult {
  const kept: string[] = [];
  const dropped: SelectionResult['dropped'] = [];
  for (const name of names) {
    const counts = new Map<number, number>();
    let n = 0;
    for (const v of columns[name]) {
      if (Number.isNaN(v)) continue;
      n++;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const top = Math.max(0, ...counts.values());
    if (n === 0 || counts.size <= 1) dropped.push({ name, reason: 'constant' });
    else if (top / n > maxShare) dropped.push({ name, reason: `one value in ${((100 * top) / n).toFixed(1)}% of rows` });
    else kept.push(name);
  }
  return { kept, dropped };
}

/**
 * Mutual information (nats) between a feature, discretised into `bins`
 * equal-frequency bins, and integer class labels. Rows with NaN are skipped.
 */
export function mutualInformation(feature: Float64Array, labels: Float64Array, bins = 16): number {
  const rows: Array<[number, number]> = [];
  for (let i = 0; i < feature.length; i++) if (!Number.isNaN(feature[i]) && !Number.isNaN(labels[i])) rows.push([feature[i], labels[i]]);
  if (rows.length === 0) return 0;
  const sorted = rows.map((r) => r[0]).sort((x, y) => x - y);
  const edges = Array.from({ length: bins - 1 }, (_, k) => sorted[Math.floor(((k + 1) * sorted.length) / bins)]);
  const bin = (v: number) => {
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v < edges[mid]) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const joint = new Map<string, number>();
  const px = new Map<number, number>();
  const py = new Map<number, number>();
  for (const [v, y] of rows) {
    const b = bin(v);
    joint.set(`${b}|${y}`, (joint.get(`${b}|${y}`) ?? 0) + 1);
    px.set(b, (px.get(b) ?? 0) + 1);
    py.set(y, (py.get(y) ?? 0) + 1);
  }
  const n = rows.length;
  let mi = 0;
  for (const [key, count] of joint) {
    const [b, y] = key.split('|').map(Number);
    mi += (count / n) * Math.log((count * n) / ((px.get(b) as number) * (py.get(y) as number)));
  }
  return Math.max(0, mi);
}

/**
 * Removes one of every pair with |ρ| > `threshold`, keeping the one scored
 * higher by `score` (mutual information with the target, or a model's
 * importance — the hook Phase 3 fills).
 */
export function pruneCorrelated(names: string[], columns: Record<string, Float64Array>, score: (name: string) => number, threshold = 0.95): SelectionResult {
  const order = [...names].sort((a, b) => score(b) - score(a) || a.localeCompare(b));
  const kept: string[] = [];
  const dropped: SelectionResult['dropped'] = [];
  for (const name of order) {
    const twin = kept.find((k) => Math.abs(correlation(columns[name], columns[k])) > threshold);
    if (twin) dropped.push({ name, reason: `|ρ| > ${threshold} with ${twin}` });
    else kept.push(name);
  }
  return { kept: names.filter((n) => kept.includes(n)), dropped };
}

/** Model-based importance supplied by Phase 3 (e.g. mean |SHAP| or gain). */
export type ImportanceHook = (names: string[]) => Map<string, number>;

export interface SelectOptions {
  labels: Float64Array;
  correlationThreshold?: number;
  maxShare?: number;
  importance?: ImportanceHook;
  /** Keep at most this many, best scored first. */
  top?: number;
}

/** The full pass: near-constant → correlation pruning by score → top-k. */
export function selectFeatures(names: string[], columns: Record<string, Float64Array>, options: SelectOptions): SelectionResult & { scores: Record<string, number> } {
  const constant = dropNearConstant(names, columns, options.maxShare);
  const importance = options.importance?.(constant.kept);
  const scores: Record<string, number> = {};
  for (const name of constant.kept) scores[name] = importance?.get(name) ?? mutualInformation(columns[name], options.labels);
  const pruned = pruneCorrelated(constant.kept, columns, (n) => scores[n], options.correlationThreshold);
  let kept = pruned.kept;
  const dropped = [...constant.dropped, ...pruned.dropped];
  if (options.top !== undefined && kept.length > options.top) {
    const ranked = [...kept].sort((a, b) => scores[b] - scores[a] || a.localeCompare(b));
    const cut = new Set(ranked.slice(options.top));
    for (const name of cut) dropped.push({ name, reason: `outside the top ${options.top} by score` });
    kept = kept.filter((n) => !cut.has(n));
  }
  return { kept, dropped, scores };
}
