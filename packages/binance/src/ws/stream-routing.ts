/**
 * Binance USDⓈ-M WebSocket base URLs since 2026-04-23 ("Important WebSocket
 * Change Notice — Base URL Split & Migration"): high-frequency book data on
 * `/public`, the rest of market data on `/market`, user data on `/private`.
 * The legacy `<root>/stream?streams=…` still accepts connections and
 * subscriptions but sends no data.
 */
export type StreamBase = 'public' | 'market';

export const MAINNET_WS_ROOT = 'wss://fstream.binance.com';

/** depth (all variants) and bookTicker are `/public`; kline, markPrice, forceOrder, aggTrade, tickers … are `/market`. */
export function streamBase(stream: string): StreamBase {
  return /@depth|@bookTicker|^!bookTicker/.test(stream) ? 'public' : 'market';
}

/** Streams grouped by the base URL that serves them, in the order given. */
export function groupStreamsByBase(streams: string[]): Array<{ base: StreamBase; streams: string[] }> {
  const groups = new Map<StreamBase, string[]>();
  for (const s of streams) {
    const base = streamBase(s);
    groups.set(base, [...(groups.get(base) ?? []), s]);
  }
  return [...groups].map(([base, list]) => ({ base, streams: list }));
}
