import type { StoredFill, StoredFunding } from '../state/bot-store.ts';

/** One closed (or partly closed) leg, derived from the stored fills. */
export interface RoundTrip {
  side: 'long' | 'short';
  qtyBase: number;
  entryTimeMs: number;
  exitTimeMs: number;
  entryPriceUsd: number;
  exitPriceUsd: number;
  /** Price PnL of the closed quantity, before fees. */
  grossPnlUsd: number;
  /** Entry fee share of the closed quantity plus the exit fee. */
  feesUsd: number;
  /** Funding settled while the leg was open, its share of the closed quantity; Binance's income sign (+ received, − paid). */
  fundingIncomeUsd: number;
  /** Price PnL − fees + funding income. */
  netPnlUsd: number;
  exitReason: string;
}

export interface FillEffect {
  /** The fill opened or added to a position (an entry; with `closed` too when it reversed one). */
  opening: boolean;
  /** Set when the fill closed (part of) a position. */
  closed: RoundTrip | undefined;
}

/**
 * Walks fills and funding settlements as one-way-mode futures do (average
 * entry price; fees and funding pro rata by the closed quantity) to recover
 * closed trades with their PnL: the bot's tables keep fills and settlements,
 * not trades. Net PnL = price PnL − fees + funding income.
 */
export class TradeLedger {
  qtyBase = 0;
  entryPriceUsd = 0;
  /** Every funding settlement applied (+ received, − paid), open or closed. */
  fundingIncomeUsd = 0;
  #entryFeesUsd = 0;
  #openFundingUsd = 0;
  #entryTimeMs = 0;
  readonly trades: RoundTrip[] = [];

  /** A funding settlement on the open position: it belongs to the leg that is open now. */
  applyFunding(f: Pick<StoredFunding, 'incomeUsd'>): void {
    this.fundingIncomeUsd += f.incomeUsd;
    if (this.qtyBase !== 0) this.#openFundingUsd += f.incomeUsd;
  }

  apply(f: Pick<StoredFill, 'timeMs' | 'side' | 'qtyBase' | 'priceUsd' | 'feeUsd' | 'reason'>): FillEffect {
    const signed = f.side === 'buy' ? f.qtyBase : -f.qtyBase;
    if (this.qtyBase === 0 || Math.sign(signed) === Math.sign(this.qtyBase)) {
      const total = this.qtyBase + signed;
      this.entryPriceUsd = (this.entryPriceUsd * Math.abs(this.qtyBase) + f.priceUsd * f.qtyBase) / Math.abs(total);
      if (this.qtyBase === 0) this.#entryTimeMs = f.timeMs;
      this.qtyBase = total;
      this.#entryFeesUsd += f.feeUsd;
      return { opening: true, closed: undefined };
    }
    const closing = Math.min(f.qtyBase, Math.abs(this.qtyBase));
    const direction = Math.sign(this.qtyBase);
    const entryFeeShare = (this.#entryFeesUsd * closing) / Math.abs(this.qtyBase);
    const exitFee = (f.feeUsd * closing) / f.qtyBase;
    const gross = (f.priceUsd - this.entryPriceUsd) * closing * direction;
    const fundingShare = (this.#openFundingUsd * closing) / Math.abs(this.qtyBase);
    const trip: RoundTrip = {
      side: direction > 0 ? 'long' : 'short',
      qtyBase: closing,
      entryTimeMs: this.#entryTimeMs,
      exitTimeMs: f.timeMs,
      entryPriceUsd: this.entryPriceUsd,
      exitPriceUsd: f.priceUsd,
      grossPnlUsd: gross,
      feesUsd: entryFeeShare + exitFee,
      fundingIncomeUsd: fundingShare,
      netPnlUsd: gross - entryFeeShare - exitFee + fundingShare,
      exitReason: f.reason,
    };
    this.trades.push(trip);
    this.#entryFeesUsd -= entryFeeShare;
    this.#openFundingUsd -= fundingShare;
    this.qtyBase += direction * -closing;
    if (Math.abs(this.qtyBase) < 1e-12) {
      this.qtyBase = 0;
      this.#entryFeesUsd = 0;
      this.#openFundingUsd = 0;
    }
    const rest = f.qtyBase - closing;
    if (rest > 1e-12) {
      // A reversal: the remainder opens the opposite side at the fill price.
      this.apply({ ...f, qtyBase: rest, feeUsd: f.feeUsd - exitFee });
      return { opening: true, closed: trip };
    }
    return { opening: false, closed: trip };
  }

  /** The ledger of stored fills and funding in time order; a settlement comes before a fill at the same time (it settles at the candle's open, on the position carried in). */
  static of(fills: readonly StoredFill[], funding: readonly StoredFunding[] = []): TradeLedger {
    const ledger = new TradeLedger();
    let k = 0;
    for (const f of fills) {
      while (k < funding.length && funding[k].timeMs <= f.timeMs) ledger.applyFunding(funding[k++]);
      ledger.apply(f);
    }
    while (k < funding.length) ledger.applyFunding(funding[k++]);
    return ledger;
  }
}
