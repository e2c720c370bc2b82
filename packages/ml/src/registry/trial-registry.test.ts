import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readTrials, registerTrials, TRIALS_FILE } from './trial-registry.ts';

function runDir(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'oitrader-trials-')), 'run-1');
  mkdirSync(dir);
  return dir;
}

describe('the trial registry of a model run', () => {
  it('counts each trial once, whichever command registers it and however often', async () => {
    const dir = runDir();
    assert.equal(await registerTrials(dir, 'run-1', ['search 1', 'search 2', 'baseline flat'], 'backtest'), 3);
    assert.equal(await registerTrials(dir, 'run-1', ['search 1', 'search 2', 'baseline flat'], 'backtest'), 3, 'running the same backtest again adds nothing');
    assert.equal(await registerTrials(dir, 'run-1', ['baseline flat', 'agent a window 1', 'agent a window 2'], 'rl backtest'), 5, 'rl backtest shares the baselines and adds its agents');
    const t = readTrials(dir, 'run-1');
    assert.deepEqual(t.trials.map((x) => `${x.source}: ${x.key}`), ['backtest: search 1', 'backtest: search 2', 'backtest: baseline flat', 'rl backtest: agent a window 1', 'rl backtest: agent a window 2']);
  });

  it('loses no trial when two commands register at once (file lock)', async () => {
    const dir = runDir();
    const a = Array.from({ length: 30 }, (_, i) => `a ${i}`);
    const b = Array.from({ length: 30 }, (_, i) => `b ${i}`);
    await Promise.all([registerTrials(dir, 'run-1', a, 'one'), registerTrials(dir, 'run-1', b, 'two')]);
    assert.equal(readTrials(dir, 'run-1').trials.length, 60);
  });

  it('refuses a damaged file or another run\'s registry instead of restarting the count', async () => {
    const dir = runDir();
    writeFileSync(join(dir, TRIALS_FILE), '{"format":"oitrader-trials",');
    await assert.rejects(registerTrials(dir, 'run-1', ['x'], 'backtest'), /not valid JSON/);
    writeFileSync(join(dir, TRIALS_FILE), JSON.stringify({ format: 'oitrader-trials', version: 1, runId: 'run-2', trials: [] }));
    await assert.rejects(registerTrials(dir, 'run-1', ['x'], 'backtest'), /not the trial registry of run run-1/);
  });
});
