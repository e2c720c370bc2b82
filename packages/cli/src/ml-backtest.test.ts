import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readTrials } from '@oitrader/ml';
import { describe, it } from 'node:test';
import { configSchema } from '@oitrader/core';
import { realSampleFrame } from '../../backtest/src/testing/real-sample.ts';
import { HURDLE_GRID, runMlSignalBacktest, THRESHOLD_GRID } from './commands/ml-backtest.ts';
import { fixtureRun } from './testing/fixture-run.ts';
import { createOutput } from './output.ts';

const frame = realSampleFrame();
const config = configSchema.parse({});

const options = (dir: string, runId: string, extra = {}) => ({ modelsDir: dir, runId, execution: { leverage: 5, initialBalanceUsd: 2000 }, trading: config.trading, outDir: join(dir, 'reports'), ...extra });

describe('backtest --strategy ml-signal --model', () => {
  it('chooses the rule\'s setting on the earlier fold and trades only the later, out-of-fold window: the cost-aware rule (the default), ML-signal beside it, then the baselines', async () => {
    const { dir, runId } = fixtureRun(frame);
    const result = await runMlSignalBacktest(createOutput({ quiet: true }), frame, options(dir, runId));
    assert.equal(result.rule, 'cost-aware');
    assert.deepEqual(result.test.map((e) => e.result.strategy.split('(')[0]), ['cost-aware', 'ml-signal', 'flat', 'buy-and-hold', 'oi-trend', 'oi-divergence', 'funding-carry', 'sma-trend']);
    assert.ok(result.trials <= HURDLE_GRID.length + THRESHOLD_GRID.length + 2 + 6, 'trials are distinct trade sets, never more than the settings tried (each grid and standing aside)');
    const old = await runMlSignalBacktest(createOutput({ quiet: true }), frame, options(dir, runId, { rule: 'ml-signal' }));
    assert.deepEqual(old.test.map((e) => e.result.strategy.split('(')[0]).slice(0, 2), ['ml-signal', 'cost-aware'], 'ML-signal stays selectable');
    assert.equal(old.trials, result.trials, 'one trial registry per run: the same grids and baselines tried again are the same trials, so the deflation is the same');
    assert.equal(readTrials(join(dir, runId), runId).trials.length, result.trials);
    assert.equal(result.test[0].result.time[0], frame.time[1400], 'trading starts on the first bar of the test fold');
    assert.ok(result.validation.length >= 5, 'every threshold tried is reported');
    for (const e of result.test) assert.equal(e.result.time.length, result.test[0].result.time.length, 'all strategies trade the same bars');
  });

  it('the cost-aware rule stands aside when no bar\'s expected move pays the round trip, and says by how much', async () => {
    const { dir, runId } = fixtureRun(frame);
    const lines: string[] = [];
    const out = { ...createOutput({ quiet: true }), text: (line: string) => lines.push(line) };
    // 1 % a side: no lean of the fixture's probabilities (payoffs ≈ ±1 % over 48 bars) is worth 2 % round trip.
    const result = await runMlSignalBacktest(out, frame, options(dir, runId, { execution: { leverage: 5, initialBalanceUsd: 2000, takerFeeRate: 0.01 } }));
    assert.equal(result.test[0].metrics.trades, 0, 'the cost-aware rule traded although fees ate every expected move');
    assert.equal(result.test[0].result.equity.at(-1), 2000, 'standing aside costs nothing');
    assert.ok(lines.some((l) => /XRPUSDT: stood aside: best expected net return −\d+\.\d+ % \((long|short)\) < hurdle/.test(l)), `no stand-aside line in:\n${lines.join('\n')}`);
  });

  it('refuses to trade bars a model of the run was trained on', async () => {
    const { dir, runId } = fixtureRun(frame);
    await assert.rejects(
      runMlSignalBacktest(createOutput({ quiet: true }), frame, options(dir, runId, { requestedStartMs: frame.time[200] })),
      /only on its out-of-fold test windows.*trained on/,
    );
  });

  it('bars after the training span are predicted fresh by the run\'s final models, which must match this build\'s features', async () => {
    const { dir, runId } = fixtureRun(frame);
    // The fixture run has no trained models: reaching loadRun (and its feature-set check) shows the fresh path is taken.
    await assert.rejects(runMlSignalBacktest(createOutput({ quiet: true }), frame, options(dir, runId, { requestedStartMs: frame.time[1960] })), /lacks valid features|feature set/);
  });

  it('refuses predictions whose fold had seen the bars it predicts', async () => {
    const { dir, runId } = fixtureRun(frame, true);
    await assert.rejects(runMlSignalBacktest(createOutput({ quiet: true }), frame, options(dir, runId)), /in sample/);
  });
});
