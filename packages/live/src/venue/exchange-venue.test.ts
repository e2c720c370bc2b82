import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BinanceOrderError, UnknownOutcomeError } from '@oitrader/binance';
import { clientOrderId } from '../bot/client-id.ts';
import { FakeUsdm } from '../testing/fake-usdm.ts';
import { ExchangeVenue } from './exchange-venue.ts';
import { reconcileWithExchange } from './reconcile.ts';
import type { VenueOrder } from './venue.ts';

const T = Date.UTC(2025, 11, 1, 12, 0);
const BAR = { timeMs: T, open: 100, high: 100, low: 100, close: 100 };
const venueOn = (fake: FakeUsdm) => new ExchangeVenue({ client: fake, bot: 'oit', symbols: ['SOLUSDT'], takerFeeRate: 0.0005, sleep: async () => undefined });
const entryWithStop = (qty: number, stop: number): VenueOrder[] => [
  { clientOrderId: clientOrderId('oit', 'entry', 'SOLUSDT', T), intent: 'entry', order: { type: 'market', side: 'buy', qtyBase: qty } },
  { clientOrderId: clientOrderId('oit', 'stop', 'SOLUSDT', T), intent: 'stop', order: { type: 'stop', side: 'sell', qtyBase: qty, triggerUsd: stop, reduceOnly: true } },
];

describe('exchange venue (against an in-memory account; the wire contract is the trading simulator\'s)', () => {
  it('places the entry as MARKET and its stop right after as an Algo Order API STOP_MARKET closePosition on the mark price', async () => {
    const fake = new FakeUsdm();
    const venue = venueOn(fake);
    const states = await venue.submit('SOLUSDT', entryWithStop(10, 98), 100, T);
    assert.deepEqual(states.map((s) => s.status), ['FILLED', 'NEW']);
    assert.equal(fake.qtyBase, 10);
    const [stop] = fake.algos;
    assert.equal(stop.orderType, 'STOP_MARKET', 'a stop must go through the Algo Order API (/fapi/v1/order refuses it since 2025-12-09)');
    assert.ok(stop.closePosition && stop.workingType === 'MARK_PRICE', 'the stop closes the whole position on the mark price');
    assert.equal(stop.triggerPriceUsd, 98);
    const fills = await venue.onClosedBar('SOLUSDT', BAR, Number.NaN);
    assert.equal(fills.length, 1, 'the entry fill is reported at the next candle');
  });

  it('a step re-run after a crash finds its orders by client id and sends nothing twice', async () => {
    const fake = new FakeUsdm();
    await venueOn(fake).submit('SOLUSDT', entryWithStop(10, 98), 100, T);
    const restarted = venueOn(fake);
    const states = await restarted.submit('SOLUSDT', entryWithStop(10, 98), 100, T);
    assert.deepEqual(states.map((s) => s.status), ['FILLED', 'NEW']);
    assert.equal(fake.orders.length, 1, 'the entry was sent twice: a double position after a restart');
    assert.equal(fake.algos.length, 1, 'the stop was sent twice');
    assert.equal(fake.qtyBase, 10);
  });

  it('closes the position at once when its stop cannot be placed', async () => {
    const fake = new FakeUsdm();
    fake.refuseAlgoOrders = true;
    const states = await venueOn(fake).submit('SOLUSDT', entryWithStop(10, 98), 100, T);
    assert.equal(states[1].status, 'REJECTED');
    assert.equal(fake.qtyBase, 0, 'a position without an exchange-side stop must not stay open');
    assert.ok(fake.orders.some((o) => o.reduceOnly && o.side === 'SELL'), 'the close is a reduce-only market order');
  });

  it('reports a triggered stop as a stop fill and forgets the stop', async () => {
    const fake = new FakeUsdm();
    const venue = venueOn(fake);
    await venue.submit('SOLUSDT', entryWithStop(10, 98), 100, T);
    await venue.onClosedBar('SOLUSDT', BAR, Number.NaN);
    fake.moveTo(97.5);
    const fills = await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 300_000 }, Number.NaN);
    assert.deepEqual(fills.map((f) => [f.reason, f.side, f.qtyBase]), [['stop', 'sell', 10]]);
    assert.deepEqual(await venue.openStops('SOLUSDT'), []);
  });
});

describe('exchange venue: every open position keeps a stop (checked at every step)', () => {
  const protect = (venue: ExchangeVenue, qtyBase: number, lastStopUsd?: number) =>
    venue.ensureProtected({ symbol: 'SOLUSDT', qtyBase, entryPriceUsd: 100, candleTimeMs: T + 300_000, stopLoss: 0.02, tickSize: 0.01, lastStopUsd });

  it('a stop the exchange cancelled is replaced at the next step, at the last trigger, and the new stop is in the record', async () => {
    const fake = new FakeUsdm();
    const venue = venueOn(fake);
    await venue.submit('SOLUSDT', entryWithStop(10, 98.5), 100, T);
    fake.algos[0].algoStatus = 'CANCELED';
    await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 300_000 }, Number.NaN);
    venue.changedOrders();
    await protect(venue, 10, 98.5);
    const resting = fake.algos.filter((a) => a.algoStatus === 'NEW');
    assert.equal(resting.length, 1, 'the position was left without a stop');
    assert.deepEqual([resting[0].side, resting[0].triggerPriceUsd, resting[0].closePosition], ['SELL', 98.5, true]);
    const recorded = venue.changedOrders().filter((o) => o.clientOrderId === resting[0].clientAlgoId);
    assert.ok(recorded.some((o) => 'intent' in o), 'the stop the venue placed on its own must reach the bot\'s record (with its intent, side and trigger)');
    await protect(venue, 10, 98.5);
    assert.equal(fake.algos.filter((a) => a.algoStatus === 'NEW').length, 1, 'a protected position got a second stop');
  });

  it('a stop whose placement had an unknown outcome and that then fired has its fill recorded at the next step', async () => {
    const fake = new FakeUsdm();
    const venue = venueOn(fake);
    const place = fake.placeAlgoOrder.bind(fake);
    // The exchange takes the stop, the answer is lost.
    fake.ensureAlgoOrder = async (o) => {
      await place(o);
      throw new UnknownOutcomeError('/fapi/v1/algoOrder', 'no answer within 10000 ms');
    };
    const states = await venue.submit('SOLUSDT', entryWithStop(10, 98), 100, T);
    assert.deepEqual(states.map((s) => s.status), ['FILLED', 'UNKNOWN']);
    venue.takeFills();
    fake.moveTo(97.5);
    const fills = await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 300_000 }, Number.NaN);
    assert.deepEqual(fills.map((f) => [f.reason, f.side, f.qtyBase]), [['stop', 'sell', 10]], 'the stop closed the position on the exchange but its fill is missing from the record');
  });

  it('a position whose stop cannot be placed at all is closed', async () => {
    const fake = new FakeUsdm();
    const venue = venueOn(fake);
    await fake.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 10, clientOrderId: 'oit-e-SOLUSDT-x-0' });
    fake.refuseAlgoOrders = true;
    await protect(venue, 10);
    assert.equal(fake.qtyBase, 0, 'an unprotectable position must be closed');
  });

  it('sends no stop or target for an entry the exchange refused', async () => {
    const fake = new FakeUsdm();
    fake.placeOrder = async () => {
      throw new BinanceOrderError('/fapi/v1/order', 400, -2019, 'Margin is insufficient.');
    };
    const states = await venueOn(fake).submit('SOLUSDT', entryWithStop(10, 98), 100, T);
    assert.deepEqual(states.map((s) => s.status), ['REJECTED', 'CANCELED']);
    assert.equal(fake.algos.length, 0, 'a stop on a flat book would close the next position the moment it opens');
  });

  it('a stop that fired takes its take-profit sibling off the book', async () => {
    const fake = new FakeUsdm();
    const venue = venueOn(fake);
    const target: VenueOrder = { clientOrderId: clientOrderId('oit', 'target', 'SOLUSDT', T), intent: 'target', order: { type: 'take_profit', side: 'sell', qtyBase: 10, triggerUsd: 103, reduceOnly: true } };
    await venue.submit('SOLUSDT', [...entryWithStop(10, 98), target], 100, T);
    await venue.onClosedBar('SOLUSDT', BAR, Number.NaN);
    fake.moveTo(97.5);
    await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 300_000 }, Number.NaN);
    assert.equal(fake.qtyBase, 0);
    assert.deepEqual(fake.algos.filter((a) => a.algoStatus === 'NEW').map((a) => a.clientAlgoId), [], 'the old target stays and would close a later position');
  });
});

describe('exchange venue: an entry acknowledged NEW and filled later (an overloaded exchange)', () => {
  const entryAt = (t: number, qty: number, stop: number): VenueOrder[] => [
    { clientOrderId: clientOrderId('oit', 'entry', 'SOLUSDT', t), intent: 'entry', order: { type: 'market', side: 'buy', qtyBase: qty } },
    { clientOrderId: clientOrderId('oit', 'stop', 'SOLUSDT', t), intent: 'stop', order: { type: 'stop', side: 'sell', qtyBase: qty, triggerUsd: stop, reduceOnly: true } },
  ];

  it('holds the stop back while nothing filled, counts the resting entry as exposure, and places the stop when it fills', async () => {
    const fake = new FakeUsdm();
    fake.delayFills = true;
    const venue = venueOn(fake);
    const states = await venue.submit('SOLUSDT', entryAt(T, 10, 98), 100, T);
    assert.deepEqual(states.map((s) => s.status), ['NEW', 'PENDING']);
    assert.equal(fake.algos.length, 0, 'a closePosition stop placed before its entry filled rests on a flat book');
    assert.equal((await venue.account()).positions[0].restingEntryQtyBase, 10, 'the unfilled entry must count as exposure');
    fake.fillResting();
    const fills = await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 300_000 }, Number.NaN);
    assert.deepEqual(fills.map((f) => [f.side, f.qtyBase, f.priceUsd]), [['buy', 10, 100]]);
    assert.deepEqual(fake.algos.map((a) => [a.clientAlgoId, a.algoStatus, a.triggerPriceUsd]), [[clientOrderId('oit', 'stop', 'SOLUSDT', T), 'NEW', 98]], 'the held-back stop goes on at the fill, with its own id and trigger');
    assert.equal((await venue.account()).positions[0].restingEntryQtyBase, undefined);
  });

  it('watches a NEW entry for its fill as long as fillWaitMs says at that order (none while a stepped simulator stands still)', async () => {
    let waitMs = 0;
    let pauses = 0;
    const fake = new FakeUsdm();
    fake.delayFills = true;
    const venue = new ExchangeVenue({ client: fake, bot: 'oit', symbols: ['SOLUSDT'], takerFeeRate: 0.0005, fillWaitMs: () => waitMs, sleep: async () => void pauses++ });
    assert.deepEqual((await venue.submit('SOLUSDT', entryAt(T, 10, 98), 100, T)).map((s) => s.status), ['NEW', 'PENDING']);
    assert.equal(pauses, 0, 'a wait of 0 must not look the order up at all');
    await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 300_000 }, Number.NaN);
    waitMs = 1000;
    await venue.submit('SOLUSDT', entryAt(T + 300_000, 10, 98), 100, T + 300_000);
    assert.equal(pauses, 4, 'a 1 s wait looks the order up every 250 ms');
  });

  it('an entry still unfilled at the next candle is cancelled, the cancel confirmed, and its stop dropped: never two entries resting', async () => {
    const fake = new FakeUsdm();
    fake.delayFills = true;
    const venue = venueOn(fake);
    await venue.submit('SOLUSDT', entryAt(T, 10, 98), 100, T);
    await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 300_000 }, Number.NaN);
    assert.deepEqual(fake.orders.map((o) => o.status), ['CANCELED']);
    const changed = venue.changedOrders();
    assert.ok(changed.some((c) => c.clientOrderId === clientOrderId('oit', 'stop', 'SOLUSDT', T) && c.status === 'CANCELED'), 'the held-back stop must end in the record');
    assert.equal((await venue.account()).positions[0].restingEntryQtyBase, undefined);
    fake.fillResting();
    assert.equal(fake.qtyBase, 0, 'a cancelled entry must not fill');
  });

  it('partial fills: each part recorded once at its own price, the stop placed at the first part, the rest cancelled at the next candle', async () => {
    const fake = new FakeUsdm();
    fake.delayFills = true;
    const venue = venueOn(fake);
    await venue.submit('SOLUSDT', entryAt(T, 10, 98), 100, T);
    fake.fillResting(0.4);
    fake.markPriceUsd = 101;
    fake.fillResting(0.5);
    const fills = await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 300_000 }, Number.NaN);
    assert.equal(fills.length, 1, 'one look-up sees both parts as one executed quantity');
    assert.ok(Math.abs(fills[0].qtyBase - 7) < 1e-9);
    assert.equal(fake.algos.length, 1, 'the stop goes on once any quantity filled');
    assert.deepEqual(fake.orders.map((o) => o.status), ['CANCELED'], 'the unfilled rest of a stale entry is cancelled');
    assert.ok(Math.abs(fake.qtyBase - 7) < 1e-9);
    const again = await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 600_000 }, Number.NaN);
    assert.deepEqual(again, [], 'a fill recorded once is never recorded again');
  });

  it('records each part of a partly filled order as it is seen, once, at the price that part traded', async () => {
    const fake = new FakeUsdm();
    fake.delayFills = true;
    const venue = venueOn(fake);
    const query = fake.queryOrder.bind(fake);
    let first = true;
    fake.queryOrder = async (symbol, ref) => {
      // While the venue watches the entry, 4 of 10 fill at 100.
      if (first && fake.orders.length > 0) {
        fake.fillResting(0.4);
        first = false;
      }
      return query(symbol, ref);
    };
    await venue.submit('SOLUSDT', entryAt(T, 10, 98), 100, T);
    const part = venue.takeFills();
    assert.deepEqual(part.map((f) => [f.qtyBase, f.priceUsd]), [[4, 100]]);
    fake.markPriceUsd = 103;
    fake.fillResting();
    const rest = await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 300_000 }, Number.NaN);
    assert.equal(rest.length, 1);
    assert.ok(Math.abs(rest[0].qtyBase - 6) < 1e-9 && Math.abs(rest[0].priceUsd - 103) < 1e-9, `the second part is 6 at 103, got ${rest[0].qtyBase} at ${rest[0].priceUsd}`);
    assert.notEqual(rest[0].fillId, part[0].fillId, 'two parts of one order need two fill ids (one id would store only the first)');
    assert.ok(Math.abs(rest[0].feeUsd - 6 * 103 * fake.feeRate) < 1e-9, `the fee is the commission the exchange charged on the part's trades (${fake.feeRate}), not the configured 0.0005: ${rest[0].feeUsd}`);
    assert.ok(Math.abs(part[0].feeUsd - 4 * 100 * fake.feeRate) < 1e-9);
  });
});

describe('exchange venue: accounting from the exchange\'s own records', () => {
  it('an order answer without avgPrice (Binance 2026 schema): the fill is priced from its trades, never stored at 0', async () => {
    const fake = new FakeUsdm();
    fake.omitAvgPrice = true;
    fake.markPriceUsd = 101.37;
    const venue = venueOn(fake);
    await venue.submit('SOLUSDT', entryWithStop(3, 98), 101, T);
    const fills = venue.takeFills();
    assert.deepEqual(fills.map((f) => [f.qtyBase, f.priceUsd]), [[3, 101.37]]);
    assert.ok(Math.abs(fills[0].feeUsd - 3 * 101.37 * fake.feeRate) < 1e-9);
  });

  it('without readable trades an unpriced fill waits (is not returned) until the trades answer, then comes once', async () => {
    const fake = new FakeUsdm();
    fake.omitAvgPrice = true;
    const venue = venueOn(fake);
    const trades = fake.userTrades.bind(fake);
    let down = true;
    fake.userTrades = async (symbol, q) => {
      if (down) throw new Error('HTTP 503');
      return trades(symbol, q);
    };
    await venue.submit('SOLUSDT', entryWithStop(2, 98), 100, T);
    assert.deepEqual(venue.takeFills(), [], 'a fill at price 0 or NaN must never reach the record');
    down = false;
    const later = await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 300_000 }, Number.NaN);
    assert.deepEqual(later.map((f) => [f.qtyBase, f.priceUsd]), [[2, 100]]);
    assert.deepEqual(await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + 600_000 }, Number.NaN), []);
  });

  it('funding settlements come from the income history (FUNDING_FEE), each once, with the amount the exchange booked', async () => {
    const fake = new FakeUsdm();
    const venue = venueOn(fake);
    await venue.submit('SOLUSDT', entryWithStop(10, 98), 100, T);
    venue.takeFills();
    await venue.onClosedBar('SOLUSDT', BAR, 0.0001);
    assert.deepEqual(venue.settledFunding(), []);
    const paid = fake.settleFunding('SOLUSDT', 0.0001, Date.UTC(2025, 11, 1, 16, 0));
    for (let k = 1; k <= 60; k++) await venue.onClosedBar('SOLUSDT', { ...BAR, timeMs: T + k * 300_000 }, 0.0001);
    const funding = venue.settledFunding();
    assert.equal(funding.length, 1, `one settlement, once: ${JSON.stringify(funding)}`);
    assert.equal(funding[0].timeMs, Date.UTC(2025, 11, 1, 16, 0), 'stamped at the settlement hour');
    assert.ok(Math.abs(funding[0].incomeUsd - paid) < 1e-12 && funding[0].incomeUsd < 0, 'a long pays positive funding: the booked amount, signed as Binance does');
    assert.equal(funding[0].qtyBase, 10);
  });
});

describe('start-up reconciliation with the exchange', () => {
  const base = { bot: 'oit', symbol: 'SOLUSDT', stopLoss: 0.02, tickSize: 0.01, candleTimeMs: T };

  it('adopts a position the bot did not record and re-places its missing stop, naming both differences', async () => {
    const fake = new FakeUsdm();
    await fake.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 7, clientOrderId: 'manual-1' });
    const report = await reconcileWithExchange({ ...base, client: fake, stored: undefined, onUnknownPosition: 'adopt' });
    assert.equal(report.qtyBase, 7);
    assert.equal(report.stops.length, 1, 'an adopted position must get a stop');
    assert.equal(fake.algos[0].triggerPriceUsd, 98, 'stop_loss 2% below the entry');
    assert.ok(report.differences.some((d) => d.includes('holds 7')) && report.differences.some((d) => d.includes('no stop')), report.differences.join('; '));
  });

  it('closes an unknown position when bot.on_unknown_position is close', async () => {
    const fake = new FakeUsdm();
    await fake.placeOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'MARKET', qtyBase: 3, clientOrderId: 'manual-2' });
    const report = await reconcileWithExchange({ ...base, client: fake, stored: undefined, onUnknownPosition: 'close' });
    assert.equal(fake.qtyBase, 0, 'the unknown short must be closed');
    assert.equal(report.qtyBase, 0);
  });

  it('keeps a closePosition stop although Binance reports its quantity as 0, and places no second one', async () => {
    const fake = new FakeUsdm();
    await venueOn(fake).submit('SOLUSDT', entryWithStop(10, 98), 100, T);
    assert.equal(fake.algos[0].qtyBase, 0);
    const report = await reconcileWithExchange({ ...base, client: fake, stored: { symbol: 'SOLUSDT', qtyBase: 10, entryPriceUsd: 100, liquidationPriceUsd: 81, stopUsd: 98 }, onUnknownPosition: 'adopt' });
    assert.deepEqual(report.differences, [], 'a recorded position with its closePosition stop is in order');
    assert.equal(fake.algos.length, 1, 'a quantity-0 closePosition stop was taken for missing and doubled');
  });

  it('cancels its own stops left on a flat book', async () => {
    const fake = new FakeUsdm();
    await fake.placeAlgoOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'STOP_MARKET', triggerPriceUsd: 90, closePosition: true, clientAlgoId: clientOrderId('oit', 'stop', 'SOLUSDT', T - 300_000) });
    const report = await reconcileWithExchange({ ...base, client: fake, stored: undefined, onUnknownPosition: 'adopt' });
    assert.equal(fake.algos[0].algoStatus, 'CANCELED');
    assert.ok(report.differences.some((d) => d.includes('flat')));
  });

  it("refuses to trade beside another client's open orders on its symbol, naming them, and cancels nothing", async () => {
    const fake = new FakeUsdm();
    await fake.placeAlgoOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'STOP_MARKET', triggerPriceUsd: 90, closePosition: true, clientAlgoId: 'other-s-SOLUSDT-1-0' });
    await assert.rejects(
      reconcileWithExchange({ ...base, client: fake, stored: undefined, onUnknownPosition: 'adopt' }),
      (e: Error & { exitCode?: number }) => e.exitCode === 2 && /refuses to trade beside 1 open orders it did not place: STOP_MARKET SELL closePosition SOLUSDT at 90 \(other-s-SOLUSDT-1-0\)/.test(e.message),
    );
    assert.equal(fake.algos[0].algoStatus, 'NEW', "another client's stop must never be cancelled");
  });

  it("bot.on_foreign_orders ignore: another client's orders are reported, neither cancelled nor taken for this bot's stop", async () => {
    const fake = new FakeUsdm();
    await fake.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 5, clientOrderId: clientOrderId('oit', 'entry', 'SOLUSDT', T - 300_000) });
    await fake.placeAlgoOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'STOP_MARKET', triggerPriceUsd: 90, closePosition: true, clientAlgoId: 'someone' });
    const stored = { symbol: 'SOLUSDT', qtyBase: 5, entryPriceUsd: 100, liquidationPriceUsd: 81, stopUsd: 98 };
    const report = await reconcileWithExchange({ ...base, client: fake, stored, onUnknownPosition: 'adopt', onForeignOrders: 'ignore' });
    assert.ok(report.differences.some((d) => d.includes('another client') && d.includes('someone')), report.differences.join('; '));
    assert.equal(fake.algos.find((a) => a.clientAlgoId === 'someone')?.algoStatus, 'NEW');
    assert.equal(report.stops.length, 1);
    assert.notEqual(report.stops[0].clientAlgoId, 'someone', "the bot protects its position with its own stop, not another client's");
  });
});
