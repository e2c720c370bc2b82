import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../main.ts';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [out, err] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'oitrader', ...args]);
    process.exitCode = 0;
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

const manifest = (runId: string, metrics: unknown) =>
  JSON.stringify({
    format: 'oitrader-model-run',
    version: 1,
    runId,
    createdAt: '2026-01-01T00:00:00Z',
    featureSetVersion: 'test',
    features: ['a', 'b'],
    symbol: 'SOLUSDT',
    timeframe: '5m',
    dataSpan: { from: '2025-12-01', to: '2026-02-28', rows: 1000 },
    labels: { horizon: 48, threshold: 0.005 },
    validation: { folds: 5, mode: 'expanding', trainSize: 400, embargo: 48 },
    seed: 0,
    codeVersion: 'test',
    metrics,
  });

/** Three runs: a readable manifest whose ensemble.json is cut off, a truncated manifest, and `metrics: null`. */
function modelsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'oitrader-models-'));
  const put = (run: string, files: Record<string, string>) => {
    mkdirSync(join(dir, run), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, run, name), text);
  };
  put('20260101-good-manifest', { 'manifest.json': manifest('20260101-good-manifest', { ensemble: { accuracy: 0.41, logLoss: 1.05 } }), 'ensemble.json': '{"format":"oitrader-stack' });
  put('20260102-truncated', { 'manifest.json': manifest('20260102-truncated', {}).slice(0, 80), 'ensemble.json': '{}' });
  put('20260103-null-metrics', { 'manifest.json': manifest('20260103-null-metrics', null), 'ensemble.json': '{}' });
  return dir;
}

describe('reliability: models list/show/promote on broken runs (issue 18 item 11)', () => {
  it('list shows every run and marks the broken ones instead of crashing', async () => {
    const dir = modelsDir();
    const { code, stdout, stderr } = await run(['models', 'list', '--dir', dir]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /20260101-good-manifest .*SOLUSDT 5m 1000 rows {2}ensemble acc 0\.410/, 'the readable run must still be listed');
    assert.match(stdout, /20260102-truncated +BROKEN: .*cannot read/);
    assert.match(stdout, /20260103-null-metrics +BROKEN: .*lacks valid metrics/);
  });

  it('show on a truncated manifest is a one-line error, not a stack trace', async () => {
    const { code, stderr } = await run(['models', 'show', '20260102-truncated', '--dir', modelsDir()]);
    assert.equal(code, 1);
    assert.match(stderr, /error: cannot read .*20260102-truncated.*manifest\.json/);
    assert.doesNotMatch(stderr, /unexpected error|\n\s+at /);
  });

  it('promote refuses a run whose ensemble.json is truncated, and leaves the active run unchanged', async () => {
    const dir = modelsDir();
    const { code, stderr } = await run(['models', 'promote', '20260101-good-manifest', '--dir', dir]);
    assert.equal(code, 1, 'a run the bot cannot load must not become the active run');
    assert.match(stderr, /error: cannot read .*ensemble\.json/);
    assert.ok(!existsSync(join(dir, 'ACTIVE')) && !existsSync(join(dir, 'active')), 'no active-run file may be written for a broken run');
  });
});
