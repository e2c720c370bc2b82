import { DataError, formatUtc, OitraderError, timeframeMs, type Frame } from '@oitrader/core';
import { ALL_FEATURES, datasetEngineer, FeatureEngineer } from '../feature-engineer.ts';
import { warmupBars } from '../registry.ts';
import { buildFeatureDataset, type FeatureDataset, type FeatureManifest, type FeatureRows, type LabelOptions } from '../parquet.ts';
import { classBalance } from '../targets.ts';
import { CROSS_SECTION_FEATURES, CROSS_SECTION_GROUP, crossSectionalFeatures } from './cross-section.ts';

/**
 * Features whose value is a level in the symbol's own units: between symbols
 * it differs by their size and liquidity, not by their state, so a pooled
 * model would learn which symbol a row is. Pooled datasets leave them out.
 * (Every other price and open-interest feature is already a return, ratio,
 * distance or z-score: the catalogue holds no raw price or OI level.)
 */
export const SYMBOL_SCALED_FEATURES: Readonly<Record<string, string>> = {
  amihud_48: "mean |return| per million USDT traded: its level is the symbol's liquidity",
  oi_per_volume_288: "open interest over the symbol's own turnover: its level differs by symbol",
  oi_value_turnover_288: "OI value over the symbol's own quote turnover: its level differs by symbol",
  liq_count_12: 'a count of liquidation orders: it scales with the size of the market',
};

export const SYMBOL_ID_FEATURE = 'symbol_id';

export interface PooledBuildOptions {
  labels?: LabelOptions;
  /** The per-symbol features (default: every group but the calendar, as a single-symbol build). */
  engineer?: FeatureEngineer;
  /** Add a `symbol_id` feature: the row's symbol as its index in the symbol list (off unless asked). */
  symbolId?: boolean;
}

/**
 * One dataset over several symbols of one timeframe (`features build
 * --symbols`): each symbol's features and labels exactly as a single-symbol
 * build makes them (its own warm-up and unlabeled tail dropped), minus the
 * symbol-scaled levels, plus cross-sectional features, rows ordered by time
 * then symbol (the order of `frames`). Only features every symbol has are
 * kept; the others are listed with the reason.
 */
export function buildPooledFeatureDataset(frames: readonly Frame[], options: PooledBuildOptions = {}): FeatureRows {
  const symbols = frames.map((f) => f.symbol);
  if (frames.length < 2) throw new OitraderError('a pooled dataset needs at least two symbols', { hint: 'pass --symbols A,B (or --symbol for one)', exitCode: 2 });
  if (new Set(symbols).size !== symbols.length) throw new OitraderError(`--symbols lists a symbol twice: ${symbols.join(',')}`, { hint: 'name each symbol once', exitCode: 2 });
  const timeframe = frames[0].timeframe;
  if (frames.some((f) => f.timeframe !== timeframe)) throw new OitraderError(`the symbols' frames have different timeframes: ${frames.map((f) => `${f.symbol} ${f.timeframe}`).join(', ')}`);
  checkPoolOverlap(frames);
  const labels = options.labels ?? { horizon: 48, threshold: 0.005 };
  const engineer = options.engineer ?? datasetEngineer();
  const perSymbol = frames.map((frame) => buildFeatureDataset(frame, labels, new FeatureEngineer({ specs: engineer.specs.filter((s) => !(s.name in SYMBOL_SCALED_FEATURES)) })));
  const common = perSymbol[0].table.names.filter((name) => perSymbol.every((d) => d.table.names.includes(name)));
  const xs = crossSectionalFeatures(frames);
  const names = [...common, ...xs.names, ...(options.symbolId ? [SYMBOL_ID_FEATURE] : [])];

  const order = perSymbol.flatMap((d, s) => Array.from({ length: d.end - d.start }, (_, k) => ({ s, i: d.start + k, t: frames[s].time[d.start + k] })));
  order.sort((a, b) => a.t - b.t || a.s - b.s);
  const column = (value: (s: number, i: number) => number) => Float64Array.from(order, ({ s, i }) => value(s, i));
  const columns: Record<string, Float64Array> = {};
  for (const name of common) columns[name] = column((s, i) => perSymbol[s].table.columns[name][i]);
  for (const name of xs.names) columns[name] = column((s, i) => xs.columns[s][name][i]);
  if (options.symbolId) columns[SYMBOL_ID_FEATURE] = column((s) => s);
  const y = column((s, i) => perSymbol[s].labels[i]);
  const rows: FeatureRows = {
    time: Float64Array.from(order, (o) => o.t),
    symbol: order.map((o) => symbols[o.s]),
    names,
    columns,
    labels: y,
    forwardReturn: column((s, i) => perSymbol[s].forwardReturn[i]),
    manifest: undefined as unknown as FeatureManifest,
  };
  const scaled = engineer.specs.filter((spec) => spec.name in SYMBOL_SCALED_FEATURES).map((spec) => spec.name);
  rows.manifest = pooledManifest(frames, perSymbol, rows, { common, scaled, xs, symbolId: options.symbolId === true, labels });
  return rows;
}

function pooledManifest(
  frames: readonly Frame[],
  perSymbol: FeatureDataset[],
  rows: FeatureRows,
  o: { common: string[]; scaled: string[]; xs: ReturnType<typeof crossSectionalFeatures>; symbolId: boolean; labels: LabelOptions },
): FeatureManifest {
  const symbols = frames.map((f) => f.symbol);
  const first = perSymbol[0].manifest;
  const described = new Map(perSymbol.flatMap((d) => d.manifest.features.map((f) => [f.name, f] as const)));
  const barMs = timeframeMs(frames[0].timeframe);
  const warmupOf = (source: string) => described.get(source)?.warmup ?? warmupBars(ALL_FEATURES.find((s) => s.name === source)!, barMs);
  const omitted = [
    ...o.scaled.map((name) => ({ name, reason: `a level in the symbol's own units, left out of a pooled dataset: ${SYMBOL_SCALED_FEATURES[name]}` })),
    ...[...new Set(perSymbol.flatMap((d) => d.table.names))].filter((n) => !o.common.includes(n)).map((name) => ({ name, reason: `not computable for ${perSymbol.filter((d) => !d.table.names.includes(name)).map((d) => d.table.symbol).join(', ')}` })),
    ...[...new Set(perSymbol.flatMap((d) => d.manifest.omitted.map((m) => m.name)))].filter((n) => !(n in SYMBOL_SCALED_FEATURES) && perSymbol.every((d) => !d.table.names.includes(n))).map((name) => ({ name, reason: perSymbol.map((d) => d.manifest.omitted.find((m) => m.name === name)?.reason).find(Boolean)! })),
    ...o.xs.omitted,
  ];
  const time = rows.time as Float64Array;
  let withMissingValues = 0;
  const columns = rows.names.map((n) => rows.columns[n]);
  for (let r = 0; r < time.length; r++) if (columns.some((c) => Number.isNaN(c[r]))) withMissingValues++;
  const sum = (pick: (m: FeatureManifest) => number) => perSymbol.reduce((a, d) => a + pick(d.manifest), 0);
  const span = (pick: (m: FeatureManifest) => string, earliest: boolean) => perSymbol.map((d) => pick(d.manifest)).sort()[earliest ? 0 : perSymbol.length - 1];
  return {
    format: 'oitrader-features',
    formatVersion: 1,
    featureSetVersion: first.featureSetVersion,
    symbol: symbols.join(','),
    symbols,
    perSymbol: perSymbol.map((d) => ({ symbol: d.manifest.symbol, rowsFrom: d.manifest.span.rowsFrom, rowsTo: d.manifest.span.rowsTo, written: d.manifest.rows.written, balance: d.manifest.labels.balance })),
    timeframe: first.timeframe,
    features: [
      ...o.common.map((name) => described.get(name)!),
      ...CROSS_SECTION_FEATURES.filter((s) => o.xs.names.includes(s.name)).map((s) => ({ name: s.name, group: CROSS_SECTION_GROUP, description: s.description, warmup: warmupOf(s.source) })),
      ...(o.symbolId ? [{ name: SYMBOL_ID_FEATURE, group: 'symbol', description: "the row's symbol: its index in the manifest's symbols list", warmup: 0 }] : []),
    ],
    omitted,
    labels: { kind: 'classification', ...o.labels, classes: ['SHORT', 'NEUTRAL', 'LONG'], balance: classBalance(Float64Array.from(rows.labels)) },
    span: { dataFrom: span((m) => m.span.dataFrom, true), dataTo: span((m) => m.span.dataTo, false), rowsFrom: formatUtc(time[0]), rowsTo: formatUtc(time[time.length - 1]) },
    rows: { bars: sum((m) => m.rows.bars), warmupDropped: sum((m) => m.rows.warmupDropped), unlabeledDropped: sum((m) => m.rows.unlabeledDropped), written: time.length, withMissingValues },
    gaps: perSymbol.flatMap((d) => d.manifest.gaps.map((g) => ({ ...g, column: `${d.manifest.symbol} ${g.column}` }))),
    createdAt: new Date().toISOString(),
  };
}

/** Refuses symbols whose data does not overlap at all: cross-sectional features would be empty. */
export function checkPoolOverlap(frames: readonly Frame[]): void {
  const from = Math.max(...frames.map((f) => f.time[0]));
  const to = Math.min(...frames.map((f) => f.time[f.length - 1]));
  if (!(to >= from)) throw new DataError(`the symbols' data do not overlap in time: ${frames.map((f) => `${f.symbol} ${formatUtc(f.time[0])} .. ${formatUtc(f.time[f.length - 1])}`).join('; ')}`, { hint: 'pool symbols over a common span (--start/--end)', exitCode: 2 });
}
