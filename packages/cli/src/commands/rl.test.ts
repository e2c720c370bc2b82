import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FEATURE_SET_VERSION } from '@oitrader/features';
import { writeOutOfFoldPredictions } from '@oitrader/ml';
import { syntheticMarket } from '@oitrader/rl';
import { loadConfig } from '@oitrader/core';
import { createOutput } from '../output.ts';
import { runRlBacktest, runRlTrain, trainingProgress } from './rl.ts';

const root = mkdtempSync(join(tmpdir(), 'oitrader-rl-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('oitrader rl train and rl backtest', () => {
  it('trains walk-forward agents on a model run\'s out-of-fold predictions and reports them out of sample next to the baselines', async () => {
    const { frame, predictions } = syntheticMarket({ bars: 3000, seed: 4, driftPerBar: 0.0006 });
    const models = join(root, 'models');
    const agents = join(root, 'agents');
    const runDir = join(models, 'run-a');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'manifest.json'), JSON.stringify({ format: 'oitrader-model-run', version: 1, runId: 'run-a', symbol: 'SOLUSDT', timeframe: '5m', featureSetVersion: FEATURE_SET_VERSION, labels: { horizon: 48, threshold: 0.005 }, metrics: {} }));
    writeOutOfFoldPredictions(runDir, [predictions]);
    const { config } = loadConfig({ file: undefined });
    const out = createOutput({ quiet: true });
    const { runId } = await runRlTrain(out, frame, { modelsDir: models, agentsDir: agents, modelRunId: 'run-a', algorithm: 'a2c', windows: 3, timestepsPerWindow: 500, nEnvs: 2, seed: 1, runId: 'agent-a', trading: config.trading, episodeBars: 256 });
    assert.equal(runId, 'agent-a');
    const reports = join(root, 'reports');
    const result = await runRlBacktest(out, frame, { agentsDir: agents, modelsDir: models, agentId: 'agent-a', outDir: reports, stopLoss: 0.02 });
    const files = readdirSync(reports).sort();
    assert.equal(files.length, 2, `no temporary file may be left behind: ${files}`);
    for (const f of files) assert.match(f, /^rl-backtest-agent-a-SOLUSDT-5m-\d{8}T\d{4}Z\.(html|json)$/, 'the report is named by agent id, symbol, timeframe and the UTC minute');
    const html = readFileSync(join(reports, files[0]), 'utf8');
    for (const section of ['Action histogram', 'Training curves', 'Walk-forward windows', 'buy-and-hold', 'oi-trend', 'ml-signal']) assert.ok(html.includes(section), `the report lacks "${section}"`);
    const manifest = JSON.parse(readFileSync(join(agents, 'agent-a', 'manifest.json'), 'utf8')) as { windows: Array<{ trainEndMs: number; testStartMs: number }> };
    assert.ok(result.combined[0].result.time[0] > manifest.windows[0].trainEndMs, 'the agent was backtested on bars it trained on');
    await assert.rejects(runRlTrain(out, frame, { modelsDir: models, agentsDir: agents, modelRunId: 'run-a', algorithm: 'a2c', windows: 3, timestepsPerWindow: 100, nEnvs: 1, seed: 1, runId: 'agent-a', trading: config.trading }), /already exists/);
    await assert.rejects(runRlTrain(out, frame, { modelsDir: models, agentsDir: agents, modelRunId: 'missing', algorithm: 'ppo', windows: 3, timestepsPerWindow: 100, nEnvs: 1, seed: 1, trading: config.trading }), /cannot read model run missing/);
  });
});

describe('oitrader rl train: progress and Ctrl-C', () => {
  it('prints each window\'s share done, the whole run\'s and an ETA at the pace so far', () => {
    assert.equal(trainingProgress({ windows: 3, timestepsPerWindow: 1000, window: 1, timesteps: 500, elapsedMs: 60_000 }), 'window 1/3  50% (all  17%) ETA 5m00s');
    assert.equal(trainingProgress({ windows: 3, timestepsPerWindow: 1000, window: 3, timesteps: 1000, elapsedMs: 60_000 }), 'window 3/3 100% (all 100%) ETA 0m00s');
    assert.equal(trainingProgress({ windows: 2, timestepsPerWindow: 1000, window: 1, timesteps: 10, elapsedMs: 36_000 }), 'window 1/2   1% (all   1%) ETA 1h59m');
  });

  it('Ctrl-C in the middle of training ends the process within seconds and leaves no agent, whole or half, behind', async () => {
    const models = join(root, 'models-sigint');
    const agents = join(root, 'agents-sigint');
    const runDir = join(models, 'run-b');
    mkdirSync(runDir, { recursive: true });
    const { predictions } = syntheticMarket({ bars: 3000, seed: 5, driftPerBar: 0.0004 });
    writeFileSync(join(runDir, 'manifest.json'), JSON.stringify({ format: 'oitrader-model-run', version: 1, runId: 'run-b', symbol: 'SOLUSDT', timeframe: '5m', featureSetVersion: FEATURE_SET_VERSION, labels: { horizon: 48, threshold: 0.005 }, metrics: {} }));
    writeOutOfFoldPredictions(runDir, [predictions]);
    const here = (file: string) => JSON.stringify(fileURLToPath(new URL(file, import.meta.url)));
    // The training the README's default would run for many minutes, started as its own process.
    const script = `
      import { loadConfig } from '@oitrader/core';
      import { syntheticMarket } from '@oitrader/rl';
      import { createOutput } from ${here('../output.ts')};
      import { runRlTrain } from ${here('./rl.ts')};
      const { frame } = syntheticMarket({ bars: 3000, seed: 5, driftPerBar: 0.0004 });
      const { config } = loadConfig({ file: undefined });
      await runRlTrain(createOutput({}), frame, { modelsDir: ${JSON.stringify(models)}, agentsDir: ${JSON.stringify(agents)}, modelRunId: 'run-b', algorithm: 'a2c', windows: 3, timestepsPerWindow: 50_000_000, nEnvs: 2, seed: 1, runId: 'agent-b', trading: config.trading, episodeBars: 256 });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      for (let i = 0; i < 300 && !/window 1\/3 +\d+% \(all +\d+%\) ETA/.test(out); i++) await new Promise((r) => setTimeout(r, 200));
      assert.match(out, /window 1\/3 +\d+% \(all +\d+%\) ETA \d+h\d\dm/, `no progress line with an ETA:\n${out}`);
      child.kill('SIGINT');
      const ended = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
      assert.notEqual(ended, 'hung', 'rl train went on after Ctrl-C');
      assert.match(out, /rl train stopped \(SIGINT\) in window 1\/3 at \d+ of 50000000 steps: nothing saved/, out);
      assert.ok(!existsSync(agents) || readdirSync(agents).length === 0, `an interrupted training left files behind: ${existsSync(agents) ? readdirSync(agents) : ''}`);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
