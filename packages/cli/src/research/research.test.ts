import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirectorySource } from '@oitrader/binance';
import { importArchive, MarketDataLoader, migrate, PgliteExecutor } from '@oitrader/data';
import { ABLATIONS, researchGridSchema, type ResearchGrid } from './research-grid.ts';
import { researchHtml, researchText } from './research-report.ts';
import { summarize } from './research-summary.ts';
import { correlationInterval, dailyReturns, researchData, runResearchConfig, type ConfigResult, type ResearchData } from './run-research.ts';

const SAMPLE = fileURLToPath(new URL('../../../../data/sample/binance-archive', import.meta.url));

describe('oitrader research on the real SOLUSDT sample (1h, three months, with open interest)', () => {
  let sql: PgliteExecutor;
  let data: ResearchData;
  const grid: ResearchGrid = researchGridSchema.parse({ symbols: ['SOLUSDT'], timeframes: ['1h'], horizons: [8], ablations: ['all', 'no-oi'], hurdles: [0.0005, 0.002], model: { trees: 20, depth: 3 } }) as ResearchGrid;
  const execution = { leverage: 3, initialBalanceUsd: 2000, takerFeeRate: 0.0005, halfSpreadBps: 1, closeAtEnd: true };
  const results: ConfigResult[] = [];

  before(async () => {
    sql = await PgliteExecutor.open(undefined);
    await migrate(sql);
    const report = await importArchive(sql, new DirectorySource(SAMPLE), { symbols: ['SOLUSDT'], timeframes: ['1h'], datasets: ['klines', 'metrics', 'fundingRate'] });
    assert.equal(report.failed, 0);
    const { frame } = await new MarketDataLoader(sql).load('SOLUSDT', '1h', Date.UTC(2025, 11, 1), Date.UTC(2026, 2, 1));
    data = researchData(frame);
    for (const ablation of grid.ablations) results.push(...(await runResearchConfig(data, { symbol: 'SOLUSDT', timeframe: '1h', horizon: 8, threshold: 0.005, ablation }, grid.hurdles, grid, execution)));
  });
  after(async () => sql.close());

  it('scores every configuration on C(6,2) splits assembled into 5 whole out-of-sample paths, on the same rows with and without open interest', () => {
    assert.equal(results.length, 4, '2 ablations × 2 hurdles');
    for (const r of results) {
      assert.equal(r.paths.length, 5);
      for (const p of r.paths) {
        assert.ok(Number.isFinite(p.logLoss) && Number.isFinite(p.priorLogLoss) && Number.isFinite(p.ic) && Number.isFinite(p.sharpe), JSON.stringify(p));
        assert.ok(p.logLoss > 0.3 && p.logLoss < 2, `a calibrated 3-class log-loss, got ${p.logLoss}`);
      }
    }
    const [all, noOi] = [results[0], results[2]];
    assert.equal(all.rows, noOi.rows, 'the ablations are scored on the same rows (paired)');
    const oiFeatures = data.table.specs.filter((s) => s.group === 'open_interest').length;
    assert.ok(oiFeatures > 5, 'the sample has open interest, so its features are built');
    assert.equal(all.features - noOi.features, oiFeatures, 'no-oi drops exactly the open-interest family');
    assert.ok(!data.table.specs.some((s) => s.group === 'time' && ABLATIONS.all.includes(s.group as never)), 'the calendar is not in the default family set');
    // Two hurdles of one trained configuration share its predictions: the same scores, different trading.
    assert.deepEqual(results[0].paths.map((p) => p.logLoss), results[1].paths.map((p) => p.logLoss));
    assert.ok(results[1].paths.reduce((n, p) => n + p.trades, 0) <= results[0].paths.reduce((n, p) => n + p.trades, 0), 'a higher hurdle never trades more');
  });

  it('summarises: the paired open-interest difference, the deflated Sharpe counting every trial, PBO over the days all cover, and a report that says it all', () => {
    const s = summarize(results, 8);
    assert.equal(s.trials, 4);
    const row = s.oi.find((r) => r.hurdle === 0.0005)!;
    assert.ok(row.oiLogLossGain && Number.isFinite(row.oiLogLossGain.median), 'all vs no-oi gives a paired log-loss difference');
    assert.ok(s.best && s.best.deflatedSharpe >= 0 && s.best.deflatedSharpe <= 1, JSON.stringify(s.best));
    assert.ok('pbo' in s.pbo, `PBO over ~80 days and 4 configurations: ${JSON.stringify(s.pbo)}`);
    assert.ok(s.pbo.pbo >= 0 && s.pbo.pbo <= 1);
    const text = researchText(s, 12).join('\n');
    assert.match(text, /open interest adds: log-loss [+-]\d/);
    assert.match(text, /deflated Sharpe \d\.\d{3} \(P\[skill\] after 4 trials/);
    assert.match(text, /probability of backtest overfitting \(CSCV, 70 splits/);
    const html = researchHtml('t', s, text.split('\n'), 'symbols: [SOLUSDT]');
    assert.match(html, /<meta name="viewport"/);
    assert.doesNotMatch(html, /<script|<link|<img/, 'the report is one self-contained page');
  });

  it('turns an equity curve into UTC daily returns and a correlation into a Fisher interval', () => {
    const day = 86_400_000;
    const time = Float64Array.from([0, 12, 23, 24, 36].map((h) => h * 3_600_000));
    const daily = dailyReturns(time, Float64Array.from([100, 110, 121, 121, 133.1]), 100);
    assert.deepEqual([...daily.keys()], [0, day]);
    assert.ok(Math.abs(daily.get(0)! - 0.21) < 1e-12 && Math.abs(daily.get(day)! - 0.1) < 1e-12, JSON.stringify([...daily]));
    const [lo, hi] = correlationInterval(0.1, 403);
    assert.ok(lo < 0.1 && hi > 0.1 && Math.abs(hi - lo - 2 * 1.96 * 0.05) < 0.01);
  });
});

describe('oitrader research at the command line: bad input gets a clear error', () => {
  const BIN = fileURLToPath(new URL('../../bin/oitrader.mjs', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'research', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'OITRADER_CONFIG')), DATABASE_URL: '' } });

  it('names the key and line of a wrong grid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-research-'));
    const grid = join(dir, 'grid.yaml');
    writeFileSync(grid, 'symbols: [SOLUSDT]\ntimeframes: [7m]\n');
    const r = run('--grid', grid, '--db', join(dir, 'db'));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /timeframes\.0 \(line 2\)/);
  });

  it('says which candles are missing from an empty database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-research-'));
    const r = run('--db', join(dir, 'db'), '--out', join(dir, 'reports'));
    assert.equal(r.status, 1, `a data problem (exit 1, as every command that finds no candles): ${r.stderr}`);
    assert.match(r.stderr, /no 15m candles for SOLUSDT/);
  });
});
