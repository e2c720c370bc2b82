import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FakeClock } from '../testing/fake-clock.ts';
import { BinanceRestClient, IP_WEIGHT_PER_MINUTE } from '../rest/rest-client.ts';
import { WeightBudget } from '../rest/weight-budget.ts';
import { UsdmClient } from './client.ts';
import { createSigner } from './signer.ts';

type Sent = { url: URL; method: string; headers: Record<string, string> };

function scripted(answers: Array<{ status?: number; body: unknown; headers?: Record<string, string> }>, sent: Sent[]): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    sent.push({ url: new URL(String(input)), method: init?.method ?? 'GET', headers: (init?.headers ?? {}) as Record<string, string> });
    const next = answers.shift();
    if (!next) throw new Error('no more scripted answers');
    return new Response(JSON.stringify(next.body), { status: next.status ?? 200, headers: next.headers });
  }) as typeof fetch;
}

const ORDER = { avgPrice: '100', clientOrderId: 'oit-e-SOLUSDT-x-0', cumQuote: '100', executedQty: '1', orderId: 7, origQty: '1', origType: 'MARKET', price: '0', reduceOnly: false, side: 'BUY', positionSide: 'BOTH', status: 'FILLED', stopPrice: '0', closePosition: false, symbol: 'SOLUSDT', timeInForce: 'GTC', type: 'MARKET', updateTime: 1, workingType: 'CONTRACT_PRICE', priceProtect: false, priceMatch: 'NONE', selfTradePreventionMode: 'NONE', goodTillDate: 0 };

describe('UsdmClient transport', () => {
  it('signs exactly what it sends: timestamp from the synced offset, recvWindow, signature last, key only in the header', async () => {
    const sent: Sent[] = [];
    const clock = new FakeClock(1_000_000);
    const client = new UsdmClient({ restUrl: 'http://binance.test', apiKey: 'keyKKKK', secret: 'secretSSSS', clock, fetch: scripted([{ body: { serverTime: 1_000_250 } }, { body: ORDER }], sent) });
    await client.syncTime();
    assert.equal(client.offsetMs, 250, 'server time minus our clock at mid-round-trip');
    await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 1, clientOrderId: 'oit-e-SOLUSDT-x-0' });
    const { url, method, headers } = sent[1];
    assert.equal(method, 'POST');
    assert.equal(url.searchParams.get('timestamp'), '1000250', 'timestamp = our clock + the server offset');
    assert.equal(url.searchParams.get('newClientOrderId'), 'oit-e-SOLUSDT-x-0');
    const query = url.search.slice(1);
    const [signed, signature] = query.split('&signature=');
    assert.equal(signature, createSigner('secretSSSS').sign(signed), 'the signature covers the query exactly as sent');
    assert.equal(headers['X-MBX-APIKEY'], 'keyKKKK');
    assert.ok(!url.href.includes('keyKKKK') && !url.href.includes('secretSSSS'), 'key or secret in the URL');
  });

  it('a failed read (GET /fapi/v1/time) is not called an unknown outcome; a failed order is, with "do not send it again"', async () => {
    const failing = (async () => new Response('{"code":-1001,"msg":"Internal error"}', { status: 502 })) as typeof fetch;
    const client = new UsdmClient({ restUrl: 'http://binance.test', apiKey: 'k', secret: 's', clock: new FakeClock(1_000_000), fetch: failing });
    const read = await client.syncTime().then(() => undefined, (e: Error & { hint?: string }) => e);
    assert.match(read?.message ?? '', /^Binance GET \/fapi\/v1\/time: no usable answer \(HTTP 502/);
    assert.doesNotMatch(`${read?.message} ${read?.hint}`, /outcome unknown|do not send/);
    const order = await new UsdmClient({ restUrl: 'http://binance.test', apiKey: 'k', secret: 's', clock: new FakeClock(1_000_000), fetch: failing, maxLookups: 1 })
      .placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 1, clientOrderId: 'oit-e-SOLUSDT-x-1' })
      .then(() => undefined, (e: Error & { hint?: string }) => e);
    assert.match(`${order?.message} ${order?.hint}`, /outcome unknown.*do not send the order again/);
  });

  it('one request-weight budget per IP: the market-data client and the trading client of a process spend the same one', async () => {
    const clock = new FakeClock(1_000_000);
    const budget = new WeightBudget(IP_WEIGHT_PER_MINUTE, 60_000, clock);
    const answer = (async () => new Response(JSON.stringify({ serverTime: 1_000_000 }), { status: 200 })) as typeof fetch;
    const trading = new UsdmClient({ restUrl: 'http://binance.test', apiKey: 'k', secret: 's', clock, fetch: answer, ipBudget: budget });
    const market = new BinanceRestClient({ baseUrl: 'http://binance.test', clock, fetch: answer, ipBudget: budget });
    await trading.syncTime();
    await market.get('/fapi/v1/klines', { symbol: 'SOLUSDT', interval: '5m', limit: 1500 }, 10);
    assert.equal(budget.used, 1 + 10, 'GET /fapi/v1/time (1) and klines (10) from one budget');
    assert.equal(market.budgets.ip, trading.ipBudget);
    // The limit exchangeInfo publishes (the simulator scales it with its speed) paces both clients.
    const info = { timezone: 'UTC', serverTime: 1, rateLimits: [{ rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 144_000 }], symbols: [] };
    const published = new UsdmClient({ restUrl: 'http://binance.test', apiKey: 'k', secret: 's', clock, fetch: (async () => new Response(JSON.stringify(info), { status: 200 })) as typeof fetch, ipBudget: budget });
    await published.exchangeInfo();
    assert.equal(market.budgets.ip.limit, 144_000, 'the market-data client sharing the budget paces by the published limit too');
  });

  it('counts orders like request weight: limits from exchangeInfo ORDERS, usage from X-MBX-ORDER-COUNT-* headers', async () => {
    const sent: Sent[] = [];
    const info = {
      timezone: 'UTC',
      serverTime: 1,
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 2400 },
        { rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: 1200 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 300 },
      ],
      symbols: [],
    };
    const client = new UsdmClient({
      restUrl: 'http://binance.test',
      apiKey: 'k',
      secret: 's',
      fetch: scripted([{ body: info }, { body: ORDER, headers: { 'x-mbx-order-count-10s': '17', 'x-mbx-order-count-1m': '120', 'x-mbx-used-weight-1m': '33' } }], sent),
    });
    await client.exchangeInfo();
    assert.equal(client.orderBudgets.tenSeconds.limit, 300);
    assert.equal(client.orderBudgets.minute.limit, 1200);
    await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 1, clientOrderId: 'oit-e-SOLUSDT-x-0' });
    assert.equal(client.orderBudgets.tenSeconds.used, 17, "the exchange's order count wins over our own (other processes trade too)");
    assert.equal(client.orderBudgets.minute.used, 120);
    assert.equal(client.ipBudget.used, 33);
  });

  it('refuses a closePosition algo order that also carries a quantity, before sending', async () => {
    const sent: Sent[] = [];
    const client = new UsdmClient({ restUrl: 'http://binance.test', apiKey: 'k', secret: 's', fetch: scripted([], sent) });
    await assert.rejects(client.placeAlgoOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'STOP_MARKET', triggerPriceUsd: 90, qtyBase: 1, closePosition: true, clientAlgoId: 'a' }), /quantity cannot be sent with closePosition/);
    assert.equal(sent.length, 0);
  });
});

describe('UsdmClient on the documented answers of the account endpoints', () => {
  const docs = JSON.parse(readFileSync(new URL('./fixtures/documented.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  const answer = (key: string, status = 200) => ({ status, body: docs[key] });

  it('reads exchangeInfo filters and limits, hedge and Multi-Assets mode, leverage, margin type, listenKey', async () => {
    const sent: Sent[] = [];
    const client = new UsdmClient({
      restUrl: 'http://binance.test',
      apiKey: 'k',
      secret: 's',
      fetch: scripted(
        [
          answer('GET /fapi/v1/exchangeInfo'),
          answer('GET /fapi/v1/positionSide/dual'),
          answer('GET /fapi/v1/multiAssetsMargin'),
          answer('POST /fapi/v1/leverage'),
          answer('POST /fapi/v1/marginType'),
          answer('error -4046', 400),
          answer('POST /fapi/v1/listenKey'),
          answer('DELETE /fapi/v1/algoOrder'),
        ],
        sent,
      ),
    });
    const [blz] = (await client.exchangeInfo()).symbols;
    assert.deepEqual([blz.tickSize, blz.stepSize, blz.marketMaxQtyBase, blz.minNotionalUsd, blz.triggerProtect], [0.0001, 1, 590119, 5, 0.15]);
    assert.equal(await client.hedgeMode(), true, 'a hedge-mode account must be seen as one');
    assert.equal(await client.multiAssetsMode(), true);
    assert.deepEqual(await client.setLeverage('BTCUSDT', 21), { leverage: 21, maxNotionalUsd: 1_000_000 });
    assert.equal(await client.setMarginType('BTCUSDT', 'ISOLATED'), 'changed', '{code: 200, msg: "success"} is a success');
    assert.equal(await client.setMarginType('BTCUSDT', 'ISOLATED'), 'unchanged', '-4046: already isolated');
    assert.equal(await client.createListenKey(), 'pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1');
    await client.cancelAlgoOrder({ algoId: 2146760 });
    assert.deepEqual(sent.map((s) => `${s.method} ${s.url.pathname}`).slice(3), ['POST /fapi/v1/leverage', 'POST /fapi/v1/marginType', 'POST /fapi/v1/marginType', 'POST /fapi/v1/listenKey', 'DELETE /fapi/v1/algoOrder']);
  });
});
