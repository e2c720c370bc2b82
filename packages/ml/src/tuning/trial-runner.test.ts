import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFeatureDataset } from '@oitrader/features';
import { realSampleFrame } from '../../../features/src/testing/frames.ts';
import { matrixFromColumns } from '../gbdt/matrix.ts';
import { walkForwardFolds } from '../validation/walk-forward.ts';
import { evaluateTrial, hyperparameterSearch, searchWithRunner, type SearchOptions, type TrialJob, type TrialRecord, type TrialRunner } from './hyperparameter-search.ts';

const d = buildFeatureDataset(realSampleFrame());
const data = { x: matrixFromColumns(d.table.columns, d.table.names, d.start, d.end), y: d.labels.slice(d.start, d.end), forwardReturn: d.forwardReturn.slice(d.start, d.end), numClass: 3, horizon: 48 };
const folds = walkForwardFolds(data.x.rows, { folds: 2, mode: 'expanding', trainSize: 250, horizon: 48, embargo: 12 });
const options: SearchOptions = { policy: 'depthwise', trials: 4, minTrees: 4, eta: 2, rungs: 2, seed: 5 };
const withoutTime = (records: TrialRecord[]) => records.map(({ seconds: _seconds, ...rest }) => rest);

describe('trial runner seam', () => {
  it('a runner that finishes jobs in reverse order still gives the in-process search, record for record', async () => {
    const batches: TrialJob[][] = [];
    const reversing: TrialRunner = {
      evaluate: async (jobs, onRecord) => {
        batches.push(jobs);
        const done = [...jobs].reverse().map((job) => evaluateTrial(data, folds, job));
        done.forEach((r) => onRecord?.(r));
        return done.reverse();
      },
    };
    const viaRunner = await searchWithRunner(data, folds, options, reversing);
    const inProcess = hyperparameterSearch(data, folds, options);
    assert.deepEqual(withoutTime(viaRunner.records), withoutTime(inProcess.records), 'the runner changed which trials were scored or their scores');
    assert.deepEqual(viaRunner.best.params, inProcess.best.params, 'the runner changed the chosen parameters');
    assert.deepEqual(batches.map((b) => b.length), [4, 2], 'one batch per rung: every trial, then the best half');
  });

  it('the default runner is in-process and equals the synchronous search', async () => {
    assert.deepEqual(withoutTime((await searchWithRunner(data, folds, options)).records), withoutTime(hyperparameterSearch(data, folds, options).records));
  });

  it('a runner returning the wrong number of records is an error, not a silently shorter search', async () => {
    const short: TrialRunner = { evaluate: async (jobs) => jobs.slice(1).map((job) => evaluateTrial(data, folds, job)) };
    await assert.rejects(searchWithRunner(data, folds, options, short), /returned 3 records for 4 jobs/);
  });
});
