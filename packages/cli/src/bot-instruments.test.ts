import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { prepareAccount, UsdmClient } from '@oitrader/binance';
import { silentLogger } from '@oitrader/core';
import { MarketDataLoader, migrate, PgliteExecutor, type SqlExecutor } from '@oitrader/data';
import { BinanceInstrumentProvider, BotStore, ExchangeVenue, TradingBot } from '@oitrader/live';
import { importSample, SAMPLE_ARCHIVE, SAMPLE_SYMBOL, sampleSpan } from '@oitrader/live/testing';
import { loadReplayDataset, SIM_API_KEY, SIM_SECRET, SimClock, SimServer } from '@oitrader/sim';
import { bundledInstruments, DEFAULT_RISK_LIMITS, enter, type Instrument, type InstrumentProvider, type Strategy } from '@oitrader/trading';

const BAR = 300_000;
/** Changed rules the simulator serves for SOLUSDT: a 0.1 step (the snapshot has 1) and brackets allowing 5x only up to 2,500 USDT. */
const CHANGED: Instrument = {
  ...bundledInstruments().instrument('SOLUSDT'),
  stepSize: 0.1,
  minQty: 0.1,
  brackets: [
    { initialLeverage: 5, notionalFloorUsd: 0, notionalCapUsd: 2500, maintMarginRatio: 0.01, cumUsd: 0 },
    { initialLeverage: 2, notionalFloorUsd: 2500, notionalCapUsd: 1e9, maintMarginRatio: 0.05, cumUsd: 100 },
  ],
};

/** Enters long whenever flat (so every entry is sized by the rules alone). */
const alwaysLong = (): Strategy => ({ name: 'always-long', onBar: (ctx) => (ctx.qtyBase === 0 ? [enter('long')] : []) });

describe('the live bot takes instruments from the exchange (the trading simulator serving changed rules)', () => {
  let sql: SqlExecutor;
  let span: { firstMs: number; lastMs: number };
  before(async () => {
    sql = await PgliteExecutor.open(undefined);
    await migrate(sql);
    await importSample(sql);
    span = await sampleSpan(sql, 2);
  });
  after(async () => sql?.close());

  /** Steps a sim-mode bot over 150 candles against a simulator serving `served`; returns the entries it sent. */
  async function run(name: string, served: InstrumentProvider, fromExchange: boolean) {
    const first = span.firstMs + 20 * BAR;
    const sim = await SimServer.start({ datasets: [await loadReplayDataset(SAMPLE_ARCHIVE, SAMPLE_SYMBOL)], clock: new SimClock(first + 1000, 0), weightPerMinute: 1_000_000, instruments: served });
    try {
      const client = new UsdmClient({ restUrl: sim.restUrl, apiKey: SIM_API_KEY, secret: SIM_SECRET, clock: sim.clock });
      await prepareAccount(client, [SAMPLE_SYMBOL], 5);
      const provider = fromExchange ? await BinanceInstrumentProvider.load({ client, symbols: [SAMPLE_SYMBOL], clock: () => sim.clock.now() }) : bundledInstruments();
      const bot = new TradingBot({
        bot: name,
        instruments: [{ symbol: SAMPLE_SYMBOL, strategy: alwaysLong() }],
        timeframe: '5m',
        mode: 'sim',
        // 10 % risk over a 1 % stop asks for 10× equity: only leverage and the brackets cut it.
        risk: { ...DEFAULT_RISK_LIMITS, riskPerTrade: 0.1, maxTotalRisk: 1, maxDailyLoss: 0.5, maxDrawdown: 0.9, minLiquidationDistance: 1 },
        stopLoss: 0.01,
        execution: { initialBalanceUsd: 2000, leverage: 5 },
        store: new BotStore(sql),
        loader: new MarketDataLoader(sql, silentLogger),
        instrumentProvider: provider,
        venue: new ExchangeVenue({ client, bot: name, symbols: [SAMPLE_SYMBOL], takerFeeRate: 0.0005 }),
        clock: () => sim.clock.now(),
      });
      await bot.start(first);
      for (let t = first; t < first + 150 * BAR; t += BAR) {
        sim.clock.set(t + BAR + 1000);
        await bot.stepThrough(t);
      }
      const orders = await new BotStore(sql).orders(name);
      const decisions = await sql.query<{ reason: string; allowed: boolean; action: string; notional: number }>(`SELECT reason, allowed, action, (qty_base * price_usd)::float8 AS notional FROM bot_decisions WHERE bot = $1`, [name]);
      return { entries: orders.filter((o) => o.intent === 'entry'), decisions };
    } finally {
      await sim.close();
    }
  }

  it('sizes every entry by the brackets and filters the exchange serves, not the bundled snapshot', async () => {
    const live = await run('ins', bundledInstruments().with(CHANGED), true);
    const filled = live.entries.filter((o) => o.status === 'FILLED');
    assert.ok(filled.length >= 2, `the bot should enter on two real days, entries: ${JSON.stringify(live.entries.map((o) => [o.qtyBase, o.status]))}`);
    const sized = live.decisions.filter((d) => d.action === 'enter' && d.allowed);
    assert.ok(sized.length >= filled.length);
    for (const d of sized) assert.ok(d.notional <= 2500 + 1e-6, `an entry sized at ${d.notional.toFixed(2)} USDT is beyond the 2,500 USDT the served brackets allow at 5x`);
    assert.ok(filled.some((o) => Math.abs(o.qtyBase - Math.round(o.qtyBase)) > 1e-9), `sizes on the served 0.1 step expected, got ${filled.map((o) => o.qtyBase)}`);
    assert.ok(!live.decisions.some((d) => /refus|-2027|-1111/.test(d.reason) && d.action === 'enter'), 'no entry should be refused by the exchange when the bot sizes by its rules');
  });

  it('would have sized beyond them with the bundled snapshot (so the test sees the difference)', async () => {
    const bundled = await run('inb', bundledInstruments(), false);
    const filled = bundled.entries.filter((o) => o.status === 'FILLED');
    assert.ok(filled.length > 0);
    assert.ok(bundled.decisions.some((d) => d.action === 'enter' && d.allowed && d.notional > 2500 * 1.5), `with the snapshot's brackets the same strategy sizes far above 2,500 USDT: ${bundled.decisions.filter((d) => d.allowed && d.action === 'enter').map((d) => d.notional.toFixed(0))}`);
  });
});
