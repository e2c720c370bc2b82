import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { buildFeatureDataset, FEATURES_FILE, MANIFEST_FILE, readFeatureDataset, writeFeatureDataset } from '@oitrader/features';
import { bullmqFitRunner, bullmqTrialRunner, evalDataOf, FIT_QUEUE, hyperparameterSearch, leadingRows, searchWithRunner, trainModelRun, TRIAL_QUEUE, walkForwardFolds, type SearchOptions, type TrainRunOptions, type TrialDatasetRef, type TrialRecord } from '@oitrader/ml';
import { realSampleFrame } from '../../../features/src/testing/frames.ts';
import { redisSkipReason, TEST_REDIS_URL } from '../testing/redis.ts';

const BIN = fileURLToPath(new URL('../../bin/oitrader.mjs', import.meta.url));
const REDIS_URL = TEST_REDIS_URL;
const skip = await redisSkipReason();

describe('oitrader worker usage', () => {
  it('without queue.redis_url it exits 2 saying which setting to make, instead of waiting forever', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-worker-usage-'));
    writeFileSync(join(dir, 'config.yaml'), '{}\n');
    const run = spawnSync(process.execPath, [BIN, '--config', join(dir, 'config.yaml'), 'worker'], { env: { ...process.env, REDIS_URL: '', DATABASE_URL: '' }, encoding: 'utf8' });
    assert.equal(run.status, 2, `a usage error must exit 2: ${run.stderr}`);
    assert.match(run.stderr, /queue\.redis_url is empty/);
    assert.match(run.stderr, /fix: set REDIS_URL=redis:\/\/host:6379/);
  });
});

const withoutTime = (records: TrialRecord[]) => records.map(({ seconds: _seconds, ...rest }) => rest);
const LOCK_SECONDS = 4;

describe('search trials fanned out over BullMQ workers on the real Redis', { skip }, () => {
  const prefix = `oitrader-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const connection = { redisUrl: REDIS_URL, prefix };
  const root = mkdtempSync(join(tmpdir(), 'oitrader-worker-'));
  const dataset: TrialDatasetRef = {
    parquetPath: join(root, 'features', FEATURES_FILE),
    manifestPath: join(root, 'features', MANIFEST_FILE),
    rows: 0,
    folds: { folds: 2, mode: 'expanding', trainSize: 250, horizon: 48, embargo: 12 },
  };
  const config = join(root, 'config.yaml');
  const options: SearchOptions = { policy: 'depthwise', trials: 4, minTrees: 4, eta: 2, rungs: 2, seed: 3 };
  const workers: ChildProcess[] = [];
  let inProcess: ReturnType<typeof hyperparameterSearch>;

  function startWorker() {
    const child = spawn(process.execPath, [BIN, '--config', config, 'worker'], { env: { ...process.env, REDIS_URL: '', DATABASE_URL: '' } });
    workers.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const waitFor = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => (stdout.includes(text) ? resolve() : child.exitCode !== null ? reject(new Error(`worker exited before "${text}": ${stderr}`)) : setTimeout(check, 50));
        check();
      });
    return { child, waitFor, output: () => stdout };
  }

  before(async () => {
    const built = buildFeatureDataset(realSampleFrame());
    writeFeatureDataset(built, dataset.parquetPath, dataset.manifestPath);
    const loaded = await readFeatureDataset(dataset.parquetPath, dataset.manifestPath);
    dataset.rows = loaded.time.length;
    writeFileSync(config, `queue:\n  redis_url: ${REDIS_URL}\n  prefix: ${prefix}\n  lock_seconds: ${LOCK_SECONDS}\n`);
    const data = leadingRows(evalDataOf(loaded), dataset.rows);
    inProcess = hyperparameterSearch(data, walkForwardFolds(dataset.rows, dataset.folds), options);
  });

  after(async () => {
    for (const child of workers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(workers.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)));
    for (const name of [TRIAL_QUEUE, FIT_QUEUE]) {
      const queue = new Queue(name, { connection: { url: REDIS_URL }, prefix });
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('two worker processes give the same records and the same best trial as the in-process search', async () => {
    const a = startWorker();
    const b = startWorker();
    await Promise.all([a.waitFor('waiting for jobs'), b.waitFor('waiting for jobs')]);
    const runner = bullmqTrialRunner(connection, dataset);
    try {
      const fanned = await searchWithRunner(leadingRows(evalDataOf(await readFeatureDataset(dataset.parquetPath, dataset.manifestPath)), dataset.rows), [], options, runner);
      assert.deepEqual(withoutTime(fanned.records), withoutTime(inProcess.records), 'the workers scored different trials or different log-losses than the in-process search');
      assert.deepEqual(fanned.best, { ...inProcess.best, seconds: fanned.best.seconds }, 'the workers chose different parameters than the in-process search');
      assert.equal(fanned.records.length, 6, 'four trials at rung 0, the best two at rung 1');
    } finally {
      await runner.close();
    }
    for (const w of [a, b]) w.child.kill('SIGTERM');
  });

  it('a worker SIGKILLed mid-job: its job is retried by the other worker and the search result is unchanged', async () => {
    // A fresh search id (other seed) so the first test's finished jobs are not reused.
    const killOptions = { ...options, seed: 4 };
    const loaded = await readFeatureDataset(dataset.parquetPath, dataset.manifestPath);
    const data = leadingRows(evalDataOf(loaded), dataset.rows);
    const expected = hyperparameterSearch(data, walkForwardFolds(dataset.rows, dataset.folds), killOptions);
    const events = new QueueEvents(TRIAL_QUEUE, { connection: { url: REDIS_URL }, prefix });
    const stalled: string[] = [];
    events.on('stalled', ({ jobId }) => stalled.push(jobId));
    await events.waitUntilReady();
    const doomed = startWorker();
    await doomed.waitFor('waiting for jobs');
    const runner = bullmqTrialRunner(connection, dataset);
    try {
      const search = searchWithRunner(data, [], killOptions, runner);
      // The first job makes the worker load the features file: it holds that job's lock now.
      await doomed.waitFor('loading');
      doomed.child.kill('SIGKILL');
      const survivor = startWorker();
      const result = await search;
      assert.ok(stalled.length >= 1, 'the killed worker\'s job was never detected as stalled: it was not retried, or the worker was not mid-job');
      assert.deepEqual(withoutTime(result.records), withoutTime(expected.records), 'the retried job changed the search records');
      assert.deepEqual(result.best.params, expected.best.params, 'the retried job changed the best parameters');
      assert.match(survivor.output(), /trial \d+ depthwise rung 0/, 'the surviving worker ran the jobs');
      survivor.child.kill('SIGTERM');
    } finally {
      await runner.close();
      await events.close();
    }
  });

  it('a training run whose fits (every fold, the LSTM, the final models) go to two workers saves the same ensemble and metrics as in-process', async () => {
    const a = startWorker();
    const b = startWorker();
    await Promise.all([a.waitFor('waiting for jobs'), b.waitFor('waiting for jobs')]);
    const loaded = await readFeatureDataset(dataset.parquetPath, dataset.manifestPath);
    const options: TrainRunOptions = { modelsDir: join(root, 'models'), folds: 2, trainShare: 0.5, embargo: 12, seed: 2, trees: 8, lstm: { epochs: 1, lookback: 8, units: 8, topFeatures: 6 } };
    const local = await trainModelRun(loaded, { ...options, runId: 'in-process' });
    const fanned = await trainModelRun(loaded, { ...options, runId: 'on-workers', fitRunner: (scope) => bullmqFitRunner(connection, { ...dataset, ...scope }) });
    for (const w of [a, b]) w.child.kill('SIGTERM');
    const saved = (dir: string) => JSON.parse(readFileSync(join(dir, 'ensemble.json'), 'utf8')) as Record<string, unknown>;
    const [onWorkers, here] = [saved(fanned.dir), saved(local.dir)];
    for (const key of Object.keys(here)) assert.deepEqual(onWorkers[key], here[key], `the workers trained a different ensemble: ${key} differs`);
    assert.deepEqual(fanned.manifest.metrics, local.manifest.metrics, 'the workers gave different out-of-sample metrics');
    assert.deepEqual(fanned.stability, local.stability);
    const ran = a.output() + b.output();
    assert.match(ran, /fit LSTM fold 1/, 'the LSTM folds ran on the workers');
    assert.match(ran, /fit xgboost-style \(depth-wise\) final model/, 'the final models ran on the workers');
    assert.ok(a.output().includes('fit ') && b.output().includes('fit '), 'both workers took fits');
  });

  it('a trial that fails on every try stops the search with the worker\'s reason instead of hanging', async () => {
    const worker = startWorker();
    await worker.waitFor('waiting for jobs');
    const dir = mkdtempSync(join(root, 'vanishing-'));
    const ref: TrialDatasetRef = { ...dataset, parquetPath: join(dir, FEATURES_FILE), manifestPath: join(dir, MANIFEST_FILE) };
    copyFileSync(dataset.parquetPath, ref.parquetPath);
    copyFileSync(dataset.manifestPath, ref.manifestPath);
    const runner = bullmqTrialRunner(connection, ref, { attempts: 2 });
    // The features file disappears from the shared disk after train queued against it.
    rmSync(ref.manifestPath);
    try {
      const data = leadingRows(evalDataOf(await readFeatureDataset(dataset.parquetPath, dataset.manifestPath)), dataset.rows);
      await assert.rejects(searchWithRunner(data, [], { ...options, seed: 6 }, runner), /failed on a worker after 2 tries: cannot read the features file/, 'the search must fail with the worker\'s reason');
    } finally {
      await runner.close();
      worker.child.kill('SIGTERM');
    }
  });
});
