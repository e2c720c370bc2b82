import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configSchema } from '@oitrader/core';
import { promoteRun } from '@oitrader/live';
import { realSampleFrame } from '../../backtest/src/testing/real-sample.ts';
import { runAgentRetrain } from './commands/retrain.ts';
import { createOutput } from './output.ts';
import { fixtureRun } from './testing/fixture-run.ts';

const frame = realSampleFrame();

describe('the scheduled RL retrain', () => {
  it('trains a new agent on the champion run with the rl train pipeline and keeps the agents already there', async () => {
    const { dir, runId } = fixtureRun(frame);
    const agentsDir = mkdtempSync(join(tmpdir(), 'oitrader-agents-'));
    mkdirSync(join(agentsDir, 'last-week'));
    const config = configSchema.parse({ models: { dir, agents_dir: agentsDir, rl_retrain_timesteps: 512 }, trading: { symbol: 'XRPUSDT' } });
    await assert.rejects(runAgentRetrain(config, createOutput({ quiet: true }), async () => frame), /no champion model run/, 'without a champion there is nothing to observe');
    promoteRun(dir, runId, 'test champion');
    const agent = await runAgentRetrain(config, createOutput({ quiet: true }), async (flags) => {
      assert.deepEqual([flags.symbol, flags.timeframe], ['XRPUSDT', '5m'], 'the frame is loaded for the champion run\'s symbol and timeframe');
      return frame;
    });
    const manifest = JSON.parse(readFileSync(join(agent.dir, 'manifest.json'), 'utf8')) as { modelRun: { runId: string }; windows: unknown[] };
    assert.equal(manifest.modelRun.runId, runId, 'the new agent must observe the champion run');
    assert.equal(manifest.windows.length, 3);
    assert.ok(existsSync(join(agentsDir, 'last-week')), 'an earlier agent was removed: every agent is kept');
  });
});
