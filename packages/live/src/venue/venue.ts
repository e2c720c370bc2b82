import type { Bar, OrderRequest } from '@oitrader/backtest';
import type { OrderIntent, StoredPosition } from '../state/bot-store.ts';

/** An order the bot sends, named by its deterministic client id. */
export interface VenueOrder {
  clientOrderId: string;
  intent: OrderIntent;
  order: OrderRequest;
}

export interface VenueFill {
  fillId: string;
  clientOrderId: string | undefined;
  timeMs: number;
  side: 'buy' | 'sell';
  qtyBase: number;
  priceUsd: number;
  feeUsd: number;
  liquidity: 'maker' | 'taker';
  /** signal, stop, target, liquidation. */
  reason: string;
}

/** One funding settlement of the position (Binance's FUNDING_FEE income). */
export interface VenueFunding {
  /** The settlement time (a multiple of the funding interval; the bar that opens there). */
  timeMs: number;
  /** The funding rate applied (fraction; positive: longs pay shorts). */
  rate: number;
  markPriceUsd: number;
  /** The signed position that paid or received it. */
  qtyBase: number;
  /** Binance's income sign: + received, − paid. A trade's PnL = price PnL − fees + this. */
  incomeUsd: number;
}

export interface VenueAccount {
  equityUsd: number;
  walletUsd: number;
  availableUsd: number;
  qtyBase: number;
  entryPriceUsd: number;
  liquidationPriceUsd: number;
}

export interface OrderState {
  clientOrderId: string;
  /** NEW, FILLED, CANCELED, REJECTED. */
  status: string;
  reason?: string;
}

/** An order the venue found by client id on restart (one the bot's record had open, or one a killed step sent but never stored). */
export interface RecoveredOrder extends OrderState {
  intent: OrderIntent;
  side: 'buy' | 'sell';
  type: OrderRequest['type'];
  qtyBase: number;
  triggerUsd?: number;
  reduceOnly: boolean;
  exchangeOrderId?: string;
}

/** What the bot knew before it stopped, for the venue to settle against the exchange before any decision. */
export interface ResumeInput {
  /** Client ids to look up: the record's open orders, and every id the unstored next candle could have sent. */
  clientOrderIds: string[];
  /** The record's position, including fills of orders `clientOrderIds` finds executed. */
  stored: StoredPosition | undefined;
  onUnknownPosition: 'adopt' | 'close';
  stopLoss: number;
  tickSize: number;
  /** Open time of the candle the start-up belongs to (ids of orders reconciliation places). */
  candleTimeMs: number;
}

export interface ResumeReport {
  recovered: RecoveredOrder[];
  differences: string[];
}

/**
 * Where the bot's orders go. `paper` fills them by the shared execution model
 * in-process; an exchange venue (sim, demo, live) sends them through the signed
 * trading client. The bot never re-sends an order whose outcome is unknown:
 * it asks the venue for it by client id.
 */
export interface Venue {
  readonly kind: 'paper' | 'exchange';
  /** Advances to a closed bar and returns the fills since the previous call (paper: executes pending orders against it). */
  onClosedBar(bar: Bar, fundingRate: number): Promise<VenueFill[]>;
  account(markPriceUsd: number): Promise<VenueAccount>;
  /** Sends orders in sequence; the returned states say which were accepted. */
  submit(orders: VenueOrder[], referencePriceUsd: number, timeMs: number): Promise<OrderState[]>;
  /** The state of every order sent since the last call that changed (filled, cancelled …). */
  changedOrders(): OrderState[];
  /** The order by client id, or undefined when the venue never received it. */
  findOrder(clientOrderId: string): Promise<OrderState | undefined>;
  /** Orders resting on the venue (stops, targets, limits), as the strategy context shows them. */
  pendingOrders(): readonly OrderRequest[];
  /** Cancels the resting orders the strategy tagged `tag`; returns how many. */
  cancel(tag: string): number;
  /**
   * The funding settlements since the previous call (paper: the execution
   * model's, per settlement time). A venue without it (the exchange venue,
   * until it reads Binance's income history) leaves it out: its funding then
   * shows only in equity.
   */
  settledFunding?(): VenueFunding[];
  /** Trigger prices of the resting stops (exchange-side stops of the position). */
  openStops(): Promise<Array<{ clientOrderId: string; triggerUsd: number; side: 'buy' | 'sell' }>>;
  /**
   * Exchange venues, on start before any decision: look up the given client
   * ids (fills of executed ones come with the next `onClosedBar`; resting
   * stops are tracked again), then reconcile position, stops and balance.
   * Paper has nothing to settle: its account is rebuilt by the replay.
   */
  resume?(input: ResumeInput): Promise<ResumeReport>;
  /** Exchange venues, every live step: an open position without a resting stop gets one now, or is closed. */
  ensureProtected?(input: { qtyBase: number; entryPriceUsd: number; candleTimeMs: number; stopLoss: number; tickSize: number; lastStopUsd?: number }): Promise<void>;
  /** Fills that happened inside `submit` (an exchange fills a MARKET order at once), to be stored with the same step. */
  takeFills?(): VenueFill[];
}
