import { diff, logReturn, map, pctChange, ratio, rollingCorrelation, rollingMax, rollingMin, rollingSum, rsi, emaWarmup, sma, zscore } from '../indicators/kernels.ts';
import type { FeatureInputs, FeatureSpec } from '../registry.ts';

const OI = ['open_interest'];
const OIC = ['open_interest', 'close'];
const spec = (name: string, description: string, warmup: number, sources: string[], compute: (x: FeatureInputs) => Float64Array): FeatureSpec => ({ name, group: 'open_interest', description, warmup, sources, compute });
const oi = (x: FeatureInputs) => x.col('open_interest');
const oiChange = (x: FeatureInputs, h: number) => x.memo(`oi_chg_${h}`, () => pctChange(oi(x), h));
const priceChange = (x: FeatureInputs, h: number) => x.memo(`px_chg_${h}`, () => pctChange(x.col('close'), h));
const velocity = (x: FeatureInputs) => x.memo('oi_velocity', () => sma(oiChange(x, 1), 6));

/**
 * Open interest is the number of open contracts: rising OI means new
 * positions, falling OI means positions closing. Read together with price it
 * says who is entering (OI↑ price↑: new longs; OI↑ price↓: new shorts).
 */
export const OPEN_INTEREST_FEATURES: FeatureSpec[] = [
  ...[1, 3, 6, 12, 24, 48, 96, 288].map((h) => spec(`oi_change_${h}`, `open interest change over ${h} bars (fraction)`, h, OI, (x) => oiChange(x, h))),
  ...[12, 48, 288].map((p) => spec(`oi_sma_dist_${p}`, `open interest / SMA(OI, ${p}) − 1`, p - 1, OI, (x) => {
    const mean = sma(oi(x), p);
    return map(oi(x), (v, i) => v / mean[i] - 1);
  })),
  ...[48, 288].map((p) => spec(`oi_z_${p}`, `z-score of open interest over ${p} bars`, p - 1, OI, (x) => zscore(oi(x), p))),
  spec('oi_velocity', 'mean 1-bar OI change over 6 bars', 6, OI, velocity),
  spec('oi_acceleration', 'change of OI velocity over 6 bars', 12, OI, (x) => diff(velocity(x), 6)),
  ...[12, 48].map((h) => spec(`oi_price_divergence_${h}`, `OI change minus price change over ${h} bars`, h, OIC, (x) => map(oiChange(x, h), (v, i) => v - priceChange(x, h)[i]))),
  ...[48, 288].map((p) => spec(`oi_price_corr_${p}`, `correlation of 1-bar OI and price changes over ${p} bars`, p, OIC, (x) => rollingCorrelation(oiChange(x, 1), priceChange(x, 1), p))),
  spec('oi_new_longs_12', '1 when OI and price both rose > 0.2 % over 12 bars (new longs)', 12, OIC, (x) => map(oiChange(x, 12), (v, i) => (Number.isNaN(v + priceChange(x, 12)[i]) ? Number.NaN : v > 0.002 && priceChange(x, 12)[i] > 0.002 ? 1 : 0))),
  spec('oi_new_shorts_12', '1 when OI rose and price fell > 0.2 % over 12 bars (new shorts)', 12, OIC, (x) => map(oiChange(x, 12), (v, i) => (Number.isNaN(v + priceChange(x, 12)[i]) ? Number.NaN : v > 0.002 && priceChange(x, 12)[i] < -0.002 ? 1 : 0))),
  spec('oi_closing_12', '1 when OI fell > 0.2 % over 12 bars (positions closing)', 12, OI, (x) => map(oiChange(x, 12), (v) => (Number.isNaN(v) ? v : v < -0.002 ? 1 : 0))),
  spec('oi_rsi_14', 'Wilder RSI(14) of open interest / 100', emaWarmup(14, 1 / 14) + 1, OI, (x) => map(rsi(oi(x), 14), (v) => v / 100)),
  spec('oi_high_dist_288', 'open interest / its 288-bar maximum − 1', 287, OI, (x) => {
    const max = rollingMax(oi(x), 288);
    return map(oi(x), (v, i) => v / max[i] - 1);
  }),
  spec('oi_low_dist_288', 'open interest / its 288-bar minimum − 1', 287, OI, (x) => {
    const min = rollingMin(oi(x), 288);
    return map(oi(x), (v, i) => v / min[i] - 1);
  }),
  spec('oi_per_volume_288', 'open interest / volume traded over 288 bars (how long positions are held)', 287, ['open_interest', 'volume'], (x) => ratio(oi(x), rollingSum(x.col('volume'), 288))),
  spec('oi_value_change_12', 'open interest value (USDT) change over 12 bars', 12, ['open_interest_value'], (x) => pctChange(x.col('open_interest_value'), 12)),
  spec('oi_value_z_288', 'z-score of open interest value over 288 bars', 287, ['open_interest_value'], (x) => zscore(x.col('open_interest_value'), 288)),
  spec('oi_value_turnover_288', 'OI value / quote turnover over 288 bars (market-cap proxy: leverage in the market)', 287, ['open_interest_value', 'close', 'volume'], (x) =>
    ratio(x.col('open_interest_value'), rollingSum(map(x.col('volume'), (v, i) => v * x.col('close')[i]), 288)),
  ),
  spec('oi_log_change_1', 'log of OI vs the previous bar', 1, OI, (x) => logReturn(oi(x), 1)),
];
