import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IndicatorsSync } from '@ixjb94/indicators';
import { realSampleFrame } from '../testing/frames.ts';
import { atr, ema, emaWarmup, rollingCorrelation, rollingMax, rollingMin, rollingStd, rsi, sma } from './kernels.ts';

const ta = new IndicatorsSync();
const frame = realSampleFrame();
const close = frame.column('close');
const high = frame.column('high');
const low = frame.column('low');
const closes = Array.from(close);

/** Compares the last `count` values of ours against the reference (the reference aligns its output to the end). */
function assertTailsMatch(name: string, ours: Float64Array, reference: number[], count: number, tolerance: number) {
  for (let k = 1; k <= count; k++) {
    const a = ours[ours.length - k];
    const b = reference[reference.length - k];
    assert.ok(Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b)), `${name}: ${k} bars from the end ours ${a} vs @ixjb94 ${b}`);
  }
}

describe('indicator kernels agree with @ixjb94/indicators on the real XRPUSDT sample', () => {
  it('SMA(48) exactly', () => assertTailsMatch('sma', sma(close, 48), ta.sma(closes, 48), 1900, 1e-12));
  it('Wilder RSI(14) to 1e-9', () => assertTailsMatch('rsi', rsi(close, 14), ta.rsi(closes, 14), 1900, 1e-9));
  it('Wilder ATR(14) to 1e-9 after the warm-up (the reference counts the first bar\'s range as a true range)', () =>
    assertTailsMatch('atr', atr(high, low, close, 14), ta.atr(Array.from(high), Array.from(low), closes, 14), close.length - emaWarmup(14, 1 / 14), 1e-9));
  it('EMA(26) after its declared warm-up, despite a different seed', () => {
    // @ixjb94 seeds with the first value, we seed with the SMA: they converge within emaWarmup bars.
    assertTailsMatch('ema', ema(close, 26), ta.ema(closes, 26), close.length - emaWarmup(26), 1e-9);
  });
  it('standard deviation (sample vs population, rescaled)', () => {
    const ours = rollingStd(close, 20);
    const population = ta.stddev(closes, 20).map((v) => v * Math.sqrt(20 / 19));
    assertTailsMatch('stddev', ours, population, 1900, 1e-9);
  });
  it('NaN inputs give NaN, never 0', () => {
    const x = Float64Array.from([1, 2, Number.NaN, 4, 5, 6]);
    assert.deepEqual([...sma(x, 2)].map(Number.isNaN), [true, false, true, true, false, false]);
  });
});

describe('O(n) window kernels equal their brute-force definitions', () => {
  let seed = 11;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  // Large level + small moves (like open interest), with NaN gaps, longer than one resync block.
  const x = Float64Array.from({ length: 3000 }, (_, i) => (i % 700 === 5 ? Number.NaN : 5e8 + 1e6 * Math.sin(i / 50) + 1e5 * random()));
  const y = Float64Array.from(x, (v) => v * 0.5 + 1e5 * random());
  const window = (i: number, p: number) => Array.from(x.subarray(i - p + 1, i + 1));
  const check = (name: string, ours: Float64Array, brute: (i: number) => number, p: number, tolerance: number) => {
    for (let i = 0; i < x.length; i++) {
      const expected = i < p - 1 || window(i, p).some(Number.isNaN) ? Number.NaN : brute(i);
      const a = ours[i];
      assert.ok(Object.is(a, expected) || Math.abs(a - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${name} at ${i}: ${a} vs ${expected}`);
    }
  };
  const p = 288;
  it('rolling max and min', () => {
    check('max', rollingMax(x, p), (i) => Math.max(...window(i, p)), p, 0);
    check('min', rollingMin(x, p), (i) => Math.min(...window(i, p)), p, 0);
  });
  it('rolling standard deviation (no cancellation on a 5e8 level)', () => {
    check('std', rollingStd(x, p), (i) => {
      const w = window(i, p);
      const m = w.reduce((s, v) => s + v, 0) / p;
      return Math.sqrt(w.reduce((s, v) => s + (v - m) ** 2, 0) / (p - 1));
    }, p, 1e-7);
  });
  it('rolling correlation', () => {
    check('corr', rollingCorrelation(x, y, p), (i) => {
      const a = window(i, p);
      const b = Array.from(y.subarray(i - p + 1, i + 1));
      const ma = a.reduce((s, v) => s + v, 0) / p;
      const mb = b.reduce((s, v) => s + v, 0) / p;
      let cov = 0;
      let va = 0;
      let vb = 0;
      for (let k = 0; k < p; k++) {
        cov += (a[k] - ma) * (b[k] - mb);
        va += (a[k] - ma) ** 2;
        vb += (b[k] - mb) ** 2;
      }
      return cov / Math.sqrt(va * vb);
    }, p, 1e-6);
  });
});
