import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classificationReport } from '../evaluation/classification-metrics.ts';
import { matrix, seededRandom } from '../gbdt/matrix.ts';
import { LogisticRegression } from './logistic-regression.ts';
import { StandardScaler } from './standard-scaler.ts';

/** Synthetic (not market data): 3 classes, linearly separable up to noise. */
function linearData(rows: number, seed = 1) {
  const random = seededRandom(seed);
  const data = new Float32Array(rows * 4);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < 4; j++) data[i * 4 + j] = random() * 2 - 1 + (j === 3 ? 100 : 0);
    const s = 2 * data[i * 4] - data[i * 4 + 1] + (random() - 0.5) * 0.5;
    y[i] = s > 0.7 ? 2 : s < -0.7 ? 0 : 1;
  }
  return { x: matrix(data, rows, 4), y };
}

describe('LogisticRegression', () => {
  it('learns a linear 3-class rule and gives calibrated-looking probabilities', () => {
    const train = linearData(3000, 1);
    const test = linearData(1000, 2);
    const model = new LogisticRegression().fit(train.x, train.y);
    const report = classificationReport(model.predictProba(test.x), test.y, 3);
    assert.ok(report.accuracy > 0.85, `accuracy ${report.accuracy}`);
    assert.ok(report.ece < 0.05, `expected calibration error ${report.ece}`);
  });

  it('is deterministic and survives save → load with identical predictions', () => {
    const { x, y } = linearData(500, 3);
    const a = new LogisticRegression().fit(x, y);
    const b = new LogisticRegression().fit(x, y);
    assert.deepEqual(a.weights, b.weights);
    const loaded = LogisticRegression.fromJSON(JSON.parse(JSON.stringify(a)));
    assert.deepEqual(loaded.predictProba(x), a.predictProba(x));
  });

  it('fits the optimum of the weighted, penalised log-loss: its gradient, recomputed here, vanishes (3 classes and 4)', () => {
    for (const classes of [3, 4]) {
      const { x, y } = linearData(2000, 5);
      // 4 classes: the top class split by the sign of the third feature.
      const labels = classes === 3 ? y : y.map((c, i) => (c === 2 && x.data[i * 4 + 2] > 0 ? 3 : c));
      const weights = Float64Array.from(labels, (_, i) => 0.5 + (i % 3) * 0.5);
      const model = new LogisticRegression({ l2: 1e-3 }).fit(x, labels, weights);
      const z = model.scaler.transform(x);
      const width = x.cols + 1;
      const total = weights.reduce((a, b) => a + b, 0);
      const grad = new Float64Array(classes * width);
      for (let r = 0; r < x.rows; r++) {
        const margins = Array.from({ length: classes }, (_, c) => {
          let m = model.weights[c * width + x.cols];
          for (let f = 0; f < x.cols; f++) m += model.weights[c * width + f] * z[r * x.cols + f];
          return m;
        });
        const top = Math.max(...margins);
        const e = margins.map((m) => Math.exp(m - top));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let c = 0; c < classes; c++) {
          const d = (weights[r] * (e[c] / sum - (labels[r] === c ? 1 : 0))) / total;
          for (let f = 0; f < x.cols; f++) grad[c * width + f] += d * z[r * x.cols + f];
          grad[c * width + x.cols] += d;
        }
      }
      for (let c = 0; c < classes; c++) for (let f = 0; f < x.cols; f++) grad[c * width + f] += 1e-3 * model.weights[c * width + f];
      const largest = Math.max(...grad.map(Math.abs));
      assert.ok(largest < 1e-5, `${classes} classes: gradient at the fitted weights reaches ${largest}`);
    }
  });

  it('the scaler learns only from the rows it is fitted on, and maps NaN to the training mean', () => {
    const x = matrix(Float32Array.from([1, 10, 3, Number.NaN, 5, 30]), 3, 2);
    const scaler = new StandardScaler().fit(x);
    assert.deepEqual(Array.from(scaler.mean), [3, 20]);
    const z = scaler.transform(matrix(Float32Array.from([3, Number.NaN]), 1, 2));
    assert.deepEqual(Array.from(z), [0, 0]);
  });
});

describe('classification metrics', () => {
  it('computes accuracy, balanced accuracy, macro-F1, log-loss, Brier and directional accuracy by hand', () => {
    // Rows: (label, predicted): (2,2) (2,0) (0,0) (1,1); forward returns +, +, -, 0.
    const proba = Float64Array.from([0.1, 0.2, 0.7, 0.6, 0.3, 0.1, 0.8, 0.1, 0.1, 0.2, 0.6, 0.2]);
    const r = classificationReport(proba, [2, 2, 0, 1], 3, [0.01, 0.02, -0.01, 0]);
    assert.equal(r.accuracy, 0.75);
    assert.deepEqual(r.confusion, [[1, 0, 0], [0, 1, 0], [1, 0, 1]]);
    assert.ok(Math.abs(r.balancedAccuracy - (1 + 1 + 0.5) / 3) < 1e-12);
    assert.ok(Math.abs(r.macroF1 - (2 / 3 + 1 + 2 / 3) / 3) < 1e-12);
    assert.ok(Math.abs(r.logLoss - -(Math.log(0.7) + Math.log(0.1) + Math.log(0.8) + Math.log(0.6)) / 4) < 1e-12);
    // Predicted LONG on row 0 (return +) and SHORT on rows 1 (+, wrong) and 2 (−, right).
    assert.equal(r.directionalRows, 3);
    assert.ok(Math.abs(r.directionalAccuracy - 2 / 3) < 1e-12);
    const brier = ((0.1 ** 2 + 0.2 ** 2 + 0.3 ** 2) + (0.6 ** 2 + 0.3 ** 2 + 0.9 ** 2) + (0.2 ** 2 + 0.1 ** 2 + 0.1 ** 2) + (0.2 ** 2 + 0.4 ** 2 + 0.2 ** 2)) / 4;
    assert.ok(Math.abs(r.brier - brier) < 1e-12);
  });
});
