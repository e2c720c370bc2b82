import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildFeatureDataset, datasetEngineer, FEATURES_FILE, MANIFEST_FILE, writeFeatureDataset } from '@oitrader/features';
import { finalKnownUntilMs, readManifest } from '@oitrader/ml';
import { realSampleFrame } from '../../../features/src/testing/frames.ts';
import { createOutput } from '../output.ts';
import { runPredict } from './predict.ts';
import { runTrain } from './train.ts';

describe('oitrader predict on bars after the run\'s training span', () => {
  it('prints every member (calibrated), the stack and the baselines (prior, persistence) beside the ensemble, on those bars only', async () => {
    const root = mkdtempSync(join(tmpdir(), 'oitrader-predict-'));
    const frame = realSampleFrame();
    const write = (dir: string, bars: number) => writeFeatureDataset(buildFeatureDataset(frame.slice(0, bars), undefined, datasetEngineer()), join(dir, FEATURES_FILE), join(dir, MANIFEST_FILE));
    write(join(root, 'train'), 1750);
    write(join(root, 'all'), frame.length);
    await runTrain(createOutput({ quiet: true }), join(root, 'train'), join(root, 'models'), { folds: 3, trainShare: 0.4, embargo: 12, seed: 0, runId: 'r', trees: 15, lstm: { epochs: 1, lookback: 8, units: 4, topFeatures: 4 } });
    const lines: string[] = [];
    const out = { ...createOutput({ quiet: true }), text: (line: string) => lines.push(line) };
    const result = await runPredict(out, join(root, 'models', 'r'), join(root, 'all'), join(root, 'p.parquet'));
    assert.ok(result.outOfSampleRows > 50, `${result.outOfSampleRows} rows after the training span`);
    const names = result.scores.map((s) => s.name);
    for (const expected of [/^ensemble \(= /, /^xgboost-style.*\(calibrated\)$/, /^LSTM \(calibrated\)$/, /^stacked meta-model, raw$/, /^stacked meta-model, calibrated$/, /^training prior$/, /^label persistence$/]) assert.ok(names.some((n) => expected.test(n)), `predict must report ${expected}: got ${names.join(', ')}`);
    for (const s of result.scores) assert.equal(s.report.rows, result.outOfSampleRows, `${s.name} is scored on other rows than the ensemble`);
    assert.ok(lines.some((l) => /the ensemble (does NOT beat|beats) the training prior on these rows/.test(l)), 'the verdict against the prior is printed');
    const knownUntil = finalKnownUntilMs(readManifest(join(root, 'models', 'r')));
    assert.equal(knownUntil, frame.time[1749], 'the run knew bars up to its last training row plus the label horizon');
    assert.ok(lines.some((l) => l.includes(`out of sample: ${result.outOfSampleRows} rows from ${new Date(frame.time[1750]).toISOString().replace('.000', '')}`)), 'scoring starts at the first bar after what the run knew');
  });
});
