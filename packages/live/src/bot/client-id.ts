import type { OrderIntent } from '../state/bot-store.ts';

const INTENT_CODE: Record<OrderIntent, string> = { entry: 'e', exit: 'x', stop: 's' };

/**
 * The client order id of a decision: (bot, intent, symbol, candle open time),
 * so a restarted or retried step derives the same id and the venue finds the
 * order instead of placing a second one. Same layout as the trading client's
 * makeClientId (issue 14): `oit-e-SOLUSDT-m5x3k0g-0`, within Binance's
 * ^[.A-Z:/a-z0-9_-]{1,36}$.
 */
export function clientOrderId(bot: string, intent: OrderIntent, symbol: string, candleTimeMs: number): string {
  return `${bot}-${INTENT_CODE[intent]}-${symbol}-${candleTimeMs.toString(36)}-0`;
}
