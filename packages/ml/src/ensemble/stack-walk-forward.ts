import type { Matrix } from '../gbdt/matrix.ts';
import { balancedWeights, barOf, type EvalData } from '../evaluation/walk-forward-eval.ts';
import { LogisticRegression } from '../linear/logistic-regression.ts';

/**
 * Meta-model regularisation. Measured on the real SOLUSDT sample's out-of-fold
 * rows (docs/phase-3-training.md): with L2 = 0.01 the stack overfitted the
 * earlier folds and lost to every member; L2 = 1–10 with balanced class
 * weights beat every member and the uniform forecast on both later folds.
 * Unweighted meta-models did worse: the class mix shifts between folds (the
 * training folds' prior scored worse than uniform), and balancing keeps the
 * stack from betting on the old mix. Its probabilities are therefore pulled
 * towards 1/3; the stack's calibration (fitted after it) maps them back.
 */
export const META_L2 = 10;

/** Meta-model input: each member's class probabilities, as logs (the meta-model is linear in them). */
export function metaFeatures(probas: Float64Array[], rows: number, k: number): Matrix {
  const cols = probas.length * k;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let m = 0; m < probas.length; m++) for (let c = 0; c < k; c++) data[r * cols + m * k + c] = Math.log(Math.max(probas[m][r * k + c], 1e-6));
  return { data, rows, cols };
}

/** The members' out-of-fold probabilities at `rows`, as meta-model input. */
export function metaInput(data: EvalData, memberOutOfFold: Float64Array[], rows: ArrayLike<number>): Matrix {
  const k = data.numClass;
  const picked = memberOutOfFold.map((oof) => {
    const out = new Float64Array(rows.length * k);
    for (let i = 0; i < rows.length; i++) out.set(oof.subarray(rows[i] * k, (rows[i] + 1) * k), i * k);
    return out;
  });
  return metaFeatures(picked, rows.length, k);
}

/** A meta-model on the members' out-of-fold probabilities at `rows` (balanced class weights, L2 = META_L2). */
export function fitMeta(data: EvalData, memberOutOfFold: Float64Array[], rows: ArrayLike<number>): LogisticRegression {
  const y = Float64Array.from(rows, (t) => data.y[t]);
  return new LogisticRegression({ l2: META_L2 }).fit(metaInput(data, memberOutOfFold, rows), y, balancedWeights(y, data.numClass));
}

/**
 * The stack's out-of-sample probabilities over time-ordered blocks of
 * out-of-fold rows: each block after the first is predicted by a meta-model
 * trained on the earlier blocks' rows whose labels ended before the block's
 * first bar (purged). Rows × classes over the dataset, NaN outside blocks 2+.
 */
export function stackOutOfSample(data: EvalData, memberOutOfFold: Float64Array[], blocks: number[][]): Float64Array {
  const k = data.numClass;
  const out = new Float64Array(data.x.rows * k).fill(Number.NaN);
  for (let j = 1; j < blocks.length; j++) {
    if (blocks[j].length === 0) continue;
    const opens = barOf(data, blocks[j][0]);
    const train = blocks.slice(0, j).flat().filter((t) => barOf(data, t) + data.horizon < opens);
    if (train.length === 0) continue;
    const proba = fitMeta(data, memberOutOfFold, train).predictProba(metaInput(data, memberOutOfFold, blocks[j]));
    blocks[j].forEach((t, i) => out.set(proba.subarray(i * k, (i + 1) * k), t * k));
  }
  return out;
}

/** The first block cut in two halves (by position, i.e. time), so a sample of one block still has an earlier part to train a meta-model. */
export function splitFirstBlock(blocks: number[][]): number[][] {
  if (blocks.length === 0) return blocks;
  const half = Math.floor(blocks[0].length / 2);
  return [blocks[0].slice(0, half), blocks[0].slice(half), ...blocks.slice(1)];
}
