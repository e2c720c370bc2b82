import type { StoredFill } from '../state/bot-store.ts';

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
  netPnlUsd: number;
  exitReason: string;
}

export interface FillEffect {
  /** The fill opened or added to a position (an entry) rather than reduced one. */
  opening: boolean;
  /** Set when the fill closed (part of) a position. */
  closed: RoundTrip | undefined;
}

/**
 * Walks fills as one-way-mode futures do (average entry price, fees pro rata)
 * to recover closed trades with their PnL: the bot's tables keep fills, not
 * trades, and funding payments are not stored there, so PnL here is price
 * minus fees (funding shows only in equity).
 */
export class TradeLedger {
  qtyBase = 0;
  entryPriceUsd = 0;
  #entryFeesUsd = 0;
  #entryTimeMs = 0;
  readonly trades: RoundTrip[] = [];

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
    const trip: RoundTrip = {
      side: direction > 0 ? 'long' : 'short',
      qtyBase: closing,
      entryTimeMs: this.#entryTimeMs,
      exitTimeMs: f.timeMs,
      entryPriceUsd: this.entryPriceUsd,
      exitPriceUsd: f.priceUsd,
      grossPnlUsd: gross,
      feesUsd: entryFeeShare + exitFee,
      netPnlUsd: gross - entryFeeShare - exitFee,
      exitReason: f.reason,
    };
    this.trades.push(trip);
    this.#entryFeesUsd -= entryFeeShare;
    this.qtyBase += direction * -closing;
    if (Math.abs(this.qtyBase) < 1e-12) {
      this.qtyBase = 0;
      this.#entryFeesUsd = 0;
    }
    const rest = f.qtyBase - closing;
    if (rest > 1e-12) {
      // A reversal: the remainder opens the opposite side at the fill price.
      this.apply({ ...f, qtyBase: rest, feeUsd: f.feeUsd - exitFee });
    }
    return { opening: false, closed: trip };
  }

  static of(fills: readonly StoredFill[]): TradeLedger {
    const ledger = new TradeLedger();
    for (const f of fills) ledger.apply(f);
    return ledger;
  }
}
