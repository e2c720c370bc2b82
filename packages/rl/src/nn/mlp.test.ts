import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Adam, clipGradNorm, Mlp } from './mlp.ts';

describe('Mlp', () => {
  it('backward gives the same gradient as finite differences of the forward pass', () => {
    const net = new Mlp([3, 5, 4, 2], 7, 1);
    const x = Float32Array.of(0.3, -1.2, 0.8, 1.1, 0.05, -0.4);
    const target = [0.5, -0.2, -1, 0.7];
    const loss = () => {
      const y = net.forward(x, 2);
      let s = 0;
      for (let k = 0; k < 4; k++) s += 0.5 * (y[k] - target[k]) ** 2;
      return s;
    };
    const y = net.forward(x, 2);
    const dy = Float32Array.from(y, (v, k) => v - target[k]);
    net.zeroGrad();
    net.backward(dy, 2);
    for (const k of [0, 4, 15, 20, net.params.length - 1, net.params.length - 3]) {
      const saved = net.params[k];
      net.params[k] = saved + 1e-2;
      const up = loss();
      net.params[k] = saved - 1e-2;
      const down = loss();
      net.params[k] = saved;
      const numeric = (up - down) / 2e-2;
      assert.ok(Math.abs(numeric - net.grads[k]) < 2e-3 * Math.max(1, Math.abs(numeric)), `parameter ${k}: backprop ${net.grads[k]} vs finite difference ${numeric}`);
    }
  });

  it('the same seed gives the same initial weights, another seed different ones', () => {
    assert.deepEqual(new Mlp([4, 8, 2], 3).params, new Mlp([4, 8, 2], 3).params);
    assert.notDeepEqual(new Mlp([4, 8, 2], 3).params, new Mlp([4, 8, 2], 4).params);
  });

  it('Adam fits a linear regression', () => {
    const net = new Mlp([2, 1], 1);
    const opt = new Adam(net.params.length, 0.05);
    const x = Float32Array.of(1, 0, 0, 1, 1, 1, -1, 2);
    const y = [3, -2, 1, -7];
    for (let step = 0; step < 800; step++) {
      const out = net.forward(x, 4);
      net.zeroGrad();
      net.backward(Float32Array.from(out, (v, k) => (v - y[k]) / 4), 4);
      opt.step(net.params, net.grads);
    }
    const out = net.forward(x, 4);
    for (let k = 0; k < 4; k++) assert.ok(Math.abs(out[k] - y[k]) < 0.05, `row ${k}: predicted ${out[k]}, expected ${y[k]}`);
  });

  it('gradient clipping scales all networks jointly to the maximum norm', () => {
    const a = Float32Array.of(3, 0);
    const b = Float32Array.of(0, 4);
    assert.equal(clipGradNorm([a, b], 1), 5);
    assert.ok(Math.abs(Math.hypot(a[0], b[1]) - 1) < 1e-6, 'joint norm after clipping should be 1');
    assert.ok(Math.abs(a[0] / b[1] - 0.75) < 1e-6, 'direction must be kept');
  });
});
