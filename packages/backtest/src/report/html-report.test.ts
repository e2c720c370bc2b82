import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runBacktest } from '../engine/backtester.ts';
import { computeMetrics } from '../metrics/metrics.ts';
import { BASELINES } from '../strategies/baselines.ts';
import { realSampleFrame } from '../testing/real-sample.ts';
import { renderHtmlReport, reportJson } from './html-report.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const frame = realSampleFrame();
const entries = Object.values(BASELINES).map((make) => {
  const result = runBacktest(frame, make(), { leverage: 5 });
  return { result, metrics: computeMetrics(result, { trials: 5 }) };
});
const html = renderHtmlReport('report test', entries);

describe('backtest report', () => {
  it('is one self-contained file: the chart library and the data inline, no script, stylesheet or image fetched from anywhere', () => {
    assert.doesNotMatch(html, /<link|<script[^>]*\ssrc=|<img|<iframe|@import|url\(\s*['"]?https?:/, 'a report must not load anything');
    assert.match(html, /name="viewport"/, 'a phone needs the viewport meta');
    assert.match(html, /LightweightCharts/, 'the lightweight-charts build must be inlined');
    for (const e of entries) assert.ok(html.includes(e.result.strategy), `${e.result.strategy} missing from the comparison`);
  });

  it('the JSON carries the same numbers as the page', () => {
    const json = reportJson(entries) as Array<{ strategy: string; metrics: { finalUsd: number } }>;
    assert.equal(json.length, entries.length);
    const final = json[0].metrics.finalUsd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    assert.ok(html.includes(final), `final equity ${final} must appear in the HTML`);
  });

  it('renders in headless Chromium with its charts laid out', { skip: !existsSync(CHROMIUM) && !process.env.CI && `no Chromium at ${CHROMIUM} (apt-get install chromium)` }, async () => {
    const { chromium } = await import('playwright-core');
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('requestfailed', (r) => errors.push(`request ${r.url()}`));
      await page.goto(`file://${file}`);
      await page.waitForSelector('body[data-charts-ready]');
      const charts = await page.$$eval('.lw-chart', (boxes) => boxes.map((b) => (b.querySelector('canvas') ? b.getBoundingClientRect().height : 0)));
      assert.equal(charts.length, 3, 'equity, drawdown and price charts');
      for (const h of charts) assert.ok(h > 100, `a chart rendered ${h}px tall`);
      const rows = await page.$$eval('table tr', (trs) => trs.length);
      assert.ok(rows > 20);
      assert.deepEqual(errors, []);
      await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
      process.stdout.write(`report screenshot: ${join(dir, 'report.png')}\n`);
    } finally {
      await browser.close();
    }
  });
});
