import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configSchema } from '@oitrader/core';
import { writeOutOfFoldPredictions, type FoldSpan } from '@oitrader/ml';
import { realSampleFrame } from '../../backtest/src/testing/real-sample.ts';
import { runMlSignalBacktest } from './commands/ml-backtest.ts';
import { createOutput } from './output.ts';

const frame = realSampleFrame();
const config = configSchema.parse({});

/**
 * A model run directory whose out-of-fold predictions are GENERATED (a seeded
 * fixture, not a model's output) over the real XRPUSDT week: fold 1 predicts
 * bars 800..1399, fold 2 bars 1400..1950. `leak` moves fold 2's training end
 * onto its own test bars.
 */
function fakeRun(leak = false): { dir: string; runId: string } {
  const dir = mkdtempSync(join(tmpdir(), 'oitrader-mlbt-'));
  const runId = 'fixture-run';
  mkdirSync(join(dir, runId));
  writeFileSync(join(dir, runId, 'manifest.json'), JSON.stringify({ format: 'oitrader-model-run', version: 1, runId, symbol: 'XRPUSDT', timeframe: '5m', features: ['close'], featureSetVersion: 'fixture-older-set', labels: { horizon: 48, threshold: 0.005 }, dataSpan: { from: '2021-11-15T00:00:00Z', to: new Date(frame.time[1900]).toISOString(), rows: 1900 }, metrics: { searchEvaluations: 0 } }));
  const t = frame.time;
  const span = (fold: number, from: number, to: number): FoldSpan => ({ fold, trainStartMs: t[0], trainEndMs: t[from - 60], knownUntilMs: leak && fold === 2 ? t[from + 100] : t[from - 1], testStartMs: t[from], testEndMs: t[to] });
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const rows = Array.from({ length: 1951 - 800 }, (_, i) => 800 + i);
  const pLong = Float64Array.from(rows, () => 0.15 + 0.5 * random());
  const pShort = Float64Array.from(pLong, (p) => (1 - p) * random());
  writeOutOfFoldPredictions(join(dir, runId), [
    {
      model: 'ensemble',
      timeMs: Float64Array.from(rows, (r) => t[r]),
      fold: Int32Array.from(rows, (r) => (r < 1400 ? 1 : 2)),
      pLong,
      pShort,
      pNeutral: Float64Array.from(rows, (_, i) => 1 - pLong[i] - pShort[i]),
      folds: [span(1, 800, 1399), span(2, 1400, 1950)],
    },
  ]);
  return { dir, runId };
}

const options = (dir: string, runId: string, extra = {}) => ({ modelsDir: dir, runId, execution: { leverage: 5, initialBalanceUsd: 2000 }, trading: config.trading, outDir: join(dir, 'reports'), ...extra });

describe('backtest --strategy ml-signal --model', () => {
  it('chooses the threshold on the earlier fold and trades only the later, out-of-fold window, next to the baselines', async () => {
    const { dir, runId } = fakeRun();
    const result = await runMlSignalBacktest(createOutput({ quiet: true }), frame, options(dir, runId));
    assert.deepEqual(result.test.map((e) => e.result.strategy.split('(')[0]), ['ml-signal', 'flat', 'buy-and-hold', 'oi-trend', 'sma-trend']);
    assert.equal(result.test[0].result.time[0], frame.time[1400], 'trading starts on the first bar of the test fold');
    assert.ok(result.validation.length >= 5, 'every threshold tried is reported');
    for (const e of result.test) assert.equal(e.result.time.length, result.test[0].result.time.length, 'all strategies trade the same bars');
  });

  it('refuses to trade bars a model of the run was trained on', async () => {
    const { dir, runId } = fakeRun();
    await assert.rejects(
      runMlSignalBacktest(createOutput({ quiet: true }), frame, options(dir, runId, { requestedStartMs: frame.time[200] })),
      /only on its out-of-fold test windows.*trained on/,
    );
  });

  it('bars after the training span are predicted fresh by the run\'s final models, which must match this build\'s features', async () => {
    const { dir, runId } = fakeRun();
    // The fixture run has no trained models: reaching loadRun (and its feature-set check) shows the fresh path is taken.
    await assert.rejects(runMlSignalBacktest(createOutput({ quiet: true }), frame, options(dir, runId, { requestedStartMs: frame.time[1960] })), /lacks valid features|feature set/);
  });

  it('refuses predictions whose fold had seen the bars it predicts', async () => {
    const { dir, runId } = fakeRun(true);
    await assert.rejects(runMlSignalBacktest(createOutput({ quiet: true }), frame, options(dir, runId)), /in sample/);
  });
});
