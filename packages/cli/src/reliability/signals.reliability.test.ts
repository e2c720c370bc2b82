import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { connect, type Socket } from 'node:net';

const BIN = fileURLToPath(new URL('../../bin/oitrader.mjs', import.meta.url));
/** "Within a few seconds" (issue 28 item 3); generous against a loaded machine, far below a hang. */
const STOP_BOUND_MS = 10_000;

function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: '', OITRADER_DASHBOARD_TOKEN: '' } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = async (pattern: RegExp) => {
    for (let i = 0; i < 300 && !pattern.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, pattern, `never ready:\n${out}`);
    return pattern.exec(out)!;
  };
  const endsWithin = async (ms: number) => Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms))]);
  return { child, ready, endsWithin, output: () => out };
}

function configFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'oitrader-signals-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, `database:\n  url: ''\n  embedded_path: ${join(dir, 'db')}\ndashboard:\n  port: 0\n`);
  return file;
}

/** Every long-running command ends within seconds on SIGTERM, and on --for, with exit 0 (bot, collect, worker, rl train: their own tests). */
describe('reliability: SIGTERM and --for end the long-running commands', () => {
  it('dashboard: SIGTERM with a browser\'s live event stream open, and --for', async () => {
    const run = start(['--config', configFile(), 'dashboard']);
    try {
      const [, url] = await run.ready(/(http:\/\/127\.0\.0\.1:\d+\/)/);
      // An open server-sent-events stream (the page's live updates) must not keep the server from closing.
      const events = await fetch(new URL('api/events', url)).catch(() => undefined);
      run.child.kill('SIGTERM');
      assert.equal(await run.endsWithin(STOP_BOUND_MS), 0, `dashboard did not end on SIGTERM (events stream: ${events?.status}):\n${run.output()}`);
    } finally {
      run.child.kill('SIGKILL');
    }
    const timed = start(['--config', configFile(), 'dashboard', '--for', '2']);
    assert.equal(await timed.endsWithin(STOP_BOUND_MS + 2000), 0, `dashboard --for 2 did not end:\n${timed.output()}`);
  });

  it('sim: SIGTERM with a market stream client connected, and --for', async () => {
    const run = start(['sim', '--port', '0', '--symbol', 'SOLUSDT']);
    let client: Socket | undefined;
    try {
      const [, ws] = await run.ready(/streams (ws:\/\/127\.0\.0\.1:\d+)/);
      client = await openWebSocket(new URL(`${ws}/market/stream?streams=solusdt@kline_5m`));
      run.child.kill('SIGTERM');
      assert.equal(await run.endsWithin(STOP_BOUND_MS), 0, `sim did not end on SIGTERM with a client connected:\n${run.output()}`);
    } finally {
      client?.destroy();
      run.child.kill('SIGKILL');
    }
    const timed = start(['sim', '--port', '0', '--symbol', 'SOLUSDT', '--for', '2']);
    assert.equal(await timed.endsWithin(STOP_BOUND_MS + 2000), 0, `sim --for 2 did not end:\n${timed.output()}`);
  });
});

/** A WebSocket client's opening handshake over a raw socket, held open (what a collector's stream looks like to the server). */
async function openWebSocket(url: URL): Promise<Socket> {
  const socket = connect(Number(url.port), url.hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const head = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
  assert.match(head, /^HTTP\/1\.1 101 /, `the simulator refused the stream: ${head.slice(0, 200)}`);
  return socket;
}
