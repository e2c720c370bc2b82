import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { baselineByName, benchmarkEntry, computeMetrics, DEFAULT_ML_SIGNAL, mlSignal, renderHtmlReport, runBacktest, type BacktestOptions } from '@oitrader/backtest';
import { loadConfig, parseConfig } from '@oitrader/core';
import { FEATURE_SET_VERSION } from '@oitrader/features';
import { writeOutOfFoldPredictions } from '@oitrader/ml';
import { syntheticMarket } from '@oitrader/rl';
import { realOpenInterestFrame, realSampleFrame } from '../../backtest/src/testing/real-sample.ts';
import { riskFromConfig, runBacktestReport } from './commands/backtest.ts';
import { runRlBacktest, runRlTrain } from './commands/rl.ts';
import { createOutput } from './output.ts';

/**
 * Every kind of report, opened in headless Chromium at a desktop (1440 px) and a phone (390 px) width:
 * charts drawn, no page error, no request leaves the file, no horizontal scroll on the phone.
 * OITRADER_DOCS_SCREENSHOTS=1 saves the screenshots to docs/img/ (the backtesting docs show them).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const root = mkdtempSync(join(tmpdir(), 'oitrader-report-kinds-'));
const shots = process.env.OITRADER_DOCS_SCREENSHOTS === '1' ? join(REPO, 'docs', 'img') : join(root, 'screenshots');
after(() => rmSync(root, { recursive: true, force: true }));

const out = createOutput({ quiet: true });
const risk = riskFromConfig(parseConfig({}));
const reports: Record<string, string> = {};

function onlyHtml(dir: string): string {
  const html = readdirSync(dir).filter((f) => f.endsWith('.html'));
  assert.equal(html.length, 1, `one report in ${dir}: ${html}`);
  return join(dir, html[0]);
}

before(async () => {
  const dir = (kind: string) => {
    const d = join(root, kind);
    mkdirSync(d, { recursive: true });
    return d;
  };
  runBacktestReport(out, realSampleFrame(), 'sma-trend', true, dir('backtest'), { leverage: 5, initialBalanceUsd: 2000, risk });
  reports.backtest = onlyHtml(join(root, 'backtest'));
  runBacktestReport(out, [realOpenInterestFrame('SOLUSDT', 20), realOpenInterestFrame('BTCUSDT', 20)], 'sma-trend', true, dir('portfolio'), { leverage: 5, initialBalanceUsd: 2000, risk });
  reports.portfolio = onlyHtml(join(root, 'portfolio'));
  // 2 USDT cannot buy the exchange's minimum: every entry is refused, the report says why.
  runBacktestReport(out, realSampleFrame(), 'sma-trend', false, dir('stood-aside'), { leverage: 5, initialBalanceUsd: 2, risk });
  reports['stood-aside'] = onlyHtml(join(root, 'stood-aside'));

  // The ML-signal page is the backtest page with the ML strategy first (what `backtest --strategy ml-signal` writes).
  const { frame, predictions } = syntheticMarket({ bars: 3000, seed: 4, driftPerBar: 0.0006 });
  const withProba = frame.withColumns({ p_short: predictions.pShort, p_neutral: predictions.pNeutral, p_long: predictions.pLong });
  const managed: BacktestOptions = { leverage: 5, initialBalanceUsd: 2000, risk };
  const runs: Array<[ReturnType<typeof baselineByName>, BacktestOptions]> = [[mlSignal({ ...DEFAULT_ML_SIGNAL, priors: [0.3, 0.4, 0.3] }), managed], ...['flat', 'buy-and-hold', 'oi-trend', 'sma-trend'].map((n): [ReturnType<typeof baselineByName>, BacktestOptions] => [baselineByName(n), { leverage: 5, initialBalanceUsd: 2000 }])];
  const entries = runs.map(([s, o]) => {
    const result = runBacktest(withProba, s, o);
    return { result, metrics: computeMetrics(result, { trials: 12 }) };
  });
  entries.push(benchmarkEntry(withProba, { leverage: 5, initialBalanceUsd: 2000 }, 12));
  reports['ml-signal'] = join(dir('ml-signal'), 'backtest-ml-signal-run-a-SOLUSDT-5m.html');
  writeFileSync(reports['ml-signal'], renderHtmlReport('oitrader backtest: ml-signal (run run-a) on SOLUSDT 5m, synthetic out-of-fold predictions', entries));

  // An RL agent trained briefly on the synthetic market, backtested out of sample by the CLI's own function.
  const models = join(root, 'models');
  const agents = join(root, 'agents');
  const runDir = join(models, 'run-a');
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'manifest.json'), JSON.stringify({ format: 'oitrader-model-run', version: 1, runId: 'run-a', symbol: 'SOLUSDT', timeframe: '5m', featureSetVersion: FEATURE_SET_VERSION, labels: { horizon: 48, threshold: 0.005 }, metrics: {} }));
  writeOutOfFoldPredictions(runDir, [predictions]);
  const { config } = loadConfig({ file: undefined });
  await runRlTrain(out, frame, { modelsDir: models, agentsDir: agents, modelRunId: 'run-a', algorithm: 'a2c', windows: 3, timestepsPerWindow: 600, nEnvs: 2, seed: 1, runId: 'agent-a', trading: config.trading, episodeBars: 256 });
  await runRlBacktest(out, frame, { agentsDir: agents, modelsDir: models, agentId: 'agent-a', outDir: dir('rl'), stopLoss: 0.02 });
  reports.rl = onlyHtml(join(root, 'rl'));
});

describe('reports in a browser, desktop and phone', { skip: !existsSync(CHROMIUM) && !process.env.CI && `no Chromium at ${CHROMIUM} (apt-get install chromium)` }, () => {
  it('the stood-aside report says why no trade was taken, by refusal code', () => {
    const html = readFileSync(reports['stood-aside'], 'utf8');
    assert.ok(html.includes('Stood aside: why'), 'a run without trades must say so');
    assert.ok(html.includes('the risk engine refused every entry'), 'the reason: the risk engine refused the entries');
    assert.ok(/<code>exchange_filters<\/code> ×[\d,]+/.test(html), 'the refusals are counted by code');
  });

  it('the RL report\'s window rows add up to the combined run\'s total', () => {
    const json = JSON.parse(readFileSync(reports.rl.replace(/\.html$/, '.json'), 'utf8')) as { combined: Array<{ strategy: string; metrics: { pnlUsd: number } }>; windows: Array<{ shareOfCombined: { pnlUsd: Record<string, number> } }> };
    for (const s of json.combined) {
      const sum = json.windows.reduce((a, w) => a + w.shareOfCombined.pnlUsd[s.strategy], 0);
      assert.ok(Math.abs(sum - s.metrics.pnlUsd) < 1e-6, `${s.strategy}: the windows' PnL ${sum.toFixed(4)} must add up to the combined ${s.metrics.pnlUsd.toFixed(4)}`);
    }
  });

  it('every report draws its charts at 1440 and 390 px with no page error, no request and no horizontal scroll', async () => {
    const { chromium } = await import('playwright-core');
    mkdirSync(shots, { recursive: true });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'] });
    try {
      for (const [kind, file] of Object.entries(reports)) {
        for (const width of [1440, 390]) {
          const page = await browser.newPage({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
          const problems: string[] = [];
          page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
          page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
          page.on('request', (r) => !r.url().startsWith('file://') && !r.url().startsWith('data:') && problems.push(`request ${r.url()}`));
          await page.goto(`file://${file}`);
          await page.waitForSelector('body[data-charts-ready]', { timeout: 15_000 });
          const drawn = await page.$$eval('.lw-chart', (boxes) => boxes.filter((b) => b.querySelector('canvas') && b.getBoundingClientRect().height > 100).length);
          const charts = await page.$$eval('.lw-chart', (boxes) => boxes.length);
          assert.ok(charts >= 3 && drawn === charts, `${kind} at ${width}px: ${drawn} of ${charts} charts drawn`);
          const scroll = await page.$eval('html', (html) => html.scrollWidth);
          assert.ok(scroll <= width, `${kind} at ${width}px scrolls sideways: the page is ${scroll}px wide`);
          // The log/linear switch changes the equity axis without an error (and is left as the page opened).
          const opened = await page.$eval('.scale-switch button.on', (b) => b.getAttribute('data-mode') ?? '');
          await page.click(`.scale-switch button[data-mode="${opened === 'log' ? 'linear' : 'log'}"]`);
          await page.click(`.scale-switch button[data-mode="${opened}"]`);
          await page.screenshot({ path: join(shots, `report-${kind}-${width}.png`), fullPage: true });
          assert.deepEqual(problems, [], `${kind} at ${width}px`);
          await page.close();
        }
      }
    } finally {
      await browser.close();
    }
    process.stdout.write(`report screenshots: ${shots}\n`);
  });

  it('hides trade markers when too many fills are in view and shows them when zoomed in', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await page.goto(`file://${reports.backtest}`);
      await page.waitForSelector('body[data-charts-ready]');
      const note = () => page.$$eval('.marker-note', (notes) => notes.map((n) => n.textContent ?? '').join('|'));
      assert.match(await note(), /fills in view: zoom in/, 'sma-trend trades hundreds of times on the sample: markers must not merge into a band');
      const box = (await page.$$('.lw-chart'))[2];
      await box.scrollIntoViewIfNeeded();
      const rect = (await box.boundingBox())!;
      await page.mouse.move(rect.x + rect.width / 2, rect.y + rect.height / 2);
      for (let i = 0; i < 200 && /fills in view/.test(await note()); i++) {
        await page.mouse.wheel(0, -600);
        await page.waitForTimeout(20);
      }
      assert.doesNotMatch(await note(), /fills in view/, 'zoomed in to a few hours, the fills are drawn as markers');
    } finally {
      await browser.close();
    }
  });
});
