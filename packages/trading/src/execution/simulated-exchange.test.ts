import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyFilters, roundToStep } from '../instrument/instrument.ts';
import { BUNDLED_INSTRUMENTS, bundledInstruments } from '../instrument/bundled-instruments.ts';
import { isolatedLiquidationPrice } from '../instrument/liquidation.ts';
import { singleMarket } from '../testing/single-market.ts';
import { SimulatedExchange, type Bar } from './simulated-exchange.ts';

const T = Date.UTC(2024, 0, 1);
const bar = (i: number, open: number, high: number, low: number, close: number): Bar => ({ timeMs: T + i * 300_000, open, high, low, close });
/** SOLUSDT, 5x, $2,000, no spread/impact so prices are exact. */
const exchange = (overrides = {}) => singleMarket({ symbol: 'SOLUSDT', halfSpreadBps: 0, impactBpsPer100k: 0, ...overrides });
const close = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) <= tol;

describe('leverage brackets', () => {
  it('every shipped table satisfies cum_i = cum_(i-1) + floor_i * (mmr_i - mmr_(i-1))', () => {
    for (const { symbol, brackets } of BUNDLED_INSTRUMENTS) {
      for (let i = 1; i < brackets.length; i++) {
        const expected = brackets[i - 1].cumUsd + brackets[i].notionalFloorUsd * (brackets[i].maintMarginRatio - brackets[i - 1].maintMarginRatio);
        assert.ok(close(brackets[i].cumUsd, expected, 1e-6), `${symbol} bracket ${i + 1}: cum ${brackets[i].cumUsd} should be ${expected}`);
        assert.equal(brackets[i].notionalFloorUsd, brackets[i - 1].notionalCapUsd, `${symbol} brackets must be contiguous`);
      }
    }
  });
});

describe('execution model: hand-computed scenarios', () => {
  it('a 5x long is liquidated at the Binance isolated formula price and loses exactly its margin', () => {
    const ex = exchange();
    ex.submit(T, { type: 'market', side: 'buy', qtyBase: 10 }, 100);
    ex.processBar(bar(0, 100, 101, 99, 100));
    const a = ex.account;
    assert.equal(a.marginUsd, 200, 'isolated margin = 1000 notional / 5x');
    // LP = (WB + cum - side*Q*EP) / (Q*MMR - side*Q) = (200 + 0 - 1000) / (10*0.0065 - 10)
    const expectedLp = (200 - 1000) / (10 * 0.0065 - 10);
    assert.ok(close(a.liquidationPriceUsd, expectedLp), `liquidation price ${a.liquidationPriceUsd}, expected ${expectedLp} (~80.52)`);
    ex.processBar(bar(1, 90, 91, 80.6, 85));
    assert.equal(a.liquidations, 0, 'a low above the liquidation price must not liquidate');
    ex.processBar(bar(2, 85, 86, 80, 82));
    assert.equal(a.liquidations, 1);
    assert.equal(a.qtyBase, 0);
    assert.ok(close(a.walletUsd, 2000 - 0.5 - 200), `wallet ${a.walletUsd}: the entry fee and the whole 200 margin are lost, nothing more`);
    const trade = a.trades[0];
    assert.equal(trade.reason, 'liquidation');
    assert.ok(close(trade.exitPriceUsd, expectedLp));
    assert.ok(close(trade.netPnlUsd, -200.5));
  });

  it('longs pay and shorts receive funding when the rate is positive, on notional at the mark price', () => {
    const long = exchange();
    long.submit(T, { type: 'market', side: 'buy', qtyBase: 10 }, 100);
    long.processBar(bar(0, 100, 100, 100, 100));
    long.settleFunding(0.0001, 110);
    assert.ok(close(long.account.fundingPaidUsd, 10 * 110 * 0.0001), 'long pays 0.11');
    assert.ok(close(long.account.marginUsd, 200 - 0.11), 'funding is taken from the isolated margin');
    const short = exchange();
    short.submit(T, { type: 'market', side: 'sell', qtyBase: 10 }, 100);
    short.processBar(bar(0, 100, 100, 100, 100));
    const before = short.account.walletUsd;
    short.settleFunding(0.0001, 110);
    assert.ok(close(short.account.walletUsd - before, 0.11), 'short receives 0.11');
    const flat = exchange();
    flat.settleFunding(0.01, 100);
    assert.equal(flat.account.fundingPaidUsd, 0, 'no position, no funding');
  });

  it('charges the taker fee on entry and exit and books net PnL', () => {
    const ex = exchange();
    ex.submit(T, { type: 'market', side: 'buy', qtyBase: 10 }, 100);
    ex.processBar(bar(0, 100, 100, 100, 100));
    ex.submit(T, { type: 'market', side: 'sell', qtyBase: 10 }, 110);
    ex.processBar(bar(1, 110, 110, 110, 110));
    const [trade] = ex.account.trades;
    assert.ok(close(trade.feesUsd, 0.5 + 0.55), `fees ${trade.feesUsd}: 0.05% of 1000 and of 1100`);
    assert.ok(close(trade.netPnlUsd, 100 - 1.05));
    assert.ok(close(ex.account.walletUsd, 2000 + 98.95));
  });

  it('when stop and target are both inside one bar, the stop fills first and the target is cancelled', () => {
    const ex = exchange();
    ex.submit(T, { type: 'market', side: 'buy', qtyBase: 10 }, 100);
    ex.processBar(bar(0, 100, 100, 100, 100));
    ex.submit(T, { type: 'stop', side: 'sell', qtyBase: 10, triggerUsd: 95, reduceOnly: true }, 100);
    ex.submit(T, { type: 'take_profit', side: 'sell', qtyBase: 10, triggerUsd: 105, reduceOnly: true }, 100);
    ex.processBar(bar(1, 100, 106, 94, 100));
    assert.equal(ex.account.trades.length, 1);
    assert.equal(ex.account.trades[0].reason, 'stop');
    assert.equal(ex.account.trades[0].exitPriceUsd, 95);
    assert.equal(ex.pendingOrders.length, 0, 'the reduce-only target dies with the position');
  });

  it('a stop the market gaps through fills at the open, not at the stop price', () => {
    const ex = exchange();
    ex.submit(T, { type: 'market', side: 'buy', qtyBase: 10 }, 100);
    ex.processBar(bar(0, 100, 100, 100, 100));
    ex.submit(T, { type: 'stop', side: 'sell', qtyBase: 10, triggerUsd: 95, reduceOnly: true }, 100);
    ex.processBar(bar(1, 90, 92, 89, 91));
    assert.equal(ex.account.trades[0].exitPriceUsd, 90);
  });

  it('a limit order reached inside the bar fills at its price as a maker', () => {
    const ex = exchange();
    ex.submit(T, { type: 'limit', side: 'buy', qtyBase: 10, priceUsd: 98 }, 100);
    ex.processBar(bar(0, 100, 101, 97, 99));
    assert.equal(ex.account.fills[0].priceUsd, 98);
    assert.equal(ex.account.fills[0].liquidity, 'maker');
    assert.ok(close(ex.account.fills[0].feeUsd, 980 * 0.0002));
  });

  it('rounds quantity down to the step and refuses orders under the minimum notional', () => {
    assert.equal(roundToStep(10.7, 1, 'down'), 10);
    assert.equal(roundToStep(0.3, 0.1, 'down'), 0.3, 'binary noise must not lose a step');
    assert.equal(roundToStep(1.23456, 0.0001, 'up'), 1.2346);
    const xrp = bundledInstruments().instrument('XRPUSDT');
    assert.deepEqual(applyFilters(xrp, 'buy', 123.456, 1.23456, false), { ok: true, qtyBase: 123.4, priceUsd: 1.2345 });
    const small = applyFilters(xrp, 'buy', 4, 1, false);
    assert.equal(small.ok, false);
    assert.match((small as { reason: string }).reason, /below the minimum 5 USDT/);
    assert.equal(applyFilters(xrp, 'sell', 4, 1, true).ok, true, 'reduce-only orders are exempt from the minimum notional');
    const ex = exchange();
    ex.submit(T, { type: 'market', side: 'buy', qtyBase: 10.9 }, 100);
    ex.processBar(bar(0, 100, 100, 100, 100));
    assert.equal(ex.account.qtyBase, 10);
  });

  it('refuses orders the balance or the leverage bracket cannot carry, and reduce-only orders that would grow the position', () => {
    const ex = exchange();
    ex.submit(T, { type: 'market', side: 'buy', qtyBase: 200 }, 100);
    ex.processBar(bar(0, 100, 100, 100, 100));
    assert.equal(ex.account.qtyBase, 0);
    assert.match(ex.rejections[0].reason, /needs 4010\.00 USDT margin and fee, 2000\.00 available/);
    const high = exchange({ leverage: 75, initialBalanceUsd: 1_000_000 });
    high.submit(T, { type: 'market', side: 'buy', qtyBase: 200 }, 100);
    high.processBar(bar(0, 100, 100, 100, 100));
    assert.match(high.rejections[0].reason, /allows at most 50x/);
    const reduce = exchange();
    reduce.submit(T, { type: 'market', side: 'sell', qtyBase: 5, reduceOnly: true }, 100);
    reduce.processBar(bar(0, 100, 100, 100, 100));
    assert.equal(reduce.account.qtyBase, 0);
    assert.match(reduce.rejections[0].reason, /would not reduce/);
  });

  it('flipping from long to short closes the long with a trade and opens the short with fresh margin', () => {
    const ex = exchange();
    ex.submit(T, { type: 'market', side: 'buy', qtyBase: 10 }, 100);
    ex.processBar(bar(0, 100, 100, 100, 100));
    ex.submit(T, { type: 'market', side: 'sell', qtyBase: 20 }, 100);
    ex.processBar(bar(1, 100, 100, 100, 100));
    assert.equal(ex.account.qtyBase, -10);
    assert.equal(ex.account.trades.length, 1);
    assert.ok(close(ex.account.marginUsd, 200));
    assert.ok(ex.account.liquidationPriceUsd > 100, 'a short is liquidated above its entry');
  });

  it('a flip after a winning trade may use the realised profit as margin for the new side', () => {
    const ex = exchange();
    ex.submit(T, { type: 'market', side: 'buy', qtyBase: 98 }, 100);
    ex.processBar(bar(0, 100, 100, 100, 100));
    // +10% at 5x: equity ~2,980, wallet still ~1,995 until the long is closed.
    const target = Math.floor((ex.account.equityUsd(110) * 5 * 0.98) / 110);
    ex.submit(T, { type: 'market', side: 'sell', qtyBase: 98 + target }, 110);
    ex.processBar(bar(1, 110, 110, 110, 110));
    assert.deepEqual(ex.rejections, []);
    assert.equal(ex.account.qtyBase, -target);
  });

  it('the wallet never goes negative, whatever random orders meet whatever random bars', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let run = 0; run < 20; run++) {
      const ex = exchange({ leverage: 1 + Math.floor(random() * 20), halfSpreadBps: 2, impactBpsPer100k: 10 });
      let price = 100;
      for (let i = 0; i < 500; i++) {
        const open = price;
        price = Math.max(1, price * (1 + (random() - 0.5) * 0.2));
        const high = Math.max(open, price) * (1 + random() * 0.1);
        const low = Math.min(open, price) * (1 - random() * 0.1);
        if (random() < 0.3) ex.submit(T, { type: 'market', side: random() < 0.5 ? 'buy' : 'sell', qtyBase: 1 + Math.floor(random() * 100) }, open);
        if (random() < 0.1) ex.submit(T, { type: 'stop', side: ex.account.qtyBase > 0 ? 'sell' : 'buy', qtyBase: 50, triggerUsd: open * (ex.account.qtyBase > 0 ? 0.95 : 1.05), reduceOnly: true }, open);
        if (random() < 0.05) ex.settleFunding((random() - 0.5) * 0.01, open);
        ex.processBar(bar(i, open, high, low, price));
        assert.ok(ex.account.walletUsd >= -1e-9, `run ${run} bar ${i}: wallet ${ex.account.walletUsd} went negative`);
      }
    }
  });

  it('the liquidation price is consistent with the bracket it implies', () => {
    const brackets = bundledInstruments().instrument('BTCUSDT').brackets;
    const lp = isolatedLiquidationPrice(brackets, 10, 60_000, 600_000 / 20);
    assert.ok(lp > 57_000 && lp < 60_000, `20x long liquidates ~4-5% below entry, got ${lp}`);
  });
});

describe('execution model: several instruments on one wallet', () => {
  const twoMarkets = () => {
    const ex = new SimulatedExchange({ halfSpreadBps: 0, impactBpsPer100k: 0, leverage: 5 });
    return { ex, sol: ex.market('SOLUSDT'), btc: ex.market('BTCUSDT') };
  };

  it('every position takes its margin from the one wallet: what one holds the other cannot use', () => {
    const { ex, sol, btc } = twoMarkets();
    // 8,000 USDT of SOL at 5x locks 1,600 of the 2,000 wallet (+ 4 fee).
    sol.submit(T, { type: 'market', side: 'buy', qtyBase: 80 }, 100);
    sol.processBar(bar(0, 100, 100, 100, 100));
    assert.ok(close(ex.portfolio.availableUsd(), 2000 - 4 - 1600), `available ${ex.portfolio.availableUsd()}`);
    // 3,000 USDT of BTC needs 600 margin: only ~396 is left. Alone on a fresh wallet it would be accepted.
    btc.submit(T, { type: 'market', side: 'buy', qtyBase: 0.05 }, 60_000);
    btc.processBar(bar(0, 60_000, 60_000, 60_000, 60_000));
    assert.equal(btc.position.qtyBase, 0, 'the second position must not use margin the first one holds');
    assert.match(ex.rejections[0].reason, /needs 601\.50 USDT margin and fee, 396\.00 available/);
    const alone = new SimulatedExchange({ halfSpreadBps: 0, impactBpsPer100k: 0 }).market('BTCUSDT');
    alone.submit(T, { type: 'market', side: 'buy', qtyBase: 0.05 }, 60_000);
    alone.processBar(bar(0, 60_000, 60_000, 60_000, 60_000));
    assert.equal(alone.position.qtyBase, 0.05);
  });

  it('equity is the one wallet plus every open position at its own mark; funding and fees hit the wallet and each instrument\'s own totals', () => {
    const { ex, sol, btc } = twoMarkets();
    sol.submit(T, { type: 'market', side: 'buy', qtyBase: 10 }, 100);
    btc.submit(T, { type: 'market', side: 'sell', qtyBase: 0.01 }, 60_000);
    sol.processBar(bar(0, 100, 100, 100, 110));
    btc.processBar(bar(0, 60_000, 60_000, 60_000, 59_000));
    const fees = 10 * 100 * 0.0005 + 0.01 * 60_000 * 0.0005;
    assert.ok(close(ex.portfolio.equityUsd(), 2000 - fees + 10 * 10 + 0.01 * 1000), `equity ${ex.portfolio.equityUsd()}`);
    sol.settleFunding(0.0001, 110);
    btc.settleFunding(0.0001, 59_000);
    assert.ok(close(sol.position.fundingPaidUsd, 10 * 110 * 0.0001), 'the long pays');
    assert.ok(close(btc.position.fundingPaidUsd, -0.01 * 59_000 * 0.0001), 'the short receives');
    assert.ok(close(ex.portfolio.fundingPaidUsd, sol.position.fundingPaidUsd + btc.position.fundingPaidUsd));
    assert.ok(close(ex.portfolio.feesPaidUsd, sol.position.feesPaidUsd + btc.position.feesPaidUsd));
    assert.ok(close(ex.portfolio.grossExposureUsd(), 10 * 110 + 0.01 * 59_000));
  });

  it('a liquidation loses only that position\'s isolated margin; the other position and the rest of the wallet stay', () => {
    const { ex, sol, btc } = twoMarkets();
    sol.submit(T, { type: 'market', side: 'buy', qtyBase: 10 }, 100);
    btc.submit(T, { type: 'market', side: 'buy', qtyBase: 0.01 }, 60_000);
    sol.processBar(bar(0, 100, 100, 100, 100));
    btc.processBar(bar(0, 60_000, 60_000, 60_000, 60_000));
    sol.processBar(bar(1, 70, 72, 69, 71));
    assert.equal(sol.position.liquidations, 1);
    assert.equal(btc.position.qtyBase, 0.01, 'the BTC position is untouched');
    const fees = 10 * 100 * 0.0005 + 0.01 * 60_000 * 0.0005;
    assert.ok(close(ex.portfolio.walletUsd, 2000 - fees - 200), `wallet ${ex.portfolio.walletUsd}: only SOL's 200 margin is lost`);
  });
});
