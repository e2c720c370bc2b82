import { OitraderError } from '@oitrader/core';

/** Row ranges [start, end) over a time-ordered dataset. */
export type Range = readonly [number, number];

export interface Fold {
  index: number;
  /** Training rows, time-ordered; already purged and embargoed. */
  train: Uint32Array;
  test: Range;
  /** Rows dropped because their label window reaches into the test window. */
  purged: Range;
  /** Rows dropped right after earlier test windows. */
  embargoed: number;
}

export interface WalkForwardOptions {
  folds: number;
  /** `expanding`: train on everything before the test window; `rolling`: only the last `trainSize` rows. */
  mode: 'expanding' | 'rolling';
  /** Rows per test window (default: what `folds` windows after the first training block allow). */
  testSize?: number;
  /** Rows in the first training block (expanding) or in every training block (rolling). */
  trainSize: number;
  /** Label horizon in rows: a label at row t uses rows up to t + horizon. */
  horizon: number;
  /** Rows skipped after each test window before they may train a later fold. */
  embargo: number;
}

/**
 * Walk-forward folds with purging and embargo (López de Prado, AFML ch. 7):
 * the test windows tile the data after the first training block; each fold
 * trains only on rows before its test window, minus the last `horizon` rows
 * (their labels overlap the test window — purging) and minus `embargo` rows
 * after every earlier test window.
 */
export function walkForwardFolds(rows: number, options: WalkForwardOptions): Fold[] {
  const { folds, trainSize, horizon, embargo } = options;
  if (!(folds >= 1) || !(trainSize > horizon) || horizon < 0 || embargo < 0) throw new OitraderError('walk-forward needs folds >= 1, trainSize > horizon >= 0 and embargo >= 0');
  const testSize = options.testSize ?? Math.floor((rows - trainSize) / folds);
  if (testSize < 1 || trainSize + folds * testSize > rows) {
    throw new OitraderError(`${rows} rows cannot hold a ${trainSize}-row training block and ${folds} test windows of ${testSize}`, { hint: 'use fewer folds or a smaller training block' });
  }
  const out: Fold[] = [];
  for (let k = 0; k < folds; k++) {
    const testStart = trainSize + k * testSize;
    const testEnd = testStart + testSize;
    const purgeStart = Math.max(0, testStart - horizon);
    const from = options.mode === 'rolling' ? Math.max(0, testStart - trainSize) : 0;
    const blocked = new Set<number>();
    for (let j = 0; j < k; j++) {
      const previousEnd = trainSize + (j + 1) * testSize;
      for (let t = previousEnd; t < Math.min(previousEnd + embargo, purgeStart); t++) blocked.add(t);
    }
    const train: number[] = [];
    for (let t = from; t < purgeStart; t++) if (!blocked.has(t)) train.push(t);
    out.push({ index: k, train: Uint32Array.from(train), test: [testStart, testEnd], purged: [purgeStart, testStart], embargoed: blocked.size });
  }
  return out;
}

export interface HoldoutSplit {
  train: Range;
  validation: Range;
  test: Range;
}

/**
 * The guide's time-ordered 60/20/20 split, purged: the last `horizon` rows of
 * train and of validation are dropped because their labels look into the next part.
 */
export function timeOrderedSplit(rows: number, horizon: number, fractions: [number, number, number] = [0.6, 0.2, 0.2]): HoldoutSplit {
  const a = Math.floor(rows * fractions[0]);
  const b = a + Math.floor(rows * fractions[1]);
  if (a - horizon < 1 || b - horizon <= a) throw new OitraderError(`${rows} rows are too few for a purged ${fractions.join('/')} split with a ${horizon}-row label horizon`);
  return { train: [0, a - horizon], validation: [a, b - horizon], test: [b, rows] };
}
