/** What the ensemble answers: the stacked meta-model, one member (index into the members), or the training prior. */
export type EnsembleUse = 'meta' | number | 'prior';

export interface EnsembleChoice {
  use: EnsembleUse;
  /** Plain words for the summary and the report. */
  reason: string;
  /** Whether the answer beat the training prior out of fold; `unverified` when no out-of-fold estimate exists. */
  versusPrior: 'beats the prior' | 'below the prior' | 'unverified';
}

const f4 = (x: number) => x.toFixed(4);

/**
 * The ensemble must earn its place: on the same out-of-fold rows, the
 * calibrated stack is used only when it beats the training prior and every
 * calibrated member; otherwise the best member that beats the prior answers;
 * when nothing beats the prior, the prior does (a model without an edge
 * should not pretend to have one). Log-losses are NaN where no estimate exists.
 */
export function chooseEnsemble(stackLogLoss: number, members: Array<{ name: string; logLoss: number }>, priorLogLoss: number): EnsembleChoice {
  const scored = members.map((m, i) => ({ ...m, i })).filter((m) => Number.isFinite(m.logLoss));
  if (!Number.isFinite(priorLogLoss) || (scored.length === 0 && !Number.isFinite(stackLogLoss))) {
    return { use: 'meta', reason: 'no out-of-fold estimate (one fold only): the run cannot tell whether the stack beats the training prior', versusPrior: 'unverified' };
  }
  const best = scored.reduce<(typeof scored)[number] | undefined>((a, m) => (a === undefined || m.logLoss < a.logLoss ? m : a), undefined);
  const bestText = best ? `best member ${best.name} ${f4(best.logLoss)}` : 'no member estimate';
  if (Number.isFinite(stackLogLoss) && stackLogLoss < priorLogLoss && (!best || stackLogLoss <= best.logLoss)) {
    return { use: 'meta', reason: `the calibrated stack's out-of-fold log-loss ${f4(stackLogLoss)} beats the training prior's ${f4(priorLogLoss)} and every member (${bestText})`, versusPrior: 'beats the prior' };
  }
  const stackText = Number.isFinite(stackLogLoss)
    ? `the calibrated stack's out-of-fold log-loss ${f4(stackLogLoss)} ${stackLogLoss >= priorLogLoss ? `is NOT below the training prior's ${f4(priorLogLoss)}` : `is worse than its ${bestText}`}`
    : 'the stack has no calibrated out-of-fold estimate';
  if (best && best.logLoss < priorLogLoss) {
    return { use: best.i, reason: `${stackText}: the ensemble falls back to its best member, ${best.name} (${f4(best.logLoss)}, below the prior's ${f4(priorLogLoss)})`, versusPrior: 'beats the prior' };
  }
  return {
    use: 'prior',
    reason: `NO model beats the training prior out of fold (log-loss: prior ${f4(priorLogLoss)}, calibrated stack ${Number.isFinite(stackLogLoss) ? f4(stackLogLoss) : '—'}, ${bestText}): the ensemble falls back to the training prior — it has no probabilistic edge`,
    versusPrior: 'below the prior',
  };
}
