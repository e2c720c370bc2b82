import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const WRITE_QUEUE = fileURLToPath(new URL('./write-queue.ts', import.meta.url));
const COLLECTOR = fileURLToPath(new URL('./collector.ts', import.meta.url));

/** Runs a script in a fresh node process and reports whether it exited by itself before `limitMs`. */
function runScript(code: string, limitMs: number): Promise<{ exited: boolean; code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ exited: false, code: null, output });
    }, limitMs);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ exited: true, code: exitCode, output });
    });
  });
}

describe('reliability: shutdown has a deadline (issue 18 items 7, 8)', () => {
  it('a write queue whose database is gone stops retrying on close, reports what it could not write, and lets the process exit', async () => {
    const script = `
      import { WriteQueue } from ${JSON.stringify(WRITE_QUEUE)};
      const quiet = { debug() {}, info() {}, warn() {}, error() {} };
      const queue = new WriteQueue({}, { retryBaseMs: 50, retryMaxMs: 10000, log: quiet });
      queue.push({ rows: 3, label: 'candles', run: async () => { throw new Error('Cannot use a pool after calling end on the pool'); } });
      await queue.flush(300);
      console.log('unwritten', queue.close());
    `;
    const run = await runScript(script, 90_000);
    assert.ok(run.exited, 'the process never exited: the queue re-arms its retry against a closed pool forever');
    assert.match(run.output, /unwritten 1/, `close() must report the job it could not write: ${run.output}`);
  });

  it('the collector stops within seconds when the exchange is unreachable, reporting its unflushed writes', async () => {
    // Port 9 on 127.0.0.1 (discard) is closed here: every REST call fails and retries with backoff.
    const script = `
      import { Collector } from ${JSON.stringify(COLLECTOR)};
      const quiet = { debug() {}, info() {}, warn() {}, error() {} };
      const sql = { engine: 'pglite', query: async () => { throw new Error('database down'); }, exec: async () => {}, transaction: async (w) => w(sql), close: async () => {} };
      const collector = new Collector({ sql, restUrl: 'http://127.0.0.1:9', wsUrl: 'ws://127.0.0.1:9', symbols: ['SOLUSDT'], timeframes: ['5m'], oiPeriods: ['5m'], startMs: Date.UTC(2024, 0, 1), log: quiet });
      void collector.start().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
      const begun = Date.now();
      const result = await collector.stop(1000);
      console.log('stopped after', Date.now() - begun, 'ms; unflushed', result.unflushedJobs);
    `;
    const run = await runScript(script, 30_000);
    assert.ok(run.exited, `the collector process did not exit within 30 s of starting (it took 12-49 s before its REST back-off and requests ended on stop): ${run.output}`);
    const took = Number(/stopped after (\d+) ms/.exec(run.output)?.[1]);
    assert.ok(took < 15_000, `stop() took ${took} ms; it must finish within a few seconds: ${run.output}`);
    assert.match(run.output, /unflushed [1-9]/, 'writes that never reached the database must be reported');
  });
});
