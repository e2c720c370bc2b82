import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { reportBasePath, reportStamp } from './report-path.ts';
import { strategyColor } from './strategy-colors.ts';

describe('report file names', () => {
  it('name the run and the UTC minute, and never overwrite an earlier report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-names-'));
    const t = Date.UTC(2026, 1, 7, 15, 30, 42);
    assert.equal(reportStamp(t), '20260207T1530Z');
    const first = reportBasePath(dir, ['backtest', 'sma-trend', 'SOLUSDT-BTCUSDT', '5m'], t);
    assert.equal(first, join(dir, 'backtest-sma-trend-SOLUSDT-BTCUSDT-5m-20260207T1530Z'));
    writeFileSync(`${first}.json`, '{}');
    const second = reportBasePath(dir, ['backtest', 'sma-trend', 'SOLUSDT-BTCUSDT', '5m'], t);
    assert.equal(second, `${first}-2`, 'a second report in the same minute must not overwrite the first');
    assert.equal(reportBasePath(dir, ['rl-backtest', 'agent 1/x', 'SOLUSDT'], t), join(dir, 'rl-backtest-agent-1-x-SOLUSDT-20260207T1530Z'));
  });
});

describe('strategy colours', () => {
  it('give a strategy the same colour in every report, whatever its parameters or window', () => {
    assert.equal(strategyColor('sma-trend(48)'), strategyColor('sma-trend'));
    assert.equal(strategyColor('ppo-agent w2'), strategyColor('ppo-agent (walk-forward)'));
    assert.notEqual(strategyColor('sma-trend'), strategyColor('oi-trend'));
    assert.notEqual(strategyColor('buy-and-hold 1x'), strategyColor('buy-and-hold'), 'the benchmark is told apart from the leveraged baseline');
    assert.equal(strategyColor('my-breakout'), strategyColor('my-breakout'));
    assert.equal(strategyColor('cost-aware(hurdle 0.05 %, costs 0.12 % round trip, 48 bars, stop 2 ATR, Kelly x0.25)'), strategyColor('cost-aware'));
    assert.notEqual(strategyColor('cost-aware'), strategyColor('ml-signal'));
  });
});
