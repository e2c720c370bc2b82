import { makeClientId, type OrderIntent } from '@oitrader/binance';

/**
 * The client order id of a decision: (bot, intent, symbol, candle open time),
 * so a restarted or retried step derives the same id and the venue finds the
 * order instead of placing a second one (the trading client's makeClientId:
 * `oit-e-SOLUSDT-m5x3k0g-0`). `attempt` > 0 only for a second order of the same
 * intent on the same candle (the emergency close after a failed stop).
 */
export function clientOrderId(bot: string, intent: OrderIntent, symbol: string, candleTimeMs: number, attempt = 0): string {
  return makeClientId({ prefix: bot, intent, symbol, candleTimeMs, attempt });
}
