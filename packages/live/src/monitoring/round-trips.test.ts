import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TradeLedger } from './round-trips.ts';

const fill = (timeMs: number, side: 'buy' | 'sell', qtyBase: number, priceUsd: number, feeUsd: number, reason = 'signal') => ({ timeMs, side, qtyBase, priceUsd, feeUsd, reason });
const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;

describe('TradeLedger: closed trades from the stored fills', () => {
  it('a long opened in two fills and closed in one: PnL from the average entry, both entry fees and the exit fee', () => {
    const l = new TradeLedger();
    assert.equal(l.apply(fill(1, 'buy', 1, 100, 0.05)).opening, true);
    l.apply(fill(2, 'buy', 1, 110, 0.055));
    assert.ok(close(l.entryPriceUsd, 105), `average entry should be 105, is ${l.entryPriceUsd}`);
    const { closed } = l.apply(fill(3, 'sell', 2, 120, 0.12, 'target'));
    assert.ok(closed, 'closing the long must yield a trade');
    assert.ok(close(closed.grossPnlUsd, 30), `gross (120 − 105) × 2 = 30, got ${closed.grossPnlUsd}`);
    assert.ok(close(closed.feesUsd, 0.225), `fees 0.05 + 0.055 + 0.12, got ${closed.feesUsd}`);
    assert.ok(close(closed.netPnlUsd, 29.775));
    assert.equal(closed.exitReason, 'target');
    assert.equal(l.qtyBase, 0);
  });

  it('a partial close takes its pro-rata share of the entry fee and leaves the rest open', () => {
    const l = new TradeLedger();
    l.apply(fill(1, 'sell', 4, 50, 0.4));
    const { closed } = l.apply(fill(2, 'buy', 1, 45, 0.1, 'stop'));
    assert.equal(closed?.side, 'short');
    assert.ok(closed && close(closed.grossPnlUsd, 5), 'a short gains when the price falls');
    assert.ok(closed && close(closed.feesUsd, 0.2), 'a quarter of the 0.4 entry fee plus the 0.1 exit fee');
    assert.equal(l.qtyBase, -3);
  });

  it('a fill larger than the position closes it and opens the other side with the remainder', () => {
    const l = new TradeLedger();
    l.apply(fill(1, 'buy', 2, 100, 0.2));
    const effect = l.apply(fill(2, 'sell', 5, 90, 0.5));
    assert.ok(effect.closed && close(effect.closed.grossPnlUsd, -20), 'the long lost 10 on each of 2');
    assert.equal(effect.opening, true, 'the reversal also opened a short');
    assert.equal(l.qtyBase, -3);
    assert.ok(close(l.entryPriceUsd, 90));
    const { closed } = l.apply(fill(3, 'buy', 3, 80, 0.3));
    assert.ok(closed && close(closed.feesUsd, 0.3 + 0.3), 'the short carries 3/5 of the reversal fill\'s fee plus its exit fee');
  });

  it('funding settled while a leg is open is in its net PnL, pro rata on a partial close; a settlement at a fill\'s time belongs to the position carried in', () => {
    const fills = [fill(0, 'buy', 4, 100, 0.2), fill(8, 'sell', 1, 104, 0.05), fill(16, 'sell', 3, 106, 0.15), fill(16, 'sell', 2, 106, 0.1)];
    // Paid 0.4 at t=8 on 4 (before the partial close at 8), paid 0.3 at 16 on the 3 left, received 0.05 at 24 on the new short.
    const funding = [
      { symbol: 'SOLUSDT', timeMs: 8, rate: 0.001, markPriceUsd: 100, qtyBase: 4, incomeUsd: -0.4 },
      { symbol: 'SOLUSDT', timeMs: 16, rate: 0.001, markPriceUsd: 100, qtyBase: 3, incomeUsd: -0.3 },
      { symbol: 'SOLUSDT', timeMs: 24, rate: 0.00025, markPriceUsd: 100, qtyBase: -2, incomeUsd: 0.05 },
    ];
    const ledger = TradeLedger.of(fills.map((f) => ({ ...f, symbol: 'SOLUSDT', fillId: String(f.timeMs), clientOrderId: undefined, liquidity: 'taker' as const })), funding);
    const [partial, rest] = ledger.trades;
    assert.ok(close(partial.fundingIncomeUsd, -0.1), `the partial close of 1 of 4 carries a quarter of the 0.4 paid, got ${partial.fundingIncomeUsd}`);
    assert.ok(close(partial.netPnlUsd, 4 - 0.05 - 0.05 - 0.1), `net = gross − fees + funding, got ${partial.netPnlUsd}`);
    assert.ok(close(rest.fundingIncomeUsd, -0.3 - 0.3), `the other 3 carry 3/4 of 0.4 and all of 0.3, got ${rest.fundingIncomeUsd}`);
    assert.ok(close(rest.netPnlUsd, rest.grossPnlUsd - rest.feesUsd - 0.6));
    assert.ok(close(ledger.fundingIncomeUsd, -0.65), 'the ledger totals every settlement, the open short\'s too');
  });
});
