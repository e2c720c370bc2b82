import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runBacktest } from '../engine/backtester.ts';
import { computeMetrics } from '../metrics/metrics.ts';
import { BASELINES } from '../strategies/baselines.ts';
import { realSampleFrame } from '../testing/real-sample.ts';
import { DEFAULT_RISK_LIMITS } from '@oitrader/trading';
import { haltMarkers, renderHtmlReport, reportJson, stoodAsideNote } from './html-report.ts';

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

  it('a run that made no trade says why: every refusal code with its count, or that the strategy never asked', () => {
    const risk = { limits: DEFAULT_RISK_LIMITS, stopLoss: 0.02 };
    const starved = runBacktest(frame, BASELINES['sma-trend'](), { leverage: 5, initialBalanceUsd: 2, risk });
    const note = stoodAsideNote(starved, computeMetrics(starved, { trials: 1 }));
    assert.ok(note.includes('Stood aside: why'), 'a run without trades must say it stood aside');
    const refused = Object.values(starved.refusals).reduce((a, n) => a + (n ?? 0), 0);
    assert.ok(refused > 0 && note.includes(`asked to enter ${refused.toLocaleString('en-US')} times`), 'the note counts every entry the strategy asked for');
    for (const [code, n] of Object.entries(starved.refusals)) assert.ok(note.includes(`<code>${code}</code> ×${(n ?? 0).toLocaleString('en-US')}`), `refusal ${code} missing from the note`);
    const flat = runBacktest(frame, BASELINES.flat(), { leverage: 5, risk });
    assert.match(stoodAsideNote(flat, computeMetrics(flat, { trials: 1 })), /never asked to enter/);
    assert.ok(stoodAsideNote(flat, computeMetrics(flat, { trials: 1 }), ['best expected net return 0.02 % (long) < hurdle 0.05 %']).includes('<p>best expected net return 0.02 % (long) &lt; hurdle 0.05 %.</p>'), "the strategy's own reason (an ML rule's hurdle) is in the note");
    const trading = entries.find((e) => e.metrics.trades > 0)!;
    assert.equal(stoodAsideNote(trading.result, trading.metrics), '', 'a run that traded has no stood-aside note');
  });

  it('marks risk halts on the equity curve, labelled except the daily-loss ones, and never day starts', () => {
    const markers = haltMarkers([
      { timeMs: 1, kind: 'day_start', message: '' },
      { timeMs: 2, kind: 'daily_loss', message: 'daily loss' },
      { timeMs: 3, kind: 'drawdown', message: 'drawdown 15%' },
    ]);
    assert.deepEqual(markers.map((m) => [m.timeMs, m.text, m.keep]), [[2, undefined, true], [3, 'drawdown halt', true]]);
  });

  it('a strategy name cannot break out of the page\'s script or markup', () => {
    const [first] = entries;
    const hostile = renderHtmlReport('x', [{ ...first, result: { ...first.result, strategy: '</script><img src=x>' } }]);
    assert.ok(!hostile.includes('</script><img'), 'a name closed the data script');
    assert.ok(!hostile.includes('<img src=x>'), 'a name became markup');
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
