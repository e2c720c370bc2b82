import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ORDER_ERROR_CODES } from '@oitrader/binance';
import type { TradingFaults } from '../faults.ts';
import { SimApiError } from '../rest-routes.ts';
import { ALGO_ONLY_MESSAGE, CONDITIONAL_TYPES, type TradingEngine } from './engine.ts';

export interface TradingAnswer {
  status: number;
  body?: unknown;
  headers: Record<string, string>;
  /** Fault "time out after accept": the order was executed, the answer is never sent. */
  hang?: boolean;
}

interface Endpoint {
  weight: number;
  /** Counts against the order-count limits. */
  order?: boolean;
  /** API key only, no signature (listenKey). */
  keyOnly?: boolean;
  handle(p: Params, now: number): unknown;
}

type Params = URLSearchParams;

/** Binance's documented text for the codes a fault can inject; others get the code's name. */
const MESSAGES: Record<number, string> = {
  [-1111]: 'Precision is over the maximum defined for this asset.',
  [-2019]: 'Margin is insufficient.',
  [-2021]: 'Order would immediately trigger.',
  [-2022]: 'ReduceOnly Order is rejected.',
  [-2027]: 'Exceeded the maximum allowable position at current leverage.',
  [-4003]: 'Quantity less than or equal to zero.',
  [-4116]: 'ClientOrderId is duplicated.',
  [-4120]: ALGO_ONLY_MESSAGE,
  [-4131]: "The counterparty's best price does not meet the PERCENT_PRICE filter limit.",
  [-4164]: "Order's notional must be no smaller than 5 (unless you choose reduce only).",
  [-5022]: 'Due to the order could not be executed as maker, the Post Only order will be rejected.',
  [-1007]: 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
};

/** Binance USDⓈ-M order-count limits (exchangeInfo rateLimits ORDERS). */
export const SIM_ORDERS_PER_10S = 300;
export const SIM_ORDERS_PER_MINUTE = 1200;

/**
 * The signed half of the simulator's REST API: the same checks Binance makes,
 * in its order — API key (-2015, HTTP 401), timestamp inside recvWindow of
 * server time (-1021), HMAC-SHA256 signature over the exact query + body
 * (-1022) — then the endpoint. Answers carry X-MBX-ORDER-COUNT-10S/-1M.
 */
export class TradingApi {
  readonly engine: TradingEngine;
  readonly #faults: TradingFaults;
  readonly #endpoints: Record<string, Endpoint>;
  readonly #listenKeys = new Map<string, number>();
  /** Called when a listenKey is invalidated (expiry fault, DELETE): the user hub closes its sockets. */
  onListenKeyGone: (key: string) => void = () => {};
  #orderWindows = { tenS: { start: 0, count: 0 }, minute: { start: 0, count: 0 } };

  constructor(engine: TradingEngine, faults: TradingFaults) {
    this.engine = engine;
    this.#faults = faults;
    const e = engine;
    const symbol = (p: Params) => required(p, 'symbol');
    const orderRef = (p: Params) => ({ orderId: optionalInt(p, 'orderId'), clientOrderId: p.get('origClientOrderId') ?? undefined });
    const algoRef = (p: Params) => ({ algoId: optionalInt(p, 'algoId'), clientAlgoId: p.get('clientAlgoId') ?? undefined });
    this.#endpoints = {
      'GET /fapi/v1/positionSide/dual': { weight: 30, handle: () => ({ dualSidePosition: e.hedgeMode }) },
      'GET /fapi/v1/multiAssetsMargin': { weight: 30, handle: () => ({ multiAssetsMargin: e.multiAssetsMode }) },
      'GET /fapi/v3/account': { weight: 5, handle: (_p, now) => e.account(now) },
      'GET /fapi/v3/positionRisk': { weight: 5, handle: (p, now) => e.positionRisk(p.get('symbol') ?? undefined, now) },
      'GET /fapi/v1/symbolConfig': { weight: 5, handle: (p) => e.symbolConfig(p.get('symbol') ?? undefined) },
      'GET /fapi/v1/commissionRate': { weight: 20, handle: (p) => e.commission(symbol(p)) },
      'GET /fapi/v1/userTrades': {
        weight: 5,
        handle: (p) => e.userTrades(symbol(p), { orderId: optionalInt(p, 'orderId'), startTime: optionalInt(p, 'startTime'), endTime: optionalInt(p, 'endTime'), fromId: optionalInt(p, 'fromId'), limit: optionalInt(p, 'limit') }),
      },
      'GET /fapi/v1/income': {
        weight: 30,
        handle: (p, now) => e.income({ symbol: p.get('symbol') ?? undefined, incomeType: p.get('incomeType') ?? undefined, startTime: optionalInt(p, 'startTime'), endTime: optionalInt(p, 'endTime'), limit: optionalInt(p, 'limit') }, now),
      },
      'GET /fapi/v1/leverageBracket': {
        weight: 1,
        handle: (p) =>
          (p.get('symbol') ? [symbol(p)] : e.symbols()).map((s) => ({
            symbol: s,
            notionalCoef: 1,
            brackets: e.brackets(s).map((b, i) => ({ bracket: i + 1, initialLeverage: b.initialLeverage, notionalCap: b.notionalCapUsd, notionalFloor: b.notionalFloorUsd, maintMarginRatio: b.maintMarginRatio, cum: b.cumUsd })),
          })),
      },
      'POST /fapi/v1/leverage': { weight: 1, handle: (p) => e.setLeverage(symbol(p), Number(required(p, 'leverage'))) },
      'POST /fapi/v1/marginType': {
        weight: 1,
        handle: (p) => {
          e.setMarginType(symbol(p), required(p, 'marginType'));
          return { code: 200, msg: 'success' };
        },
      },
      'POST /fapi/v1/order': {
        weight: 0,
        order: true,
        handle: (p, now) => {
          // Binance checks the type before anything else: a stop here is -4120 whatever its other parameters.
          if (CONDITIONAL_TYPES.has(p.get('type') ?? '')) throw new SimApiError(400, -4120, ALGO_ONLY_MESSAGE);
          return e.placeOrder(
            {
              symbol: symbol(p),
              side: sideParam(p),
              type: required(p, 'type'),
              qtyBase: decimalParam(p, 'quantity'),
              priceUsd: p.has('price') ? decimalParam(p, 'price') : undefined,
              timeInForce: p.get('timeInForce') ?? undefined,
              reduceOnly: p.get('reduceOnly') === 'true',
              clientOrderId: p.get('newClientOrderId') ?? `sim_${randomBytes(8).toString('hex')}`,
              positionSide: p.get('positionSide') ?? undefined,
            },
            now,
          );
        },
      },
      'GET /fapi/v1/order': { weight: 1, handle: (p) => e.queryOrder(symbol(p), orderRef(p)) },
      'DELETE /fapi/v1/order': { weight: 1, handle: (p, now) => e.cancelOrder(symbol(p), orderRef(p), now) },
      'GET /fapi/v1/openOrders': { weight: 1, handle: (p) => e.openOrders(p.get('symbol') ?? undefined) },
      'DELETE /fapi/v1/allOpenOrders': {
        weight: 1,
        handle: (p, now) => {
          e.cancelAll(symbol(p), now);
          return { code: 200, msg: 'The operation of cancel all open order is done.' };
        },
      },
      'POST /fapi/v1/algoOrder': {
        weight: 0,
        order: true,
        handle: (p, now) => {
          if (p.get('algoType') !== 'CONDITIONAL') throw new SimApiError(400, -1102, "Mandatory parameter 'algoType' was not sent, was empty/null, or malformed.");
          return e.placeAlgo(
            {
              symbol: symbol(p),
              side: sideParam(p),
              type: required(p, 'type'),
              triggerPriceUsd: decimalParam(p, 'triggerPrice'),
              qtyBase: p.has('quantity') ? decimalParam(p, 'quantity') : undefined,
              closePosition: p.get('closePosition') === 'true',
              reduceOnly: p.get('reduceOnly') === 'true',
              priceProtect: (p.get('priceProtect') ?? 'FALSE').toUpperCase() === 'TRUE',
              workingType: p.get('workingType') ?? 'CONTRACT_PRICE',
              clientAlgoId: p.get('clientAlgoId') ?? `sim_${randomBytes(8).toString('hex')}`,
            },
            now,
          );
        },
      },
      'GET /fapi/v1/algoOrder': { weight: 1, handle: (p) => e.queryAlgo(algoRef(p)) },
      'DELETE /fapi/v1/algoOrder': { weight: 1, handle: (p, now) => e.cancelAlgo(algoRef(p), now) },
      'GET /fapi/v1/openAlgoOrders': { weight: 1, handle: (p) => e.openAlgos(p.get('symbol') ?? undefined) },
      'DELETE /fapi/v1/algoOpenOrders': {
        weight: 1,
        handle: (p, now) => {
          e.cancelAllAlgos(symbol(p), now);
          return { code: 200, msg: 'The operation of cancel all open order is done.' };
        },
      },
      'POST /fapi/v1/listenKey': { weight: 1, keyOnly: true, handle: () => ({ listenKey: this.#createListenKey() }) },
      'PUT /fapi/v1/listenKey': {
        weight: 1,
        keyOnly: true,
        handle: () => {
          const key = this.#activeKey();
          if (!key) throw new SimApiError(400, -1125, 'This listenKey does not exist.');
          this.#listenKeys.set(key, Date.now() + 60 * 60_000);
          return { listenKey: key };
        },
      },
      'DELETE /fapi/v1/listenKey': {
        weight: 1,
        keyOnly: true,
        handle: () => {
          for (const key of this.#listenKeys.keys()) this.#dropKey(key);
          return {};
        },
      },
    };
  }

  handles(method: string, path: string): boolean {
    return `${method} ${path}` in this.#endpoints;
  }

  weight(method: string, path: string): number {
    return this.#endpoints[`${method} ${path}`]?.weight ?? 1;
  }

  /** True while `key` is a live listenKey (the user stream accepts only those). */
  validListenKey(key: string): boolean {
    const expires = this.#listenKeys.get(key);
    return expires !== undefined && expires > Date.now();
  }

  /** Fault: every listenKey expires now (Binance sends listenKeyExpired; keepalive then answers -1125). */
  expireListenKeys(): string[] {
    const keys = [...this.#listenKeys.keys()];
    for (const key of keys) this.#dropKey(key);
    return keys;
  }

  /**
   * `speed` is the replay's (market ms per real ms): at 1000× a request's network time of a few real
   * milliseconds is seconds of market time, so recvWindow and the clock-skew allowance stretch by it.
   */
  handle(method: string, path: string, headers: Record<string, string | string[] | undefined>, rawQuery: string, rawBody: string, now: number, speed = 0): TradingAnswer {
    const endpoint = this.#endpoints[`${method} ${path}`];
    const counts = endpoint.order ? this.#countOrder() : undefined;
    const orderHeaders: Record<string, string> = counts ? { 'x-mbx-order-count-10s': String(counts.tenS), 'x-mbx-order-count-1m': String(counts.minute) } : {};
    const fail = (status: number, code: number, msg: string): TradingAnswer => ({ status, body: { code, msg }, headers: orderHeaders });
    const apiKey = headers['x-mbx-apikey'];
    if (apiKey !== this.engine.apiKey) return fail(401, -2015, 'Invalid API-key, IP, or permissions for action.');
    const params = new URLSearchParams(rawQuery);
    for (const [k, v] of new URLSearchParams(rawBody)) params.append(k, v);
    if (!endpoint.keyOnly) {
      const check = this.#checkSignature(rawQuery, rawBody, params, now, Math.max(1, speed));
      if (check) return fail(400, check.code, check.msg);
    }
    if (counts && (counts.tenS > SIM_ORDERS_PER_10S || counts.minute > SIM_ORDERS_PER_MINUTE)) return fail(429, -1015, 'Too many new orders; current limit is 300 orders per TEN_SECONDS.');
    this.engine.fillDelayMs = this.#faults.fillDelayMs;
    this.engine.fillDelayMarketMs = this.#faults.fillDelayMarketMs;
    this.engine.partialFills = this.#faults.partialFills;
    if (endpoint.order && this.#faults.rejectNext > 0) {
      this.#faults.rejectNext--;
      const code = this.#faults.rejectCode;
      return fail(400, code, MESSAGES[code] ?? ORDER_ERROR_CODES[code]?.name ?? 'Rejected by the simulator fault switch.');
    }
    try {
      this.engine.advance(now);
      const body = endpoint.handle(params, now);
      if (endpoint.order && this.#faults.timeoutAfterAccept > 0) {
        this.#faults.timeoutAfterAccept--;
        return { status: 0, headers: orderHeaders, hang: true };
      }
      if (endpoint.order && this.#faults.serverErrorAfterAccept > 0) {
        this.#faults.serverErrorAfterAccept--;
        return fail(503, -1001, 'Internal error; unable to process your request. Please try again.');
      }
      return { status: 200, body, headers: orderHeaders };
    } catch (error) {
      if (error instanceof SimApiError) return fail(error.status, error.code, error.message);
      throw error;
    }
  }

  /** Binance's order: timestamp present and inside recvWindow, then the signature over query + body without `signature`. */
  #checkSignature(rawQuery: string, rawBody: string, params: URLSearchParams, now: number, stretch: number): { code: number; msg: string } | undefined {
    const timestamp = Number(params.get('timestamp'));
    if (!params.has('timestamp') || !Number.isInteger(timestamp)) return { code: -1102, msg: "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed." };
    const recvWindow = Number(params.get('recvWindow') ?? 5000);
    if (!(recvWindow > 0 && recvWindow <= 60_000)) return { code: -1131, msg: 'recvWindow must be less than 60000' };
    if (timestamp >= now + 1000 * stretch || now - timestamp > recvWindow * stretch) return { code: -1021, msg: 'Timestamp for this request is outside of the recvWindow.' };
    const signature = params.get('signature');
    const total = `${rawQuery}${rawBody}`.replace(/&?signature=[^&]*/, '');
    if (!signature) return { code: -1102, msg: "Mandatory parameter 'signature' was not sent, was empty/null, or malformed." };
    const expected = createHmac('sha256', this.engine.secret).update(total).digest('hex');
    const ok = signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
    return ok ? undefined : { code: -1022, msg: 'Signature for this request is not valid.' };
  }

  #countOrder(): { tenS: number; minute: number } {
    const now = Date.now();
    const w = this.#orderWindows;
    for (const [win, ms] of [[w.tenS, 10_000], [w.minute, 60_000]] as const) {
      const start = Math.floor(now / ms) * ms;
      if (win.start !== start) {
        win.start = start;
        win.count = 0;
      }
      win.count++;
    }
    return { tenS: w.tenS.count, minute: w.minute.count };
  }

  #activeKey(): string | undefined {
    for (const key of this.#listenKeys.keys()) if (this.validListenKey(key)) return key;
    return undefined;
  }

  /** Binance: POST returns the active key (extended) if there is one, else a new one. */
  #createListenKey(): string {
    const key = this.#activeKey() ?? randomBytes(32).toString('base64url').slice(0, 64);
    this.#listenKeys.set(key, Date.now() + 60 * 60_000);
    return key;
  }

  #dropKey(key: string): void {
    this.#listenKeys.delete(key);
    this.onListenKeyGone(key);
  }
}

function required(p: Params, name: string): string {
  const v = p.get(name);
  if (v === null || v === '') throw new SimApiError(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
  return v;
}

function decimalParam(p: Params, name: string): number {
  const v = required(p, name);
  if (!/^-?\d+(\.\d+)?$/.test(v)) throw new SimApiError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.`);
  return Number(v);
}

function optionalInt(p: Params, name: string): number | undefined {
  const v = p.get(name);
  if (v === null) return undefined;
  if (!/^\d+$/.test(v)) throw new SimApiError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`);
  return Number(v);
}

function sideParam(p: Params): 'BUY' | 'SELL' {
  const v = required(p, 'side');
  if (v !== 'BUY' && v !== 'SELL') throw new SimApiError(400, -1117, 'Invalid side.');
  return v;
}
