import type { WireUserEvent } from '@oitrader/binance';
import type { WebSocket } from 'ws';

/**
 * User-data stream connections (`/private/ws?listenKey=…`). Every engine event
 * goes to every socket of a live key, as a raw payload (ws mode). Events while
 * no socket is open are lost, as on Binance: the client re-syncs over REST.
 */
export class UserHub {
  readonly #sockets = new Map<WebSocket, string>();
  messagesSent = 0;

  get connections(): number {
    return this.#sockets.size;
  }

  add(socket: WebSocket, listenKey: string): void {
    this.#sockets.set(socket, listenKey);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => this.#sockets.delete(socket));
  }

  send(event: WireUserEvent): void {
    const text = JSON.stringify(event);
    for (const socket of this.#sockets.keys()) {
      this.messagesSent++;
      socket.send(text);
    }
  }

  /** The key is gone: its sockets get `listenKeyExpired`, then are closed. */
  expire(listenKey: string, nowMs: number): void {
    for (const [socket, key] of this.#sockets) {
      if (key !== listenKey) continue;
      socket.send(JSON.stringify({ e: 'listenKeyExpired', E: String(nowMs), listenKey }));
      this.#sockets.delete(socket);
      setTimeout(() => socket.terminate(), 50);
    }
  }

  /** Kills every user stream without a close handshake (a network drop). */
  dropAll(): number {
    const n = this.#sockets.size;
    for (const socket of this.#sockets.keys()) socket.terminate();
    this.#sockets.clear();
    return n;
  }
}
