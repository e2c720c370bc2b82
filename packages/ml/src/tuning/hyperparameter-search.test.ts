import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildFeatureDataset } from '@oitrader/features';
import { realSampleFrame } from '../../../features/src/testing/frames.ts';
import { matrixFromColumns } from '../gbdt/matrix.ts';
import { walkForwardFolds } from '../validation/walk-forward.ts';
import { hyperparameterSearch, type SearchOptions, type TrialRecord } from './hyperparameter-search.ts';

const d = buildFeatureDataset(realSampleFrame());
const data = { x: matrixFromColumns(d.table.columns, d.table.names, d.start, d.end), y: d.labels.slice(d.start, d.end), forwardReturn: d.forwardReturn.slice(d.start, d.end), numClass: 3, horizon: 48 };
const folds = walkForwardFolds(data.x.rows, { folds: 2, mode: 'expanding', trainSize: 250, horizon: 48, embargo: 12 });
const options: SearchOptions = { policy: 'depthwise', trials: 6, minTrees: 5, eta: 3, rungs: 2, seed: 11 };
const withoutTime = (records: TrialRecord[]) => records.map(({ seconds: _seconds, ...rest }) => rest);

describe('hyperparameter search', () => {
  it('successive halving: every trial at the first rung, the best third at the next with 3x the trees', () => {
    const result = hyperparameterSearch(data, folds, options);
    const rung0 = result.records.filter((r) => r.rung === 0);
    const rung1 = result.records.filter((r) => r.rung === 1);
    assert.equal(rung0.length, 6);
    assert.equal(rung1.length, 2);
    assert.ok(rung1.every((r) => r.trees === 15));
    const bestTwo = [...rung0].sort((a, b) => a.logLoss - b.logLoss).slice(0, 2).map((r) => r.trial).sort();
    assert.deepEqual(rung1.map((r) => r.trial).sort(), bestTwo, 'the survivors are the best by out-of-sample log-loss');
    assert.equal(result.best.rung, 1);
    assert.equal(result.best.logLoss, Math.min(...rung1.map((r) => r.logLoss)));
  });

  it('is seeded: the same settings give the same trials and scores', () => {
    assert.deepEqual(withoutTime(hyperparameterSearch(data, folds, options).records), withoutTime(hyperparameterSearch(data, folds, options).records));
  });

  it('logs every evaluation and resumes an interrupted search without redoing logged work', () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'oitrader-search-')), 'trials.jsonl');
    const full = hyperparameterSearch(data, folds, { ...options, logFile });
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    assert.equal(lines.length, 8, 'one line per evaluation');
    // Simulate a crash after three evaluations, mid-way through writing the fourth line.
    writeFileSync(logFile, `${lines.slice(0, 3).join('\n')}\n${lines[3].slice(0, 20)}`);
    const resumed = hyperparameterSearch(data, folds, { ...options, logFile });
    assert.equal(resumed.resumed, 3);
    assert.deepEqual(withoutTime(resumed.records), withoutTime(full.records));
    assert.deepEqual(resumed.best.params, full.best.params);
    const again = hyperparameterSearch(data, folds, { ...options, logFile });
    assert.equal(again.resumed, 8, 'after resuming, every evaluation is in the log and readable');
  });
});
