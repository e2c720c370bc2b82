import { atr, ema, emaWarmup, logReturn, map, pctChange, ratio, rma, rollingCorrelation, rollingMax, rollingMin, rollingStd, rollingSum, rsi, sma, zscore, lag, diff } from '../indicators/kernels.ts';
import type { FeatureInputs, FeatureSpec } from '../registry.ts';

const OHLC = ['open', 'high', 'low', 'close'];
const C = ['close'];
const spec = (name: string, description: string, warmup: number, sources: string[], compute: (x: FeatureInputs) => Float64Array): FeatureSpec => ({ name, group: 'price', description, warmup, sources, compute });
const close = (x: FeatureInputs) => x.col('close');
const r1 = (x: FeatureInputs) => x.memo('logret1', () => logReturn(close(x), 1));
const smaOf = (x: FeatureInputs, p: number) => x.memo(`sma${p}`, () => sma(close(x), p));
const rsiOf = (x: FeatureInputs, p: number) => x.memo(`rsi${p}`, () => rsi(close(x), p));
const atrOf = (x: FeatureInputs, p: number) => x.memo(`atr${p}`, () => atr(x.col('high'), x.col('low'), close(x), p));
const rvOf = (x: FeatureInputs, p: number) => x.memo(`rv${p}`, () => rollingStd(r1(x), p));
const distance = (a: Float64Array, b: Float64Array) => map(a, (v, i) => v / b[i] - 1);
const wilder = (p: number) => emaWarmup(p, 1 / p);

function macd(x: FeatureInputs) {
  return x.memo('macd', () => {
    const fast = ema(close(x), 12);
    const slow = ema(close(x), 26);
    return map(fast, (v, i) => v - slow[i]);
  });
}
const macdSignal = (x: FeatureInputs) => x.memo('macd_signal', () => ema(macd(x), 9));
const MACD_WARMUP = emaWarmup(26) + emaWarmup(9);

export const PRICE_FEATURES: FeatureSpec[] = [
  ...[1, 2, 3, 6, 12, 24, 48, 96, 192, 288].map((h) => spec(`ret_${h}`, `log return over the last ${h} bars`, h, C, (x) => (h === 1 ? r1(x) : logReturn(close(x), h)))),
  ...[12, 24, 48, 96, 288].map((p) => spec(`sma_dist_${p}`, `close / SMA(close, ${p}) − 1`, p - 1, C, (x) => distance(close(x), smaOf(x, p)))),
  ...[12, 26, 50].map((p) => spec(`ema_dist_${p}`, `close / EMA(close, ${p}) − 1`, emaWarmup(p), C, (x) => distance(close(x), ema(close(x), p)))),
  spec('sma_cross_12_48', 'SMA(12) / SMA(48) − 1', 47, C, (x) => distance(smaOf(x, 12), smaOf(x, 48))),
  spec('sma_cross_48_288', 'SMA(48) / SMA(288) − 1', 287, C, (x) => distance(smaOf(x, 48), smaOf(x, 288))),
  spec('sma_slope_24', 'SMA(24) change over 6 bars', 29, C, (x) => pctChange(smaOf(x, 24), 6)),
  spec('sma_slope_96', 'SMA(96) change over 12 bars', 107, C, (x) => pctChange(smaOf(x, 96), 12)),
  ...[6, 14, 28].map((p) => spec(`rsi_${p}`, `Wilder RSI(${p}) / 100`, wilder(p) + 1, C, (x) => map(rsiOf(x, p), (v) => v / 100))),
  spec('rsi_14_slope', 'RSI(14) change over 6 bars / 100', wilder(14) + 7, C, (x) => map(diff(rsiOf(x, 14), 6), (v) => v / 100)),
  spec('natr_14', 'Wilder ATR(14) / close', wilder(14) + 1, OHLC, (x) => ratio(atrOf(x, 14), close(x))),
  spec('natr_48', 'Wilder ATR(48) / close', wilder(48) + 1, OHLC, (x) => ratio(atrOf(x, 48), close(x))),
  spec('atr_ratio_14_48', 'ATR(14) / ATR(48): volatility expansion', wilder(48) + 1, OHLC, (x) => ratio(atrOf(x, 14), atrOf(x, 48))),
  spec('macd_line', 'MACD(12, 26) / close', emaWarmup(26), C, (x) => ratio(macd(x), close(x))),
  spec('macd_signal', 'MACD signal EMA(9) / close', MACD_WARMUP, C, (x) => ratio(macdSignal(x), close(x))),
  spec('macd_hist', '(MACD − signal) / close', MACD_WARMUP, C, (x) => {
    const signal = macdSignal(x);
    const c = close(x);
    return map(macd(x), (v, i) => (v - signal[i]) / c[i]);
  }),
  ...[20, 48].flatMap((p) => [
    spec(`bb_pos_${p}`, `Bollinger position: (close − SMA${p}) / (2σ${p})`, p - 1, C, (x) => {
      const sd = rollingStd(close(x), p);
      const mean = smaOf(x, p);
      return map(close(x), (v, i) => (sd[i] > 0 ? (v - mean[i]) / (2 * sd[i]) : 0 * sd[i]));
    }),
    spec(`bb_width_${p}`, `Bollinger width: 4σ${p} / SMA${p}`, p - 1, C, (x) => {
      const mean = smaOf(x, p);
      return map(rollingStd(close(x), p), (sd, i) => (4 * sd) / mean[i]);
    }),
  ]),
  ...[12, 48, 288].map((p) => spec(`rv_${p}`, `realised volatility: σ of 1-bar log returns over ${p} bars`, p, C, (x) => rvOf(x, p))),
  spec('rv_ratio_12_288', 'rv_12 / rv_288: short vs long volatility', 288, C, (x) => ratio(rvOf(x, 12), rvOf(x, 288))),
  spec('parkinson_48', 'Parkinson volatility over 48 bars (high/low range estimator)', 47, OHLC, (x) => {
    const hl = map(x.col('high'), (h, i) => Math.log(h / x.col('low')[i]) ** 2);
    return map(sma(hl, 48), (v) => Math.sqrt(v / (4 * Math.LN2)));
  }),
  spec('garman_klass_48', 'Garman–Klass volatility over 48 bars', 47, OHLC, (x) => {
    const o = x.col('open');
    const h = x.col('high');
    const l = x.col('low');
    const c = close(x);
    const term = map(c, (_, i) => 0.5 * Math.log(h[i] / l[i]) ** 2 - (2 * Math.LN2 - 1) * Math.log(c[i] / o[i]) ** 2);
    return map(sma(term, 48), (v) => Math.sqrt(Math.max(v, 0)));
  }),
  spec('efficiency_48', 'Kaufman efficiency ratio: |close − close48| / Σ|Δclose| over 48 bars', 48, C, (x) => {
    const path = rollingSum(map(diff(close(x), 1), Math.abs), 48);
    return map(diff(close(x), 48), (d, i) => (path[i] > 0 ? Math.abs(d) / path[i] : 0 * path[i]));
  }),
  spec('body', 'candle body: (close − open) / open', 0, OHLC, (x) => map(close(x), (c, i) => c / x.col('open')[i] - 1)),
  spec('upper_wick', 'upper wick: (high − max(open, close)) / open', 0, OHLC, (x) => map(x.col('high'), (h, i) => (h - Math.max(x.col('open')[i], close(x)[i])) / x.col('open')[i])),
  spec('lower_wick', 'lower wick: (min(open, close) − low) / open', 0, OHLC, (x) => map(x.col('low'), (l, i) => (Math.min(x.col('open')[i], close(x)[i]) - l) / x.col('open')[i])),
  spec('range', 'candle range: (high − low) / open', 0, OHLC, (x) => map(x.col('high'), (h, i) => (h - x.col('low')[i]) / x.col('open')[i])),
  spec('close_position', 'where the close sits in the bar: (close − low) / (high − low)', 0, OHLC, (x) => map(close(x), (c, i) => (x.col('high')[i] > x.col('low')[i] ? (c - x.col('low')[i]) / (x.col('high')[i] - x.col('low')[i]) : 0.5))),
  ...[48, 288].flatMap((p) => [
    spec(`high_dist_${p}`, `close / highest high of ${p} bars − 1`, p - 1, OHLC, (x) => distance(close(x), rollingMax(x.col('high'), p))),
    spec(`low_dist_${p}`, `close / lowest low of ${p} bars − 1`, p - 1, OHLC, (x) => distance(close(x), rollingMin(x.col('low'), p))),
  ]),
  spec('stoch_k_14', 'stochastic %K(14): (close − low14) / (high14 − low14)', 13, OHLC, (x) => stochK(x)),
  spec('stoch_d_14', 'stochastic %D: SMA(3) of %K(14)', 15, OHLC, (x) => sma(stochK(x), 3)),
  spec('ret_12_z_288', 'z-score of the 12-bar return over 288 bars', 12 + 287, C, (x) => zscore(logReturn(close(x), 12), 288)),
  spec('close_z_48', 'z-score of close over 48 bars', 47, C, (x) => zscore(close(x), 48)),
  spec('close_z_288', 'z-score of close over 288 bars', 287, C, (x) => zscore(close(x), 288)),
  spec('ret_autocorr_48', 'correlation of 1-bar returns with the previous bar\'s over 48 bars', 49, C, (x) => rollingCorrelation(r1(x), lag(r1(x), 1), 48)),
  spec('atr_wilder_vs_sma_14', 'Wilder ATR(14) / SMA(14) of true range − 1', wilder(14) + 1, OHLC, (x) => {
    const tr = x.memo('tr', () => map(x.col('high'), (h, i) => (i === 0 ? Number.NaN : Math.max(h - x.col('low')[i], Math.abs(h - close(x)[i - 1]), Math.abs(x.col('low')[i] - close(x)[i - 1])))));
    return distance(rma(tr, 14), sma(tr, 14));
  }),
];

function stochK(x: FeatureInputs): Float64Array {
  return x.memo('stoch_k_14', () => {
    const hi = rollingMax(x.col('high'), 14);
    const lo = rollingMin(x.col('low'), 14);
    return map(x.col('close'), (c, i) => (hi[i] > lo[i] ? (c - lo[i]) / (hi[i] - lo[i]) : 0.5 + 0 * hi[i]));
  });
}
