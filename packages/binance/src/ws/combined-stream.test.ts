import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { CombinedStream, type StreamClose, type StreamOpen } from './combined-stream.ts';

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('CombinedStream', () => {
  it("routes each stream to Binance's split base URL (/market, /public) and never to the legacy root", async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const paths: string[] = [];
    server.on('connection', (_socket, req) => paths.push(`${new URL(req.url!, 'ws://x').pathname} ${new URL(req.url!, 'ws://x').searchParams.get('streams')}`));
    const stream = new CombinedStream({
      wsUrl: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
      streams: ['solusdt@kline_5m', 'solusdt@depth20@500ms', 'solusdt@markPrice@1s', 'solusdt@forceOrder', 'solusdt@bookTicker'],
      onMessage: () => {},
    });
    try {
      stream.start();
      await until(() => paths.length === 2, 'two connections');
      assert.deepEqual(paths.sort(), ['/market/stream solusdt@kline_5m/solusdt@markPrice@1s/solusdt@forceOrder', '/public/stream solusdt@depth20@500ms/solusdt@bookTicker']);
    } finally {
      await stream.close();
      server.close();
    }
  });

  it('splits streams into connections of at most 200, reconnects after a drop with backoff, and stops on close()', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const sockets: WebSocket[] = [];
    const requested: string[][] = [];
    server.on('connection', (socket, req) => {
      sockets.push(socket);
      requested.push(new URL(req.url!, 'ws://x').searchParams.get('streams')!.split('/'));
      socket.send(JSON.stringify({ stream: 's', data: { n: sockets.length } }));
    });
    const streams = Array.from({ length: 450 }, (_, i) => `sym${i}usdt@kline_5m`);
    const opens: StreamOpen[] = [];
    const closes: StreamClose[] = [];
    const messages: string[] = [];
    const stream = new CombinedStream({
      wsUrl: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      streams,
      backoffBaseMs: 20,
      backoffMaxMs: 40,
      onOpen: (o) => opens.push(o),
      onClose: (c) => closes.push(c),
      onMessage: (raw) => messages.push(raw),
    });
    try {
      stream.start();
      await until(() => opens.length === 3 && messages.length === 3, 'three connections');
      assert.deepEqual(requested.map((r) => r.length).sort((a, b) => a - b), [50, 200, 200]);
      assert.deepEqual(requested.flat().sort(), [...streams].sort());
      assert.ok(opens.every((o) => !o.reconnect));

      sockets[0].terminate();
      await until(() => opens.length === 4, 'the reconnect');
      assert.equal(opens[3].reconnect, true);
      assert.equal(closes.length, 1);
      assert.ok(closes[0].retryInMs >= 10 && closes[0].retryInMs <= 20, `retry in ${closes[0].retryInMs}`);
      assert.equal(stream.reconnects, 1);

      await stream.close();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(opens.length, 4, 'no reconnect after close()');
    } finally {
      await stream.close();
      server.close();
    }
  });

  it('presumes a silent connection dead and reconnects', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: false });
    await new Promise((r) => server.once('listening', r));
    const opens: StreamOpen[] = [];
    const stream = new CombinedStream({
      wsUrl: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
      streams: ['a@kline_5m'],
      pingIntervalMs: 20,
      idleTimeoutMs: 60,
      backoffBaseMs: 10,
      onOpen: (o) => opens.push(o),
      onMessage: () => {},
    });
    try {
      stream.start();
      await until(() => opens.length >= 2, 'a reconnect after silence');
      assert.equal(opens[1].reconnect, true);
    } finally {
      await stream.close();
      server.close();
    }
  });

  it('rotates each connection before the 24 h cut by opening the new socket before closing the old', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const open = new Set<WebSocket>();
    let overlapped = false;
    const closeCodes: number[] = [];
    server.on('connection', (socket) => {
      open.add(socket);
      if (open.size > 1) overlapped = true;
      socket.on('close', (code) => {
        open.delete(socket);
        closeCodes.push(code);
      });
    });
    const opens: StreamOpen[] = [];
    const closes: StreamClose[] = [];
    const stream = new CombinedStream({
      wsUrl: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
      streams: ['a@kline_5m'],
      reconnectAfterMs: 80,
      onOpen: (o) => opens.push(o),
      onClose: (c) => closes.push(c),
      onMessage: () => {},
    });
    try {
      stream.start();
      await until(() => opens.length >= 3, 'two rotations');
      assert.ok(overlapped, 'the new socket was open before the old one closed');
      assert.deepEqual(closes, [], 'a rotation is not reported as a drop');
      await until(() => closeCodes.length >= 2, 'the old sockets closing');
      assert.ok(closeCodes.every((c) => c === 1000));
    } finally {
      await stream.close();
      server.close();
    }
  });
});
