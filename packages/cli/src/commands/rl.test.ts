import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FEATURE_SET_VERSION } from '@oitrader/features';
import { writeOutOfFoldPredictions } from '@oitrader/ml';
import { syntheticMarket } from '@oitrader/rl';
import { loadConfig } from '@oitrader/core';
import { createOutput } from '../output.ts';
import { runRlBacktest, runRlTrain } from './rl.ts';

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
