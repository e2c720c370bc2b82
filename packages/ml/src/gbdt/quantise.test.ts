import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from './matrix.ts';
import { MAX_QUANTISED_ROWS, packedGrad, packedHess, quantisation, quantiseGradients } from './quantise.ts';

describe('quantised gradients', () => {
  it('a sum of packed rows decodes to the sums of their gradient and hessian parts, negative gradients included', () => {
    const q = quantisation(1000);
    q.gradScale = 1;
    q.hessScale = 1;
    const rows = [
      [-5, 3],
      [2, 0],
      [-q.gradLevels, q.hessLevels],
    ];
    const sum = rows.reduce((s, [g, h]) => s + g * q.shift + h, 0);
    assert.equal(packedGrad(sum, q), -5 + 2 - q.gradLevels, 'gradient part of the packed sum');
    assert.equal(packedHess(sum, q), 3 + q.hessLevels, 'hessian part of the packed sum');
  });

  it('leaves no sum able to overflow 2^53 at any row count, and keeps at least 3 bits per part up to the largest supported table', () => {
    for (const rows of [10, 40_000, 1_000_000, MAX_QUANTISED_ROWS]) {
      const q = quantisation(rows);
      assert.ok(rows * q.hessLevels < q.shift, `${rows} rows: hessian sums reach the gradient bits`);
      assert.ok(rows * q.gradLevels * q.shift + rows * q.hessLevels <= 2 ** 53, `${rows} rows: a gradient sum can exceed 2^53 and lose bits`);
      assert.ok(q.gradLevels >= 7 && q.hessLevels >= 7, `${rows} rows: only ${q.gradLevels} gradient / ${q.hessLevels} hessian levels`);
    }
    assert.throws(() => quantisation(MAX_QUANTISED_ROWS + 1), /at most 4000000 are supported/);
  });

  it('stochastic rounding is unbiased: quantised sums track the exact sums to a fraction of one level', () => {
    const n = 20_000;
    const random = seededRandom(3);
    const grad = Float64Array.from({ length: n }, () => random() - 0.4);
    const hess = Float64Array.from({ length: n }, () => 0.25 * random());
    const packed = new Float64Array(n);
    const q = quantisation(n);
    quantiseGradients(grad, hess, packed, q, seededRandom(9));
    const sum = packed.reduce((s, v) => s + v, 0);
    const g = grad.reduce((s, v) => s + v, 0);
    const h = hess.reduce((s, v) => s + v, 0);
    // Rounding noise per row is below one level; summed over n rows it grows like √n levels.
    assert.ok(Math.abs(packedGrad(sum, q) - g) < 5 * Math.sqrt(n) * q.gradScale, `gradient sum ${packedGrad(sum, q)} vs exact ${g}`);
    assert.ok(Math.abs(packedHess(sum, q) - h) < 5 * Math.sqrt(n) * q.hessScale, `hessian sum ${packedHess(sum, q)} vs exact ${h}`);
  });
});
