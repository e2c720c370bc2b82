import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OitraderError } from '@oitrader/core';
import { singleMarket } from '../testing/single-market.ts';
import type { Bar } from './simulated-exchange.ts';

const T = Date.UTC(2024, 0, 1);
const bar = (i: number, open: number, high: number, low: number, close: number): Bar => ({ timeMs: T + i * 300_000, open, high, low, close });
const exchange = (overrides = {}) => singleMarket({ symbol: 'SOLUSDT', halfSpreadBps: 0, impactBpsPer100k: 0, ...overrides });

describe('reliability: a liquidation never fills outside the bar, and settings that invent money are refused (issue 18 item 6)', () => {
  it('a long whose bar gaps below the liquidation price is liquidated at the open and loses exactly its margin', () => {
    const ex = exchange();
    ex.submit(T, { type: 'market', side: 'buy', qtyBase: 10 }, 100);
    ex.processBar(bar(0, 100, 101, 99, 100));
    const lp = ex.account.liquidationPriceUsd; // ~80.52
    ex.processBar(bar(1, 70, 72, 69, 71)); // opens far below LP: the bar never traded at LP
    const trade = ex.account.trades[0];
    assert.equal(trade.reason, 'liquidation');
    assert.ok(trade.exitPriceUsd >= 69 && trade.exitPriceUsd <= 72, `liquidated at ${trade.exitPriceUsd}, outside the bar's range 69..72 (LP ${lp})`);
    assert.equal(trade.exitPriceUsd, 70, 'a gap through the liquidation price fills at the open');
    assert.ok(Math.abs(ex.account.walletUsd - (2000 - 0.5 - 200)) < 1e-9, `wallet ${ex.account.walletUsd}: an isolated position loses its 200 margin and the entry fee, never more`);
  });

  it('a short whose bar gaps above the liquidation price is liquidated at the open, inside the bar', () => {
    const ex = exchange();
    ex.submit(T, { type: 'market', side: 'sell', qtyBase: 10 }, 100);
    ex.processBar(bar(0, 100, 101, 99, 100));
    ex.processBar(bar(1, 130, 131, 128, 129));
    const trade = ex.account.trades[0];
    assert.equal(trade.reason, 'liquidation');
    assert.equal(trade.exitPriceUsd, 130, `short liquidated at ${trade.exitPriceUsd}; the bar traded 128..131 and opened at 130`);
  });

  for (const [name, overrides] of [
    ['negative leverage', { leverage: -5 }],
    ['zero leverage', { leverage: 0 }],
    ['leverage above Binance maximum', { leverage: 200 }],
    ['NaN leverage', { leverage: Number.NaN }],
    ['a negative balance', { initialBalanceUsd: -100 }],
    ['a negative taker fee', { takerFeeRate: -0.01 }],
    ['a negative maker fee', { makerFeeRate: -0.01 }],
    ['a negative spread', { halfSpreadBps: -500 }],
  ] as const) {
    it(`the execution model refuses ${name} before any bar runs`, () => {
      assert.throws(() => exchange(overrides), (e: unknown) => e instanceof OitraderError && e.exitCode === 2, `${name} must not reach the account: it would invent profit`);
    });
  }
});
