import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { singleMarket } from '@oitrader/trading';
import { BinanceOrderError, UsdmClient, UserDataStream, createSigner, makeClientId, type UserDataEvent, type UserStreamStatus } from '@oitrader/binance';
import { SimClock } from '../sim-clock.ts';
import { SimServer } from '../sim-server.ts';
import { FIVE_MIN_MS, handMadeDataset, waitFor } from './testing.ts';

const T0 = Date.UTC(2026, 0, 5);
const KEY = 'contractKeyAAAA1111';
const SECRET = 'contractSecretBBBB2222';
// Candle 10 is quiet; candle 11 falls through 98 (the stop) without gapping; then flat.
const BARS: Array<[number, number, number, number]> = [
  ...Array.from({ length: 10 }, () => [100, 100, 100, 100] as [number, number, number, number]),
  [100, 101, 99.5, 100.5],
  [100.5, 101, 97, 97.5],
  ...Array.from({ length: 20 }, () => [97.5, 97.6, 97.4, 97.5] as [number, number, number, number]),
];

/** One order-lifecycle contract, through the real client against the simulator (STYLE.md: every exchange adapter passes it). */
describe('order lifecycle contract: UsdmClient against the simulator', () => {
  let sim: SimServer;
  let client: UsdmClient;
  let stream: UserDataStream;
  const events: UserDataEvent[] = [];
  const statuses: UserStreamStatus[] = [];
  const id = (intent: 'entry' | 'exit' | 'stop' | 'target', attempt = 0) => makeClientId({ prefix: 'ct', intent, symbol: 'SOLUSDT', candleTimeMs: T0 + 9 * FIVE_MIN_MS, attempt });

  before(async () => {
    sim = await SimServer.start({ datasets: [handMadeDataset(T0, BARS)], clock: new SimClock(T0 + 10 * FIVE_MIN_MS + 1000), trading: { apiKey: KEY, secret: SECRET } });
    client = new UsdmClient({ restUrl: sim.restUrl, apiKey: KEY, secret: SECRET, clock: sim.clock });
    stream = new UserDataStream({ client, wsUrl: `${sim.wsUrl}/private`, onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s) });
    await stream.start();
  });
  after(async () => {
    await stream.close();
    await sim.close();
  });

  it('start-up checks: one-way, single-asset, ISOLATED set (then already set), leverage 5', async () => {
    await client.syncTime();
    assert.equal(await client.hedgeMode(), false);
    assert.equal(await client.multiAssetsMode(), false);
    assert.equal(await client.setMarginType('SOLUSDT', 'ISOLATED'), 'changed');
    assert.equal(await client.setMarginType('SOLUSDT', 'ISOLATED'), 'unchanged', '-4046 means already ISOLATED, not a failure');
    assert.equal((await client.setLeverage('SOLUSDT', 5)).leverage, 5);
    const info = await client.exchangeInfo();
    const rules = info.symbols.find((s) => s.symbol === 'SOLUSDT')!;
    assert.equal(rules.stepSize, 1, 'the simulator serves the execution model filters');
    assert.equal((await client.leverageBrackets('SOLUSDT')).brackets[0].initialLeverage, 75);
    assert.equal((await client.commissionRate('SOLUSDT')).takerRate, 0.0005);
    assert.equal((await client.account()).availableBalanceUsd, 2000);
  });

  it('a stop sent to /fapi/v1/order is refused with -4120, exactly as Binance does', async () => {
    const signer = createSigner(SECRET);
    const query = new URLSearchParams({ symbol: 'SOLUSDT', side: 'SELL', type: 'STOP_MARKET', stopPrice: '98', closePosition: 'true', timestamp: String(sim.clock.now()) });
    query.set('signature', signer.sign(query.toString()));
    const response = await fetch(`${sim.restUrl}/fapi/v1/order?${query}`, { method: 'POST', headers: { 'X-MBX-APIKEY': KEY } });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { code: -4120, msg: 'Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.' });
    await assert.rejects(client.placeOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'STOP_MARKET' as 'MARKET', qtyBase: 1, clientOrderId: id('stop', 9) }), (e: unknown) => e instanceof BinanceOrderError && e.code === -4120);
  });

  it('place → fill (market at the open, the model taker price) → stop via algoOrder → stop triggers → position closed, the fill attributed to the stop', async () => {
    const entry = await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 10, clientOrderId: id('entry') });
    assert.equal(entry.status, 'FILLED');
    assert.equal(entry.executedQtyBase, 10);
    // The backtester's model, run by hand on the same decisions, is what the simulator must reproduce.
    const model = singleMarket({ symbol: 'SOLUSDT', leverage: 5 });
    model.submit(0, { type: 'market', side: 'buy', qtyBase: 10 }, 100);
    model.processBar({ timeMs: 0, open: 100, high: 100, low: 100, close: 100 });
    assert.ok(Math.abs(entry.avgPriceUsd - model.account.fills[0].priceUsd) < 1e-6, `entry at ${entry.avgPriceUsd}, the model says ${model.account.fills[0].priceUsd}`);

    const [position] = await client.positions('SOLUSDT');
    assert.equal(position.qtyBase, 10);
    assert.equal(position.leverage, 5);
    assert.equal(position.marginType, 'ISOLATED');

    const stop = await client.placeAlgoOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'STOP_MARKET', triggerPriceUsd: 98, closePosition: true, clientAlgoId: id('stop') });
    assert.equal(stop.algoStatus, 'NEW');
    const open = await client.openAlgoOrders('SOLUSDT');
    assert.equal(open.length, 1);
    assert.equal(open[0].qtyBase, 0, 'a closePosition stop reports quantity 0 and must not be dropped for it');
    assert.equal(open[0].closePosition, true);
    assert.equal(open[0].workingType, 'MARK_PRICE');

    sim.clock.advance(FIVE_MIN_MS); // candle 10 closes: its low 99.5 is above the stop
    assert.equal((await client.queryAlgoOrder({ clientAlgoId: id('stop') }))?.algoStatus, 'NEW');
    sim.clock.advance(FIVE_MIN_MS); // candle 11 closes: its low 97 crosses 98
    const done = await client.queryAlgoOrder({ clientAlgoId: id('stop') });
    assert.equal(done?.algoStatus, 'FINISHED');
    assert.ok(done?.actualOrderId !== undefined, 'a triggered algo order names the regular order it became');
    const actual = await client.queryOrder('SOLUSDT', { orderId: done.actualOrderId });
    assert.equal(actual?.status, 'FILLED');
    assert.equal(actual?.executedQtyBase, 10);
    assert.notEqual(actual?.orderId, entry.orderId);
    model.submit(0, { type: 'stop', side: 'sell', qtyBase: 10, triggerUsd: 98, reduceOnly: true }, 100);
    model.processBar({ timeMs: 1, open: 100.5, high: 101, low: 97, close: 97.5 });
    assert.ok(Math.abs((actual?.avgPriceUsd ?? 0) - model.account.fills[1].priceUsd) < 1e-6, `stop filled at ${actual?.avgPriceUsd}, the model says ${model.account.fills[1].priceUsd}`);
    assert.equal((await client.positions('SOLUSDT'))[0].qtyBase, 0);
    assert.ok(Math.abs((await client.account()).totalWalletBalanceUsd - model.account.walletUsd) < 1e-6, 'wallet = the execution model after fees and the stop loss');

    await waitFor('the stop events on the user stream', () => events.some((e) => e.kind === 'algo' && e.algo.algoStatus === 'FINISHED'));
    const triggered = events.find((e) => e.kind === 'algo' && e.algo.algoStatus === 'TRIGGERED');
    assert.ok(triggered?.kind === 'algo' && triggered.algo.actualOrderId === done.actualOrderId, 'ALGO_UPDATE TRIGGERED carries the actual order id');
    const fill = events.find((e) => e.kind === 'order' && e.orderId === done.actualOrderId && e.status === 'FILLED');
    assert.ok(fill?.kind === 'order' && fill.originalType === 'STOP_MARKET' && fill.realisedPnlUsd < 0, 'the fill of the actual order is the stop, at a loss');
    assert.ok(events.some((e) => e.kind === 'account' && e.positions[0]?.qtyBase === 0));
  });

  it('partial then complete fill are reported as two trades', async () => {
    sim.faults.trading.partialFills = true;
    try {
      const order = await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 4, clientOrderId: id('entry', 1) });
      assert.equal(order.status, 'FILLED');
      await waitFor('two trades', () => events.filter((e) => e.kind === 'order' && e.orderId === order.orderId && e.executionType === 'TRADE').length === 2);
      const trades = events.filter((e) => e.kind === 'order' && e.orderId === order.orderId && e.executionType === 'TRADE');
      assert.deepEqual(trades.map((e) => e.kind === 'order' && [e.status, e.cumFilledQtyBase]), [['PARTIALLY_FILLED', 2], ['FILLED', 4]]);
      // GET /fapi/v1/userTrades: the same two trades, each with its own id, price and the commission charged.
      const listed = await client.userTrades('SOLUSDT', { orderId: order.orderId });
      assert.deepEqual(listed.map((t) => t.qtyBase), [2, 2]);
      assert.equal(new Set(listed.map((t) => t.tradeId)).size, 2);
      for (const [k, t] of listed.entries()) {
        const event = trades[k];
        assert.ok(event.kind === 'order' && t.tradeId === event.tradeId && Math.abs(t.commission - event.commissionUsd) < 1e-12, 'the trade list and the user stream tell the same trade');
        assert.ok(t.commission > 0 && t.commissionAsset === 'USDT');
      }
    } finally {
      sim.faults.trading.partialFills = false;
    }
    await client.placeOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'MARKET', qtyBase: 4, reduceOnly: true, clientOrderId: id('exit', 1) });
    assert.equal((await client.positions('SOLUSDT'))[0].qtyBase, 0);
  });

  it('cancel: a resting limit is cancelled by client id and leaves the open orders', async () => {
    const limit = await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'LIMIT', qtyBase: 2, priceUsd: 90, clientOrderId: id('entry', 2) });
    assert.equal(limit.status, 'NEW');
    assert.equal((await client.openOrders('SOLUSDT')).length, 1);
    assert.equal((await client.cancelOrder('SOLUSDT', { clientOrderId: id('entry', 2) })).status, 'CANCELED');
    assert.equal((await client.openOrders('SOLUSDT')).length, 0);
    await assert.rejects(client.cancelOrder('SOLUSDT', { clientOrderId: id('entry', 2) }), (e: unknown) => e instanceof BinanceOrderError && e.code === -2011 && e.retry === 'lookup');
    assert.equal(await client.queryOrder('SOLUSDT', { clientOrderId: 'never-sent' }), undefined, '-2013 is "no such order", not an error');
  });

  it('reject: each refusal is a typed error with the no-retry decision, and nothing is opened', async () => {
    const refused = async (order: Parameters<UsdmClient['placeOrder']>[0], code: number) =>
      assert.rejects(client.placeOrder(order), (e: unknown) => e instanceof BinanceOrderError && e.code === code && e.retry === 'never', `expected ${code}`);
    await refused({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 0.5, clientOrderId: id('entry', 3) }, -1111);
    await refused({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 1000, clientOrderId: id('entry', 4) }, -2019);
    await refused({ symbol: 'SOLUSDT', side: 'SELL', type: 'MARKET', qtyBase: 1, reduceOnly: true, clientOrderId: id('exit', 5) }, -2022);
    await refused({ symbol: 'SOLUSDT', side: 'BUY', type: 'LIMIT', qtyBase: 1, priceUsd: 200, timeInForce: 'GTX', clientOrderId: id('entry', 6) }, -5022);
    await assert.rejects(client.placeAlgoOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'STOP_MARKET', triggerPriceUsd: 90, qtyBase: 1, clientAlgoId: id('stop', 7) }), (e: unknown) => e instanceof BinanceOrderError && e.code === -2021);
    sim.faults.trading.rejectNext = 1;
    sim.faults.trading.rejectCode = -4131;
    await refused({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 1, clientOrderId: id('entry', 8) }, -4131);
    assert.equal((await client.openOrders('SOLUSDT')).length, 0);
    assert.equal((await client.positions('SOLUSDT'))[0].qtyBase, 0);
  });

  it('timeout → lookup: an order accepted but never answered is found by client id, not sent twice', async () => {
    const impatient = new UsdmClient({ restUrl: sim.restUrl, apiKey: KEY, secret: SECRET, clock: sim.clock, requestTimeoutMs: 2000, lookupIntervalMs: 20 });
    sim.faults.trading.timeoutAfterAccept = 1;
    const order = await impatient.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 3, clientOrderId: id('entry', 9) });
    assert.equal(order.clientOrderId, id('entry', 9));
    assert.equal(order.status, 'FILLED');
    assert.equal((await client.positions('SOLUSDT'))[0].qtyBase, 3, 'exactly one order of 3 was executed');
    await client.placeOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'MARKET', qtyBase: 3, reduceOnly: true, clientOrderId: id('exit', 9) });
  });
});

describe('funding on a simulated position', () => {
  it('charges a long qty × mark × rate at the funding time and reports ACCOUNT_UPDATE FUNDING_FEE', async () => {
    const ds = handMadeDataset(T0, Array.from({ length: 12 }, () => [100, 100, 100, 100] as [number, number, number, number]));
    ds.funding.push({ time: T0 + 6 * FIVE_MIN_MS + 3, fundingRate: 0.001, markPrice: 100 });
    const sim = await SimServer.start({ datasets: [ds], clock: new SimClock(T0 + 5 * FIVE_MIN_MS + 1000), trading: { apiKey: KEY, secret: SECRET } });
    const client = new UsdmClient({ restUrl: sim.restUrl, apiKey: KEY, secret: SECRET, clock: sim.clock });
    const events: string[] = [];
    sim.trading.engine.onEvent((e) => events.push(e.e === 'ACCOUNT_UPDATE' ? e.a.m : e.e));
    try {
      await client.setLeverage('SOLUSDT', 5);
      await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 10, clientOrderId: 'fund-e-1' });
      const before = (await client.account()).totalWalletBalanceUsd;
      sim.clock.advance(2 * FIVE_MIN_MS);
      const after = (await client.account()).totalWalletBalanceUsd;
      assert.ok(Math.abs(before - after - 10 * 100 * 0.001) < 1e-9, `funding paid ${before - after}, expected 1 USDT`);
      assert.ok(events.includes('FUNDING_FEE'));
      const income = await client.income({ symbol: 'SOLUSDT', incomeType: 'FUNDING_FEE', startTimeMs: T0 });
      assert.deepEqual(income.map((r) => [r.incomeType, r.income, r.timeMs]), [['FUNDING_FEE', -1, T0 + 6 * FIVE_MIN_MS + 3]], 'GET /fapi/v1/income books the settlement, signed as paid');
      assert.ok((await client.income({ symbol: 'SOLUSDT', incomeType: 'COMMISSION', startTimeMs: T0 })).length === 1, 'the entry\'s commission is booked too');
    } finally {
      await sim.close();
    }
  });
});

describe('open conditional orders: the account-wide cap', () => {
  it('refuses the 201st open algo order across all symbols with -4045, as Binance does since 2025-12-29', async () => {
    const sim = await SimServer.start({ datasets: [handMadeDataset(T0, BARS)], clock: new SimClock(T0 + 10 * FIVE_MIN_MS + 1000), trading: { apiKey: KEY, secret: SECRET } });
    const client = new UsdmClient({ restUrl: sim.restUrl, apiKey: KEY, secret: SECRET, clock: sim.clock });
    try {
      for (let k = 0; k < 200; k++) {
        sim.trading.engine.placeAlgo({ symbol: 'SOLUSDT', side: 'SELL', type: 'STOP_MARKET', triggerPriceUsd: 90, closePosition: false, qtyBase: 1, reduceOnly: true, priceProtect: true, workingType: 'MARK_PRICE', clientAlgoId: `cap-${k}` }, T0 + 10 * FIVE_MIN_MS + 1000);
      }
      await assert.rejects(
        client.placeAlgoOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'STOP_MARKET', triggerPriceUsd: 90, qtyBase: 1, reduceOnly: true, clientAlgoId: 'cap-200' }),
        (e: unknown) => e instanceof BinanceOrderError && e.code === -4045,
      );
    } finally {
      await sim.close();
    }
  });
});
