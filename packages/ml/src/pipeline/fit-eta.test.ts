import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FitEta } from './fit-eta.ts';
import type { ModelFitJob } from './model-fits.ts';

const gbdt = (name: string, fold: number | 'final'): ModelFitJob => ({ kind: 'gbdt', name, params: {}, fold });
const lstm = (fold: number | 'final'): ModelFitJob => ({ kind: 'lstm', name: 'LSTM', options: {}, fold });
const rows = (job: ModelFitJob) => (job.fold === 'final' ? 4000 : 1000 * (job.fold + 1));

describe('training ETA', () => {
  it('is unknown until the LSTM lane has a rate, then the slower lane decides', () => {
    const jobs = [lstm(0), lstm(1), lstm('final'), gbdt('a', 0), gbdt('a', 1), gbdt('a', 'final'), gbdt('b', 0), gbdt('b', 1), gbdt('b', 'final')];
    const eta = new FitEta(jobs, rows);
    assert.equal(eta.finished(jobs[3], 1), undefined, 'no LSTM fit finished yet');
    // The LSTM: 10 s per 1000 rows; left 2000 + 4000 rows = 60 s. GBDTs at 1 ms a row: a 6000 + b 7000 rows left = 13 s.
    assert.equal(eta.finished(jobs[0], 10), 60);
    // b is twice as slow as a: a 6000 × 1 ms + b 6000 × 2 ms = 18 s left, still below the LSTM lane.
    assert.equal(eta.finished(jobs[6], 2), 60);
    assert.equal(eta.finished(jobs[1], 20), 40, 'the LSTM lane: 4000 rows at 10 ms a row');
  });

  it('without an LSTM, a GBDT policy not yet seen costs the average of those seen', () => {
    const jobs = [gbdt('a', 0), gbdt('a', 'final'), gbdt('b', 0), gbdt('b', 'final')];
    const eta = new FitEta(jobs, rows);
    assert.equal(eta.finished(jobs[0], 2), 8 + 2 + 8);
  });
});
