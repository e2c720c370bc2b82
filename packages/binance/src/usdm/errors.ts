import { OitraderError } from '@oitrader/core';

/**
 * What the caller may do after an error. The decision is the point of the
 * map: an order path that retries a refused order every bar, or re-sends one
 * whose outcome is unknown, is how accounts are lost.
 *
 * - `never`: the request is wrong for the exchange's rules; sending it again gives the same answer.
 * - `resync-time`: the server refused our timestamp (-1021); resync the clock, then sending again is safe (nothing executed).
 * - `backoff`: rate or order-count limit, overload; nothing executed; wait, then send again.
 * - `lookup`: the outcome is unknown (timeout, 5xx, -1007): look the order up by client id; never re-send blind.
 * - `renew-listen-key`: the user stream's key is gone (-1125); create a new key.
 * - `fatal`: keys, permissions or signature are wrong; stop trading, a human must fix the setup.
 */
export type RetryDecision = 'never' | 'resync-time' | 'backoff' | 'lookup' | 'renew-listen-key' | 'fatal';

interface KnownCode {
  name: string;
  retry: RetryDecision;
  /** What it means for the bot, and the fix. */
  hint: string;
}

/** Binance USDⓈ-M error codes that the order path can meet (developers.binance.com, "Error Codes"). */
export const ORDER_ERROR_CODES: Record<number, KnownCode> = {
  [-1000]: { name: 'UNKNOWN', retry: 'lookup', hint: 'unknown error while processing the request: look the order up by client id before doing anything else' },
  [-1001]: { name: 'DISCONNECTED', retry: 'lookup', hint: 'internal error: the order may or may not exist, look it up by client id' },
  [-1003]: { name: 'TOO_MANY_REQUESTS', retry: 'backoff', hint: 'request weight exceeded: wait for the next minute (Retry-After) and lower the request rate' },
  [-1007]: { name: 'TIMEOUT', retry: 'lookup', hint: 'backend timeout, execution status unknown: look the order up by client id, never re-send it blind' },
  [-1008]: { name: 'SERVER_BUSY', retry: 'backoff', hint: 'the server is overloaded and did not process the request: retry after a pause' },
  [-1015]: { name: 'TOO_MANY_ORDERS', retry: 'backoff', hint: 'order-count limit (per 10 s or per minute) exceeded: wait for the window to roll' },
  [-1021]: { name: 'INVALID_TIMESTAMP', retry: 'resync-time', hint: 'the request timestamp is outside recvWindow of server time: resync the clock (GET /fapi/v1/time) and check the host clock (NTP)' },
  [-1022]: { name: 'INVALID_SIGNATURE', retry: 'fatal', hint: 'the signature does not match: check BINANCE_SECRET (HMAC) or the Ed25519 private key belongs to BINANCE_API_KEY' },
  [-1102]: { name: 'MANDATORY_PARAM_EMPTY_OR_MALFORMED', retry: 'never', hint: 'a required parameter is missing: a client bug, report it' },
  [-1106]: { name: 'PARAM_NOT_REQUIRED', retry: 'never', hint: 'a parameter was sent that this order type does not take (e.g. quantity with closePosition)' },
  [-1111]: { name: 'BAD_PRECISION', retry: 'never', hint: 'price or quantity has more decimals than the symbol allows: round to tickSize/stepSize from exchangeInfo' },
  [-1116]: { name: 'INVALID_ORDER_TYPE', retry: 'never', hint: 'invalid order type for this endpoint' },
  [-1121]: { name: 'BAD_SYMBOL', retry: 'never', hint: 'invalid symbol: check trading.symbol against exchangeInfo' },
  [-1125]: { name: 'INVALID_LISTEN_KEY', retry: 'renew-listen-key', hint: 'the listenKey does not exist (expired): create a new one and re-sync over REST' },
  [-2010]: { name: 'NEW_ORDER_REJECTED', retry: 'never', hint: 'the matching engine refused the order' },
  [-2011]: { name: 'CANCEL_REJECTED', retry: 'lookup', hint: 'cancel refused (usually: the order is already filled or cancelled): query it to learn its final state' },
  [-2013]: { name: 'NO_SUCH_ORDER', retry: 'never', hint: 'Binance does not know this order (never placed, or closed long ago)' },
  [-2014]: { name: 'BAD_API_KEY_FMT', retry: 'fatal', hint: 'the API key format is invalid: check BINANCE_API_KEY' },
  [-2015]: { name: 'REJECTED_MBX_KEY', retry: 'fatal', hint: 'invalid API key, IP or permissions: enable Futures on the key and whitelist this IP' },
  [-2018]: { name: 'BALANCE_NOT_SUFFICIENT', retry: 'never', hint: 'balance is insufficient for this order: size it from availableBalance' },
  [-2019]: { name: 'MARGIN_NOT_SUFFICIENT', retry: 'never', hint: 'margin is insufficient: the order is larger than available balance × leverage allows; size it down' },
  [-2020]: { name: 'UNABLE_TO_FILL', retry: 'never', hint: 'FOK/IOC order could not fill' },
  [-2021]: { name: 'ORDER_WOULD_IMMEDIATELY_TRIGGER', retry: 'never', hint: 'the stop is already through the price: the position needs an immediate market exit, not a stop' },
  [-2022]: { name: 'REDUCE_ONLY_REJECT', retry: 'never', hint: 'reduce-only refused: there is no position (or it is smaller) on that side; re-read the position' },
  [-2024]: { name: 'POSITION_NOT_SUFFICIENT', retry: 'never', hint: 'position is not sufficient for this reduce-only/close order' },
  [-2027]: { name: 'MAX_LEVERAGE_RATIO', retry: 'never', hint: 'the position would exceed the maximum notional at the current leverage: lower size or leverage (leverageBracket)' },
  [-2028]: { name: 'MIN_LEVERAGE_RATIO', retry: 'never', hint: 'leverage is lower than the open position allows' },
  [-4003]: { name: 'QTY_LESS_THAN_ZERO', retry: 'never', hint: 'quantity must be positive (after rounding to stepSize it became 0: the account is too small for this symbol)' },
  [-4014]: { name: 'PRICE_NOT_INCREASED_BY_TICK_SIZE', retry: 'never', hint: 'price is not a multiple of tickSize: round it' },
  [-4023]: { name: 'QTY_NOT_INCREASED_BY_STEP_SIZE', retry: 'never', hint: 'quantity is not a multiple of stepSize: round it' },
  [-4028]: { name: 'INVALID_LEVERAGE', retry: 'never', hint: 'leverage is not valid for this symbol (see leverageBracket)' },
  [-4046]: { name: 'NO_NEED_TO_CHANGE_MARGIN_TYPE', retry: 'never', hint: 'margin type is already the one asked for (not an error for the start-up checks)' },
  [-4047]: { name: 'THERE_EXISTS_OPEN_ORDERS', retry: 'never', hint: 'margin type cannot change while open orders exist: cancel them first' },
  [-4048]: { name: 'THERE_EXISTS_QUANTITY', retry: 'never', hint: 'margin type cannot change while a position exists: close it first' },
  [-4059]: { name: 'NO_NEED_TO_CHANGE_POSITION_SIDE', retry: 'never', hint: 'position mode is already the one asked for' },
  [-4061]: { name: 'POSITION_SIDE_NOT_MATCH', retry: 'never', hint: "order's position side does not match the account's mode: the account is in hedge mode, switch it to one-way" },
  [-4116]: { name: 'DUPLICATED_CLIENT_ORDER_ID', retry: 'lookup', hint: 'an open order already has this client id: it is our earlier attempt, query it instead of sending again' },
  [-4120]: { name: 'STOP_ORDER_SWITCH_ALGO', retry: 'never', hint: 'conditional orders (STOP_MARKET, TAKE_PROFIT_MARKET, …) must go through the Algo Order API (POST /fapi/v1/algoOrder)' },
  [-4131]: { name: 'MARKET_ORDER_REJECT', retry: 'never', hint: "the counterparty's best price is outside the PERCENT_PRICE limit: the book is too thin for a market order now" },
  [-4161]: { name: 'LEVERAGE_REDUCE_WITH_POSITION', retry: 'never', hint: 'isolated leverage cannot be lowered while a position is open' },
  [-4164]: { name: 'MIN_NOTIONAL', retry: 'never', hint: "order's notional is below the symbol's MIN_NOTIONAL (5 USDT for most symbols): raise the size or skip the trade" },
  [-4400]: { name: 'QUANTITATIVE_RULES', retry: 'fatal', hint: 'the account is restricted by Binance futures trading quantitative rules: trading is paused, read the account notice' },
  [-5021]: { name: 'FOK_ORDER_REJECT', retry: 'never', hint: 'FOK order could not be fully filled' },
  [-5022]: { name: 'GTX_ORDER_REJECT', retry: 'never', hint: 'post-only order would have executed as taker: reprice it' },
};

/**
 * An error answer from the signed API, with Binance's code and the decision.
 * Messages never contain the key, secret or signature (the query string is
 * not quoted; see the no-secret test).
 */
export class BinanceOrderError extends OitraderError {
  readonly status: number;
  readonly code: number | undefined;
  readonly codeName: string;
  readonly retry: RetryDecision;
  readonly path: string;

  constructor(path: string, status: number, code: number | undefined, binanceMessage: string) {
    const known = code === undefined ? undefined : ORDER_ERROR_CODES[code];
    const retry: RetryDecision = known?.retry ?? decisionForStatus(status);
    super(`Binance ${path} refused (HTTP ${status}${code === undefined ? '' : `, ${code} ${known?.name ?? 'UNMAPPED'}`}): ${binanceMessage}`, {
      hint: known?.hint ?? hintForStatus(status),
      exitCode: retry === 'fatal' ? 2 : 1,
    });
    this.path = path;
    this.status = status;
    this.code = code;
    this.codeName = known?.name ?? 'UNMAPPED';
    this.retry = retry;
  }
}

/**
 * A request whose outcome the client cannot know (timeout, 5xx, connection
 * reset after sending). For orders, `placeOrder` resolves it by lookup; this
 * error escapes only when even the lookups failed — then the order may exist.
 */
export class UnknownOutcomeError extends OitraderError {
  readonly retry: RetryDecision = 'lookup';
  readonly path: string;

  /** `method`: the HTTP method; a GET changes nothing on the exchange, so only other requests have an unknown outcome worth the warning. */
  constructor(path: string, reason: string, method?: string) {
    const read = method === 'GET';
    super(read ? `Binance GET ${path}: no usable answer (${reason})` : `Binance ${path}: outcome unknown (${reason})`, {
      hint: read
        ? 'a read, nothing changed on the exchange; check the network and binance.rest_url (it is retried)'
        : 'do not send the order again: query it by client id (the bot does this on its next cycle and at start-up)',
    });
    this.path = path;
  }
}

function decisionForStatus(status: number): RetryDecision {
  if (status === 401) return 'fatal';
  if (status === 429 || status === 418) return 'backoff';
  if (status >= 500) return 'lookup';
  return 'never';
}

function hintForStatus(status: number): string {
  if (status === 401) return 'unauthorized: check BINANCE_API_KEY and its permissions';
  if (status === 429) return 'rate limited: wait for Retry-After';
  if (status >= 500) return 'server error, outcome unknown: look the order up by client id';
  return 'an error code this client does not map: read the message and https://developers.binance.com error codes';
}

/**
 * The order is known not to exist: the request was lost or refused before
 * matching, and the server can no longer accept it (its timestamp +
 * recvWindow has passed). A new decision may place it again (next attempt id).
 */
export class OrderNotPlacedError extends OitraderError {
  readonly retry: RetryDecision = 'never';
  readonly clientId: string;

  constructor(clientId: string, reason: string) {
    super(`order ${clientId} was not placed (${reason})`, { hint: 'nothing is open for this id; the next decision may place it again with a new attempt number' });
    this.clientId = clientId;
  }
}
