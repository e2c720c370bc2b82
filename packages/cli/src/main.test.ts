import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { MIGRATIONS } from '@oitrader/data';
import { EXIT_BELOW_THRESHOLD } from './commands/data.ts';
import { buildProgram, main } from './main.ts';

const BIN = fileURLToPath(new URL('../bin/oitrader.mjs', import.meta.url));

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'oitrader-cli-')), 'config.yaml');
  writeFileSync(file, text);
  return file;
}

describe('oitrader CLI', () => {
  it('every command has a description and --help text', () => {
    const commands = allCommands(buildProgram());
    assert.ok(commands.length >= 7);
    for (const command of commands) {
      assert.ok(command.description().length > 10, `${command.name()} needs a description`);
      assert.match(command.helpInformation(), /Usage:/);
    }
    const names = commands.map((c) => c.name());
    for (const expected of ['migrate', 'import', 'check', 'demo']) assert.ok(names.includes(expected), expected);
  });

  it('a bad config file exits with code 2 and one line per problem, without a stack trace', () => {
    const file = configFile('trading:\n  leverage: 500\n  max_daily_loss: -1\n');
    const run = spawnSync(process.execPath, [BIN, '--config', file, 'db', 'migrate'], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } });
    assert.equal(run.status, 2, run.stderr);
    // Each problem names its file and line, as a compiler's error does.
    assert.match(run.stderr, /\.yaml:2: trading\.leverage: expected <= 20, got number 500/);
    assert.match(run.stderr, /\.yaml:3: trading\.max_daily_loss: expected > 0, got number -1/);
    assert.doesNotMatch(run.stderr, /at .*\.ts:\d+/);
  });

  it('data check fails with its own exit code when nothing meets the completeness threshold', async () => {
    const file = configFile('database:\n  embedded_path: memory\n');
    const code = await main(['node', 'oitrader', '--config', file, '--quiet', 'data', 'check']);
    process.exitCode = 0;
    assert.equal(code, EXIT_BELOW_THRESHOLD);
  });

  it('data check notes where the stored 5m history starts after data.start_date, or is missing', async () => {
    const { PgliteExecutor, migrate } = await import('@oitrader/data');
    const { startDateNotes } = await import('./commands/data.ts');
    const sql = await PgliteExecutor.open(undefined);
    try {
      await migrate(sql);
      await sql.query(`INSERT INTO ohlcv (time, symbol, timeframe, open, high, low, close, volume) VALUES ('2025-12-01T00:00:00Z', 'SOLUSDT', '5m', 1, 1, 1, 1, 1), ('2025-12-01T00:05:00Z', 'SOLUSDT', '5m', 1, 1, 1, 1, 1)`);
      const notes = await startDateNotes(sql, '2024-01-01', ['SOLUSDT', 'BTCUSDT']);
      assert.equal(notes.length, 2, notes.join('\n'));
      assert.match(notes[0], /data\.start_date is 2024-01-01 but SOLUSDT 5m starts 2025-12-01.*--start 2024-01-01/);
      assert.match(notes[1], /no BTCUSDT 5m candles are stored/);
      assert.deepEqual(await startDateNotes(sql, '2025-12-01', ['SOLUSDT']), [], 'history from the start date on: nothing to say');
    } finally {
      await sql.close();
    }
  });

  it('--json prints one parseable document on stdout', () => {
    const file = configFile('database:\n  embedded_path: memory\n');
    const run = spawnSync(process.execPath, [BIN, '--config', file, '--json', 'db', 'migrate'], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } });
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { applied: number[]; timescale: boolean };
    assert.deepEqual(result.applied, MIGRATIONS.map((m) => m.version), 'a fresh database gets every migration');
    assert.equal(result.timescale, false);
  });
});

describe('oitrader backtest', () => {
  it('writes the HTML and JSON reports atomically and the JSON holds every strategy with its trades', async () => {
    const { realSampleFrame } = await import('../../backtest/src/testing/real-sample.ts');
    const { runBacktestReport } = await import('./commands/backtest.ts');
    const { createOutput } = await import('./output.ts');
    const { readFileSync, readdirSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-reports-'));
    runBacktestReport(createOutput({ quiet: true }), realSampleFrame(), 'buy-and-hold', true, dir, { leverage: 5 });
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 2, `no temporary file may be left behind: ${files}`);
    for (const f of files) assert.match(f, /^backtest-buy-and-hold-XRPUSDT-5m-\d{8}T\d{4}Z\.(html|json)$/, 'the report is named by strategy, symbols, timeframe and the UTC minute');
    const json = JSON.parse(readFileSync(join(dir, files[1]), 'utf8')) as Array<{ strategy: string; trades: unknown[] }>;
    assert.equal(json.length, 8, 'the strategy, the six other baselines and the 1x buy-and-hold benchmark');
    assert.equal(json[0].strategy, 'buy-and-hold');
    assert.equal(json[0].trades.length, 1);
    assert.equal(json[7].strategy, 'buy-and-hold 1x');
  });

  it('backtests several symbols on one wallet: a portfolio result and each symbol\'s contribution that add up, through the risk engine', async () => {
    const { realOpenInterestFrame } = await import('../../backtest/src/testing/real-sample.ts');
    const { runBacktestReport, riskFromConfig } = await import('./commands/backtest.ts');
    const { createOutput } = await import('./output.ts');
    const { parseConfig } = await import('@oitrader/core');
    const { readFileSync, readdirSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-portfolio-'));
    const frames = [realOpenInterestFrame('SOLUSDT', 20), realOpenInterestFrame('BTCUSDT', 20)];
    const config = parseConfig({});
    const { entries, instruments } = runBacktestReport(createOutput({ quiet: true }), frames, 'sma-trend', true, dir, { leverage: 5, initialBalanceUsd: 2000, risk: riskFromConfig(config) });
    const portfolio = entries[0];
    assert.equal(portfolio.result.symbol, 'SOLUSDT,BTCUSDT');
    assert.equal(portfolio.result.managed, true);
    assert.deepEqual(instruments.map((e) => e.result.symbol), ['SOLUSDT', 'BTCUSDT']);
    assert.ok(instruments.every((e) => e.metrics.trades > 0), 'both symbols trade on 20 real days');
    const sum = instruments.reduce((s, e) => s + e.metrics.pnlUsd, 0);
    assert.ok(Math.abs(sum - portfolio.metrics.pnlUsd) < 1e-6, `the symbols' contributions (${sum.toFixed(4)}) must add up to the portfolio's PnL (${portfolio.metrics.pnlUsd.toFixed(4)}): one wallet`);
    assert.equal(portfolio.result.trades.length, instruments[0].result.trades.length + instruments[1].result.trades.length);
    const benchmark = entries.find((e) => e.result.strategy === 'buy-and-hold 1x')!;
    assert.equal(benchmark.result.liquidations, 0, 'the 1x benchmark is never liquidated');
    assert.equal(benchmark.result.trades.length, 2, 'the benchmark holds each symbol once, equal weight');
    const carry = entries.find((e) => e.result.strategy === 'funding-carry cross-section(2)');
    assert.ok(carry, `a portfolio is also compared with the cross-sectional funding carry: ${entries.map((e) => e.result.strategy)}`);
    assert.equal(carry.metrics.trials, entries.length, 'it counts as a trial like every other baseline');
    const notional = benchmark.result.trades.map((t) => t.qtyBase * t.entryPriceUsd);
    // Each gets 1/2 × 0.98 of the wallet, rounded down to its step (0.001 BTC is ~90 USDT).
    benchmark.result.trades.forEach((t, i) => assert.ok(notional[i] <= 980 && notional[i] > 980 - (t.symbol === 'BTCUSDT' ? 0.001 : 1) * t.entryPriceUsd, `equal weight at 1x: ${notional}`));
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 2);
    for (const f of files) assert.match(f, /^backtest-sma-trend-SOLUSDT-BTCUSDT-5m-\d{8}T\d{4}Z\.(html|json)$/);
    const json = JSON.parse(readFileSync(join(dir, files[1]), 'utf8')) as { portfolio: Array<{ strategy: string }>; instruments: Array<{ symbol: string }> };
    assert.deepEqual(json.instruments.map((i) => i.symbol), ['SOLUSDT', 'BTCUSDT']);
    assert.equal(json.portfolio[0].strategy, 'sma-trend(48)');
  });
});

describe('oitrader train and models', () => {
  it('trains a run from a features file, lists it and promotes it', async () => {
    const { realSampleFrame } = await import('../../features/src/testing/frames.ts');
    const { buildFeatureDataset, writeFeatureDataset, FEATURES_FILE, MANIFEST_FILE } = await import('@oitrader/features');
    const { runTrain } = await import('./commands/train.ts');
    const { createOutput } = await import('./output.ts');
    const { existsSync, readFileSync, readdirSync } = await import('node:fs');
    const root = mkdtempSync(join(tmpdir(), 'oitrader-train-'));
    const features = join(root, 'features');
    const { datasetEngineer } = await import('@oitrader/features');
    writeFeatureDataset(buildFeatureDataset(realSampleFrame(), undefined, datasetEngineer({ calendar: true })), join(features, FEATURES_FILE), join(features, MANIFEST_FILE));
    const models = join(root, 'models');
    const { runId } = await runTrain(createOutput({ quiet: true }), features, models, { folds: 3, trainShare: 0.4, embargo: 12, seed: 0, runId: 'test-run', searchTrials: 2 });
    assert.equal(runId, 'test-run');
    const { readOutOfFoldPredictions, assertOutOfSample } = await import('@oitrader/ml');
    const oof = await readOutOfFoldPredictions(join(models, 'test-run'));
    assert.ok(oof.timeMs.length > 0, 'the run saves the ensemble\'s out-of-fold predictions');
    assertOutOfSample(oof, oof.timeMs);
    for (let i = 0; i < oof.timeMs.length; i++) assert.ok(Math.abs(oof.pShort[i] + oof.pNeutral[i] + oof.pLong[i] - 1) < 1e-6, 'probabilities sum to 1');
    const { runPredict } = await import('./commands/predict.ts');
    const scored = await runPredict(createOutput({ quiet: true }), join(models, 'test-run'), features, join(root, 'p.parquet'));
    assert.equal(scored.outOfSampleRows, 0, 'rows the run trained on are never scored as if out of sample');
    const { parquetReadObjects } = await import('hyparquet');
    const bytes = readFileSync(join(root, 'p.parquet'));
    const rows = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
    assert.equal(rows.length, scored.rows, 'one probability row per feature row');
    const lstm = await readOutOfFoldPredictions(join(models, 'test-run'), 'LSTM');
    assert.ok(lstm.timeMs.length >= oof.timeMs.length, 'every base model\'s out-of-fold predictions are saved too');
    const manifest = JSON.parse(readFileSync(join(models, 'test-run', 'manifest.json'), 'utf8')) as { features: string[]; metrics: Record<string, unknown> };
    assert.ok(manifest.features.length >= 100);
    for (const name of ['xgboost-style (depth-wise)', 'LSTM', 'majority class', 'label persistence', 'logistic regression', 'ensemble']) assert.ok((manifest.metrics[name] as { rows: number }).rows > 0, `${name} metrics missing`);
    // 2 trials at rung 0, the best 1 of them again at rung 1, for each of the 3 policies.
    assert.equal(manifest.metrics.searchEvaluations, 9, 'every search evaluation is counted for the Deflated Sharpe Ratio');
    const logs = readdirSync(join(models, 'search'));
    assert.equal(logs.length, 3);
    for (const log of logs) assert.equal(readFileSync(join(models, 'search', log), 'utf8').trim().split('\n').length, 3);
    const ensemble = JSON.parse(readFileSync(join(models, 'test-run', 'ensemble.json'), 'utf8')) as { baseNames: string[]; lstm?: { format: string } };
    assert.equal(ensemble.baseNames.at(-1), 'LSTM');
    assert.equal(ensemble.lstm?.format, 'oitrader-lstm', 'the LSTM member\'s weights are saved in the run');
    const file = configFile(`models:\n  dir: ${models}\n`);
    // main() reports process.exitCode; start from a clean one so only promote's outcome is measured.
    process.exitCode = 0;
    assert.equal(await main(['node', 'oitrader', '--config', file, '--quiet', 'models', 'promote', 'test-run']), 2, 'a run never backtested out of sample is not promoted without --force');
    const { writeTradingResult } = await import('./commands/trading-result.ts');
    const result = { runId: 'test-run', evaluatedAt: '', symbol: 'XRPUSDT', source: 'out-of-fold' as const, testSpan: ['a', 'b'] as [string, string], threshold: 1.2, sharpe: -1, deflatedSharpe: 0, buyAndHoldReturnPct: 1, beatBaselines: false };
    writeTradingResult(join(models, 'test-run'), { ...result, trades: 12, returnPct: -3.2 });
    assert.equal(await main(['node', 'oitrader', '--config', file, '--quiet', 'models', 'promote', 'test-run']), 2, 'a run that lost out of sample (below flat) is not promoted without --force');
    writeTradingResult(join(models, 'test-run'), { ...result, trades: 0, returnPct: 0 });
    assert.equal(await main(['node', 'oitrader', '--config', file, '--quiet', 'models', 'promote', 'test-run']), 2, 'a run that made no trades out of sample is not promoted without --force');
    assert.ok(!existsSync(join(models, 'ACTIVE')), 'a refused promotion must not write ACTIVE');
    writeTradingResult(join(models, 'test-run'), { ...result, trades: 12, returnPct: 2.5, sharpe: 1.1 });
    assert.equal(await main(['node', 'oitrader', '--config', file, '--quiet', 'models', 'promote', 'test-run']), 0);
    assert.equal(readFileSync(join(models, 'ACTIVE'), 'utf8'), 'test-run\n');
    assert.equal(await main(['node', 'oitrader', '--config', file, '--quiet', 'models', 'promote', 'test-run', '--force']), 0);
    assert.equal(await main(['node', 'oitrader', '--config', file, '--quiet', 'models', 'promote', 'no-such-run']), 1);
    process.exitCode = 0;
  });
});

describe('training report', () => {
  it('is written into the run and renders offline with every section', async () => {
    const { existsSync, readFileSync, readdirSync } = await import('node:fs');
    const { realSampleFrame } = await import('../../features/src/testing/frames.ts');
    const { buildFeatureDataset, writeFeatureDataset, FEATURES_FILE, MANIFEST_FILE } = await import('@oitrader/features');
    const { runTrain } = await import('./commands/train.ts');
    const { createOutput } = await import('./output.ts');
    const root = mkdtempSync(join(tmpdir(), 'oitrader-report-'));
    writeFeatureDataset(buildFeatureDataset(realSampleFrame()), join(root, 'f', FEATURES_FILE), join(root, 'f', MANIFEST_FILE));
    await runTrain(createOutput({ quiet: true }), join(root, 'f'), join(root, 'm'), { folds: 3, trainShare: 0.4, embargo: 12, seed: 0, runId: 'r1' });
    const html = readFileSync(join(root, 'm', 'r1', 'report.html'), 'utf8');
    for (const section of ['Models and baselines, side by side', 'Per fold', 'Confusion matrices', 'Calibration', 'Reliability per class', 'ECE per class', 'training prior', 'SHAP', 'LSTM', 'stacked ensemble']) assert.ok(html.includes(section), section);
    assert.match(html, /ENSEMBLE[^<]*(beats the training prior|is BELOW the training prior|= TRAINING PRIOR)/, 'the report says plainly where the ensemble stands against the prior');
    assert.doesNotMatch(html, /<script|<link|https?:\/\//);
    assert.ok(existsSync(join(root, 'm', 'r1', 'manifest.json')));
    assert.deepEqual(readdirSync(join(root, 'm')), ['r1']);
  });
});
