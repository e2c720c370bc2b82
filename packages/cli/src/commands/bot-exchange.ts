import { DEMO_REST_URL, MAINNET_REST_URL, prepareAccount, UsdmClient, type SetupReport, type WeightBudget } from '@oitrader/binance';
import { OitraderError, tradedSymbols, type Config, type Logger } from '@oitrader/core';
import { SimMarketClock, wallClock, type MarketClock } from '@oitrader/live';
import { SIM_API_KEY, SIM_SECRET } from '@oitrader/sim';
import type { Output } from '../output.ts';

export type ExchangeMode = 'sim' | 'demo' | 'live';

/** A signed trading client on the exchange the mode names, with the account prepared (one-way, isolated, leverage). */
export interface ExchangeConnection {
  mode: ExchangeMode;
  restUrl: string;
  client: UsdmClient;
  /** The exchange's time: the simulator's market clock in sim mode, this machine's otherwise. */
  clock: MarketClock;
  takerFeeRate: number;
  setup: SetupReport;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Where each mode may send orders. The guards are the point: sim trades only
 * with a simulator on this machine (with the simulator's published test key,
 * never the user's), demo never reaches the real exchange, and live goes to
 * fapi.binance.com unless binance.trade_rest_url says otherwise.
 */
export function tradingEndpoint(mode: ExchangeMode, b: Config['binance']): { restUrl: string; apiKey: string; secret: string } {
  if (mode === 'sim') {
    const restUrl = b.trade_rest_url || b.rest_url;
    if (restUrl === '') {
      throw new OitraderError('trading.mode sim needs the simulator\'s address in binance.rest_url', {
        hint: 'start the simulator (oitrader sim --symbol SOLUSDT --speed 60) and copy the REST and stream URLs it prints into binance.rest_url and binance.ws_url',
        exitCode: 2,
      });
    }
    if (!LOOPBACK.has(new URL(restUrl).hostname)) {
      throw new OitraderError(`trading.mode sim trades only with a simulator on this machine, but binance.rest_url is ${restUrl}`, {
        hint: 'point binance.rest_url at the simulator (http://127.0.0.1:<port>), or use trading.mode demo for Binance demo trading',
        exitCode: 2,
      });
    }
    return { restUrl, apiKey: SIM_API_KEY, secret: SIM_SECRET };
  }
  const restUrl = b.trade_rest_url || (mode === 'demo' ? DEMO_REST_URL : MAINNET_REST_URL);
  // An allow-list, not a block-list: any other host (an alias or proxy of the real exchange) could take the same keys to real money.
  const host = new URL(restUrl).hostname;
  if (mode === 'demo' && host !== new URL(DEMO_REST_URL).hostname && !LOOPBACK.has(host)) {
    throw new OitraderError(`trading.mode demo must not send orders to the real exchange (${restUrl}): demo trades only on ${DEMO_REST_URL} or a simulator on this machine`, {
      hint: `leave binance.trade_rest_url empty (demo trading is ${DEMO_REST_URL})`,
      exitCode: 2,
    });
  }
  // The key travels in a header of every request: over plain HTTP anyone on the path reads it.
  const url = new URL(restUrl);
  if (url.protocol !== 'https:' && !LOOPBACK.has(host)) {
    throw new OitraderError(`trading.mode ${mode} sends the API key with every request, but ${restUrl} is plain ${url.protocol.replace(':', '').toUpperCase()}`, {
      hint: `use https:// (leave binance.trade_rest_url empty for ${mode === 'demo' ? DEMO_REST_URL : MAINNET_REST_URL})`,
      exitCode: 2,
    });
  }
  if (b.api_key === '' || b.secret === '') {
    throw new OitraderError(`trading.mode ${mode} needs an API key and secret`, {
      hint: mode === 'demo' ? 'create keys on Binance demo trading and export BINANCE_API_KEY and BINANCE_SECRET' : 'export BINANCE_API_KEY and BINANCE_SECRET (a key with futures trading and no withdrawal permission)',
      exitCode: 2,
    });
  }
  return { restUrl, apiKey: b.api_key, secret: b.secret };
}

/**
 * Connects the bot to its exchange before the first decision: clock, time
 * offset, account checks and changes (hedge and Multi-Assets mode refused;
 * isolated margin and the configured leverage set), the real taker fee.
 * Prints what it will trade with; never a key or secret.
 */
export async function connectExchange(config: Config, out: Output, log: Logger, ipBudget?: WeightBudget): Promise<ExchangeConnection> {
  const mode = config.trading.mode as ExchangeMode;
  const { restUrl, apiKey, secret } = tradingEndpoint(mode, config.binance);
  const clock = mode === 'sim' ? await SimMarketClock.connect(restUrl) : wallClock;
  const client = new UsdmClient({
    restUrl,
    apiKey,
    secret,
    clock,
    recvWindowMs: config.binance.recv_window_ms,
    ipBudget,
    onEvent: (event) => {
      if (event.kind === 'unknown-outcome') log.warn(`order ${event.clientId}: outcome unknown (${event.reason}); looking it up, never re-sending`);
      else if (event.kind === 'time-resync') log.warn(`${event.path}: timestamp outside recvWindow, clock resynced`);
      else if (event.kind === 'rate-limited') log.warn(`${event.path}: rate limited, waiting ${event.retryAfterMs} ms`);
    },
  });
  const symbols = tradedSymbols(config.trading);
  if (mode !== 'sim') {
    // A request the previous process sent just before it died may still be accepted until its timestamp + recvWindow:
    // the start-up look-ups by client id would call it "never placed" and the step would send it again.
    // (The simulator answers a request as it arrives, so nothing of a killed process is still on its way there.)
    const waitMs = config.binance.recv_window_ms + 1000;
    out.text(`waiting ${waitMs / 1000} s (recvWindow + 1 s) so that no order of a previous run can still reach the exchange`);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
  // Symbols at their own leverage (trading.overrides) are prepared apart from the rest.
  const byLeverage = new Map<number, string[]>();
  for (const symbol of symbols) {
    const leverage = config.trading.overrides[symbol]?.leverage ?? config.trading.leverage;
    byLeverage.set(leverage, [...(byLeverage.get(leverage) ?? []), symbol]);
  }
  const reports: SetupReport[] = [];
  for (const [leverage, group] of byLeverage) reports.push(await prepareAccount(client, group, leverage));
  const setup: SetupReport = { ...reports[reports.length - 1], symbols: reports.flatMap((r) => r.symbols) };
  // Fees are estimated until the exchange reports each fill's commission: the highest of the symbols' rates.
  const fees = await Promise.all(symbols.map((symbol) => client.commissionRate(symbol)));
  const takerRate = Math.max(...fees.map((f) => f.takerRate));
  out.text(
    `exchange ${restUrl} (${mode}${mode === 'live' ? ', REAL MONEY' : ''}): ${client.signatureKind} key, clock offset ${client.offsetMs} ms; ` +
      `account wallet ${setup.walletUsd.toFixed(2)} USDT, available ${setup.availableUsd.toFixed(2)} USDT; ` +
      `${setup.symbols.map((s) => `${s.symbol} ${s.marginType} ${s.leverage}x, position ${s.positionQtyBase}`).join('; ')}; taker fee ${(takerRate * 100).toFixed(3)}%`,
  );
  return { mode, restUrl, client, clock, takerFeeRate: takerRate, setup };
}
