import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BinanceOrderError,
  OrderNotPlacedError,
  UsdmClient,
  UserDataStream,
  makeClientId,
  type TradingClientEvent,
  type UserDataEvent,
  type UserStreamStatus,
} from '@oitrader/binance';
import { createLogger, type Clock } from '@oitrader/core';
import { SimClock } from '../sim-clock.ts';
import { SimServer } from '../sim-server.ts';
import { FIVE_MIN_MS, handMadeDataset, waitFor } from './testing.ts';

const T0 = Date.UTC(2026, 1, 2);
const KEY = 'faultKeyQQQQ7777zzzz';
const SECRET = 'faultSecretWWWW8888yyyy';
const FLAT: Array<[number, number, number, number]> = Array.from({ length: 40 }, () => [50, 50.5, 49.5, 50]);

/**
 * The acceptance tests of the money path: for each fault the client must end
 * with the exchange's true state and never place an order twice. Every error
 * and client event is collected and, at the end, searched for the key and
 * secret.
 */
describe('money-path faults: the client ends with the true state and never duplicates an order', () => {
  let sim: SimServer;
  const seen: string[] = [];
  const logLines: string[] = [];
  const log = createLogger('fault-test', { write: (line) => logLines.push(line), level: 'debug' });
  let n = 0;
  const nextId = () => makeClientId({ prefix: 'ft', intent: 'entry', symbol: 'SOLUSDT', candleTimeMs: T0, attempt: n++ });
  const record = (e: TradingClientEvent) => {
    seen.push(JSON.stringify(e));
    log.info('client event', e);
  };
  const newClient = (extra: Partial<ConstructorParameters<typeof UsdmClient>[0]> = {}) =>
    new UsdmClient({ restUrl: sim.restUrl, apiKey: KEY, secret: SECRET, clock: sim.clock, requestTimeoutMs: 2000, lookupIntervalMs: 20, onEvent: record, ...extra });
  /** Client ids of every order the exchange accepted (its NEW events); a duplicate shows up twice. */
  const historyIds: string[] = [];
  const countAll = (clientId: string) => historyIds.filter((id) => id === clientId).length;
  const position = async () => (await newClient().positions('SOLUSDT'))[0].qtyBase;
  const flatten = async (client: UsdmClient) => {
    const qty = await position();
    if (qty !== 0) await client.placeOrder({ symbol: 'SOLUSDT', side: qty > 0 ? 'SELL' : 'BUY', type: 'MARKET', qtyBase: Math.abs(qty), reduceOnly: true, clientOrderId: nextId() });
  };

  before(async () => {
    sim = await SimServer.start({ datasets: [handMadeDataset(T0, FLAT)], clock: new SimClock(T0 + 5 * FIVE_MIN_MS + 1000), trading: { apiKey: KEY, secret: SECRET } });
    sim.trading.engine.onEvent((e) => {
      if (e.e === 'ORDER_TRADE_UPDATE' && e.o.x === 'NEW') historyIds.push(e.o.c);
    });
  });
  after(async () => {
    await sim.close();
    const everything = [...seen, ...logLines].join('\n');
    assert.ok(!everything.includes(KEY), 'the API key reached a log line or an error message');
    assert.ok(!everything.includes(SECRET), 'the secret reached a log line or an error message');
    assert.ok(!/signature=[0-9a-f]{64}/.test(everything), 'a request signature reached a log line or an error message');
  });

  it('timeout after accept (regular and algo order): looked up by client id, one order exists', async () => {
    const client = newClient();
    sim.faults.trading.timeoutAfterAccept = 1;
    const id = nextId();
    const order = await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 2, clientOrderId: id });
    assert.equal(order.status, 'FILLED');
    assert.equal(countAll(id), 1, 'the order was placed twice');
    assert.equal(await position(), 2);
    assert.ok(seen.some((s) => s.includes('"unknown-outcome"')) && seen.some((s) => s.includes('"found":true')));

    sim.faults.trading.timeoutAfterAccept = 1;
    const algoId = makeClientId({ prefix: 'ft', intent: 'stop', symbol: 'SOLUSDT', candleTimeMs: T0, attempt: 0 });
    const stop = await client.placeAlgoOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'STOP_MARKET', triggerPriceUsd: 45, closePosition: true, clientAlgoId: algoId });
    assert.equal(stop.clientAlgoId, algoId);
    assert.equal((await client.openAlgoOrders('SOLUSDT')).length, 1, 'exactly one stop is live');
    await client.cancelAllAlgoOrders('SOLUSDT');
    await flatten(client);
  });

  it('5xx after accept: looked up, found, not re-sent', async () => {
    const client = newClient();
    sim.faults.trading.serverErrorAfterAccept = 1;
    const id = nextId();
    const order = await client.placeOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'MARKET', qtyBase: 3, clientOrderId: id });
    assert.equal(order.clientOrderId, id);
    assert.equal(countAll(id), 1);
    assert.equal(await position(), -3);
    await flatten(client);
  });

  it('5xx before accept: nothing executed; reported not placed only once its recvWindow has closed on the server clock', async () => {
    const client = newClient({ recvWindowMs: 1000, maxLookups: 500 });
    await client.syncTime();
    sim.faults.rest.serverErrors = 1;
    const id = nextId();
    const sentAt = sim.clock.now();
    const attempt = client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 1, clientOrderId: id });
    // The lookups keep finding nothing while the request could still arrive; market time then passes the window.
    await new Promise((r) => setTimeout(r, 100));
    sim.clock.advance(2500);
    await assert.rejects(attempt, (e: unknown) => e instanceof OrderNotPlacedError && e.clientId === id);
    assert.ok(sim.clock.now() > sentAt + 1000);
    assert.equal(countAll(id), 0, 'no order exists for that id');
    assert.equal(await position(), 0);
  });

  it('-1021 (our clock 4 s ahead): resynced, sent once more, one order', async () => {
    const skewed: Clock = { now: () => sim.clock.now() + 4000, sleep: (ms) => sim.clock.sleep(ms) };
    const client = newClient({ clock: skewed });
    const id = nextId();
    const order = await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 1, clientOrderId: id });
    assert.equal(order.status, 'FILLED');
    assert.ok(seen.some((s) => s.includes('"time-resync"')), 'the -1021 must trigger a resync');
    assert.ok(Math.abs(client.offsetMs + 4000) < 500, `offset ${client.offsetMs} ms should undo the 4 s skew`);
    assert.equal(countAll(id), 1);
    assert.equal(await position(), 1);
    await flatten(client);
  });

  it('listenKey expiry: a new key, a new connection with resync, and later events arrive on it', async () => {
    const client = newClient();
    const events: UserDataEvent[] = [];
    const statuses: UserStreamStatus[] = [];
    const stream = new UserDataStream({ client, wsUrl: `${sim.wsUrl}/private`, onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s), backoffBaseMs: 10, backoffMaxMs: 20 });
    await stream.start();
    try {
      assert.equal(sim.trading.expireListenKeys().length, 1);
      await waitFor('the expiry event', () => events.some((e) => e.kind === 'listen-key-expired'));
      await waitFor('a resynced reconnect', () => statuses.some((s) => s.kind === 'connected' && s.resync) && stream.connected);
      assert.ok(stream.keyRenewals >= 1);
      await assert.rejects(client.keepAliveListenKey().then(() => sim.trading.expireListenKeys()).then(() => client.keepAliveListenKey()), (e: unknown) => e instanceof BinanceOrderError && e.code === -1125 && e.retry === 'renew-listen-key');
      await waitFor('the next resync', () => statuses.filter((s) => s.kind === 'connected' && s.resync).length >= 2 && stream.connected);
      const id = nextId();
      await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 1, clientOrderId: id });
      await waitFor('the fill on the renewed stream', () => events.some((e) => e.kind === 'order' && e.clientOrderId === id && e.status === 'FILLED'));
      await flatten(client);
    } finally {
      await stream.close();
    }
  });

  it('user-stream drop: events during the gap are lost, the reconnect asks for a resync, REST shows the true position', async () => {
    const client = newClient();
    const events: UserDataEvent[] = [];
    const statuses: UserStreamStatus[] = [];
    const stream = new UserDataStream({ client, wsUrl: `${sim.wsUrl}/private`, onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s), backoffBaseMs: 200, backoffMaxMs: 200 });
    await stream.start();
    try {
      assert.equal(sim.dropUserStreams(), 1);
      const id = nextId();
      // Filled while nobody listens.
      await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 2, clientOrderId: id });
      await waitFor('the resynced reconnect', () => statuses.some((s) => s.kind === 'connected' && s.resync));
      assert.ok(!events.some((e) => e.kind === 'order' && e.clientOrderId === id), 'the simulator, like Binance, does not replay missed events');
      // The re-sync the bot does on `resync: true`:
      const [pos] = await client.positions('SOLUSDT');
      assert.equal(pos.qtyBase, 2, 'REST re-sync reveals the fill the stream missed');
      assert.equal((await client.queryOrder('SOLUSDT', { clientOrderId: id }))?.status, 'FILLED');
      assert.equal(countAll(id), 1);
      await flatten(client);
    } finally {
      await stream.close();
    }
  });

  it('delayed fill: answered NEW, the fill arrives later on the stream and in the order query', async () => {
    const client = newClient();
    const events: UserDataEvent[] = [];
    const stream = new UserDataStream({ client, wsUrl: `${sim.wsUrl}/private`, onEvent: (e) => events.push(e) });
    await stream.start();
    sim.faults.trading.fillDelayMs = 100;
    try {
      const id = nextId();
      const order = await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 1, clientOrderId: id });
      assert.equal(order.status, 'NEW', 'a delayed market order is accepted before it fills');
      await waitFor('the late fill', () => events.some((e) => e.kind === 'order' && e.clientOrderId === id && e.status === 'FILLED'));
      assert.equal((await client.queryOrder('SOLUSDT', { clientOrderId: id }))?.status, 'FILLED');
    } finally {
      sim.faults.trading.fillDelayMs = 0;
      await flatten(client);
      await stream.close();
    }
  });

  it('delayed fill in market time: nothing fills while the clock stands, the fill comes when it has moved past the delay', async () => {
    const client = newClient();
    const events: UserDataEvent[] = [];
    const stream = new UserDataStream({ client, wsUrl: `${sim.wsUrl}/private`, onEvent: (e) => events.push(e) });
    await stream.start();
    sim.faults.trading.fillDelayMarketMs = 60_000;
    try {
      const id = nextId();
      const order = await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 1, clientOrderId: id });
      assert.equal(order.status, 'NEW');
      // A shorter delay for the next order: it fills first, whatever the queue's order of arrival.
      sim.faults.trading.fillDelayMarketMs = 10_000;
      const quick = nextId();
      await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 2, clientOrderId: quick });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await client.queryOrder('SOLUSDT', { clientOrderId: id }))?.status, 'NEW', 'the clock has not moved: the order still rests');
      assert.equal(await position(), 0);
      sim.clock.advance(10_000);
      assert.equal((await client.queryOrder('SOLUSDT', { clientOrderId: quick }))?.status, 'FILLED', 'the 10 s order filled at 10 s');
      assert.equal(await position(), 2);
      sim.clock.advance(49_000);
      assert.equal((await client.queryOrder('SOLUSDT', { clientOrderId: id }))?.status, 'NEW', '59 s of the 60 s delay: still resting');
      sim.clock.advance(1_000);
      await waitFor('the fill on the stream', () => events.some((e) => e.kind === 'order' && e.clientOrderId === id && e.status === 'FILLED'));
      const filled = await client.queryOrder('SOLUSDT', { clientOrderId: id });
      assert.equal(filled?.status, 'FILLED');
      assert.equal(await position(), 3);
    } finally {
      sim.faults.trading.fillDelayMarketMs = 0;
      await flatten(newClient());
      await stream.close();
    }
  });

  it('process killed before sending, after the exchange accepted, and after the answer: the restarted client places each entry and stop exactly once', async () => {
    const decision = (step: number) => ({
      entry: makeClientId({ prefix: 'kill', intent: 'entry', symbol: 'SOLUSDT', candleTimeMs: T0 + step * FIVE_MIN_MS, attempt: 0 }),
      stop: makeClientId({ prefix: 'kill', intent: 'stop', symbol: 'SOLUSDT', candleTimeMs: T0 + step * FIVE_MIN_MS, attempt: 0 }),
    });
    const entry = (clientOrderId: string) => ({ symbol: 'SOLUSDT', side: 'BUY' as const, type: 'MARKET' as const, qtyBase: 1, clientOrderId });
    const stop = (clientAlgoId: string) => ({ symbol: 'SOLUSDT', side: 'SELL' as const, type: 'STOP_MARKET' as const, triggerPriceUsd: 40, qtyBase: 1, reduceOnly: true, clientAlgoId });
    // A process that dies once its request is on the wire: the answer is never read, nothing after it runs.
    const dying: typeof fetch = async (input, init) => {
      await fetch(input, { ...init, signal: undefined });
      return new Promise<Response>(() => {});
    };

    // 1. Killed before sending: nothing exists, the restart places it.
    const one = decision(1);
    const restarted1 = newClient();
    await restarted1.ensureOrder(entry(one.entry));
    await restarted1.ensureAlgoOrder(stop(one.stop));

    // 2. Killed after the exchange accepted the entry, before the answer.
    const two = decision(2);
    void newClient({ fetch: dying, requestTimeoutMs: 60_000 }).placeOrder(entry(two.entry));
    await waitFor('the dying process to reach the exchange', () => countAll(two.entry) === 1);
    const restarted2 = newClient();
    assert.equal((await restarted2.ensureOrder(entry(two.entry))).status, 'FILLED', 'the restart finds the entry the dead process placed');
    void newClient({ fetch: dying, requestTimeoutMs: 60_000 }).placeAlgoOrder(stop(two.stop));
    await waitFor('the dying stop to reach the exchange', async () => (await restarted2.queryAlgoOrder({ clientAlgoId: two.stop })) !== undefined);
    await restarted2.ensureAlgoOrder(stop(two.stop));

    // 3. Killed after the answer arrived but before it was recorded.
    const three = decision(3);
    await newClient().placeOrder(entry(three.entry));
    await newClient().placeAlgoOrder(stop(three.stop));
    const restarted3 = newClient();
    await restarted3.ensureOrder(entry(three.entry));
    await restarted3.ensureAlgoOrder(stop(three.stop));

    for (const d of [one, two, three]) assert.equal(countAll(d.entry), 1, `entry ${d.entry} was placed ${countAll(d.entry)} times`);
    assert.equal(await position(), 3, 'three decisions, three entries of 1');
    const stops = await restarted3.openAlgoOrders('SOLUSDT');
    assert.deepEqual(stops.map((a) => a.clientAlgoId).sort(), [one.stop, two.stop, three.stop].sort(), 'exactly one stop per decision');
    await restarted3.cancelAllAlgoOrders('SOLUSDT');
    await flatten(restarted3);
  });

  it('a wrong key or secret is refused as fatal, and neither appears in the error', async () => {
    const wrongSecret = new UsdmClient({ restUrl: sim.restUrl, apiKey: KEY, secret: 'wrongSecretXXXX', clock: sim.clock });
    const wrongKey = new UsdmClient({ restUrl: sim.restUrl, apiKey: 'wrongKeyYYYY', secret: SECRET, clock: sim.clock });
    for (const [client, code] of [[wrongSecret, -1022], [wrongKey, -2015]] as const) {
      const error = await client.account().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof BinanceOrderError && error.code === code && error.retry === 'fatal', `expected ${code}`);
      const text = `${error.message} ${error.hint} ${error.stack}`;
      seen.push(text);
      log.error('refused', { message: error.message, hint: error.hint });
      assert.ok(!text.includes('wrongSecretXXXX') && !text.includes(SECRET), 'the secret is in the error');
    }
  });
});
