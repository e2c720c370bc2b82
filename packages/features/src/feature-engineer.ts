import { OitraderError, timeframeMs, type Frame } from '@oitrader/core';
import { FUNDING_FEATURES } from './groups/funding.ts';
import { LIQUIDATION_FEATURES } from './groups/liquidations.ts';
import { MULTI_TIMEFRAME_FEATURES } from './groups/multi-timeframe.ts';
import { OPEN_INTEREST_FEATURES } from './groups/open-interest.ts';
import { ORDER_BOOK_FEATURES } from './groups/order-book.ts';
import { POSITIONING_FEATURES } from './groups/positioning.ts';
import { PRICE_FEATURES } from './groups/price.ts';
import { TIME_FEATURES } from './groups/time.ts';
import { VOLUME_FEATURES } from './groups/volume.ts';
import { FEATURE_GROUPS, FeatureInputs, warmupBars, type FeatureGroup, type FeatureSpec } from './registry.ts';

/** Bump when any feature's definition changes: models record it and refuse a mismatch. */
export const FEATURE_SET_VERSION = '2026.11.1';

export const ALL_FEATURES: readonly FeatureSpec[] = [
  ...OPEN_INTEREST_FEATURES,
  ...PRICE_FEATURES,
  ...VOLUME_FEATURES,
  ...TIME_FEATURES,
  ...FUNDING_FEATURES,
  ...POSITIONING_FEATURES,
  ...LIQUIDATION_FEATURES,
  ...ORDER_BOOK_FEATURES,
  ...MULTI_TIMEFRAME_FEATURES,
];

export interface OmittedFeature {
  name: string;
  reason: string;
}

/** Features as columns aligned with the frame's bars. */
export interface FeatureTable {
  symbol: string;
  timeframe: string;
  time: Float64Array;
  names: string[];
  columns: Record<string, Float64Array>;
  specs: FeatureSpec[];
  /** Features left out because a source column is missing or entirely NaN. */
  omitted: OmittedFeature[];
  /** First row past every included feature's warm-up (earlier rows are dropped, never filled); later rows may still hold NaN where a source had a gap. */
  firstCompleteRow: number;
}

export interface FeatureEngineerOptions {
  /** Use these specs instead of the built-in set (tests plant features this way). */
  specs?: readonly FeatureSpec[];
  /** Only these feature names (default: all). */
  features?: readonly string[];
  groups?: readonly FeatureGroup[];
}

/**
 * The engineer a features file is built with by default: every group but the
 * calendar (`time`: hour, weekday, session, funding cycle). On a few months a
 * weekday can top every model's SHAP by chance; `features build --calendar`
 * adds them back. The feature set's definitions are the same either way
 * (FEATURE_SET_VERSION does not change): a model lists the features it was
 * trained on, and loading it where one of them is missing is refused.
 */
export function datasetEngineer(options: { calendar?: boolean } = {}): FeatureEngineer {
  return options.calendar ? new FeatureEngineer() : new FeatureEngineer({ groups: FEATURE_GROUPS.filter((g) => g !== 'time') });
}

export class FeatureEngineer {
  readonly specs: readonly FeatureSpec[];

  constructor(options: FeatureEngineerOptions = {}) {
    let specs = options.specs ?? ALL_FEATURES;
    if (options.groups) specs = specs.filter((s) => options.groups!.includes(s.group));
    if (options.features) {
      const unknown = options.features.filter((name) => !specs.some((s) => s.name === name));
      if (unknown.length > 0) throw new OitraderError(`unknown features: ${unknown.join(', ')}`, { hint: 'see docs/features.md or `oitrader features list`' });
      specs = specs.filter((s) => options.features!.includes(s.name));
    }
    this.specs = specs;
  }

  /** Bars of history `computeLatest` needs so every feature is past its warm-up. */
  requiredHistory(frame: Pick<Frame, 'timeframe'>): number {
    const barMs = timeframeMs(frame.timeframe);
    return Math.max(...this.specs.map((s) => warmupBars(s, barMs))) + 1;
  }

  engineerAllFeatures(frame: Frame): FeatureTable {
    const inputs = new FeatureInputs(frame);
    const columns: Record<string, Float64Array> = {};
    const included: FeatureSpec[] = [];
    const omitted: OmittedFeature[] = [];
    for (const spec of this.specs) {
      const missing = spec.sources.filter((s) => !inputs.available(s));
      if (missing.length > 0) {
        omitted.push({ name: spec.name, reason: `no data in ${missing.join(', ')}` });
        continue;
      }
      const values = spec.compute(inputs);
      if (values.length !== frame.length) throw new OitraderError(`feature ${spec.name} returned ${values.length} rows for ${frame.length} bars`);
      if (values.every(Number.isNaN)) {
        omitted.push({ name: spec.name, reason: 'not computable on this span (too short for its warm-up, or timeframe too coarse)' });
        continue;
      }
      columns[spec.name] = values;
      included.push(spec);
    }
    // Warm-up is per feature and counted from the start: a value before its
    // declared warm-up is withheld (NaN) even when a kernel emits one early.
    // A gap inside the span (e.g. an open-interest outage) leaves NaN only in
    // the features that depend on it, for the bars it affects; the models
    // take missing values, so rows before a gap are kept.
    const barMs = frame.length > 1 ? timeframeMs(frame.timeframe) : 0;
    let firstCompleteRow = 0;
    for (const spec of included) {
      const values = columns[spec.name];
      const declared = Math.min(values.length, warmupBars(spec, barMs));
      values.fill(Number.NaN, 0, declared);
      let first = declared;
      while (first < values.length && Number.isNaN(values[first])) first++;
      firstCompleteRow = Math.max(firstCompleteRow, first);
    }
    return { symbol: frame.symbol, timeframe: frame.timeframe, time: frame.time, names: included.map((s) => s.name), columns, specs: included, omitted, firstCompleteRow };
  }

  /**
   * Feature values for the newest bar of `window` (the live bot's call): the
   * same kernels as the batch, run over a trailing window at least
   * `requiredHistory` bars long.
   */
  computeLatest(window: Frame): Record<string, number> {
    const needed = this.requiredHistory(window);
    if (window.length < needed) {
      throw new OitraderError(`computeLatest needs at least ${needed} bars of history, got ${window.length}`, { hint: 'load a longer trailing window' });
    }
    const table = this.engineerAllFeatures(window);
    const last = window.length - 1;
    return Object.fromEntries(table.names.map((name) => [name, table.columns[name][last]]));
  }
}
