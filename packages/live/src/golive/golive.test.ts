import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@oitrader/core';
import { MarketDataLoader, PgliteExecutor, migrate, type SqlExecutor } from '@oitrader/data';
import { DEFAULT_RISK_LIMITS } from '@oitrader/trading';
import { smaTrend } from '@oitrader/backtest';
import { TradingBot } from '../bot/trading-bot.ts';
import { BotStore } from '../state/bot-store.ts';
import { importSample, sampleSpan } from '../testing/sample-store.ts';
import { runGoLiveDrill } from './golive-drill.ts';
import { DRILL_BOTS, storedGoLiveEvidence, UNCLEAN_EXIT } from './golive-evidence.ts';

const BAR = 300_000;
const SYMBOLS = ['SOLUSDT', 'BTCUSDT'];

describe('go-live evidence from the database (real SOLUSDT and BTCUSDT sample)', () => {
  let sql: SqlExecutor;
  let store: BotStore;
  before(async () => {
    sql = await PgliteExecutor.open(undefined);
    await migrate(sql);
    await importSample(sql, SYMBOLS);
    store = new BotStore(sql);
  });
  after(async () => {
    await sql?.close();
  });

  it('without a paper bot or a drill every item fails, naming what is missing', async () => {
    const items = await storedGoLiveEvidence(sql, 'nobody', BAR);
    assert.ok(items.length >= 5);
    assert.ok(items.every((i) => !i.pass), items.map((i) => `${i.item}: ${i.evidence}`).join('\n'));
    assert.match(items[0].evidence, /no bot named "nobody"/);
    assert.ok(items.filter((i) => /drill/.test(i.item)).every((i) => /oitrader golive drill/.test(i.evidence)));
  });

  it('the drill fires the daily-loss and drawdown halts and the kill switch on the real candles, with no entry after any of them', async () => {
    const items = await runGoLiveDrill({
      sql,
      loader: new MarketDataLoader(sql, silentLogger),
      symbols: SYMBOLS,
      timeframe: '5m',
      limits: DEFAULT_RISK_LIMITS,
      stopLoss: 0.02,
      execution: { initialBalanceUsd: 2000, leverage: 5 },
      days: 3,
    });
    assert.equal(items.length, 3);
    for (const i of items) assert.ok(i.pass, `${i.item}: ${i.evidence}`);
    assert.match(items[0].evidence, /^fired \d{4}-\d\d-\d\d/);
    assert.match(items[2].evidence, /positions after: flat; 0 entries after it/);
    // A second drill starts fresh: same evidence, not stacked on the first.
    const again = await runGoLiveDrill({ sql, loader: new MarketDataLoader(sql, silentLogger), symbols: SYMBOLS, timeframe: '5m', limits: DEFAULT_RISK_LIMITS, stopLoss: 0.02, execution: { initialBalanceUsd: 2000, leverage: 5 }, days: 3 });
    assert.deepEqual(again, items);
    assert.equal((await store.riskEvents(DRILL_BOTS.kill)).filter((e) => e.kind === 'kill').length, 1);
  });

  it('a paper bot short of 14 days fails the first item; its stops prove protection; an unclean exit is counted', async () => {
    const span = await sampleSpan(sql, 4);
    const bot = new TradingBot({
      bot: 'goliv',
      instruments: SYMBOLS.map((symbol) => ({ symbol, strategy: smaTrend() })),
      timeframe: '5m',
      mode: 'paper',
      risk: { ...DEFAULT_RISK_LIMITS, maxDrawdown: 0.5 },
      stopLoss: 0.02,
      execution: { initialBalanceUsd: 2000, leverage: 5 },
      store,
      loader: new MarketDataLoader(sql, silentLogger),
    });
    await bot.start(span.firstMs);
    await bot.stepThrough(span.lastMs);
    let [paper, protection] = await storedGoLiveEvidence(sql, 'goliv', BAR);
    assert.equal(paper.pass, false);
    assert.match(paper.evidence, /paper bot "goliv": 4\.0 days of decisions .*14 needed; 0 unclean exits/);
    assert.equal(protection.pass, true, protection.evidence);
    assert.match(protection.evidence, /^(\d+) filled entries, \1 with their stop/);
    // A stop order that never reached the record: the entry is reported bare.
    await sql.query("DELETE FROM bot_orders WHERE bot = 'goliv' AND intent = 'stop' AND client_order_id = (SELECT min(client_order_id) FROM bot_orders WHERE bot = 'goliv' AND intent = 'stop')");
    await sql.query(`INSERT INTO bot_risk_events (bot, time, kind, message) VALUES ('goliv', now(), $1, 'took over from pid 4242, which was gone')`, [UNCLEAN_EXIT]);
    [paper, protection] = await storedGoLiveEvidence(sql, 'goliv', BAR);
    assert.equal(protection.pass, false);
    assert.match(protection.evidence, /WITHOUT: /);
    assert.match(paper.evidence, /1 unclean exits .*pid 4242/);
  });
});
