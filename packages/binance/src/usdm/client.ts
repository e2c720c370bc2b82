import { OitraderError, redactSecret, systemClock, type Clock } from '@oitrader/core';
import { BinanceBannedError } from '../rest/errors.ts';
import { IP_WEIGHT_PER_MINUTE, retryAfterMs, safeJson } from '../rest/rest-client.ts';
import { WeightBudget } from '../rest/weight-budget.ts';
import { CLIENT_ID_PATTERN } from './client-id.ts';
import { BinanceOrderError, OrderNotPlacedError, UnknownOutcomeError } from './errors.ts';
import { toAccount, toAlgoOrder, toBrackets, toCommissionRate, toExchangeInfo, toIncome, toOrder, toPositions, toUserTrades } from './mapper.ts';
import { createSigner, type Signer } from './signer.ts';
import type { Account, AlgoOrder, AlgoRef, CommissionRate, ExchangeInfo, IncomeRecord, MarginType, NewAlgoOrder, NewOrder, Order, OrderRef, Position, SymbolBrackets, UserTrade, UsdmTradingApi } from './types.ts';

/**
 * Why our own signed transport rather than the `binance` npm package: the
 * order path needs decisions the package leaves to the caller — a POST that
 * timed out or got a 5xx is never retried but resolved by lookup, -1021 is
 * resynced and resent once, order counts are budgeted from the
 * X-MBX-ORDER-COUNT-* headers — and the same transport must talk to the
 * simulator. It reuses the market-data client's WeightBudget.
 */

export const MAINNET_REST_URL = 'https://fapi.binance.com';
/** Binance's demo trading (the former futures testnet); `binance.testnet: true` means this. */
export const DEMO_REST_URL = 'https://demo-fapi.binance.com';

/** Binance USDⓈ-M defaults when exchangeInfo has not been read yet (ORDERS: 300 per 10 s, 1,200 per minute). */
export const ORDERS_PER_10S = 300;
export const ORDERS_PER_MINUTE = 1200;

export type TradingClientEvent =
  | { kind: 'time-synced'; offsetMs: number; roundTripMs: number }
  | { kind: 'time-resync'; path: string }
  | { kind: 'unknown-outcome'; path: string; clientId: string; reason: string }
  | { kind: 'lookup'; clientId: string; attempt: number; found: boolean }
  | { kind: 'rate-limited'; path: string; retryAfterMs: number };

export interface UsdmClientOptions {
  restUrl: string;
  apiKey: string;
  /** HMAC secret, or an Ed25519 private key in PEM. */
  secret: string;
  fetch?: typeof fetch;
  /** The clock timestamps come from (tests pass the simulator's or a skewed one). Budgets always count real time. */
  clock?: Clock;
  /** Binance's recvWindow; 5,000 ms (the documented default) unless the link is slow. */
  recvWindowMs?: number;
  /** A request unanswered after this long has an unknown outcome. */
  requestTimeoutMs?: number;
  /** Lookups of an unknown-outcome order: how often and how many. */
  lookupIntervalMs?: number;
  maxLookups?: number;
  /** Share the market-data client's IP budget (`BinanceRestClient.budgets.ip`) so both count against one limit. */
  ipBudget?: WeightBudget;
  onEvent?: (event: TradingClientEvent) => void;
}

type Params = Record<string, string | number | boolean | undefined>;
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface RequestSpec {
  weight: number;
  /** Counts against the order-count limits (new orders, algo orders). */
  order?: boolean;
  signed?: boolean;
  /** API key header without signature (listenKey endpoints). */
  keyOnly?: boolean;
}

interface SentRequest {
  body: unknown;
  /** The server-clock timestamp the request carried (for the lookup deadline). */
  timestampMs: number;
}

const GET_ATTEMPTS = 4;

export class UsdmClient implements UsdmTradingApi {
  readonly restUrl: string;
  ipBudget: WeightBudget;
  readonly orderBudgets: { tenSeconds: WeightBudget; minute: WeightBudget };
  /** Server time − our clock, ms; measured by syncTime and after every -1021. */
  offsetMs = 0;
  readonly #apiKey: string;
  readonly #signer: Signer;
  readonly #fetch: typeof fetch;
  readonly #clock: Clock;
  readonly #recvWindowMs: number;
  readonly #timeoutMs: number;
  readonly #lookupIntervalMs: number;
  readonly #maxLookups: number;
  readonly #onEvent: (event: TradingClientEvent) => void;

  constructor(options: UsdmClientOptions) {
    if (options.apiKey === '') throw new OitraderError('no Binance API key', { hint: 'set BINANCE_API_KEY (and BINANCE_SECRET) in the environment', exitCode: 2 });
    // The logger masks these from here on, wherever they would appear.
    redactSecret(options.apiKey);
    redactSecret(options.secret);
    this.restUrl = options.restUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#signer = createSigner(options.secret);
    this.#fetch = options.fetch ?? fetch;
    this.#clock = options.clock ?? systemClock;
    this.#recvWindowMs = options.recvWindowMs ?? 5000;
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#lookupIntervalMs = options.lookupIntervalMs ?? 1000;
    this.#maxLookups = options.maxLookups ?? 15;
    this.#onEvent = options.onEvent ?? (() => {});
    this.ipBudget = options.ipBudget ?? new WeightBudget(IP_WEIGHT_PER_MINUTE, 60_000, systemClock);
    this.orderBudgets = { tenSeconds: new WeightBudget(ORDERS_PER_10S, 10_000, systemClock), minute: new WeightBudget(ORDERS_PER_MINUTE, 60_000, systemClock) };
  }

  get signatureKind(): Signer['kind'] {
    return this.#signer.kind;
  }

  /** Our estimate of the exchange's clock now. */
  serverNow(): number {
    return this.#clock.now() + this.offsetMs;
  }

  async syncTime(): Promise<{ offsetMs: number; roundTripMs: number }> {
    const sentAt = this.#clock.now();
    const body = (await this.#send('GET', '/fapi/v1/time', {}, { weight: 1 })).body as { serverTime?: unknown };
    // Measured on the same clock the timestamps come from, so the offset is relative to it.
    const roundTripMs = this.#clock.now() - sentAt;
    const serverTime = Number(body.serverTime);
    if (!Number.isFinite(serverTime)) throw new BinanceOrderError('/fapi/v1/time', 200, undefined, 'no serverTime in the answer');
    // The server read its clock about half-way through the round trip.
    this.offsetMs = Math.round(serverTime - (sentAt + roundTripMs / 2));
    this.#onEvent({ kind: 'time-synced', offsetMs: this.offsetMs, roundTripMs });
    return { offsetMs: this.offsetMs, roundTripMs };
  }

  /** Reads exchangeInfo and sets the request-weight and order-count budgets from its rateLimits. */
  async exchangeInfo(): Promise<ExchangeInfo> {
    const info = toExchangeInfo(await this.#get('/fapi/v1/exchangeInfo', {}, 1, false));
    for (const limit of info.rateLimits) {
      const windowMs = (limit.interval === 'SECOND' ? 1000 : limit.interval === 'MINUTE' ? 60_000 : 86_400_000) * limit.intervalNum;
      // Set on the budget itself: a budget shared with the market-data client then paces both by the published limit.
      if (limit.rateLimitType === 'REQUEST_WEIGHT' && windowMs === 60_000 && limit.limit !== this.ipBudget.limit) this.ipBudget.setLimit(limit.limit);
      if (limit.rateLimitType !== 'ORDERS') continue;
      if (windowMs === 10_000) this.orderBudgets.tenSeconds = new WeightBudget(limit.limit, windowMs, systemClock);
      if (windowMs === 60_000) this.orderBudgets.minute = new WeightBudget(limit.limit, windowMs, systemClock);
    }
    return info;
  }

  async leverageBrackets(symbol: string): Promise<SymbolBrackets> {
    return toBrackets(await this.#get('/fapi/v1/leverageBracket', { symbol }, 1), symbol);
  }

  async account(): Promise<Account> {
    return toAccount(await this.#get('/fapi/v3/account', {}, 5));
  }

  async positions(symbol?: string): Promise<Position[]> {
    const [risk, config] = await Promise.all([this.#get('/fapi/v3/positionRisk', { symbol }, 5), this.#get('/fapi/v1/symbolConfig', { symbol }, 5)]);
    const rows = toPositions(risk, config);
    // positionRisk lists only symbols with a position or open order; a flat symbol asked for is reported flat, with its config.
    if (symbol !== undefined && !rows.some((p) => p.symbol === symbol)) {
      const cfg = (config as Array<{ symbol: string; leverage: number; marginType: MarginType }>).find((c) => c.symbol === symbol);
      rows.push({
        symbol,
        qtyBase: 0,
        entryPriceUsd: 0,
        markPriceUsd: 0,
        unrealisedPnlUsd: 0,
        liquidationPriceUsd: 0,
        leverage: cfg?.leverage ?? 0,
        marginType: cfg?.marginType === 'ISOLATED' ? 'ISOLATED' : 'CROSSED',
        isolatedMarginUsd: 0,
        notionalUsd: 0,
        updateTimeMs: 0,
      });
    }
    return rows;
  }

  /**
   * The account's executions of `symbol` (GET /fapi/v1/userTrades, weight 5): of one order with
   * `orderId`, else from `startTimeMs` (a window of at most 7 days; Binance keeps 3 months).
   */
  async userTrades(symbol: string, q: { orderId?: number; startTimeMs?: number; endTimeMs?: number; fromId?: number; limit?: number } = {}): Promise<UserTrade[]> {
    return toUserTrades(await this.#get('/fapi/v1/userTrades', { symbol, orderId: q.orderId, startTime: q.startTimeMs, endTime: q.endTimeMs, fromId: q.fromId, limit: q.limit }, 5));
  }

  /** Income history (GET /fapi/v1/income, weight 30), oldest first from `startTimeMs`; FUNDING_FEE rows are the funding settlements. */
  async income(q: { symbol?: string; incomeType?: string; startTimeMs?: number; endTimeMs?: number; limit?: number } = {}): Promise<IncomeRecord[]> {
    return toIncome(await this.#get('/fapi/v1/income', { symbol: q.symbol, incomeType: q.incomeType, startTime: q.startTimeMs, endTime: q.endTimeMs, limit: q.limit }, 30));
  }

  async commissionRate(symbol: string): Promise<CommissionRate> {
    return toCommissionRate(await this.#get('/fapi/v1/commissionRate', { symbol }, 20));
  }

  async hedgeMode(): Promise<boolean> {
    const body = (await this.#get('/fapi/v1/positionSide/dual', {}, 30)) as { dualSidePosition?: unknown };
    return body.dualSidePosition === true || body.dualSidePosition === 'true';
  }

  async multiAssetsMode(): Promise<boolean> {
    const body = (await this.#get('/fapi/v1/multiAssetsMargin', {}, 30)) as { multiAssetsMargin?: unknown };
    return body.multiAssetsMargin === true || body.multiAssetsMargin === 'true';
  }

  async setLeverage(symbol: string, leverage: number): Promise<{ leverage: number; maxNotionalUsd: number }> {
    const body = (await this.#send('POST', '/fapi/v1/leverage', { symbol, leverage }, { weight: 1, signed: true })).body as { leverage: number; maxNotionalValue: string };
    return { leverage: Number(body.leverage), maxNotionalUsd: Number(body.maxNotionalValue) };
  }

  async setMarginType(symbol: string, marginType: MarginType): Promise<'changed' | 'unchanged'> {
    try {
      await this.#send('POST', '/fapi/v1/marginType', { symbol, marginType }, { weight: 1, signed: true });
      return 'changed';
    } catch (error) {
      if (error instanceof BinanceOrderError && error.code === -4046) return 'unchanged';
      throw error;
    }
  }

  async placeOrder(order: NewOrder): Promise<Order> {
    const path = '/fapi/v1/order';
    const type = order.type as string;
    if (type !== 'MARKET' && type !== 'LIMIT') {
      // Binance would answer -4120 for STOP_MARKET/TAKE_PROFIT_MARKET here; refusing locally saves the round trip.
      throw new BinanceOrderError(path, 400, -4120, `${type} is a conditional order type (refused before sending)`);
    }
    checkClientId(order.clientOrderId);
    const params: Params = {
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      quantity: decimalText(order.qtyBase),
      price: order.type === 'LIMIT' ? decimalText(order.priceUsd) : undefined,
      timeInForce: order.type === 'LIMIT' ? (order.timeInForce ?? 'GTC') : undefined,
      reduceOnly: order.reduceOnly ? 'true' : undefined,
      newClientOrderId: order.clientOrderId,
      newOrderRespType: 'RESULT',
    };
    return this.#placeResolved(path, params, order.clientOrderId, () => this.queryOrder(order.symbol, { clientOrderId: order.clientOrderId }), (body) => toOrder(body));
  }

  async ensureOrder(order: NewOrder): Promise<Order> {
    return (await this.queryOrder(order.symbol, { clientOrderId: order.clientOrderId })) ?? this.placeOrder(order);
  }

  async queryOrder(symbol: string, ref: OrderRef): Promise<Order | undefined> {
    try {
      return toOrder(await this.#get('/fapi/v1/order', { symbol, ...orderRefParams(ref) }, 1));
    } catch (error) {
      if (error instanceof BinanceOrderError && error.code === -2013) return undefined;
      throw error;
    }
  }

  async cancelOrder(symbol: string, ref: OrderRef): Promise<Order> {
    return toOrder((await this.#send('DELETE', '/fapi/v1/order', { symbol, ...orderRefParams(ref) }, { weight: 1, signed: true })).body);
  }

  async openOrders(symbol?: string): Promise<Order[]> {
    const body = await this.#get('/fapi/v1/openOrders', { symbol }, symbol === undefined ? 40 : 1);
    return (body as unknown[]).map((o, i) => toOrder(o, `openOrders[${i}]`));
  }

  async cancelAllOrders(symbol: string): Promise<void> {
    await this.#send('DELETE', '/fapi/v1/allOpenOrders', { symbol }, { weight: 1, signed: true });
  }

  async placeAlgoOrder(order: NewAlgoOrder): Promise<AlgoOrder> {
    checkClientId(order.clientAlgoId);
    if (order.closePosition === true && order.qtyBase !== undefined) {
      throw new OitraderError(`algo order ${order.clientAlgoId}: quantity cannot be sent with closePosition=true`, { hint: 'drop qtyBase for a close-all stop', exitCode: 2 });
    }
    if (order.closePosition !== true && !(order.qtyBase !== undefined && order.qtyBase > 0)) {
      throw new OitraderError(`algo order ${order.clientAlgoId}: needs qtyBase > 0 or closePosition: true`, { exitCode: 2 });
    }
    const params: Params = {
      algoType: 'CONDITIONAL',
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      triggerPrice: decimalText(order.triggerPriceUsd),
      quantity: order.closePosition ? undefined : decimalText(order.qtyBase),
      closePosition: order.closePosition ? 'true' : undefined,
      reduceOnly: order.reduceOnly && !order.closePosition ? 'true' : undefined,
      workingType: order.workingType ?? 'MARK_PRICE',
      priceProtect: (order.priceProtect ?? true) ? 'TRUE' : 'FALSE',
      clientAlgoId: order.clientAlgoId,
    };
    return this.#placeResolved('/fapi/v1/algoOrder', params, order.clientAlgoId, () => this.queryAlgoOrder({ clientAlgoId: order.clientAlgoId }), (body) => toAlgoOrder(body));
  }

  async ensureAlgoOrder(order: NewAlgoOrder): Promise<AlgoOrder> {
    return (await this.queryAlgoOrder({ clientAlgoId: order.clientAlgoId })) ?? this.placeAlgoOrder(order);
  }

  async queryAlgoOrder(ref: AlgoRef): Promise<AlgoOrder | undefined> {
    try {
      return toAlgoOrder(await this.#get('/fapi/v1/algoOrder', algoRefParams(ref), 1));
    } catch (error) {
      if (error instanceof BinanceOrderError && error.code === -2013) return undefined;
      throw error;
    }
  }

  async cancelAlgoOrder(ref: AlgoRef): Promise<void> {
    await this.#send('DELETE', '/fapi/v1/algoOrder', algoRefParams(ref), { weight: 1, signed: true });
  }

  async openAlgoOrders(symbol?: string): Promise<AlgoOrder[]> {
    const body = await this.#get('/fapi/v1/openAlgoOrders', { symbol }, symbol === undefined ? 40 : 1);
    return (body as unknown[]).map((o, i) => toAlgoOrder(o, `openAlgoOrders[${i}]`));
  }

  async cancelAllAlgoOrders(symbol: string): Promise<void> {
    await this.#send('DELETE', '/fapi/v1/algoOpenOrders', { symbol }, { weight: 1, signed: true });
  }

  async createListenKey(): Promise<string> {
    const body = (await this.#send('POST', '/fapi/v1/listenKey', {}, { weight: 1, keyOnly: true })).body as { listenKey?: unknown };
    if (typeof body.listenKey !== 'string' || body.listenKey === '') throw new BinanceOrderError('/fapi/v1/listenKey', 200, undefined, 'no listenKey in the answer');
    redactSecret(body.listenKey);
    return body.listenKey;
  }

  async keepAliveListenKey(): Promise<void> {
    await this.#send('PUT', '/fapi/v1/listenKey', {}, { weight: 1, keyOnly: true });
  }

  async closeListenKey(): Promise<void> {
    await this.#send('DELETE', '/fapi/v1/listenKey', {}, { weight: 1, keyOnly: true });
  }

  /**
   * Sends a new order once. If the outcome is unknown (timeout, 5xx, -1007,
   * -1001, or -4116 "duplicate id" meaning an earlier attempt exists), it is
   * looked up by client id; never sent again.
   */
  async #placeResolved<T>(path: string, params: Params, clientId: string, lookup: () => Promise<T | undefined>, map: (body: unknown) => T): Promise<T> {
    const timestampMs = this.serverNow();
    try {
      const sent = await this.#send('POST', path, params, { weight: 0, order: true, signed: true });
      return map(sent.body);
    } catch (error) {
      const unknown = error instanceof UnknownOutcomeError || (error instanceof BinanceOrderError && error.retry === 'lookup');
      if (!unknown) throw error;
      this.#onEvent({ kind: 'unknown-outcome', path, clientId, reason: (error as Error).message });
      return this.#lookUp(clientId, timestampMs, lookup, error as Error);
    }
  }

  async #lookUp<T>(clientId: string, sentTimestampMs: number, lookup: () => Promise<T | undefined>, cause: Error): Promise<T> {
    for (let attempt = 1; attempt <= this.#maxLookups; attempt++) {
      let found: T | undefined;
      let failed = false;
      try {
        found = await lookup();
      } catch {
        failed = true;
      }
      if (!failed) this.#onEvent({ kind: 'lookup', clientId, attempt, found: found !== undefined });
      if (found !== undefined) return found;
      // Not found is final only when the server can no longer accept the lost request: its timestamp + recvWindow has passed.
      if (!failed && this.serverNow() > sentTimestampMs + this.#recvWindowMs + 1000) {
        throw new OrderNotPlacedError(clientId, `not found by client id after the request's recvWindow closed; first error: ${cause.message}`);
      }
      // Real time, not the (possibly stepped) market clock: the exchange's matching does not wait for our tests.
      await new Promise((resolve) => setTimeout(resolve, this.#lookupIntervalMs));
    }
    throw new UnknownOutcomeError(`order ${clientId}`, `still unknown after ${this.#maxLookups} lookups; first error: ${cause.message}`);
  }

  /** GETs are safe to repeat: network errors and 5xx are retried a few times. */
  async #get(path: string, params: Params, weight: number, signed = true): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.#send('GET', path, params, { weight, signed })).body;
      } catch (error) {
        const retryable = error instanceof UnknownOutcomeError || (error instanceof BinanceOrderError && error.status >= 500);
        if (!retryable || attempt >= GET_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      }
    }
  }

  async #send(method: Method, path: string, params: Params, spec: RequestSpec, resynced = false): Promise<SentRequest> {
    for (let attempt = 1; ; attempt++) {
      await this.ipBudget.acquire(spec.weight);
      if (spec.order) {
        await this.orderBudgets.tenSeconds.acquire(1);
        await this.orderBudgets.minute.acquire(1);
      }
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, String(value));
      const timestampMs = this.serverNow();
      if (spec.signed) {
        query.set('recvWindow', String(this.#recvWindowMs));
        query.set('timestamp', String(timestampMs));
        query.set('signature', this.#signer.sign(query.toString()));
      }
      const url = `${this.restUrl}${path}${query.size > 0 ? `?${query}` : ''}`;
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method,
          headers: spec.signed || spec.keyOnly ? { 'X-MBX-APIKEY': this.#apiKey } : {},
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (error) {
        const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${this.#timeoutMs} ms` : `network: ${(error as Error).message}`;
        throw new UnknownOutcomeError(path, reason, method);
      }
      this.#observeHeaders(response);
      if (response.status === 418) throw new BinanceBannedError(path, retryAfterMs(response) ?? 120_000);
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        throw new UnknownOutcomeError(path, `answer cut off: ${(error as Error).message}`, method);
      }
      const body = safeJson(text);
      const code = typeof (body as { code?: unknown })?.code === 'number' ? (body as { code: number }).code : undefined;
      const msg = typeof (body as { msg?: unknown })?.msg === 'string' ? (body as { msg: string }).msg : text.slice(0, 200);
      if (response.status === 429 || code === -1003 || code === -1015) {
        // Refused before processing: waiting and sending again is safe.
        const wait = retryAfterMs(response) ?? (code === -1015 ? 10_000 : 60_000);
        this.#onEvent({ kind: 'rate-limited', path, retryAfterMs: wait });
        this.ipBudget.pauseUntil(Date.now() + wait);
        if (attempt >= 3) throw new BinanceOrderError(path, response.status, code, msg);
        continue;
      }
      if (response.status >= 500) throw new UnknownOutcomeError(path, `HTTP ${response.status}${code === undefined ? '' : ` code ${code}`}: ${msg}`, method);
      // Success answers of a few endpoints carry {code: 200, msg: "success"}.
      const failed = !response.ok || (code !== undefined && code < 0);
      if (!failed) {
        if (body === undefined) throw new UnknownOutcomeError(path, `unreadable answer: ${JSON.stringify(text.slice(0, 80))}`, method);
        return { body, timestampMs };
      }
      if (code === -1021 && spec.signed && !resynced) {
        // The request was refused for its timestamp and did not execute: resync and send it once more.
        this.#onEvent({ kind: 'time-resync', path });
        await this.syncTime();
        return this.#send(method, path, params, spec, true);
      }
      if (code === -1007 || code === -1001 || code === -1000) throw new UnknownOutcomeError(path, `${code}: ${msg}`, method);
      throw new BinanceOrderError(path, response.status, code, msg);
    }
  }

  #observeHeaders(response: Response): void {
    const read = (name: string) => {
      const v = response.headers.get(name);
      return v === null ? undefined : Number(v);
    };
    const weight = read('x-mbx-used-weight-1m');
    if (weight !== undefined) this.ipBudget.observe(weight);
    const tenS = read('x-mbx-order-count-10s');
    if (tenS !== undefined) this.orderBudgets.tenSeconds.observe(tenS);
    const minute = read('x-mbx-order-count-1m');
    if (minute !== undefined) this.orderBudgets.minute.observe(minute);
  }
}

function checkClientId(id: string): void {
  if (!CLIENT_ID_PATTERN.test(id)) throw new OitraderError(`client id ${JSON.stringify(id)} breaks Binance's rule ${CLIENT_ID_PATTERN}`, { hint: 'make ids with makeClientId', exitCode: 2 });
}

function orderRefParams(ref: OrderRef): Params {
  return 'clientOrderId' in ref ? { origClientOrderId: ref.clientOrderId } : { orderId: ref.orderId };
}

function algoRefParams(ref: AlgoRef): Params {
  return 'clientAlgoId' in ref ? { clientAlgoId: ref.clientAlgoId } : { algoId: ref.algoId };
}

/** Decimal text without exponent notation (Binance refuses 1e-7). Callers round to tick/step first. */
export function decimalText(value: number | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value)) throw new OitraderError(`not a number to send to Binance: ${value}`);
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return value.toFixed(12).replace(/\.?0+$/, '');
}
