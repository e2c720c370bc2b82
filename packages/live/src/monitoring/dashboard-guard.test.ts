import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createLogger, OitraderError } from '@oitrader/core';
import { migrate, PgliteExecutor, type SqlExecutor } from '@oitrader/data';
import { checkExposure, FailedTokenLimiter, MIN_TOKEN_LENGTH } from './dashboard-guard.ts';
import { startDashboard, type RunningDashboard } from './dashboard-server.ts';

const TOKEN = 'guard-test-token-0123456789abcdef';

/** A GET or POST with an explicit Host header (fetch does not let a test set one). */
function call(url: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: string }> {
  const u = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard exposure: who may reach it, and how', () => {
  const refused = (o: Parameters<typeof checkExposure>[0], pattern: RegExp) =>
    assert.throws(
      () => checkExposure(o),
      (e: unknown) => e instanceof OitraderError && e.exitCode === 2 && pattern.test(`${e.message} ${e.hint ?? ''}`),
    );

  it(`refuses a control token under ${MIN_TOKEN_LENGTH} characters, wherever it listens`, () => {
    refused({ host: '127.0.0.1', token: 'x' }, /1 characters; .* at least 24.*openssl rand -hex 16/);
    checkExposure({ host: '127.0.0.1', token: 'a'.repeat(MIN_TOKEN_LENGTH) });
    checkExposure({ host: '127.0.0.1', token: undefined });
  });

  it('a bind beyond loopback needs --allow-remote and a token, and is warned about plain HTTP', () => {
    refused({ host: '0.0.0.0', token: TOKEN }, /would listen on 0\.0\.0\.0.*--allow-remote/);
    refused({ host: '192.168.1.20', token: TOKEN }, /--allow-remote/);
    refused({ host: '0.0.0.0', token: undefined, allowRemote: true }, /OITRADER_DASHBOARD_TOKEN is not set/);
    const warnings: string[] = [];
    const log = { ...createLogger('test'), warn: (m: string) => void warnings.push(m) };
    checkExposure({ host: '0.0.0.0', token: TOKEN, allowRemote: true, log });
    assert.match(warnings.join('\n'), /plain HTTP.*TLS reverse proxy/);
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.1.1']) checkExposure({ host, token: undefined });
  });

  it('wrong tokens from one address: refused for the rest of the window after 5, then allowed again', () => {
    let now = 0;
    const limiter = new FailedTokenLimiter(() => now, 5, 60_000);
    for (let i = 0; i < 5; i++) {
      assert.equal(limiter.blockedForMs('10.0.0.9'), 0);
      limiter.fail('10.0.0.9');
    }
    now = 10_000;
    assert.equal(limiter.blockedForMs('10.0.0.9'), 50_000);
    assert.equal(limiter.blockedForMs('10.0.0.8'), 0, 'another address is not blocked');
    now = 60_000;
    assert.equal(limiter.blockedForMs('10.0.0.9'), 0, 'the block ends with its window');
  });
});

describe('dashboard over HTTP: Host check (DNS rebinding) and the failed-token limit', () => {
  let sql: SqlExecutor;
  let dash: RunningDashboard;
  before(async () => {
    sql = await PgliteExecutor.open(undefined);
    await migrate(sql);
    dash = await startDashboard({ sql, bot: 'guard', symbol: 'SOLUSDT', timeframe: '5m', barMs: 300_000, token: TOKEN, allowedHosts: ['bot.lan'], maxDailyLoss: 0.03 });
  });
  after(async () => {
    await dash.close();
    await sql.close();
  });

  it('answers its own Host names and refuses any other (a rebinding page cannot read equity or positions)', async () => {
    const port = new URL(dash.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'bot.lan', `BOT.LAN:${port}`]) assert.equal((await call(dash.url, '/metrics', { host })).status, 200, host);
    for (const path of ['/api/state', '/metrics', '/', '/api/events']) {
      const r = await call(dash.url, path, { host: `attacker.example:${port}` });
      assert.equal(r.status, 403, `${path} answered a foreign Host`);
      assert.doesNotMatch(r.body, /equity/i);
    }
    assert.equal((await call(dash.url, '/api/control/kill', { host: `evil.example:${port}`, authorization: `Bearer ${TOKEN}` }, 'POST')).status, 403, 'a control from a foreign Host, even with the token');
  });

  it('after 5 wrong tokens the address gets 429 with Retry-After, even with the right token', async () => {
    const host = `127.0.0.1:${new URL(dash.url).port}`;
    for (let i = 0; i < 5; i++) assert.equal((await call(dash.url, '/api/control/resume', { host, authorization: 'Bearer wrong-token-wrong-token-wrong' }, 'POST')).status, 401);
    const blocked = await call(dash.url, '/api/control/resume', { host, authorization: `Bearer ${TOKEN}` }, 'POST');
    assert.equal(blocked.status, 429);
    assert.match(blocked.body, /too many wrong tokens .* try again in \d+ s/);
  });
});
