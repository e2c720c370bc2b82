/**
 * Running mean and variance per observation element (Chan et al. parallel
 * update, as SB3's VecNormalize): observations are fed to the networks as
 * (x − mean) / √(var + ε), clipped to ±clip. Frozen (`update = false`) when an
 * agent is evaluated or traded, and saved with it.
 */
export class RunningNorm {
  readonly mean: Float64Array;
  readonly var: Float64Array;
  count: number;

  constructor(readonly size: number, readonly clip = 10, readonly epsilon = 1e-8) {
    this.mean = new Float64Array(size);
    this.var = new Float64Array(size).fill(1);
    this.count = 1e-4;
  }

  /** Folds `batch` rows of `x` into the statistics. */
  update(x: Float32Array, batch: number): void {
    const n = this.size;
    for (let j = 0; j < n; j++) {
      let m = 0;
      for (let b = 0; b < batch; b++) m += x[b * n + j];
      m /= batch;
      let v = 0;
      for (let b = 0; b < batch; b++) v += (x[b * n + j] - m) ** 2;
      v /= batch;
      const delta = m - this.mean[j];
      const total = this.count + batch;
      const newMean = this.mean[j] + (delta * batch) / total;
      const m2 = this.var[j] * this.count + v * batch + (delta * delta * this.count * batch) / total;
      this.mean[j] = newMean;
      this.var[j] = m2 / total;
    }
    this.count += batch;
  }

  /** Normalises `batch` rows of `x` into `out`. */
  apply(x: Float32Array, batch: number, out: Float32Array): Float32Array {
    const n = this.size;
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < n; j++) {
        const z = (x[b * n + j] - this.mean[j]) / Math.sqrt(this.var[j] + this.epsilon);
        out[b * n + j] = z > this.clip ? this.clip : z < -this.clip ? -this.clip : z;
      }
    }
    return out;
  }

  toJSON(): { mean: number[]; var: number[]; count: number; clip: number } {
    return { mean: Array.from(this.mean), var: Array.from(this.var), count: this.count, clip: this.clip };
  }

  static fromJSON(json: { mean: number[]; var: number[]; count: number; clip: number }): RunningNorm {
    const norm = new RunningNorm(json.mean.length, json.clip);
    norm.mean.set(json.mean);
    norm.var.set(json.var);
    norm.count = json.count;
    return norm;
  }
}
