import type { Instrument } from '../instrument/instrument.ts';
import { maxLeverageFor, type LeverageBracket } from '../instrument/leverage-brackets.ts';
import { isolatedLiquidationPrice } from '../instrument/liquidation.ts';

export type Side = 'buy' | 'sell';

/**
 * Why a position (or part of it) closed. `signal`: the strategy's exit; the
 * halts name themselves (`flatten` is the one-off command, `kill`,
 * `daily_loss`, `drawdown` the risk engine's); `end`: the backtest's last bar.
 */
export type ExitReason = 'signal' | 'stop' | 'target' | 'liquidation' | 'end' | 'flatten' | 'kill' | 'daily_loss' | 'drawdown';

/** One closed (or partly closed) position leg, net of its share of fees and funding. */
export interface Trade {
  symbol: string;
  side: 'long' | 'short';
  entryTimeMs: number;
  exitTimeMs: number;
  qtyBase: number;
  entryPriceUsd: number;
  exitPriceUsd: number;
  grossPnlUsd: number;
  feesUsd: number;
  /** Funding paid (positive) or received (negative) while this leg was open. */
  fundingUsd: number;
  netPnlUsd: number;
  reason: ExitReason;
}

export interface Fill {
  symbol: string;
  timeMs: number;
  side: Side;
  qtyBase: number;
  priceUsd: number;
  feeUsd: number;
  liquidity: 'maker' | 'taker';
  reason: ExitReason;
  /** The order's tag, when it had one. */
  tag?: string;
}

/** Why the account refuses an order that adds exposure: a typed code the simulator maps to Binance's error. */
export type MarginRefusal = { code: 'bracket_leverage'; message: string } | { code: 'insufficient_margin'; message: string };

/**
 * One instrument's isolated position in one-way mode. Its isolated wallet
 * (margin) is notional/leverage at entry, minus funding paid while open; it
 * sets the liquidation price (Binance's isolated formula, per bracket).
 */
export class IsolatedPosition {
  readonly symbol: string;
  readonly brackets: LeverageBracket[];
  #leverage: number;
  qtyBase = 0;
  entryPriceUsd = 0;
  marginUsd = 0;
  liquidationPriceUsd = Number.NaN;
  /** The price the position was last marked at (the runner marks it at each bar's close); NaN before the first. */
  markUsd = Number.NaN;
  /** This instrument's share of the account's totals (for per-symbol contribution). */
  feesPaidUsd = 0;
  fundingPaidUsd = 0;
  realisedPnlUsd = 0;
  liquidations = 0;
  entryTimeMs = 0;
  openFeesUsd = 0;
  openFundingUsd = 0;

  constructor(symbol: string, leverage: number, brackets: LeverageBracket[]) {
    this.symbol = symbol;
    this.#leverage = leverage;
    this.brackets = brackets;
  }

  get leverage(): number {
    return this.#leverage;
  }

  /** Binance refuses a leverage change on an isolated position that is open (-4161): only while flat. */
  setLeverage(leverage: number): void {
    if (this.qtyBase !== 0) throw new Error(`${this.symbol}: leverage can change only while flat`);
    this.#leverage = leverage;
  }

  unrealisedPnlUsd(markPriceUsd: number): number {
    return this.qtyBase * (markPriceUsd - this.entryPriceUsd);
  }

  updateLiquidationPrice(): void {
    this.liquidationPriceUsd = this.qtyBase === 0 ? Number.NaN : isolatedLiquidationPrice(this.brackets, this.qtyBase, this.entryPriceUsd, this.marginUsd);
  }
}

/**
 * One USDT wallet and isolated positions keyed by instrument — Binance
 * USDⓈ-M accounting in one-way, isolated-margin, single-asset mode. Wallet
 * balance = deposits + realised PnL − fees − funding. Every position's
 * margin comes out of the one wallet, so the available balance (what new
 * margin and fees can come from) is the wallet minus every position's margin:
 * one symbol cannot spend what another holds (Binance answers -2019).
 */
export class Portfolio {
  walletUsd: number;
  feesPaidUsd = 0;
  fundingPaidUsd = 0;
  realisedPnlUsd = 0;
  liquidations = 0;
  turnoverUsd = 0;
  readonly trades: Trade[] = [];
  readonly fills: Fill[] = [];
  readonly #positions = new Map<string, IsolatedPosition>();
  readonly #list: IsolatedPosition[] = [];

  constructor(initialBalanceUsd: number) {
    this.walletUsd = initialBalanceUsd;
  }

  /** Opens the book of an instrument at `leverage` (flat). */
  addInstrument(instrument: Pick<Instrument, 'symbol' | 'brackets'>, leverage: number): IsolatedPosition {
    const existing = this.#positions.get(instrument.symbol);
    if (existing) return existing;
    const position = new IsolatedPosition(instrument.symbol, leverage, instrument.brackets);
    this.#positions.set(instrument.symbol, position);
    this.#list.push(position);
    return position;
  }

  position(symbol: string): IsolatedPosition {
    const p = this.#positions.get(symbol);
    if (!p) throw new Error(`the portfolio has no instrument ${symbol}`);
    return p;
  }

  get positions(): readonly IsolatedPosition[] {
    return this.#list;
  }

  /** Margin locked in every open position. */
  marginUsd(): number {
    let margin = 0;
    for (const p of this.#list) margin += p.marginUsd;
    return margin;
  }

  /** Wallet not locked as position margin: what new margin and fees can come from. */
  availableUsd(): number {
    return this.walletUsd - this.marginUsd();
  }

  /** Wallet + every open position's unrealised PnL at its last mark. */
  equityUsd(): number {
    let upnl = 0;
    let open = false;
    for (const p of this.#list) {
      if (p.qtyBase === 0) continue;
      upnl += p.unrealisedPnlUsd(p.markUsd);
      open = true;
    }
    return open ? this.walletUsd + upnl : this.walletUsd;
  }

  /** Σ |qty| × mark over the open positions. */
  grossExposureUsd(): number {
    let gross = 0;
    for (const p of this.#list) if (p.qtyBase !== 0) gross += Math.abs(p.qtyBase) * p.markUsd;
    return gross;
  }

  /**
   * Why an order that adds `qtyDelta` (signed) of `symbol` at `priceUsd` would
   * be refused, or undefined if it is allowed: margin plus fee must fit in the
   * available balance, and the resulting notional must fit the leverage bracket.
   */
  refusal(symbol: string, qtyDelta: number, priceUsd: number, feeRate: number): MarginRefusal | undefined {
    const p = this.position(symbol);
    const newQty = p.qtyBase + qtyDelta;
    const flips = p.qtyBase !== 0 && Math.sign(newQty) !== Math.sign(p.qtyBase);
    const opening = flips ? Math.abs(newQty) : Math.max(0, Math.abs(newQty) - Math.abs(p.qtyBase));
    if (opening === 0) return undefined;
    const notional = Math.abs(newQty) * priceUsd;
    const maxLeverage = maxLeverageFor(p.brackets, notional);
    if (p.leverage > maxLeverage) return { code: 'bracket_leverage', message: `notional ${notional.toFixed(0)} USDT allows at most ${maxLeverage}x, ${symbol} is at ${p.leverage}x` };
    // A flip first closes the old side: its margin comes back together with its realised PnL.
    const freed = flips ? p.marginUsd + p.unrealisedPnlUsd(priceUsd) : 0;
    const funds = this.availableUsd() + freed;
    const need = (opening * priceUsd) / p.leverage + Math.abs(qtyDelta) * priceUsd * feeRate;
    if (need > funds + 1e-9) return { code: 'insufficient_margin', message: `needs ${need.toFixed(2)} USDT margin and fee, ${funds.toFixed(2)} available` };
    return undefined;
  }

  /** Applies a fill: increases, reduces, closes or flips the position of `symbol`. */
  fill(symbol: string, timeMs: number, side: Side, qtyBase: number, priceUsd: number, feeRate: number, liquidity: 'maker' | 'taker', reason: ExitReason, tag?: string): Fill {
    const p = this.position(symbol);
    const signed = side === 'buy' ? qtyBase : -qtyBase;
    const feeUsd = qtyBase * priceUsd * feeRate;
    this.walletUsd -= feeUsd;
    this.feesPaidUsd += feeUsd;
    p.feesPaidUsd += feeUsd;
    this.turnoverUsd += qtyBase * priceUsd;
    let remaining = signed;
    let feeLeft = feeUsd;
    if (p.qtyBase !== 0 && Math.sign(remaining) !== Math.sign(p.qtyBase)) {
      const closing = Math.min(Math.abs(remaining), Math.abs(p.qtyBase));
      const closeFee = (feeUsd * closing) / qtyBase;
      this.#closePart(p, timeMs, closing, priceUsd, closeFee, reason);
      feeLeft -= closeFee;
      remaining -= Math.sign(remaining) * closing;
    }
    if (Math.abs(remaining) > 1e-12) {
      if (p.qtyBase === 0) {
        p.entryTimeMs = timeMs;
        p.openFeesUsd = 0;
        p.openFundingUsd = 0;
      }
      const newQty = p.qtyBase + remaining;
      p.entryPriceUsd = (p.qtyBase * p.entryPriceUsd + remaining * priceUsd) / newQty;
      p.qtyBase = newQty;
      p.marginUsd += (Math.abs(remaining) * priceUsd) / p.leverage;
      p.openFeesUsd += feeLeft;
    }
    p.updateLiquidationPrice();
    const fill: Fill = tag === undefined ? { symbol, timeMs, side, qtyBase, priceUsd, feeUsd, liquidity, reason } : { symbol, timeMs, side, qtyBase, priceUsd, feeUsd, liquidity, reason, tag };
    this.fills.push(fill);
    return fill;
  }

  /** Funding at a funding timestamp: longs pay shorts when the rate is positive. Paid from the isolated margin. */
  applyFunding(symbol: string, rate: number, markPriceUsd: number): number {
    const p = this.position(symbol);
    if (p.qtyBase === 0 || !Number.isFinite(rate)) return 0;
    const paymentUsd = p.qtyBase * markPriceUsd * rate;
    this.walletUsd -= paymentUsd;
    p.marginUsd -= paymentUsd;
    this.fundingPaidUsd += paymentUsd;
    p.fundingPaidUsd += paymentUsd;
    p.openFundingUsd += paymentUsd;
    p.updateLiquidationPrice();
    return paymentUsd;
  }

  /**
   * Liquidation: the whole isolated margin is lost, never more. It fills at
   * the liquidation price, or at `fillPriceUsd` when the bar gapped past it
   * (the caller passes a price the bar traded). The loss at the fill is booked
   * as PnL; what the margin still held (about the maintenance margin) goes to
   * the exchange as the clearance fee; a gap's loss beyond the margin is the
   * insurance fund's, so the booked PnL is capped at −margin.
   */
  liquidate(symbol: string, timeMs: number, fillPriceUsd?: number): void {
    const p = this.position(symbol);
    const price = fillPriceUsd ?? p.liquidationPriceUsd;
    const qty = Math.abs(p.qtyBase);
    const side: Side = p.qtyBase > 0 ? 'sell' : 'buy';
    const grossPnl = p.qtyBase * (price - p.entryPriceUsd);
    const clearanceFee = Math.max(0, p.marginUsd + grossPnl);
    const insuranceUsd = Math.max(0, -(p.marginUsd + grossPnl));
    this.walletUsd -= clearanceFee;
    this.feesPaidUsd += clearanceFee;
    p.feesPaidUsd += clearanceFee;
    this.turnoverUsd += qty * price;
    this.liquidations++;
    p.liquidations++;
    this.fills.push({ symbol, timeMs, side, qtyBase: qty, priceUsd: price, feeUsd: clearanceFee, liquidity: 'taker', reason: 'liquidation' });
    this.#closePart(p, timeMs, qty, price, clearanceFee, 'liquidation', insuranceUsd);
  }

  #closePart(p: IsolatedPosition, timeMs: number, closingQty: number, priceUsd: number, exitFeeUsd: number, reason: ExitReason, insuranceUsd = 0): void {
    const fraction = closingQty / Math.abs(p.qtyBase);
    const direction = Math.sign(p.qtyBase);
    const grossPnl = direction * closingQty * (priceUsd - p.entryPriceUsd) + insuranceUsd;
    const entryFees = p.openFeesUsd * fraction;
    const funding = p.openFundingUsd * fraction;
    this.walletUsd += grossPnl;
    this.realisedPnlUsd += grossPnl;
    p.realisedPnlUsd += grossPnl;
    this.trades.push({
      symbol: p.symbol,
      side: direction > 0 ? 'long' : 'short',
      entryTimeMs: p.entryTimeMs,
      exitTimeMs: timeMs,
      qtyBase: closingQty,
      entryPriceUsd: p.entryPriceUsd,
      exitPriceUsd: priceUsd,
      grossPnlUsd: grossPnl,
      feesUsd: entryFees + exitFeeUsd,
      fundingUsd: funding,
      netPnlUsd: grossPnl - entryFees - exitFeeUsd - funding,
      reason,
    });
    p.openFeesUsd -= entryFees;
    p.openFundingUsd -= funding;
    p.marginUsd -= p.marginUsd * fraction;
    p.qtyBase -= direction * closingQty;
    if (Math.abs(p.qtyBase) < 1e-12) {
      p.qtyBase = 0;
      p.entryPriceUsd = 0;
      p.marginUsd = 0;
      p.openFeesUsd = 0;
      p.openFundingUsd = 0;
    }
  }
}
