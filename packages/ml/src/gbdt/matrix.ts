import { OitraderError } from '@oitrader/core';

/** Row-major float32 features: `data[row * cols + col]`; NaN = missing. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

export function matrix(data: Float32Array | Float64Array | number[], rows: number, cols: number): Matrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) throw new OitraderError(`matrix shape must be positive whole numbers, got ${rows} × ${cols}`);
  if (data.length !== rows * cols) throw new OitraderError(`matrix data has ${data.length} values, shape ${rows} × ${cols} needs ${rows * cols}`);
  return { data: data instanceof Float32Array ? data : Float32Array.from(data), rows, cols };
}

/** Builds a matrix from named columns (a feature table), in the given order. */
export function matrixFromColumns(columns: Record<string, ArrayLike<number>>, names: string[], rowStart = 0, rowEnd?: number): Matrix {
  const end = rowEnd ?? columns[names[0]].length;
  const rows = end - rowStart;
  const data = new Float32Array(rows * names.length);
  names.forEach((name, c) => {
    const column = columns[name];
    if (column === undefined) throw new OitraderError(`no column "${name}"`);
    for (let r = 0; r < rows; r++) data[r * names.length + c] = column[rowStart + r];
  });
  return { data, rows, cols: names.length };
}

/** Seeded PRNG (mulberry32): the same seed gives the same model. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
