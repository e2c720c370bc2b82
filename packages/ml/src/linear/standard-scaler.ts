import type { Matrix } from '../gbdt/matrix.ts';

/**
 * Per-column standardisation fitted on training rows only (never on data the
 * model is evaluated on). NaN is ignored when fitting and becomes 0 — the
 * training mean — when transforming.
 */
export class StandardScaler {
  mean: Float64Array = new Float64Array(0);
  scale: Float64Array = new Float64Array(0);

  fit(x: Matrix): this {
    this.mean = new Float64Array(x.cols);
    this.scale = new Float64Array(x.cols);
    const count = new Float64Array(x.cols);
    for (let r = 0; r < x.rows; r++) {
      for (let c = 0; c < x.cols; c++) {
        const v = x.data[r * x.cols + c];
        if (Number.isNaN(v)) continue;
        this.mean[c] += v;
        count[c]++;
      }
    }
    for (let c = 0; c < x.cols; c++) this.mean[c] = count[c] > 0 ? this.mean[c] / count[c] : 0;
    for (let r = 0; r < x.rows; r++) {
      for (let c = 0; c < x.cols; c++) {
        const v = x.data[r * x.cols + c];
        if (!Number.isNaN(v)) this.scale[c] += (v - this.mean[c]) ** 2;
      }
    }
    for (let c = 0; c < x.cols; c++) {
      const sd = count[c] > 1 ? Math.sqrt(this.scale[c] / (count[c] - 1)) : 0;
      this.scale[c] = sd > 0 ? sd : 1;
    }
    return this;
  }

  /** Standardised copy as float64 rows. */
  transform(x: Matrix): Float64Array {
    const out = new Float64Array(x.rows * x.cols);
    for (let r = 0; r < x.rows; r++) {
      for (let c = 0; c < x.cols; c++) {
        const v = x.data[r * x.cols + c];
        out[r * x.cols + c] = Number.isNaN(v) ? 0 : (v - this.mean[c]) / this.scale[c];
      }
    }
    return out;
  }
}
