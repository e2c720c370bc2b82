import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DirectorySource } from '@oitrader/binance';
import { silentLogger } from '@oitrader/core';
import { importArchive, MarketDataLoader, openStore } from '@oitrader/data';
import { FEATURE_SET_VERSION } from '@oitrader/features';
import { BotStore } from '@oitrader/live';
import { trainTinyRun } from '@oitrader/live/testing';
import { saveAgent, syntheticMarket, trainAgentWalkForward } from '@oitrader/rl';
import { SAMPLE_ARCHIVE } from './commands/demo.ts';

const BIN = fileURLToPath(new URL('../bin/oitrader.mjs', import.meta.url));
const DAY = 86_400_000;
const BAR = 300_000;
const START = Date.UTC(2025, 11, 1);
/** The model run trains on the first 8 days; agent and bot are scored on days 10 and 11, after every label it saw. */
const FROM = START + 9 * DAY;
const TO = START + 11 * DAY;

interface Fill {
  timeMs: number;
  side: string;
  qtyBase: number;
  priceUsd: number;
  reason: string;
}
const key = (f: Fill) => `${new Date(f.timeMs).toISOString()} ${f.side} ${f.qtyBase} @ ${f.priceUsd.toFixed(6)}`;

describe('RL parity through the CLI: `rl backtest` after the span and a paper `bot run --replay` make the same orders for the same agent', () => {
  let dir: string;
  let configFile: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oitrader-rl-parity-'));
    const db = join(dir, 'db');
    const { sql } = await openStore({ embeddedPath: db });
    try {
        await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE), { symbols: ['SOLUSDT'], timeframes: ['5m'], datasets: ['klines', 'metrics', 'fundingRate'], startMs: START, endMs: TO });
      const loader = new MarketDataLoader(sql, silentLogger);
      await trainTinyRun(await loader.loadAllData('SOLUSDT', '5m', START, START + 8 * DAY), join(dir, 'models'), 'run-a', { lstm: false });
    } finally {
      await sql.close();
    }
    // A tiny agent (synthetic SOLUSDT 5m, as packages/rl's tests train one) that observes run a.
    const { frame, predictions } = syntheticMarket({ bars: 2000, seed: 5, driftPerBar: 0.0004 });
    const trained = await trainAgentWalkForward({
      runId: 'ag-p',
      frame,
      predictions,
      modelRun: { runId: 'run-a', featureSetVersion: FEATURE_SET_VERSION },
      algorithm: 'ppo',
      windows: 2,
      timestepsPerWindow: 512,
      nEnvs: 2,
      seed: 3,
      training: { nSteps: 128, batchSize: 128, nEpochs: 1 },
      env: { episodeBars: 128 },
      codeVersion: 'test',
    });
    saveAgent(join(dir, 'agents'), trained.manifest, trained.nets, trained.logs);
    configFile = join(dir, 'config.yaml');
    writeFileSync(
      configFile,
      [
        `database:\n  embedded_path: ${db}`,
        `models:\n  dir: ${join(dir, 'models')}\n  agents_dir: ${join(dir, 'agents')}`,
        `bot:\n  name: par\n  strategy: agent\n  agent: ag-p\n  history_bars: 60\n  collector: external\n  kill_file: ${join(dir, 'KILL')}`,
        `dashboard:\n  enabled: false`,
        `trading:\n  symbol: SOLUSDT\n  max_daily_loss: 0.05\n  max_drawdown: 0.5`,
      ].join('\n'),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, '--config', configFile, ...args], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } });
    assert.equal(r.status, 0, `oitrader ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };

  it('identical fills, all six actions allowed in both, one risk engine', async () => {
    const summary = JSON.parse(cli('--json', 'rl', 'backtest', '--agent', 'ag-p', '--start', new Date(FROM).toISOString(), '--end', new Date(TO).toISOString(), '--out', join(dir, 'reports'))) as { json: string; actionHistogram: number[] };
    const report = JSON.parse(readFileSync(summary.json, 'utf8')) as { afterSpan: boolean; strategies: Array<{ strategy: string; fills: Fill[]; managed: boolean }> };
    assert.equal(report.afterSpan, true);
    const agent = report.strategies[0];
    assert.equal(agent.managed, true, 'the agent is scored through the risk engine');
    // The backtest closes what is open at its last bar ('end'); the replay leaves it open.
    const backtestFills = agent.fills.filter((f) => f.reason !== 'end');
    assert.ok(backtestFills.length >= 2, `the agent should trade on two real days (actions ${summary.actionHistogram})`);
    // HOLD LONG SHORT EXIT SCALE_IN SCALE_OUT: the scale actions the bot once masked are part of what is compared.
    assert.ok(summary.actionHistogram[4] + summary.actionHistogram[5] > 0, `the agent should scale in or out here (actions ${summary.actionHistogram}), or the test cannot see a bot that masks them`);

    cli('--json', 'bot', 'run', '--replay', '--from', new Date(FROM).toISOString());
    const { sql } = await openStore({ embeddedPath: join(dir, 'db') });
    try {
      // The replay goes on over every stored candle; the backtest's span ends at TO (its last decision is on the bar before).
      const stored = (await new BotStore(sql).fills('par')).filter((f) => f.timeMs < TO);
      assert.deepEqual(stored.map(key), backtestFills.map(key), 'the bot traded the agent differently from `rl backtest` on the same bars');
      const decisions = await sql.query<{ n: number }>("SELECT count(*)::float8 AS n FROM bot_decisions WHERE bot = 'par' AND candle_time < to_timestamp($1 / 1000.0)", [TO]);
      assert.equal(Number(decisions[0].n), (TO - FROM) / BAR, 'one decision per candle of the span');
    } finally {
      await sql.close();
    }
  });
});
