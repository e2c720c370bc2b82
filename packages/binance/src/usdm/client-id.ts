import { OitraderError } from '@oitrader/core';

/** What an order is for. The letter goes into the client id so a lookup after a crash knows what it found. */
export type OrderIntent = 'entry' | 'exit' | 'stop' | 'target';

const INTENT_CODE: Record<OrderIntent, string> = { entry: 'e', exit: 'x', stop: 's', target: 't' };
const CODE_INTENT: Record<string, OrderIntent> = { e: 'entry', x: 'exit', s: 'stop', t: 'target' };

/** Binance's rule for newClientOrderId and clientAlgoId. */
export const CLIENT_ID_PATTERN = /^[.A-Z:/a-z0-9_-]{1,36}$/;

export interface ClientIdParts {
  /** A short tag for the bot instance (letters/digits, ≤ 8), so two bots on one account never collide. */
  prefix: string;
  intent: OrderIntent;
  symbol: string;
  /** Open time of the candle whose decision sent the order. */
  candleTimeMs: number;
  /** 0 for the first attempt of this intent on this candle. */
  attempt: number;
}

/**
 * Client ids are unique among *open* orders only: Binance accepts a reused id
 * once the first order is closed. So an id is made deterministic from the
 * decision (prefix, intent, symbol, candle time, attempt): a restarted bot that
 * re-derives the same decision derives the same id, finds the order by it, and
 * does not place it twice. Example: `oit-e-SOLUSDT-m5x3k0g-0`.
 */
export function makeClientId(parts: ClientIdParts): string {
  if (!/^[A-Za-z0-9]{1,8}$/.test(parts.prefix)) throw new OitraderError(`client id prefix ${JSON.stringify(parts.prefix)} must be 1-8 letters or digits`, { exitCode: 2 });
  const id = `${parts.prefix}-${INTENT_CODE[parts.intent]}-${parts.symbol}-${parts.candleTimeMs.toString(36)}-${parts.attempt}`;
  if (!CLIENT_ID_PATTERN.test(id)) throw new OitraderError(`client id ${id} breaks Binance's rule ${CLIENT_ID_PATTERN}`, { hint: 'use a shorter prefix or symbol', exitCode: 2 });
  return id;
}

/** The parts of an id made by `makeClientId`, or undefined for anyone else's id (manual orders, liquidations). */
export function parseClientId(id: string): ClientIdParts | undefined {
  const m = /^([A-Za-z0-9]{1,8})-([exst])-([A-Z0-9]+)-([0-9a-z]+)-(\d+)$/.exec(id);
  if (!m) return undefined;
  return { prefix: m[1], intent: CODE_INTENT[m[2]], symbol: m[3], candleTimeMs: parseInt(m[4], 36), attempt: Number(m[5]) };
}
