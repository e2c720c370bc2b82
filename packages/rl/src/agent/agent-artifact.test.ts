import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { syntheticMarket } from '../env/synthetic.ts';
import { OBSERVATION_SIZE } from '../env/observation.ts';
import { listAgents, loadAgent, saveAgent } from './agent-artifact.ts';
import { backtestAgent } from './evaluate-agent.ts';
import { trainAgentWalkForward, walkForwardSplits } from './train-agent.ts';

const dir = mkdtempSync(join(tmpdir(), 'oitrader-agents-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const { frame, predictions } = syntheticMarket({ bars: 4000, seed: 21, driftPerBar: 0.0006 });
const trained = await trainAgentWalkForward({
  runId: 'agent-test',
  frame,
  predictions,
  modelRun: { runId: 'run-1', featureSetVersion: 'fs-1' },
  algorithm: 'ppo',
  windows: 3,
  timestepsPerWindow: 1024,
  nEnvs: 2,
  seed: 3,
  training: { nSteps: 256, batchSize: 128, nEpochs: 2 },
  env: { episodeBars: 256 },
  codeVersion: 'test',
});

describe('agent artifact and walk-forward evaluation', () => {
  it('walk-forward windows test only on bars after their training span', () => {
    const splits = walkForwardSplits(100, 1100, 3);
    assert.equal(splits.length, 3);
    for (const s of splits) assert.ok(s.testStart >= s.trainEnd, `window tests from row ${s.testStart} but trained up to ${s.trainEnd}`);
    assert.equal(splits[2].testEnd, 1100);
    for (const w of trained.manifest.windows) assert.ok(w.testStartMs > w.trainEndMs, `window ${w.window} is tested inside its training span`);
    // A minimum first training block: weeks, not days; the test blocks share the rest and still tile to the end.
    const long = walkForwardSplits(0, 10_000, 3, 4032);
    assert.deepEqual(long.map((x) => [x.trainEnd, x.testStart, x.testEnd]), [[4032, 4032, 6021], [6021, 6021, 8010], [8010, 8010, 10_000]]);
    assert.throws(() => walkForwardSplits(0, 4500, 3, 4032), /too few for a 4032-bar first training block/);
  });

  it('save → load gives a network that takes identical actions', () => {
    saveAgent(dir, trained.manifest, trained.nets, trained.logs);
    assert.deepEqual(listAgents(dir), ['agent-test']);
    const loaded = loadAgent(join(dir, 'agent-test'), { featureSetVersion: 'fs-1', modelRunId: 'run-1', symbol: 'SOLUSDT' });
    assert.equal(loaded.manifest.observation.length, OBSERVATION_SIZE, 'the manifest must spell out every observation element');
    const mask = Uint8Array.of(1, 1, 1, 0, 0, 0);
    for (let k = 0; k < 50; k++) {
      const obs = Float32Array.from({ length: OBSERVATION_SIZE }, (_, j) => Math.sin(k * 7 + j));
      for (let w = 0; w < 3; w++) {
        assert.equal(loaded.nets[w].act(obs, mask), trained.nets[w].act(obs, mask), `window ${w + 1} acts differently after reload`);
        assert.deepEqual(Array.from(loaded.nets[w].probabilities(obs, mask)), Array.from(trained.nets[w].probabilities(obs, mask)));
      }
    }
  });

  it('loading refuses another feature set, another model run or a damaged manifest, saying what to do', () => {
    const path = join(dir, 'agent-test');
    assert.throws(() => loadAgent(path, { featureSetVersion: 'fs-2' }), (e: Error & { hint?: string }) => /feature set fs-1/.test(e.message) && /retrain/.test(e.hint ?? ''));
    assert.throws(() => loadAgent(path, { featureSetVersion: 'fs-1', modelRunId: 'run-9' }), /model run run-1, not run-9/);
    const manifest = readFileSync(join(path, 'manifest.json'), 'utf8');
    writeFileSync(join(path, 'manifest.json'), manifest.slice(0, 100));
    assert.throws(() => loadAgent(path, { featureSetVersion: 'fs-1' }), /cannot read/);
    writeFileSync(join(path, 'manifest.json'), manifest);
    assert.throws(() => saveAgent(dir, trained.manifest, trained.nets, trained.logs), /already exists/, 'an agent must never be overwritten');
  });

  it('backtests each window agent only on its test bars, next to the baselines, after costs', () => {
    const loaded = loadAgent(join(dir, 'agent-test'), { featureSetVersion: 'fs-1' });
    const bt = backtestAgent(loaded, frame, predictions, { trials: 10, labels: { horizon: 48, threshold: 0.005 } });
    const names = bt.combined.map((e) => e.result.strategy);
    assert.deepEqual(names.slice(1, 4), ['flat', 'buy-and-hold', 'oi-trend(12)']);
    assert.match(names[4], /ml-signal/);
    const first = loaded.manifest.windows[0];
    const agentRun = bt.combined[0].result;
    assert.ok(agentRun.time[0] === first.testStartMs && agentRun.time[0] > first.trainEndMs, 'the agent traded a bar its first window trained on');
    assert.equal(bt.windows.length, 3);
    assert.equal(bt.combinedHistogram.reduce((s, x) => s + x, 0), agentRun.time.length - 1, 'one action per decided bar');
    assert.equal(bt.combined[0].metrics.trials, 10);
  });
});
