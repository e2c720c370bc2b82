/**
 * One colour per strategy in every report: a fixed colour for the names every report shows (the baselines,
 * the benchmark, ml-signal, agents), a hash of the name into the rest of the palette for anything else
 * (your own strategy files), so the same strategy is drawn in the same colour in every report.
 */
const FIXED: Record<string, string> = {
  'buy-and-hold 1x': '#6b7280',
  'buy-and-hold': '#a16207',
  flat: '#94a3b8',
  random: '#c026d3',
  'sma-trend': '#ea580c',
  'oi-trend': '#0d9488',
  'oi-divergence': '#15803d',
  'funding-carry': '#b91c1c',
  'funding-carry cross-section': '#7f1d1d',
  'ml-signal': '#7c3aed',
  'cost-aware': '#be185d',
  'ppo-agent': '#2563eb',
  'a2c-agent': '#0891b2',
};
const PALETTE = ['#2563eb', '#16a34a', '#db2777', '#9333ea', '#0284c7', '#65a30d', '#be123c', '#4f46e5', '#b45309', '#0f766e'];

/** The family a run's name belongs to: "ppo-agent w2" and "ppo-agent (walk-forward)" are the same colour. */
export function strategyFamily(name: string): string {
  return name
    .replace(/\s*\(.*\)$/, '')
    .replace(/\s+w\d+$/, '')
    .trim();
}

/** FNV-1a: a stable hash, the same on every machine and in every release. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function strategyColor(name: string): string {
  const family = strategyFamily(name);
  return FIXED[family] ?? PALETTE[hash(family) % PALETTE.length];
}
