import { DEMO_REST_URL, MAINNET_REST_URL } from './client.ts';
import { DEMO_PRIVATE_WS_URL, MAINNET_PRIVATE_WS_URL } from './user-stream.ts';

/** The `binance:` config keys that decide where trading goes. */
export interface TradingUrlConfig {
  testnet: boolean;
  rest_url: string;
  ws_url: string;
  trade_rest_url: string;
  private_ws_url: string;
}

/**
 * Where signed requests and the user stream go. Explicit keys win; a
 * configured market-data URL (the simulator) is used for trading too; else
 * `testnet: true` means Binance demo trading (demo-fapi.binance.com), false
 * the real exchange.
 */
export function tradingUrls(c: TradingUrlConfig): { restUrl: string; privateWsUrl: string; venue: 'configured' | 'demo' | 'live' } {
  const configured = c.trade_rest_url !== '' || c.rest_url !== '';
  const restUrl = c.trade_rest_url || c.rest_url || (c.testnet ? DEMO_REST_URL : MAINNET_REST_URL);
  const privateWsUrl = c.private_ws_url || (c.ws_url ? `${c.ws_url.replace(/\/+$/, '')}/private` : c.testnet ? DEMO_PRIVATE_WS_URL : MAINNET_PRIVATE_WS_URL);
  return { restUrl, privateWsUrl, venue: configured ? 'configured' : c.testnet ? 'demo' : 'live' };
}
