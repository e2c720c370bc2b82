import type { LeverageBracket } from '../exchange/leverage-brackets.ts';
import { maxLeverageFor } from '../exchange/leverage-brackets.ts';
import { isolatedLiquidationPrice } from './liquidation.ts';

export type Side = 'buy' | 'sell';
export type ExitReason = 'signal' | 'stop' | 'target' | 'liquidation' | 'end';

/** One closed (or partly closed) position leg, net of its share of fees and funding. */
export interface Trade {
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

/**
 * One symbol, one-way mode, isolated margin — Binance USDⓈ-M accounting.
 * Wallet balance = deposits + realised PnL − fees − funding. The position's
 * isolated wallet (margin) is notional/leverage at entry, minus funding paid
 * while open; it sets the liquidation price. Fees come from the wallet.
 */
export class IsolatedAccount {
  walletUsd: number;
  qtyBase = 0;
  entryPriceUsd = 0;
  marginUsd = 0;
  liquidationPriceUsd = Number.NaN;
  feesPaidUsd = 0;
  fundingPaidUsd = 0;
  realisedPnlUsd = 0;
  liquidations = 0;
  turnoverUsd = 0;
  readonly trades: Trade[] = [];
  readonly fills: Fill[] = [];
  readonly #brackets: LeverageBracket[];
  readonly #leverage: number;
  #entryTimeMs = 0;
  #openFeesUsd = 0;
  #openFundingUsd = 0;

  constructor(initialBalanceUsd: number, leverage: number, brackets: LeverageBracket[]) {
    this.walletUsd = initialBalanceUsd;
    this.#leverage = leverage;
    this.#brackets = brackets;
  }

  get leverage(): number {
    return this.#leverage;
  }

  unrealisedPnlUsd(markPriceUsd: number): number {
    return this.qtyBase * (markPriceUsd - this.entryPriceUsd);
  }

  equityUsd(markPriceUsd: number): number {
    return this.walletUsd + (this.qtyBase === 0 ? 0 : this.unrealisedPnlUsd(markPriceUsd));
  }

  /** Wallet not locked as position margin: what new margin and fees can come from. */
  availableUsd(): number {
    return this.walletUsd - this.marginUsd;
  }

  /**
   * Why an order that adds `qtyDelta` (signed) at `priceUsd` would be refused, or
   * undefined if it is allowed: margin plus fee must fit in the available
   * balance, and the resulting notional must fit the leverage bracket.
   */
  refusal(qtyDelta: number, priceUsd: number, feeRate: number): string | undefined {
    const newQty = this.qtyBase + qtyDelta;
    const flips = this.qtyBase !== 0 && Math.sign(newQty) !== Math.sign(this.qtyBase);
    const opening = flips ? Math.abs(newQty) : Math.max(0, Math.abs(newQty) - Math.abs(this.qtyBase));
    if (opening === 0) return undefined;
    const notional = Math.abs(newQty) * priceUsd;
    const maxLeverage = maxLeverageFor(this.#brackets, notional);
    if (this.#leverage > maxLeverage) return `notional ${notional.toFixed(0)} USDT allows at most ${maxLeverage}x, account is at ${this.#leverage}x`;
    // A flip first closes the old side: its margin comes back together with its realised PnL.
    const freed = flips ? this.marginUsd + this.unrealisedPnlUsd(priceUsd) : 0;
    const funds = this.availableUsd() + freed;
    const need = (opening * priceUsd) / this.#leverage + Math.abs(qtyDelta) * priceUsd * feeRate;
    if (need > funds + 1e-9) return `needs ${need.toFixed(2)} USDT margin and fee, ${funds.toFixed(2)} available`;
    return undefined;
  }

  /** Applies a fill: increases, reduces, closes or flips the position. */
  fill(timeMs: number, side: Side, qtyBase: number, priceUsd: number, feeRate: number, liquidity: 'maker' | 'taker', reason: ExitReason, tag?: string): Fill {
    const signed = side === 'buy' ? qtyBase : -qtyBase;
    const feeUsd = qtyBase * priceUsd * feeRate;
    this.walletUsd -= feeUsd;
    this.feesPaidUsd += feeUsd;
    this.turnoverUsd += qtyBase * priceUsd;
    let remaining = signed;
    let feeLeft = feeUsd;
    if (this.qtyBase !== 0 && Math.sign(remaining) !== Math.sign(this.qtyBase)) {
      const closing = Math.min(Math.abs(remaining), Math.abs(this.qtyBase));
      const closeFee = (feeUsd * closing) / qtyBase;
      this.#closePart(timeMs, closing, priceUsd, closeFee, reason);
      feeLeft -= closeFee;
      remaining -= Math.sign(remaining) * closing;
    }
    if (Math.abs(remaining) > 1e-12) {
      if (this.qtyBase === 0) {
        this.#entryTimeMs = timeMs;
        this.#openFeesUsd = 0;
        this.#openFundingUsd = 0;
      }
      const newQty = this.qtyBase + remaining;
      this.entryPriceUsd = (this.qtyBase * this.entryPriceUsd + remaining * priceUsd) / newQty;
      this.qtyBase = newQty;
      this.marginUsd += (Math.abs(remaining) * priceUsd) / this.#leverage;
      this.#openFeesUsd += feeLeft;
    }
    this.#updateLiquidationPrice();
    const fill: Fill = tag === undefined ? { timeMs, side, qtyBase, priceUsd, feeUsd, liquidity, reason } : { timeMs, side, qtyBase, priceUsd, feeUsd, liquidity, reason, tag };
    this.fills.push(fill);
    return fill;
  }

  /** Funding at a funding timestamp: longs pay shorts when the rate is positive. Paid from the isolated margin. */
  applyFunding(rate: number, markPriceUsd: number): number {
    if (this.qtyBase === 0 || !Number.isFinite(rate)) return 0;
    const paymentUsd = this.qtyBase * markPriceUsd * rate;
    this.walletUsd -= paymentUsd;
    this.marginUsd -= paymentUsd;
    this.fundingPaidUsd += paymentUsd;
    this.#openFundingUsd += paymentUsd;
    this.#updateLiquidationPrice();
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
  liquidate(timeMs: number, fillPriceUsd = this.liquidationPriceUsd): void {
    const price = fillPriceUsd;
    const qty = Math.abs(this.qtyBase);
    const side: Side = this.qtyBase > 0 ? 'sell' : 'buy';
    const grossPnl = this.qtyBase * (price - this.entryPriceUsd);
    const clearanceFee = Math.max(0, this.marginUsd + grossPnl);
    const insuranceUsd = Math.max(0, -(this.marginUsd + grossPnl));
    this.walletUsd -= clearanceFee;
    this.feesPaidUsd += clearanceFee;
    this.turnoverUsd += qty * price;
    this.liquidations++;
    this.fills.push({ timeMs, side, qtyBase: qty, priceUsd: price, feeUsd: clearanceFee, liquidity: 'taker', reason: 'liquidation' });
    this.#closePart(timeMs, qty, price, clearanceFee, 'liquidation', insuranceUsd);
  }

  #closePart(timeMs: number, closingQty: number, priceUsd: number, exitFeeUsd: number, reason: ExitReason, insuranceUsd = 0): void {
    const fraction = closingQty / Math.abs(this.qtyBase);
    const direction = Math.sign(this.qtyBase);
    const grossPnl = direction * closingQty * (priceUsd - this.entryPriceUsd) + insuranceUsd;
    const entryFees = this.#openFeesUsd * fraction;
    const funding = this.#openFundingUsd * fraction;
    this.walletUsd += grossPnl;
    this.realisedPnlUsd += grossPnl;
    this.trades.push({
      side: direction > 0 ? 'long' : 'short',
      entryTimeMs: this.#entryTimeMs,
      exitTimeMs: timeMs,
      qtyBase: closingQty,
      entryPriceUsd: this.entryPriceUsd,
      exitPriceUsd: priceUsd,
      grossPnlUsd: grossPnl,
      feesUsd: entryFees + exitFeeUsd,
      fundingUsd: funding,
      netPnlUsd: grossPnl - entryFees - exitFeeUsd - funding,
      reason,
    });
    this.#openFeesUsd -= entryFees;
    this.#openFundingUsd -= funding;
    this.marginUsd -= this.marginUsd * fraction;
    this.qtyBase -= direction * closingQty;
    if (Math.abs(this.qtyBase) < 1e-12) {
      this.qtyBase = 0;
      this.entryPriceUsd = 0;
      this.marginUsd = 0;
      this.#openFeesUsd = 0;
      this.#openFundingUsd = 0;
    }
  }

  #updateLiquidationPrice(): void {
    this.liquidationPriceUsd = this.qtyBase === 0 ? Number.NaN : isolatedLiquidationPrice(this.#brackets, this.qtyBase, this.entryPriceUsd, this.marginUsd);
  }
}
