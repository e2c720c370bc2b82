import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Frame } from '@oitrader/core';
import { classBalance, LONG, NEUTRAL, SHORT, TargetEngineer } from './targets.ts';
import { realSampleFrame } from './testing/frames.ts';

const targets = new TargetEngineer();
const bars = (close: number[], high = close, low = close) =>
  new Frame('SOLUSDT', '5m', Float64Array.from(close, (_, i) => i * 300_000), { open: Float64Array.from(close), high: Float64Array.from(high), low: Float64Array.from(low), close: Float64Array.from(close) });

describe('TargetEngineer', () => {
  it('labels by the future return over the horizon exactly as SPEC.md, with the last horizon rows unlabeled', () => {
    const frame = bars([100, 101, 100, 99, 100.2]);
    const y = targets.createClassificationTarget(frame, { horizon: 2, threshold: 0.005 });
    // r0 = 100/100 - 1 = 0 → NEUTRAL; r1 = 99/101 - 1 = -1.98% → SHORT; r2 = 100.2/100 - 1 = +0.2% → NEUTRAL
    assert.deepEqual([...y].slice(0, 3), [NEUTRAL, SHORT, NEUTRAL]);
    assert.ok(Number.isNaN(y[3]) && Number.isNaN(y[4]), 'rows whose horizon runs past the data get no label');
    const up = targets.createClassificationTarget(bars([100, 100.6]), { horizon: 1, threshold: 0.005 });
    assert.equal(up[0], LONG);
  });

  it('a threshold-sized move is NEUTRAL (strict inequality)', () => {
    const y = targets.createClassificationTarget(bars([100, 100.5]), { horizon: 1, threshold: 0.005 });
    assert.equal(y[0], NEUTRAL);
  });

  it('triple barrier: the first barrier touched by the high/low path decides; both in one bar is NEUTRAL', () => {
    const frame = bars([100, 100, 100, 100], [100, 101.5, 100, 100], [100, 100, 98.5, 100]);
    const y = targets.createTripleBarrierTarget(frame, { horizon: 2, takeProfit: 0.01, stopLoss: 0.01 });
    assert.equal(y[0], LONG, 'the high touched +1% in bar 1 before the low touched -1% in bar 2');
    assert.equal(y[1], SHORT);
    const both = bars([100, 100, 100], [100, 102, 100], [100, 98, 100]);
    assert.equal(targets.createTripleBarrierTarget(both, { horizon: 1 })[0], NEUTRAL);
  });

  it('reports the class balance on the real sample (48 bars, 0.5%)', () => {
    const balance = classBalance(targets.createClassificationTarget(realSampleFrame()));
    assert.equal(balance.unlabeled, 48);
    assert.equal(balance.short + balance.neutral + balance.long, 1999 - 48);
    assert.ok(balance.short > 0 && balance.neutral > 0 && balance.long > 0);
  });

  it('rejects a horizon that is not a positive whole number of bars', () => {
    assert.throws(() => targets.createRegressionTarget(bars([1, 2]), { horizon: 0 }), /positive whole number/);
  });
});
