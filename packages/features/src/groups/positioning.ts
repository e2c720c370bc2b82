import { diff, map, sma, zscore } from '../indicators/kernels.ts';
import type { FeatureInputs, FeatureSpec } from '../registry.ts';

const spec = (name: string, description: string, warmup: number, sources: string[], compute: (x: FeatureInputs) => Float64Array): FeatureSpec => ({ name, group: 'positioning', description, warmup, sources, compute });
const logOf = (x: FeatureInputs, column: string) => x.memo(`log_${column}`, () => map(x.col(column), Math.log));

/** Long/short ratios (accounts and top traders) and the taker buy/sell volume ratio, as logs so 1:1 is 0. */
export const POSITIONING_FEATURES: FeatureSpec[] = [
  spec('ls_global_account', 'log global long/short account ratio', 0, ['ls_global_account'], (x) => logOf(x, 'ls_global_account')),
  spec('ls_top_account', 'log top-trader long/short account ratio', 0, ['ls_top_account'], (x) => logOf(x, 'ls_top_account')),
  spec('ls_top_position', 'log top-trader long/short position ratio', 0, ['ls_top_position'], (x) => logOf(x, 'ls_top_position')),
  spec('ls_global_change_12', 'change of the log global ratio over 12 bars', 12, ['ls_global_account'], (x) => diff(logOf(x, 'ls_global_account'), 12)),
  spec('ls_top_position_change_12', 'change of the log top-position ratio over 12 bars', 12, ['ls_top_position'], (x) => diff(logOf(x, 'ls_top_position'), 12)),
  spec('ls_global_z_288', 'z-score of the log global ratio over 288 bars', 287, ['ls_global_account'], (x) => zscore(logOf(x, 'ls_global_account'), 288)),
  spec('ls_top_position_z_288', 'z-score of the log top-position ratio over 288 bars', 287, ['ls_top_position'], (x) => zscore(logOf(x, 'ls_top_position'), 288)),
  spec('ls_top_vs_global', 'log(top-position ratio / global account ratio): smart vs crowd', 0, ['ls_top_position', 'ls_global_account'], (x) => map(logOf(x, 'ls_top_position'), (v, i) => v - logOf(x, 'ls_global_account')[i])),
  spec('taker_ratio', 'log taker buy/sell volume ratio', 0, ['taker_buy_sell_ratio'], (x) => logOf(x, 'taker_buy_sell_ratio')),
  spec('taker_ratio_sma_12', 'mean log taker ratio over 12 bars', 11, ['taker_buy_sell_ratio'], (x) => sma(logOf(x, 'taker_buy_sell_ratio'), 12)),
  spec('taker_ratio_z_288', 'z-score of the log taker ratio over 288 bars', 287, ['taker_buy_sell_ratio'], (x) => zscore(logOf(x, 'taker_buy_sell_ratio'), 288)),
];
