import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SentMessage {
  chatId: string;
  text: string;
}

interface Update {
  update_id: number;
  message: { message_id: number; date: number; chat: { id: number; type: 'private' }; from: { id: number; is_bot: false; first_name: string }; text: string; entities?: { type: 'bot_command'; offset: number; length: number }[] };
}

/**
 * A local stand-in for Telegram's Bot API (https://core.telegram.org/bots/api):
 * POST /bot<token>/<method> with JSON, answering { ok, result } as Telegram
 * does, for the methods the bridge uses (getMe, deleteWebhook, getUpdates with
 * long polling, sendMessage). Tests queue user messages and read what was sent.
 */
export class FakeTelegramApi {
  readonly sent: SentMessage[] = [];
  /** Every request path (they carry the token, as Telegram's do) — to check the token goes nowhere else. */
  readonly paths: string[] = [];
  readonly #updates: Update[] = [];
  readonly #waiting = new Set<() => void>();
  readonly #failures = new Map<string, number>();
  #nextUpdate = 1;
  #server: Server | undefined;
  #token: string;
  url = '';

  constructor(token: string) {
    this.#token = token;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const wake of this.#waiting) wake();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  /** A user in `chatId` sends `text` (a leading /command is marked as Telegram marks it). */
  say(chatId: number, text: string): void {
    const command = /^\/\w+/.exec(text);
    this.#updates.push({
      update_id: this.#nextUpdate++,
      message: {
        message_id: this.#nextUpdate,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chatId, type: 'private' },
        from: { id: chatId, is_bot: false, first_name: 'trader' },
        text,
        ...(command ? { entities: [{ type: 'bot_command' as const, offset: 0, length: command[0].length }] } : {}),
      },
    });
    for (const wake of this.#waiting) wake();
  }

  /** The next `count` calls of `method` answer HTTP 500. */
  failNext(method: string, count = 1): void {
    this.#failures.set(method, count);
  }

  /** Resolves with the first message (sent from now on, or already sent after `fromIndex`) that matches. */
  async waitFor(match: (m: SentMessage) => boolean, fromIndex = 0, timeoutMs = 5000): Promise<SentMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.sent.slice(fromIndex).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching Telegram message within ${timeoutMs} ms; sent: ${JSON.stringify(this.sent.slice(fromIndex).map((m) => m.text))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = raw && req.headers['content-type']?.includes('json') ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const path = req.url ?? '';
    this.paths.push(path);
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(path);
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (!m || m[1] !== this.#token) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = m[2];
    const fail = this.#failures.get(method) ?? 0;
    if (fail > 0) {
      this.#failures.set(method, fail - 1);
      return reply(500, { ok: false, error_code: 500, description: 'Internal Server Error' });
    }
    switch (method) {
      case 'getMe':
        return reply(200, { ok: true, result: { id: 42, is_bot: true, first_name: 'oitrader', username: 'oitrader_test_bot', can_join_groups: false, can_read_all_group_messages: false, supports_inline_queries: false } });
      case 'deleteWebhook':
        return reply(200, { ok: true, result: true });
      case 'getUpdates': {
        const offset = Number(body.offset ?? 0);
        const waitMs = Math.min(Number(body.timeout ?? 0), 1) * 1000;
        const pick = () => this.#updates.filter((u) => u.update_id >= offset);
        if (pick().length === 0 && waitMs > 0) {
          await new Promise<void>((resolve) => {
            const wake = () => {
              clearTimeout(timer);
              this.#waiting.delete(wake);
              resolve();
            };
            const timer = setTimeout(wake, waitMs);
            this.#waiting.add(wake);
          });
        }
        return reply(200, { ok: true, result: pick() });
      }
      case 'sendMessage': {
        const text = String(body.text);
        this.sent.push({ chatId: String(body.chat_id), text });
        return reply(200, { ok: true, result: { message_id: this.sent.length, date: Math.floor(Date.now() / 1000), chat: { id: Number(body.chat_id), type: 'private' }, text } });
      }
      default:
        return reply(404, { ok: false, error_code: 404, description: `Not Found: method ${method}` });
    }
  }
}
