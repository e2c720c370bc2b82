import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { DataError } from '@oitrader/core';
import { realOpenInterestFrame } from '../../../backtest/src/testing/real-sample.ts';
import { redisSkipReason, TEST_REDIS_URL } from '../testing/redis.ts';
import { decodeFrame, encodeFrame, readFrameFile, writeFrameFile } from './research-frame-file.ts';
import { inProcessResearchRunner, queuedResearchRunner, RESEARCH_QUEUE, type ResearchSettings, type ResearchTask } from './research-runners.ts';
import { ResearchStoppedError, type ConfigResult } from './run-research.ts';

const BIN = fileURLToPath(new URL('../../bin/oitrader.mjs', import.meta.url));
const skip = await redisSkipReason();

describe('research frame files (what workers read from the shared disk)', () => {
  it('round-trip a real frame bit for bit, NaN included, and refuse a cut file with a clear error', () => {
    const frame = realOpenInterestFrame('SOLUSDT', 2);
    const back = decodeFrame(encodeFrame(frame), 'f');
    assert.equal(back.symbol, 'SOLUSDT');
    assert.equal(back.timeframe, '5m');
    assert.deepEqual(back.time, frame.time);
    assert.deepEqual(Object.keys(back.columns), Object.keys(frame.columns));
    for (const name of Object.keys(frame.columns)) assert.deepEqual(back.columns[name], frame.columns[name], name);
    assert.ok(Number.isNaN(back.columns.funding_rate[0]) === Number.isNaN(frame.columns.funding_rate[0]));
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-frame-'));
    const { path, digest } = writeFrameFile(dir, frame);
    assert.equal(writeFrameFile(dir, frame).digest, digest, 'the same content, the same name');
    assert.deepEqual(readFrameFile(path).columns.close, frame.columns.close);
    writeFileSync(path, readFileSync(path).subarray(0, 1000));
    assert.throws(() => readFrameFile(path), (e: Error) => e instanceof DataError && /cut short: 1000 bytes/.test(e.message));
  });
});

const withoutTime = (results: ConfigResult[][]) => results.flat().map(({ seconds: _s, ...rest }) => rest);

describe('research configurations fanned out over an `oitrader worker` process on the real Redis', { skip }, () => {
  const prefix = `oitrader-test-research-${process.pid}-${randomBytes(4).toString('hex')}`;
  const connection = { redisUrl: TEST_REDIS_URL, prefix };
  const root = mkdtempSync(join(tmpdir(), 'oitrader-research-queue-'));
  const config = join(root, 'config.yaml');
  const frame = realOpenInterestFrame('SOLUSDT', 20);
  const tasks: ResearchTask[] = (['all', 'no-oi'] as const).map((ablation) => ({ frame, base: { symbol: 'SOLUSDT', timeframe: '5m', horizon: 12, threshold: 0.004, ablation } }));
  const settings: ResearchSettings = { hurdles: [0.0005, 0.002], grid: { cpcv: { groups: 4, test_groups: 1 }, model: { trees: 8, depth: 3, learning_rate: 0.2, seed: 0 } }, execution: { leverage: 3, initialBalanceUsd: 2000, takerFeeRate: 0.0005, halfSpreadBps: 1, closeAtEnd: true } };
  let worker: ChildProcess | undefined;
  let workerOut = '';

  before(async () => {
    writeFileSync(config, `queue:\n  redis_url: ${TEST_REDIS_URL}\n  prefix: ${prefix}\n`);
    worker = spawn(process.execPath, [BIN, '--config', config, 'worker'], { env: { ...process.env, REDIS_URL: '', DATABASE_URL: '' } });
    worker.stdout!.on('data', (d) => (workerOut += d));
    let stderr = '';
    worker.stderr!.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      const check = () => (workerOut.includes('waiting for jobs') ? resolve() : worker!.exitCode !== null ? reject(new Error(`worker exited: ${stderr}`)) : setTimeout(check, 50));
      check();
    });
  });

  after(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise((resolve) => worker!.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    const queue = new Queue(RESEARCH_QUEUE, { connection: { url: TEST_REDIS_URL }, prefix });
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('gives the in-process results in grid order; a rerun reuses the finished jobs; stopping ends the wait with the research error', async () => {
    const local = await inProcessResearchRunner(settings).runAll(tasks, () => undefined);
    const runner = queuedResearchRunner(connection, join(root, 'frames'), settings);
    try {
      const heard: number[] = [];
      const queued = await runner.runAll(tasks, (index) => heard.push(index));
      assert.deepEqual(withoutTime(queued), withoutTime(local), 'the worker scored the configurations differently from this process');
      assert.deepEqual([...heard].sort(), [0, 1]);
      assert.ok(queued[0][0].paths[0].daily instanceof Map && queued[0][0].paths[0].daily.size > 10, 'daily returns come back as a Map (PBO needs them)');
      assert.match(workerOut, /research SOLUSDT 5m h12 all: 2 hurdles/);
      const jobsRun = (workerOut.match(/research SOLUSDT/g) ?? []).length;
      const again = await runner.runAll(tasks, () => undefined);
      assert.deepEqual(withoutTime(again), withoutTime(local));
      assert.equal((workerOut.match(/research SOLUSDT/g) ?? []).length, jobsRun, 'a rerun of the same grid ran nothing again');
      const stop = new AbortController();
      const other = tasks.map((t) => ({ ...t, base: { ...t.base, horizon: 24 } }));
      const waiting = runner.runAll(other, () => undefined, stop.signal);
      stop.abort();
      await assert.rejects(waiting, ResearchStoppedError);
    } finally {
      await runner.close();
    }
  });
});
