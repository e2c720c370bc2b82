import { combinations, OitraderError } from '@oitrader/core';

export interface PboResult {
  /** Probability of backtest overfitting: the share of in-sample/out-of-sample splits where the in-sample best ranks below the out-of-sample median. */
  pbo: number;
  /** Splits evaluated: C(S, S/2). */
  splits: number;
  /** The logit of the in-sample winner's out-of-sample relative rank, per split (≤ 0: it did no better than the median). */
  logits: number[];
  /** Configurations compared. */
  configurations: number;
}

/** Mean over standard deviation of rows `rows` of column `c` (0 when flat). */
function sharpeOf(returns: readonly Float64Array[], rows: readonly number[], c: number): number {
  let sum = 0;
  let sq = 0;
  for (const r of rows) {
    const x = returns[r][c];
    sum += x;
    sq += x * x;
  }
  const n = rows.length;
  const mean = sum / n;
  const sd = Math.sqrt(Math.max(0, sq / n - mean * mean));
  return sd > 0 ? mean / sd : 0;
}

/**
 * Combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado
 * and Zhu, "The probability of backtest overfitting", 2015). `returns[t][c]` is
 * configuration c's return in period t (aligned periods, e.g. UTC days). The
 * periods are cut into `blocks` (even) contiguous blocks; for every choice of
 * half of them as in-sample, the configuration with the best in-sample Sharpe
 * is ranked out of sample. PBO is the share of splits where it lands at or
 * below the out-of-sample median: near 0 when the selection finds something
 * that persists, about 0.5 or more when it picks noise.
 */
export function probabilityOfBacktestOverfitting(returns: readonly Float64Array[], blocks = 8): PboResult {
  const periods = returns.length;
  const configurations = returns[0]?.length ?? 0;
  if (blocks < 2 || blocks % 2 !== 0) throw new OitraderError(`PBO needs an even number of blocks ≥ 2, got ${blocks}`, { exitCode: 2 });
  if (configurations < 2) throw new OitraderError(`PBO compares configurations: got ${configurations}`, { hint: 'declare at least two configurations in the research grid', exitCode: 2 });
  if (periods < blocks * 2) throw new OitraderError(`PBO over ${blocks} blocks needs at least ${blocks * 2} periods, got ${periods}`, { hint: 'use more data or fewer blocks', exitCode: 2 });
  const size = Math.floor(periods / blocks);
  const blockRows = Array.from({ length: blocks }, (_, b) => Array.from({ length: b === blocks - 1 ? periods - b * size : size }, (_, i) => b * size + i));
  const logits: number[] = [];
  for (const chosen of combinations(blocks, blocks / 2)) {
    const inSample = chosen.flatMap((b) => blockRows[b]);
    const outOfSample = blockRows.filter((_, b) => !chosen.includes(b)).flat();
    let best = 0;
    let bestSharpe = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < configurations; c++) {
      const s = sharpeOf(returns, inSample, c);
      if (s > bestSharpe) [best, bestSharpe] = [c, s];
    }
    const oos = Array.from({ length: configurations }, (_, c) => sharpeOf(returns, outOfSample, c));
    // Relative rank in (0, 1): ties share their average rank.
    const below = oos.filter((s) => s < oos[best]).length;
    const equal = oos.filter((s) => s === oos[best]).length;
    const omega = (below + (equal + 1) / 2) / (configurations + 1);
    logits.push(Math.log(omega / (1 - omega)));
  }
  return { pbo: logits.filter((l) => l <= 0).length / logits.length, splits: logits.length, logits, configurations };
}
