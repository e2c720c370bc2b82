import type { Bar, OrderRequest } from '@oitrader/trading';
import type { OrderIntent, StoredPosition } from '../state/bot-store.ts';

/** An order the bot sends, named by its deterministic client id. */
export interface VenueOrder {
  clientOrderId: string;
  intent: OrderIntent;
  order: OrderRequest;
}

export interface VenueFill {
  fillId: string;
  symbol: string;
  clientOrderId: string | undefined;
  timeMs: number;
  side: 'buy' | 'sell';
  qtyBase: number;
  priceUsd: number;
  feeUsd: number;
  liquidity: 'maker' | 'taker';
  /** signal, stop, target, liquidation, flatten, kill, daily_loss, drawdown, reconcile. */
  reason: string;
}

/** One funding settlement of a position (Binance's FUNDING_FEE income). */
export interface VenueFunding {
  symbol: string;
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

/** One instrument's position as the venue reports it. */
export interface VenuePosition {
  symbol: string;
  qtyBase: number;
  entryPriceUsd: number;
  liquidationPriceUsd: number;
  /** Isolated margin held by the position. */
  marginUsd: number;
  markPriceUsd: number;
  /** Signed quantity of entry orders acknowledged but still unfilled on the exchange (absent: none). */
  restingEntryQtyBase?: number;
}

/** The account: one wallet and every position the bot trades. */
export interface VenueAccount {
  equityUsd: number;
  walletUsd: number;
  availableUsd: number;
  positions: VenuePosition[];
}

export interface OrderState {
  clientOrderId: string;
  /** NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, REJECTED, UNKNOWN (outcome not known yet), PENDING (a stop held back until its entry fills). */
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

/** What the bot knew before it stopped about one instrument, for the venue to settle against the exchange before any decision. */
export interface ResumeInstrument {
  symbol: string;
  /** The record's position, including fills of orders `clientOrderIds` finds executed. */
  stored: StoredPosition | undefined;
  tickSize: number;
}

export interface ResumeInput {
  /** Client ids to look up: the record's open orders, and every id the unstored next candle could have sent. */
  clientOrderIds: string[];
  instruments: ResumeInstrument[];
  onUnknownPosition: 'adopt' | 'close';
  /** bot.on_foreign_orders: open orders another client placed on these symbols stop the start-up, or are only reported. */
  onForeignOrders?: 'refuse' | 'ignore';
  stopLoss: number;
  /** Open time of the candle the start-up belongs to (ids of orders reconciliation places). */
  candleTimeMs: number;
}

export interface ResumeReport {
  recovered: RecoveredOrder[];
  differences: string[];
}

export interface ProtectionInput {
  symbol: string;
  qtyBase: number;
  entryPriceUsd: number;
  candleTimeMs: number;
  stopLoss: number;
  tickSize: number;
  lastStopUsd?: number;
}

/**
 * Where the bot's orders go, for every symbol it trades on one account.
 * `paper` fills them by the shared execution model in-process; an exchange
 * venue (sim, demo, live) sends them through the signed trading client. The
 * bot never re-sends an order whose outcome is unknown: it asks the venue for
 * it by client id.
 */
export interface Venue {
  readonly kind: 'paper' | 'exchange';
  /** Advances `symbol` to a closed bar and returns its fills since the previous call (paper: executes pending orders against it). */
  onClosedBar(symbol: string, bar: Bar, fundingRate: number): Promise<VenueFill[]>;
  /** The account: wallet, available balance and every position, marked at `marks` (the candles' closes) where the venue has no mark of its own. */
  account(marks: ReadonlyMap<string, number>): Promise<VenueAccount>;
  /** Sends one symbol's orders in sequence; the returned states say which were accepted. */
  submit(symbol: string, orders: VenueOrder[], referencePriceUsd: number, timeMs: number): Promise<OrderState[]>;
  /** Cancels the symbol's resting orders of one kind (the risk engine replaces a position's stop: tag `stop`); resolves when the venue confirmed. */
  cancel(symbol: string, tag: string): Promise<number>;
  /** The state of every order sent since the last call that changed (filled, cancelled …). */
  changedOrders(): OrderState[];
  /** The order by client id, or undefined when the venue never received it. */
  findOrder(symbol: string, clientOrderId: string): Promise<OrderState | undefined>;
  /**
   * The funding settlements since the previous call (paper: the execution
   * model's, per settlement time). A venue without it leaves it out: its
   * funding then shows only in equity.
   */
  settledFunding?(): VenueFunding[];
  /** Trigger prices of the symbol's resting stops (exchange-side stops of its position). */
  openStops(symbol: string): Promise<Array<{ clientOrderId: string; triggerUsd: number; side: 'buy' | 'sell' }>>;
  /**
   * Exchange venues, on start before any decision: look up the given client
   * ids (fills of executed ones come with the next `onClosedBar`; resting
   * stops are tracked again), then reconcile every instrument's position,
   * stops and the balance. Paper has nothing to settle: its account is rebuilt by the replay.
   */
  resume?(input: ResumeInput): Promise<ResumeReport>;
  /** Exchange venues, every live step: an open position without a resting stop gets one now, or is closed. */
  ensureProtected?(input: ProtectionInput): Promise<void>;
  /** Fills that happened inside `submit` (an exchange fills a MARKET order at once), to be stored with the same step. */
  takeFills?(): VenueFill[];
}

/** The account's position of `symbol` (flat when it has none). */
export function positionIn(account: VenueAccount, symbol: string): VenuePosition {
  return account.positions.find((p) => p.symbol === symbol) ?? { symbol, qtyBase: 0, entryPriceUsd: 0, liquidationPriceUsd: Number.NaN, marginUsd: 0, markPriceUsd: Number.NaN };
}
