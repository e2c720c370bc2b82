import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { FakeClock } from '../testing/fake-clock.ts';
import { BinanceBannedError, BinanceHttpError } from './errors.ts';
import { BinanceRestClient, type RestEvent } from './rest-client.ts';

type Scripted = { status: number; body?: string; headers?: Record<string, string> };

function scriptedFetch(script: Scripted[], seen: string[] = []): typeof fetch {
  return (async (input: string | URL | Request) => {
    seen.push(String(input));
    const next = script.shift();
    if (!next) throw new Error('no more scripted responses');
    return new Response(next.body ?? '[]', { status: next.status, headers: next.headers });
  }) as typeof fetch;
}

function client(script: Scripted[], options: { seen?: string[]; clock?: FakeClock; maxAttempts?: number } = {}) {
  const events: RestEvent[] = [];
  const clock = options.clock ?? new FakeClock();
  const rest = new BinanceRestClient({
    baseUrl: 'http://binance.test/',
    fetch: scriptedFetch(script, options.seen),
    clock,
    random: () => 0.5,
    maxAttempts: options.maxAttempts,
    onEvent: (e) => events.push(e),
  });
  return { rest, events, clock };
}

describe('BinanceRestClient', () => {
  it('builds the query, sends nothing undefined, and returns the parsed body', async () => {
    const seen: string[] = [];
    const { rest } = client([{ status: 200, body: '{"serverTime":1}' }], { seen });
    assert.deepEqual(await rest.get('/fapi/v1/klines', { symbol: 'SOLUSDT', interval: '5m', startTime: undefined, limit: 1000 }, 5), { serverTime: 1 });
    assert.equal(seen[0], 'http://binance.test/fapi/v1/klines?symbol=SOLUSDT&interval=5m&limit=1000');
  });

  it('on 429 waits Retry-After before anything else is sent, then succeeds', async () => {
    const { rest, events, clock } = client([
      { status: 429, body: '{"code":-1003}', headers: { 'retry-after': '7' } },
      { status: 200, body: '[1]' },
    ]);
    const t0 = clock.now();
    assert.deepEqual(await rest.get('/fapi/v1/time', {}, 1), [1]);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0], { kind: 'rate-limited', path: '/fapi/v1/time', status: 429, retryAfterMs: 7000, attempt: 1 });
    assert.ok(clock.now() - t0 >= 7000, `waited ${clock.now() - t0} ms`);
  });

  it('a host that accepts and never answers is given up on at the request deadline and retried', async () => {
    const events: RestEvent[] = [];
    let calls = 0;
    const silentThenAnswer = ((_url: string, init?: RequestInit) => {
      calls++;
      if (calls > 1) return Promise.resolve(new Response('[2]'));
      return new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    }) as typeof fetch;
    const rest = new BinanceRestClient({ baseUrl: 'http://binance.test', fetch: silentThenAnswer, clock: new FakeClock(), random: () => 0.5, timeoutMs: 30, onEvent: (e) => events.push(e) });
    assert.deepEqual(await rest.get('/fapi/v1/time', {}, 1), [2]);
    assert.equal(calls, 2);
    assert.match(events[0].kind === 'retry' ? events[0].reason : '', /no answer within 30 ms/);
  });

  it('stopping (its signal aborted) ends a retry back-off at once, and nothing more is sent', async () => {
    const seen: string[] = [];
    const stopping = new AbortController();
    const forever = { now: () => 0, sleep: () => new Promise<void>(() => {}) };
    const rest = new BinanceRestClient({ baseUrl: 'http://binance.test', fetch: scriptedFetch([{ status: 503 }, { status: 200 }], seen), clock: forever, signal: stopping.signal, onEvent: () => stopping.abort() });
    await assert.rejects(rest.get('/fapi/v1/time', {}, 1), /request abandoned, the caller is stopping/);
    assert.equal(seen.length, 1, 'a stopped client sent another request');
  });

  it('stopping ends a wait for the weight budget (a 429\'s Retry-After), and requests leave nothing attached to the stop signal', async () => {
    const stopping = new AbortController();
    const forever = { now: () => 0, sleep: () => new Promise<void>(() => {}) };
    const limited = new BinanceRestClient({ baseUrl: 'http://binance.test', fetch: scriptedFetch([{ status: 429, headers: { 'retry-after': '60' } }, { status: 200 }]), clock: forever, signal: stopping.signal, onEvent: (e) => e.kind === 'rate-limited' && stopping.abort() });
    await assert.rejects(limited.get('/fapi/v1/time', {}, 1), /request abandoned, the caller is stopping/);
    const running = new AbortController();
    const rest = new BinanceRestClient({ baseUrl: 'http://binance.test', fetch: scriptedFetch(Array.from({ length: 5 }, () => ({ status: 200, body: '[]' }))), clock: new FakeClock(), signal: running.signal });
    for (let i = 0; i < 5; i++) await rest.get('/fapi/v1/time', {}, 1);
    assert.equal(getEventListeners(running.signal, 'abort').length, 0, 'finished requests left listeners on the long-lived stop signal');
  });

  it('on the system clock, stopping clears the back-off\'s and the budget wait\'s timers: nothing keeps the process up', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    for (const answer of [{ status: 503 }, { status: 429, headers: { 'retry-after': '60' } }]) {
      const stopping = new AbortController();
      const rest = new BinanceRestClient({ baseUrl: 'http://binance.test', fetch: scriptedFetch([answer, { status: 200 }]), signal: stopping.signal, onEvent: (e) => (e.kind === 'retry' || e.kind === 'rate-limited') && setImmediate(() => stopping.abort()) });
      await assert.rejects(rest.get('/fapi/v1/time', {}, 1), /request abandoned, the caller is stopping/);
      await new Promise((r) => setImmediate(r));
      assert.equal(timers(), before, `a timer of the ${answer.status}'s wait outlived the stop`);
    }
  });

  it('on 418 stops at once with BinanceBannedError (exit code 4), never retrying', async () => {
    const seen: string[] = [];
    const { rest } = client([{ status: 418, headers: { 'retry-after': '300' } }, { status: 200 }], { seen });
    await assert.rejects(rest.get('/fapi/v1/time', {}, 1), (e: unknown) => e instanceof BinanceBannedError && e.exitCode === 4 && e.retryAfterMs === 300_000);
    assert.equal(seen.length, 1);
  });

  it('retries 5xx and malformed bodies with growing jittered backoff', async () => {
    const { rest, events } = client([{ status: 503, body: 'busy' }, { status: 502 }, { status: 200, body: '[{"a":' }, { status: 200, body: '{"ok":true}' }]);
    assert.deepEqual(await rest.get('/fapi/v1/depth', {}, 2), { ok: true });
    const retries = events.filter((e) => e.kind === 'retry');
    assert.deepEqual(retries.map((e) => e.status), [503, 502, 200]);
    assert.match(retries[2].kind === 'retry' ? retries[2].reason : '', /malformed JSON/);
    const waits = retries.map((e) => (e.kind === 'retry' ? e.backoffMs : 0));
    assert.ok(waits[0] < waits[1] && waits[1] < waits[2], waits.join(','));
  });

  it('gives up after maxAttempts with the last reason', async () => {
    const { rest } = client([{ status: 500 }, { status: 500 }, { status: 500 }], { maxAttempts: 3 });
    await assert.rejects(rest.get('/x', {}, 1), /gave up after 3 attempts/);
  });

  it('does not retry a 4xx Binance error and reports its code', async () => {
    const { rest } = client([{ status: 400, body: '{"code":-1121,"msg":"Invalid symbol."}' }]);
    await assert.rejects(rest.get('/fapi/v1/klines', { symbol: 'NOPEUSDT' }, 1), (e: unknown) => e instanceof BinanceHttpError && e.code === -1121 && /Invalid symbol/.test(e.message));
  });

  it('trusts the server weight header: near the limit it waits for the next minute instead of sending', async () => {
    const clock = new FakeClock(Date.UTC(2024, 0, 1, 0, 0, 30));
    const seen: string[] = [];
    const { rest } = client(
      [
        { status: 200, headers: { 'x-mbx-used-weight-1m': '2150' } },
        { status: 200, headers: { 'x-mbx-used-weight-1m': '10' } },
      ],
      { clock, seen },
    );
    await rest.get('/fapi/v1/klines', {}, 5);
    assert.equal(rest.budgets.ip.used, 2150, 'other processes on the IP spent weight too');
    // 2150 + 10 fits under 90% of 2400 (2160); 2150 + 20 does not.
    await rest.get('/fapi/v1/klines', { limit: 1500 }, 20);
    assert.deepEqual(clock.sleeps, [30_001]);
    assert.equal(clock.now(), Date.UTC(2024, 0, 1, 0, 1, 0) + 1);
    assert.equal(seen.length, 2);
  });
});
