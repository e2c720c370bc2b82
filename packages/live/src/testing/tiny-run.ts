import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Frame } from '@oitrader/core';
import { buildFeatureDataset, FEATURES_FILE, FeatureEngineer, MANIFEST_FILE, readFeatureDataset, writeFeatureDataset, type LabelOptions } from '@oitrader/features';
import { trainModelRun, type TrainRunOptions } from '@oitrader/ml';

/** Real features with short warm-ups (open interest, price, volume, calendar): a run trained on them needs ~50 candles of history. */
export const TINY_FEATURES = ['oi_change_12', 'oi_z_48', 'oi_price_divergence_12', 'oi_velocity', 'ret_1', 'ret_12', 'sma_dist_48', 'bb_pos_20', 'rv_48', 'volume_ratio_12', 'taker_buy_share_12', 'hour_sin'];
export const TINY_LABELS: LabelOptions = { horizon: 24, threshold: 0.004 };
/** The one training pipeline, small: 3 folds, 20 trees per GBDT, a small LSTM (8-candle lookback) unless `lstm: false`. */
export const TINY_TRAINING: Omit<TrainRunOptions, 'modelsDir' | 'runId'> = {
  folds: 3,
  trainShare: 0.4,
  embargo: 12,
  seed: 0,
  searchTrials: 0,
  trees: 20,
  lstm: { lookback: 8, topFeatures: 6, units: 8, epochs: 1, patience: 1, batchSize: 256, maxTrainRows: 1500 },
};

/** Trains a small real model run on `frame` into `modelsDir` (features through the Parquet contract, as `oitrader train`); returns its training labels. */
export async function trainTinyRun(
  frame: Frame,
  modelsDir: string,
  runId: string,
  training: Partial<TrainRunOptions> = {},
  engineer = new FeatureEngineer({ features: TINY_FEATURES }),
): Promise<{ labels: ArrayLike<number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'oitrader-tiny-features-'));
  try {
    writeFeatureDataset(buildFeatureDataset(frame, TINY_LABELS, engineer), join(dir, FEATURES_FILE), join(dir, MANIFEST_FILE));
    const dataset = await readFeatureDataset(join(dir, FEATURES_FILE), join(dir, MANIFEST_FILE));
    await trainModelRun(dataset, { ...TINY_TRAINING, ...training, modelsDir, runId }, () => undefined);
    return { labels: dataset.labels };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
