import { ema, emaWarmup, logReturn, map, ratio, rollingCorrelation, rollingSum, sma, zscore } from '../indicators/kernels.ts';
import type { FeatureInputs, FeatureSpec } from '../registry.ts';

const spec = (name: string, description: string, warmup: number, sources: string[], compute: (x: FeatureInputs) => Float64Array): FeatureSpec => ({ name, group: 'volume', description, warmup, sources, compute });
const V = ['volume'];
const CV = ['close', 'volume'];
const HLCV = ['high', 'low', 'close', 'volume'];
const vol = (x: FeatureInputs) => x.col('volume');
const volSma = (x: FeatureInputs, p: number) => x.memo(`vsma${p}`, () => sma(vol(x), p));
const logRatio = (a: Float64Array, b: Float64Array) => map(a, (v, i) => Math.log((v + 1) / (b[i] + 1)));
const typical = (x: FeatureInputs) => x.memo('typical', () => map(x.col('close'), (c, i) => (x.col('high')[i] + x.col('low')[i] + c) / 3));

/** Rolling VWAP distance: close / (Σ typical·volume / Σ volume over p bars) − 1. Causal, unlike a cumulative VWAP. */
function vwapDistance(x: FeatureInputs, p: number): Float64Array {
  const pv = rollingSum(map(typical(x), (t, i) => t * vol(x)[i]), p);
  const v = rollingSum(vol(x), p);
  return map(x.col('close'), (c, i) => (v[i] > 0 ? c / (pv[i] / v[i]) - 1 : Number.NaN));
}

/** Signed volume (by the bar's close-to-close direction) summed over p bars, over total volume: a bounded, rolling OBV. */
function rollingObv(x: FeatureInputs, p: number): Float64Array {
  const r = x.memo('logret1', () => logReturn(x.col('close'), 1));
  const signed = map(vol(x), (v, i) => Math.sign(r[i]) * v);
  const total = rollingSum(vol(x), p);
  return map(rollingSum(signed, p), (s, i) => (total[i] > 0 ? s / total[i] : 0 * total[i]));
}

export const VOLUME_FEATURES: FeatureSpec[] = [
  ...[12, 48, 288].map((p) => spec(`volume_ratio_${p}`, `volume / SMA(volume, ${p})`, p - 1, V, (x) => ratio(vol(x), volSma(x, p)))),
  ...[48, 288].map((p) => spec(`volume_z_${p}`, `z-score of volume over ${p} bars`, p - 1, V, (x) => zscore(vol(x), p))),
  spec('volume_trend_12_48', 'SMA(volume, 12) / SMA(volume, 48)', 47, V, (x) => ratio(volSma(x, 12), volSma(x, 48))),
  spec('volume_change_1', 'log((volume + 1) / (previous volume + 1))', 1, V, (x) => logRatio(vol(x), map(vol(x), (_, i) => (i > 0 ? vol(x)[i - 1] : Number.NaN)))),
  spec('volume_change_12', 'log of SMA(volume, 12) vs 12 bars earlier', 23, V, (x) => {
    const s = volSma(x, 12);
    return logRatio(s, map(s, (_, i) => (i >= 12 ? s[i - 12] : Number.NaN)));
  }),
  ...[48, 288].map((p) => spec(`obv_${p}`, `rolling on-balance volume over ${p} bars, as a share of volume`, p, CV, (x) => rollingObv(x, p))),
  ...[48, 288].map((p) => spec(`vwap_dist_${p}`, `close / rolling ${p}-bar VWAP − 1`, p - 1, HLCV, (x) => vwapDistance(x, p))),
  spec('volume_volatility_corr_48', 'correlation of |1-bar return| with volume over 48 bars', 48, CV, (x) => {
    const r = x.memo('logret1', () => logReturn(x.col('close'), 1));
    return rollingCorrelation(map(r, Math.abs), vol(x), 48);
  }),
  spec('mfi_14', 'money flow index(14) / 100', 14, HLCV, (x) => {
    const tp = typical(x);
    const pos = map(tp, (t, i) => (i > 0 && t > tp[i - 1] ? t * vol(x)[i] : i > 0 ? 0 : Number.NaN));
    const neg = map(tp, (t, i) => (i > 0 && t < tp[i - 1] ? t * vol(x)[i] : i > 0 ? 0 : Number.NaN));
    const p = rollingSum(pos, 14);
    const n = rollingSum(neg, 14);
    return map(p, (v, i) => (v + n[i] > 0 ? v / (v + n[i]) : 0.5 + 0 * v));
  }),
  spec('cmf_20', 'Chaikin money flow(20)', 19, HLCV, (x) => {
    const h = x.col('high');
    const l = x.col('low');
    const mfv = map(x.col('close'), (c, i) => (h[i] > l[i] ? ((c - l[i] - (h[i] - c)) / (h[i] - l[i])) * vol(x)[i] : 0 * c));
    const v = rollingSum(vol(x), 20);
    return map(rollingSum(mfv, 20), (s, i) => (v[i] > 0 ? s / v[i] : 0 * v[i]));
  }),
  spec('force_index_13', 'EMA(13) of 1-bar return × volume / SMA(volume, 48)', 48 + emaWarmup(13), CV, (x) => {
    const r = x.memo('logret1', () => logReturn(x.col('close'), 1));
    return ema(map(r, (v, i) => (v * vol(x)[i]) / volSma(x, 48)[i]), 13);
  }),
  spec('amihud_48', 'Amihud illiquidity: mean |return| per million of quote volume over 48 bars', 48, CV, (x) => {
    const r = x.memo('logret1', () => logReturn(x.col('close'), 1));
    return sma(map(r, (v, i) => (Math.abs(v) * 1e6) / Math.max(1e-9, vol(x)[i] * x.col('close')[i])), 48);
  }),
  ...[12, 48].map((p) => spec(`taker_buy_share_${p}`, `taker buy volume / volume, summed over ${p} bars`, p - 1, ['taker_buy_volume', 'volume'], (x) => ratio(rollingSum(x.col('taker_buy_volume'), p), rollingSum(vol(x), p)))),
  spec('taker_buy_share', 'taker buy volume / volume of this bar', 0, ['taker_buy_volume', 'volume'], (x) => ratio(x.col('taker_buy_volume'), vol(x))),
  spec('taker_buy_share_z_288', 'z-score of the taker buy share over 288 bars', 287, ['taker_buy_volume', 'volume'], (x) => zscore(ratio(x.col('taker_buy_volume'), vol(x)), 288)),
  spec('trades_ratio_48', 'trade count / SMA(trade count, 48)', 47, ['trades'], (x) => ratio(x.col('trades'), sma(x.col('trades'), 48))),
  spec('avg_trade_size_ratio_48', '(quote volume / trades) vs its SMA(48)', 47, ['trades', 'quote_volume'], (x) => {
    const size = ratio(x.col('quote_volume'), x.col('trades'));
    return ratio(size, sma(size, 48));
  }),
  spec('quote_volume_ratio_48', 'quote volume / SMA(quote volume, 48)', 47, ['quote_volume'], (x) => ratio(x.col('quote_volume'), sma(x.col('quote_volume'), 48))),
];
