import { map, rollingSum, zscore } from '../indicators/kernels.ts';
import type { FeatureInputs, FeatureSpec } from '../registry.ts';

const L = ['liq_long_usd', 'liq_short_usd'];
const spec = (name: string, description: string, warmup: number, sources: string[], compute: (x: FeatureInputs) => Float64Array): FeatureSpec => ({ name, group: 'liquidations', description, warmup, sources, compute });
const sum = (x: FeatureInputs, column: string, p: number) => x.memo(`${column}_sum${p}`, () => rollingSum(x.col(column), p));
const turnover = (x: FeatureInputs, p: number) => x.memo(`turnover${p}`, () => rollingSum(map(x.col('volume'), (v, i) => v * x.col('close')[i]), p));

/** Forced orders: Binance streams at most one per symbol per second, so these undercount in bursts. */
export const LIQUIDATION_FEATURES: FeatureSpec[] = [
  spec('liq_long_share_12', 'long liquidations (USDT) over 12 bars / quote turnover', 11, [...L, 'volume', 'close'], (x) => map(sum(x, 'liq_long_usd', 12), (v, i) => v / turnover(x, 12)[i])),
  spec('liq_short_share_12', 'short liquidations (USDT) over 12 bars / quote turnover', 11, [...L, 'volume', 'close'], (x) => map(sum(x, 'liq_short_usd', 12), (v, i) => v / turnover(x, 12)[i])),
  spec('liq_imbalance_12', '(long − short) / (long + short) liquidated USDT over 12 bars', 11, L, (x) =>
    map(sum(x, 'liq_long_usd', 12), (l, i) => {
      const s = sum(x, 'liq_short_usd', 12)[i];
      return l + s > 0 ? (l - s) / (l + s) : 0 * l * s;
    }),
  ),
  spec('liq_total_z_288', 'z-score of total liquidated USDT per bar over 288 bars', 287, L, (x) => zscore(map(x.col('liq_long_usd'), (l, i) => l + x.col('liq_short_usd')[i]), 288)),
  spec('liq_count_12', 'liquidation orders over 12 bars', 11, ['liq_long_count', 'liq_short_count'], (x) => rollingSum(map(x.col('liq_long_count'), (l, i) => l + x.col('liq_short_count')[i]), 12)),
];
