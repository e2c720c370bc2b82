import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '@oitrader/core';
import type { SqlExecutor } from '../store/sql-executor.ts';
import { WriteQueue, type WriteJob } from './write-queue.ts';

/** A database that fails while `down` is true. */
function flakyDatabase() {
  const state = { down: false, written: [] as string[] };
  const sql = {} as SqlExecutor;
  const job = (label: string, rows = 1): WriteJob => ({
    rows,
    label,
    run: async () => {
      if (state.down) throw new Error('connection refused');
      state.written.push(label);
    },
  });
  return { state, sql, job };
}

function recordingLog(lines: string[]): Logger {
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

describe('WriteQueue', () => {
  it('holds writes while the database is down and writes them all, in order, when it returns', async () => {
    const db = flakyDatabase();
    const outages: unknown[] = [];
    const lines: string[] = [];
    const queue = new WriteQueue(db.sql, { retryBaseMs: 5, retryMaxMs: 20, log: recordingLog(lines), onRecovered: (o) => outages.push(o) });
    db.state.down = true;
    for (let i = 0; i < 5; i++) queue.push(db.job(`j${i}`));
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(db.state.written, []);
    assert.equal(queue.stats.pendingJobs, 5);
    assert.ok(queue.stats.failures >= 2);
    db.state.down = false;
    assert.equal(await queue.flush(2000), 0);
    assert.deepEqual(db.state.written, ['j0', 'j1', 'j2', 'j3', 'j4']);
    assert.equal(outages.length, 1);
    assert.deepEqual(outages[0], { failures: queue.stats.failures, droppedRows: 0, droppedJobs: 0 });
    assert.equal(lines.filter((l) => l.startsWith('error database write failed')).length, 1, 'one error line per outage, not one per retry');
  });

  it('past its bound it drops the oldest rows, counts and logs them, and reports them on recovery', async () => {
    const db = flakyDatabase();
    const outages: Array<{ droppedRows: number }> = [];
    const lines: string[] = [];
    const queue = new WriteQueue(db.sql, { maxRows: 10, retryBaseMs: 5, retryMaxMs: 10, log: recordingLog(lines), onRecovered: (o) => outages.push(o) });
    db.state.down = true;
    queue.push(db.job('head', 4));
    await new Promise((r) => setTimeout(r, 10));
    queue.push(db.job('a', 4));
    queue.push(db.job('b', 4));
    queue.push(db.job('c', 2));
    assert.equal(queue.stats.droppedRows, 4);
    assert.equal(queue.stats.pendingRows, 10);
    assert.ok(lines.some((l) => l.startsWith('warn write buffer full') && l.includes('"job":"a"')), lines.join('\n'));
    db.state.down = false;
    await queue.flush(2000);
    assert.deepEqual(db.state.written, ['head', 'b', 'c'], 'the in-flight head is kept; the oldest waiting job went');
    assert.equal(outages[0].droppedRows, 4);
  });
});
