import { diff, sma } from '../indicators/kernels.ts';
import type { FeatureInputs, FeatureSpec } from '../registry.ts';

const spec = (name: string, description: string, warmup: number, sources: string[], compute: (x: FeatureInputs) => Float64Array): FeatureSpec => ({ name, group: 'order_book', description, warmup, sources, compute });

/** Depth imbalance (bid − ask) / (bid + ask) within ±1/2/5 % of mid, from the last snapshot at the bar close. */
export const ORDER_BOOK_FEATURES: FeatureSpec[] = [
  ...[1, 2, 5].map((b) => spec(`book_imbalance_${b}pct`, `order-book depth imbalance within ±${b} %`, 0, [`ob_imbalance_${b}pct`], (x) => x.col(`ob_imbalance_${b}pct`))),
  spec('book_imbalance_1pct_sma_12', 'mean ±1 % imbalance over 12 bars', 11, ['ob_imbalance_1pct'], (x) => sma(x.col('ob_imbalance_1pct'), 12)),
  spec('book_imbalance_1pct_change_12', '±1 % imbalance change over 12 bars', 12, ['ob_imbalance_1pct'], (x) => diff(x.col('ob_imbalance_1pct'), 12)),
  spec('spread_bps', 'bid/ask spread in basis points', 0, ['ob_spread_bps'], (x) => x.col('ob_spread_bps')),
];
