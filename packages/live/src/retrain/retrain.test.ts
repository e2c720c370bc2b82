import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DirectorySource } from '@oitrader/binance';
import { silentLogger, type Frame } from '@oitrader/core';
import { importArchive, MarketDataLoader, migrate, PgliteExecutor, type SqlExecutor } from '@oitrader/data';
import { ALL_FEATURES, buildFeatureDataset, FeatureEngineer, PLANTED_NEXT_BAR_LEAK } from '@oitrader/features';
import { readOutOfFoldPredictions, writeOutOfFoldPredictions } from '@oitrader/ml';
import { SAMPLE_ARCHIVE, SAMPLE_SYMBOL } from '../testing/sample-store.ts';
import { activeRun, championStack, rollbackChampion } from './champion-registry.ts';
import { retrainChallenger, type RetrainOptions } from './retrain.ts';

const DAY = 86_400_000;
const START = Date.UTC(2025, 11, 1);
/** Small but real training: 3 expanding folds, 20 trees per GBDT, no LSTM (the pipeline is the same one `oitrader train` runs). */
const TRAINING: RetrainOptions['training'] = { folds: 3, trainShare: 0.4, embargo: 12, seed: 0, searchTrials: 0, trees: 20, lstm: false };
const LABELS = { horizon: 24, threshold: 0.004 };

describe('daily retrain over stepped market days (real SOLUSDT sample)', () => {
  let sql: SqlExecutor;
  let modelsDir: string;
  const frames: Frame[] = [];
  before(async () => {
    sql = await PgliteExecutor.open(undefined);
    await migrate(sql);
    await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE), { symbols: [SAMPLE_SYMBOL], timeframes: ['5m'], datasets: ['klines', 'metrics', 'fundingRate'], startMs: START, endMs: START + 12 * DAY });
    const loader = new MarketDataLoader(sql, silentLogger);
    // Market days 8, 9 and 10: each retrain sees one more day than the last.
    for (const days of [8, 9, 10]) frames.push(await loader.loadAllData(SAMPLE_SYMBOL, '5m', START, START + days * DAY));
    modelsDir = mkdtempSync(join(tmpdir(), 'oitrader-retrain-'));
  });
  after(async () => sql?.close());

  const retrain = (frame: Frame, runId: string, extra: Partial<RetrainOptions> = {}) =>
    retrainChallenger(frame, { modelsDir, labels: LABELS, training: TRAINING, runId, margin: 0.002, windowRows: 288, lookaheadCuts: 4, clock: () => frame.time[frame.length - 1], ...extra });

  it('day 1: with no champion yet, the first challenger that passes the look-ahead check becomes the champion', async () => {
    const r = await retrain(frames[0], 'day1');
    assert.equal(r.lookahead.passed, true, `the production features failed the look-ahead check: ${r.lookahead.offenders.join(', ')}`);
    assert.equal(r.promoted, true, r.reason);
    assert.equal(activeRun(modelsDir), 'day1');
  });

  it('day 2: a challenger not better by the margin is kept out, and the comparison uses the same newest out-of-sample rows for both', async () => {
    const r = await retrain(frames[1], 'day2', { margin: 0.5 });
    assert.equal(r.promoted, false, 'a challenger that is not 0.5 log loss better must not be promoted');
    assert.match(r.reason, /kept out/);
    assert.equal(activeRun(modelsDir), 'day1', 'the champion changed although the challenger was kept out');
    assert.ok(existsSync(join(modelsDir, 'day2', 'manifest.json')), 'a kept-out challenger must still be kept on disk');
    assert.ok(r.window && r.window.rows > 100, `the window should hold the newest rows both runs predicted out of sample, got ${r.window?.rows}`);
    const [a, b] = await Promise.all([readOutOfFoldPredictions(join(modelsDir, 'day1')), readOutOfFoldPredictions(join(modelsDir, 'day2'))]);
    assert.ok(r.window.toMs <= a.timeMs[a.timeMs.length - 1], 'the window reaches past the champion\'s out-of-sample predictions');
    assert.ok(b.timeMs.includes(r.window.fromMs) && a.timeMs.includes(r.window.fromMs), 'the window starts on a row only one of the runs predicted');
  });

  it('day 3: a challenger better than a weak champion by the margin is promoted; rollback brings the old champion back', async () => {
    // A weak champion: the day-1 run whose out-of-fold predictions put 96% on a class that did not happen.
    cpSync(join(modelsDir, 'day1'), join(modelsDir, 'weak'), { recursive: true });
    const oof = await readOutOfFoldPredictions(join(modelsDir, 'day1'));
    const truth = buildFeatureDataset(frames[2], LABELS);
    const labelAt = new Map(Array.from(truth.table.time.subarray(truth.start, truth.end), (t, i) => [t, truth.labels[truth.start + i]]));
    const wrong = oof.timeMs.map((t) => ((labelAt.get(t) ?? 1) + 1) % 3);
    const p = (k: number) => Float64Array.from(wrong, (w) => (w === k ? 0.96 : 0.02));
    writeOutOfFoldPredictions(join(modelsDir, 'weak'), [{ ...oof, pShort: p(0), pNeutral: p(1), pLong: p(2) }]);
    const { promoteRun } = await import('./champion-registry.ts');
    promoteRun(modelsDir, 'weak', 'test: a weak champion');
    const r = await retrain(frames[2], 'day3');
    assert.ok(r.champion && r.challenger && r.champion.logLoss - r.challenger.logLoss >= 0.002, `the challenger should beat the inverted champion: ${r.reason}`);
    assert.equal(r.promoted, true, r.reason);
    assert.equal(activeRun(modelsDir), 'day3');
    const back = rollbackChampion(modelsDir);
    assert.equal(back.runId, 'weak');
    assert.equal(activeRun(modelsDir), 'weak', 'rollback must make the previous champion active again');
    assert.deepEqual(championStack(modelsDir), ['day1', 'weak']);
    assert.equal(rollbackChampion(modelsDir).runId, 'day1');
    assert.throws(() => rollbackChampion(modelsDir), /first champion/, 'rolling back past the first champion must be refused, not guessed');
    const history = JSON.parse(readFileSync(join(modelsDir, 'promotions.json'), 'utf8')) as unknown[];
    assert.equal(history.length, 5, 'every promotion and rollback is recorded');
  });

  it('a challenger with a feature that reads the next bar is never promoted, however good it looks', async () => {
    const r = await retrain(frames[2], 'leaky', { engineer: new FeatureEngineer({ specs: [...ALL_FEATURES, PLANTED_NEXT_BAR_LEAK] }), margin: -10 });
    assert.deepEqual(r.lookahead.offenders, ['leaky_next_return']);
    assert.equal(r.promoted, false, 'a leaking challenger was promoted');
    assert.equal(r.challenger, undefined, 'a feature set that reads the future should not even be trained');
    assert.equal(activeRun(modelsDir), 'day1');
  });
});
