import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { smaTrend } from '@oitrader/backtest';
import { DEFAULT_RISK_LIMITS, type Strategy } from '@oitrader/trading';
import { createLogger, silentLogger } from '@oitrader/core';
import { MarketDataLoader, migrate, PgliteExecutor, type SqlExecutor } from '@oitrader/data';
import { TradingBot } from '../bot/trading-bot.ts';
import { BotStore } from '../state/bot-store.ts';
import { importSample, SAMPLE_SYMBOL, sampleSpan } from '../testing/sample-store.ts';
import { promoteRun } from './champion-registry.ts';
import { ChampionStrategy } from './champion-strategy.ts';

const BAR = 300_000;

describe('the bot swaps to a promoted model at the next candle, without a restart', () => {
  let sql: SqlExecutor;
  before(async () => {
    sql = await PgliteExecutor.open(undefined);
    await migrate(sql);
    await importSample(sql);
  });
  after(async () => sql?.close());

  it('decides with the old champion up to the promotion and with the new one from the next candle on', async () => {
    const modelsDir = mkdtempSync(join(tmpdir(), 'oitrader-swap-'));
    for (const id of ['champ-a', 'champ-b']) {
      mkdirSync(join(modelsDir, id));
      writeFileSync(join(modelsDir, id, 'manifest.json'), JSON.stringify({ runId: id }));
    }
    promoteRun(modelsDir, 'champ-a', 'test');
    // Each run's strategy records the candles it decided on.
    const decided = new Map<string, number[]>();
    const build = (runId: string): Strategy => {
      const inner = smaTrend();
      decided.set(runId, []);
      return { name: runId, reset: (f) => inner.reset?.(f), onBar: (c) => (decided.get(runId)!.push(c.timeMs), inner.onBar(c)) };
    };
    const lines: string[] = [];
    const swaps: string[] = [];
    const strategy = new ChampionStrategy({ modelsDir, build, log: createLogger('bot', { write: (l) => lines.push(l) }), onSwap: (from, to) => swaps.push(`${from}→${to}`) });
    const span = await sampleSpan(sql, 2);
    const bot = new TradingBot({
      bot: 'swap',
      instruments: [{ symbol: SAMPLE_SYMBOL, strategy }],
      timeframe: '5m',
      mode: 'paper',
      risk: { ...DEFAULT_RISK_LIMITS, maxDailyLoss: 0.05, maxDrawdown: 0.5 },
      stopLoss: 0.01,
      execution: { initialBalanceUsd: 2000, leverage: 5 },
      store: new BotStore(sql),
      loader: new MarketDataLoader(sql, silentLogger),
    });
    await bot.start(span.firstMs);
    const promotedAfter = span.firstMs + 60 * BAR;
    await bot.stepThrough(promotedAfter);
    assert.equal(strategy.runId, 'champ-a');
    promoteRun(modelsDir, 'champ-b', 'test: retrain promoted b');
    await bot.stepThrough(promotedAfter + 5 * BAR);
    assert.ok(decided.get('champ-a')!.every((t) => t <= promotedAfter), 'the old champion decided after the promotion');
    assert.deepEqual(decided.get('champ-b'), [1, 2, 3, 4, 5].map((k) => promotedAfter + k * BAR), 'the new champion must decide from the first candle after the promotion, every candle');
    assert.deepEqual(swaps, ['undefined→champ-a', 'champ-a→champ-b']);
    assert.ok(lines.some((l) => l.includes('model swapped from champ-a: champ-b decides from the candle at')), 'the swap is not in the log');
  });
});
