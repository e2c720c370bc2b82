import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Frame } from '@oitrader/core';
import { writeOutOfFoldPredictions, type FoldSpan } from '@oitrader/ml';

/**
 * A model run directory whose out-of-fold predictions are GENERATED (a seeded
 * fixture, not a model's output) over the real XRPUSDT week: fold 1 predicts
 * bars 800..1399, fold 2 bars 1400..1950. `leak` moves fold 2's training end
 * onto its own test bars.
 */
export function fixtureRun(frame: Frame, leak = false): { dir: string; runId: string } {
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
