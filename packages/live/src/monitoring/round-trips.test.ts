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
});
