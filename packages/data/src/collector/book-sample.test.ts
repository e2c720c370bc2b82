import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleBook } from './book-sample.ts';

describe('sampleBook', () => {
  it('computes spread, depth within each band and imbalance', () => {
    const sample = sampleBook({
      type: 'depth',
      symbol: 'X',
      eventTime: 2,
      transactionTime: 1,
      bids: [[99.9, 10], [99.0, 10], [97.0, 10], [90.0, 10]],
      asks: [[100.1, 5], [101.5, 5], [104.0, 5], [120.0, 5]],
    })!;
    assert.equal(sample.time, 1);
    assert.ok(Math.abs(sample.spread_bps - 20) < 1e-9);
    assert.ok(Math.abs(sample.bid_depth_1pct - (999 + 990)) < 1e-9);
    assert.ok(Math.abs(sample.ask_depth_1pct - 500.5) < 1e-9);
    assert.ok(Math.abs(sample.bid_depth_5pct - (999 + 990 + 970)) < 1e-9);
    assert.ok(Math.abs(sample.ask_depth_5pct - (500.5 + 507.5 + 520)) < 1e-9);
    assert.ok(Math.abs(sample.imbalance_1pct - (1989 - 500.5) / (1989 + 500.5)) < 1e-12);
  });

  it('refuses a crossed or one-sided book', () => {
    assert.equal(sampleBook({ type: 'depth', symbol: 'X', eventTime: 1, transactionTime: 1, bids: [[101, 1]], asks: [[100, 1]] }), undefined);
    assert.equal(sampleBook({ type: 'depth', symbol: 'X', eventTime: 1, transactionTime: 1, bids: [], asks: [[100, 1]] }), undefined);
  });
});
