import type { Frame } from '@oitrader/core';
import { nans } from './indicators/kernels.ts';

export const FEATURE_GROUPS = ['open_interest', 'price', 'volume', 'time', 'funding', 'positioning', 'liquidations', 'order_book', 'multi_timeframe'] as const;
export type FeatureGroup = (typeof FEATURE_GROUPS)[number];

/**
 * One feature. `warmup` is the number of bars after its sources become
 * available during which it may be NaN (or, for exponential kernels, still
 * depend on older history by more than 1e-9 relative); after that it is
 * defined wherever its sources are.
 */
export interface FeatureSpec {
  name: string;
  group: FeatureGroup;
  description: string;
  warmup: number | ((barMs: number) => number);
  /** Frame columns it reads. Missing or all-NaN sources leave the feature out. */
  sources: string[];
  compute(inputs: FeatureInputs): Float64Array;
}

/** Read access to the frame for feature kernels, with shared intermediates computed once. */
export class FeatureInputs {
  readonly frame: Frame;
  readonly n: number;
  readonly #memo = new Map<string, unknown>();

  constructor(frame: Frame) {
    this.frame = frame;
    this.n = frame.length;
  }

  /** A frame column, or an all-NaN column when the frame lacks it. */
  col(name: string): Float64Array {
    return this.frame.has(name) ? this.frame.column(name) : nans(this.n);
  }

  /** True when the column exists and holds at least one value. */
  available(name: string): boolean {
    if (!this.frame.has(name)) return false;
    for (const v of this.frame.column(name)) if (!Number.isNaN(v)) return true;
    return false;
  }

  memo<T>(key: string, compute: () => T): T {
    if (!this.#memo.has(key)) this.#memo.set(key, compute());
    return this.#memo.get(key) as T;
  }
}

/** A feature's warm-up in bars of the frame's timeframe. */
export function warmupBars(spec: FeatureSpec, barMs: number): number {
  return typeof spec.warmup === 'function' ? spec.warmup(barMs) : spec.warmup;
}
