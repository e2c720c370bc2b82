import { diff, map, sma, zscore } from '../indicators/kernels.ts';
import type { FeatureInputs, FeatureSpec } from '../registry.ts';

const F = ['funding_rate'];
const spec = (name: string, description: string, warmup: number, compute: (x: FeatureInputs) => Float64Array): FeatureSpec => ({ name, group: 'funding', description, warmup, sources: F, compute });
const rate = (x: FeatureInputs) => x.col('funding_rate');

/** Funding features read the last settled rate as of the bar close (see MarketDataLoader). Windows are in bars. */
export const FUNDING_FEATURES: FeatureSpec[] = [
  spec('funding_rate', 'last settled funding rate (fraction per 8 h)', 0, rate),
  spec('funding_annualised', 'funding rate × 3 × 365', 0, (x) => map(rate(x), (r) => r * 3 * 365)),
  spec('funding_sma_288', 'mean funding rate over the last 288 bars', 287, (x) => sma(rate(x), 288)),
  spec('funding_change_96', 'funding rate minus its value 96 bars earlier', 96, (x) => diff(rate(x), 96)),
  spec('funding_z_576', 'z-score of the funding rate over 576 bars', 575, (x) => zscore(rate(x), 576)),
  spec('funding_extreme', '1 when |funding| > 0.05 % (crowded positioning), else 0', 0, (x) => map(rate(x), (r) => (Number.isNaN(r) ? r : Math.abs(r) > 0.0005 ? 1 : 0))),
];
