import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FEATURE_SET_VERSION } from '@oitrader/features';
import { GradientBoostedTrees, LogisticRegression, saveRun, StackedEnsemble, type RunManifest } from '@oitrader/ml';
import { promoteRun } from '@oitrader/live';
import { main } from '../main.ts';

/** A tiny but complete model run (promote loads it as the bot would, so a fake manifest is not enough). */
function saveTinyRun(models: string, runId: string): void {
  const rows = 60;
  const x = { data: Float32Array.from({ length: rows * 2 }, (_, i) => (i * 7919) % 13), rows, cols: 2 };
  const y = Float64Array.from({ length: rows }, (_, i) => i % 3);
  const gbdt = new GradientBoostedTrees({ objective: 'multiclass', nEstimators: 2, maxDepth: 2 }).fit(x, y);
  const proba = gbdt.predictProba(x);
  const meta = new LogisticRegression().fit({ data: Float32Array.from(proba, (p) => Math.log(Math.max(p, 1e-6))), rows, cols: 3 }, y);
  const manifest: RunManifest = {
    format: 'oitrader-model-run', version: 1, runId, createdAt: '2026-12-01T00:00:00Z', featureSetVersion: FEATURE_SET_VERSION, features: ['f1', 'f2'],
    symbol: 'SOLUSDT', timeframe: '5m', dataSpan: { from: '2025-12-01T00:00:00Z', to: '2025-12-02T00:00:00Z', rows }, labels: { horizon: 48, threshold: 0.005 },
    validation: { folds: 3, mode: 'expanding', trainSize: 30, embargo: 12 }, seed: 0, codeVersion: 'test', metrics: {},
  };
  saveRun(models, manifest, new StackedEnsemble(3, ['tiny'], [gbdt], meta));
}

function setup(): { models: string; config: string } {
  const root = mkdtempSync(join(tmpdir(), 'oitrader-rollback-'));
  const models = join(root, 'models');
  mkdirSync(models, { recursive: true });
  for (const id of ['r1', 'r2']) saveTinyRun(models, id);
  const config = join(root, 'config.yaml');
  writeFileSync(config, `models:\n  dir: ${models}\n`);
  return { models, config };
}

describe('oitrader models rollback', () => {
  it('puts the previous champion back after two promotions, and refuses to roll back past the first', async () => {
    const { models, config } = setup();
    const run = (...args: string[]) => main(['node', 'oitrader', '--config', config, '--quiet', 'models', ...args]);
    // r1 by `models promote` (which loads the run as the bot would), r2 as the retrain promotes.
    assert.equal(await run('promote', 'r1', '--force'), 0);
    promoteRun(models, 'r2', 'test');
    assert.equal(await run('rollback'), 0);
    assert.equal(readFileSync(join(models, 'ACTIVE'), 'utf8').trim(), 'r1', 'rollback must make the earlier champion active');
    assert.equal(await run('rollback'), 2, 'rolling back past the first champion is a usage error');
    assert.equal(readFileSync(join(models, 'ACTIVE'), 'utf8').trim(), 'r1', 'a refused rollback changed the champion');
    process.exitCode = 0;
  });

  it('with no champion at all says there is nothing to roll back (exit 2)', async () => {
    const { config } = setup();
    assert.equal(await main(['node', 'oitrader', '--config', config, '--quiet', 'models', 'rollback']), 2);
    process.exitCode = 0;
  });
});

describe('oitrader dashboard', () => {
  it('rejects a port that is not a port with a usage error', async () => {
    const { config } = setup();
    assert.equal(await main(['node', 'oitrader', '--config', config, '--quiet', 'dashboard', '--port', 'eighty']), 2);
    process.exitCode = 0;
  });
});
