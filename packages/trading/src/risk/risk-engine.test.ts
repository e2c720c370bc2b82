import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '@oitrader/core';
import { bracketsFor, type LeverageBracket } from '../exchange/leverage-brackets.ts';
import { filtersFor } from '../exchange/symbol-filters.ts';
import {
  DEFAULT_RISK_LIMITS,
  decideEntry,
  initialRiskState,
  kill,
  mustBeFlat,
  observeEquity,
  recordExchangeResult,
  resume,
  riskLimitsFromConfig,
  stopEntries,
  utcDayStartMs,
  type EntryRequest,
  type RiskLimits,
  type RiskState,
} from './risk-manager.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const limits = (overrides: Partial<RiskLimits> = {}): RiskLimits => ({ ...DEFAULT_RISK_LIMITS, ...overrides });
/** A SOLUSDT long at 100 with a 2% stop, $2,000 equity, a candle that closed 10 s ago. */
const request = (overrides: Partial<EntryRequest> = {}): EntryRequest => ({
  side: 'long',
  entryPriceUsd: 100,
  stopPriceUsd: 98,
  equityUsd: 2000,
  availableUsd: 2000,
  lastCandleCloseMs: T0 - 10_000,
  nowMs: T0,
  filters: filtersFor('SOLUSDT'),
  brackets: bracketsFor('SOLUSDT'),
  ...overrides,
});
const fresh = (): RiskState => initialRiskState(2000, T0);

describe('risk manager: sizing', () => {
  it('sizes so that a fill at the stop loses risk_per_trade of equity', () => {
    const d = decideEntry(fresh(), limits(), request());
    assert.equal(d.allowed, true, d.reason);
    // 2% of 2000 = 40 USDT at risk over a 2 USDT stop distance = 20 SOL.
    assert.equal(d.qtyBase, 20, `a 2% risk over a 2 USDT stop should buy 20 SOL, got ${d.qtyBase}`);
    const short = decideEntry(fresh(), limits(), request({ side: 'short', stopPriceUsd: 104 }));
    assert.equal(short.qtyBase, 10, 'a short with a 4 USDT stop risks the same 40 USDT: 10 SOL');
  });

  it('rounds the size DOWN to the symbol step, never risking more than asked', () => {
    const d = decideEntry(fresh(), limits(), request({ stopPriceUsd: 97 }));
    // 40 / 3 = 13.33 SOL; SOLUSDT steps by 1.
    assert.equal(d.qtyBase, 13, `13.33 SOL must round down to 13, got ${d.qtyBase}`);
    assert.ok(d.qtyBase * 3 <= 40, 'the loss at the stop exceeds risk_per_trade after rounding');
  });

  it('refuses a size under LOT_SIZE minQty instead of sending it', () => {
    // 40 USDT over a 50 USDT stop = 0.8 SOL, under the 1 SOL minimum.
    const d = decideEntry(fresh(), limits(), request({ stopPriceUsd: 50 }));
    assert.equal(d.allowed, false, 'an order under the minimum quantity would be rejected by Binance');
    assert.match(d.reason, /minimum/);
  });

  it('refuses a size under MIN_NOTIONAL instead of sending it', () => {
    // BTCUSDT: 1% of 100 USDT over a 1000 USDT stop = 0.001 BTC = 50 USDT notional < 100 USDT.
    const d = decideEntry(initialRiskState(100, T0), limits({ riskPerTrade: 0.01 }), request({
      entryPriceUsd: 50_000,
      stopPriceUsd: 49_000,
      equityUsd: 100,
      availableUsd: 100,
      filters: filtersFor('BTCUSDT'),
      brackets: bracketsFor('BTCUSDT'),
    }));
    assert.equal(d.allowed, false, 'a 50 USDT BTC order is below MIN_NOTIONAL and must not be sent');
    assert.match(d.reason, /notional/);
  });

  it('refuses a stop on the winning side of the entry', () => {
    assert.equal(decideEntry(fresh(), limits(), request({ stopPriceUsd: 101 })).allowed, false, 'a long with its stop above the entry has no risk bound');
    assert.equal(decideEntry(fresh(), limits(), request({ side: 'short', stopPriceUsd: 99 })).allowed, false, 'a short with its stop below the entry has no risk bound');
  });
});

describe('risk manager: leverage', () => {
  it('caps notional at equity × trading.leverage when the stop is tight', () => {
    // 40 USDT over a 0.1 USDT stop would be 400 SOL = 40,000 USDT; 5x of 2000 is 10,000 USDT.
    const d = decideEntry(fresh(), limits(), request({ stopPriceUsd: 99.9 }));
    assert.equal(d.allowed, true, d.reason);
    assert.ok(d.qtyBase * 100 <= 2000 * 5, `notional ${d.qtyBase * 100} USDT exceeds 5x of 2000 USDT`);
    assert.equal(d.leverage, 5);
  });

  it('caps notional by the available margin', () => {
    const d = decideEntry(fresh(), limits(), request({ stopPriceUsd: 99.9, availableUsd: 300 }));
    assert.ok(d.qtyBase * 100 <= 300 * 5, `notional ${d.qtyBase * 100} USDT needs more than the 300 USDT available at 5x`);
  });

  it('never uses more leverage than the exchange bracket allows for the notional', () => {
    const brackets: LeverageBracket[] = [
      { initialLeverage: 10, notionalFloorUsd: 0, notionalCapUsd: 1000, maintMarginRatio: 0.01, cumUsd: 0 },
      { initialLeverage: 2, notionalFloorUsd: 1000, notionalCapUsd: 1e12, maintMarginRatio: 0.05, cumUsd: 40 },
    ];
    const d = decideEntry(fresh(), limits({ leverage: 10, minLiquidationDistance: 1 }), request({ stopPriceUsd: 99.9, brackets }));
    assert.equal(d.allowed, true, d.reason);
    const notional = d.qtyBase * 100;
    const allowed = notional < 1000 ? 10 : 2;
    assert.ok(d.leverage <= allowed, `sized for ${d.leverage}x but the bracket of ${notional} USDT allows ${allowed}x`);
    assert.ok(notional <= 2000 * allowed, `notional ${notional} USDT exceeds ${allowed}x of equity`);
  });

  it('refuses when the liquidation price is not far enough beyond the stop', () => {
    // At 20x the liquidation is ~4.4% away; a 4% stop is only ~1.1 stop distances from it.
    const tooClose = decideEntry(fresh(), limits({ leverage: 20 }), request({ stopPriceUsd: 96 }));
    assert.equal(tooClose.allowed, false, 'a 20x position liquidates right behind its stop: the stop may not save it');
    assert.match(tooClose.reason, /liquidation/);
    const safe = decideEntry(fresh(), limits({ leverage: 5 }), request({ stopPriceUsd: 96 }));
    assert.equal(safe.allowed, true, `at 5x the liquidation (~19.5%) is far beyond a 4% stop: ${safe.reason}`);
    assert.ok(safe.liquidationPriceUsd < 96, 'a long liquidates below its stop');
  });
});

describe('risk manager: daily loss', () => {
  it('fires at max_daily_loss of the UTC-day start equity, flattens and halts entries until the next UTC day', () => {
    let s = observeEquity(fresh(), limits(), T0, 2000).state;
    const small = observeEquity(s, limits(), T0 + 60_000, 1941);
    assert.equal(small.flatten, false, 'a 2.95% loss is inside the 3% limit');
    const hit = observeEquity(small.state, limits(), T0 + 120_000, 1940);
    assert.equal(hit.flatten, true, 'a 3% loss (realised + unrealised) must flatten the book');
    assert.deepEqual(hit.events.map((e) => e.kind), ['daily_loss']);
    s = hit.state;
    const later = T0 + 3_600_000;
    assert.equal(decideEntry(s, limits(), request({ nowMs: later, lastCandleCloseMs: later })).allowed, false, 'no new entries after the daily limit fired');
    // Equity recovering the same day does not lift the halt.
    assert.equal(observeEquity(s, limits(), later, 2100).flatten, true, 'the halt lasts the whole UTC day');
    const nextDay = utcDayStartMs(T0) + DAY + 60_000;
    const rolled = observeEquity(s, limits(), nextDay, 1940);
    assert.equal(rolled.state.dayStartEquityUsd, 1940, 'the new UTC day starts from the equity at its first mark');
    assert.equal(rolled.flatten, false);
    assert.equal(decideEntry(rolled.state, limits(), request({ nowMs: nextDay, lastCandleCloseMs: nextDay })).allowed, true, 'entries resume on the next UTC day');
  });

  it('measures the loss from the start of the UTC day, not from the bot start', () => {
    const s = initialRiskState(2000, T0); // 10:00 UTC
    const nextDay = utcDayStartMs(T0) + DAY;
    const rolled = observeEquity(s, limits(), nextDay + 1000, 1900).state; // the day started at 1900
    assert.equal(observeEquity(rolled, limits(), nextDay + 2000, 1850).flatten, false, 'a 2.6% loss on the day must not fire even though equity is 7.5% below the start');
  });
});

describe('risk manager: max drawdown', () => {
  it('halts and flattens at max_drawdown below the peak until resume', () => {
    const l = limits({ maxDailyLoss: 0.5 });
    let s = observeEquity(fresh(), l, T0, 2500).state;
    assert.equal(s.peakEquityUsd, 2500);
    s = observeEquity(s, l, T0 + DAY, 2200).state;
    assert.equal(mustBeFlat(s, T0 + DAY), false, 'a 12% drawdown is inside the 15% limit');
    const hit = observeEquity(s, l, T0 + DAY + 1, 2125);
    assert.equal(hit.flatten, true, 'a 15% drawdown from the 2500 peak must flatten');
    assert.deepEqual(hit.events.map((e) => e.kind), ['drawdown']);
    const weekLater = T0 + 7 * DAY;
    const stillHalted = observeEquity(hit.state, l, weekLater, 2125);
    assert.equal(decideEntry(stillHalted.state, l, request({ nowMs: weekLater, lastCandleCloseMs: weekLater })).allowed, false, 'the drawdown halt outlasts the UTC day');
    const resumed = resume(stillHalted.state, weekLater, 2125, 'operator');
    assert.equal(decideEntry(resumed.state, l, request({ nowMs: weekLater, lastCandleCloseMs: weekLater })).allowed, true, 'resume clears the drawdown halt');
    assert.equal(observeEquity(resumed.state, l, weekLater + 1, 2125).flatten, false, 'resume re-bases the peak so the stop does not fire again at once');
  });
});

describe('risk manager: data, errors and the kill switch', () => {
  it('refuses entries on stale or unhealthy data', () => {
    const stale = decideEntry(fresh(), limits({ staleAfterMs: 120_000 }), request({ lastCandleCloseMs: T0 - 200_000 }));
    assert.equal(stale.allowed, false, 'a candle 200 s old is stale: the decision would trade on old prices');
    assert.match(stale.reason, /stale/);
    assert.equal(decideEntry(fresh(), limits(), request({ dataHealthy: false })).allowed, false, 'an unhealthy collector must veto entries');
    assert.equal(decideEntry(fresh(), limits(), request()).allowed, true);
  });

  it('opens the circuit breaker after repeated exchange errors and closes it after the cooldown', () => {
    const l = limits({ circuitBreakerErrors: 3, circuitBreakerCooldownMs: 600_000 });
    let s = fresh();
    for (let i = 0; i < 2; i++) s = recordExchangeResult(s, l, T0, false, 'timeout').state;
    s = recordExchangeResult(s, l, T0, true).state;
    for (let i = 0; i < 2; i++) s = recordExchangeResult(s, l, T0, false, 'timeout').state;
    assert.equal(decideEntry(s, l, request()).allowed, true, 'a success between errors resets the count: 2 + 2 is not 3 in a row');
    const opened = recordExchangeResult(s, l, T0, false, 'HTTP 503');
    assert.deepEqual(opened.events.map((e) => e.kind), ['circuit_breaker']);
    assert.equal(decideEntry(opened.state, l, request()).allowed, false, '3 errors in a row must stop new entries');
    const after = T0 + 600_001;
    assert.equal(decideEntry(opened.state, l, request({ nowMs: after, lastCandleCloseMs: after })).allowed, true, 'the breaker closes after its cooldown');
  });

  it('the kill switch refuses entries and demands a flat book until resume', () => {
    const killed = kill(fresh(), T0, 'oitrader bot kill');
    assert.equal(killed.flatten, true, 'kill must flatten');
    assert.equal(decideEntry(killed.state, limits(), request()).allowed, false, 'no entries while killed');
    assert.equal(observeEquity(killed.state, limits(), T0 + DAY, 2000).flatten, true, 'the kill outlasts the UTC day');
    const resumed = resume(killed.state, T0, 2000, 'oitrader bot resume');
    assert.equal(resumed.flatten, false);
    assert.equal(decideEntry(resumed.state, limits(), request()).allowed, true, 'resume lifts the kill switch');
  });

  it('stop-entries refuses new entries but never demands a flat book, and only resume releases it', () => {
    const stopped = stopEntries(fresh(), T0, 'oitrader bot stop-entries');
    assert.deepEqual(stopped.events.map((e) => e.kind), ['stop_entries']);
    assert.equal(stopped.flatten, false, 'stop-entries must keep the open position (its stop and exits stay), not flatten it');
    assert.equal(mustBeFlat(stopped.state, T0), false, 'stop-entries is not a halt that closes the position');
    const refused = decideEntry(stopped.state, limits(), request());
    assert.equal(refused.allowed, false, 'an entry went through while entries were stopped');
    assert.match(refused.reason, /entries stopped/, 'the refusal must say why');
    const nextDay = observeEquity(stopped.state, limits(), T0 + DAY, 2000);
    assert.equal(nextDay.flatten, false);
    assert.equal(decideEntry(nextDay.state, limits(), request({ nowMs: T0 + DAY, lastCandleCloseMs: T0 + DAY })).allowed, false, 'stop-entries must outlast the UTC day');
    assert.deepEqual(stopEntries(stopped.state, T0 + 1, 'again').events, [], 'a second stop-entries is not a second event');
    const resumed = resume(stopped.state, T0, 2000, 'oitrader bot resume');
    assert.equal(decideEntry(resumed.state, limits(), request()).allowed, true, 'resume releases stop-entries');
    const killedToo = stopEntries(kill(fresh(), T0, 'k').state, T0, 's');
    assert.equal(killedToo.flatten, true, 'stop-entries must not cancel the flatten a kill switch demands');
  });

  it('a risk state saved before stop-entries existed reads as entries allowed', () => {
    const { entriesStopped: _, ...old } = fresh();
    assert.equal(decideEntry(old, limits(), request()).allowed, true);
  });

  it('every rule step is pure: the input state is never changed', () => {
    const s = fresh();
    const copy = structuredClone(s);
    observeEquity(s, limits(), T0 + DAY, 1000);
    recordExchangeResult(s, limits({ circuitBreakerErrors: 1 }), T0, false);
    kill(s, T0, 'x');
    stopEntries(s, T0, 'x');
    resume(s, T0, 2000, 'x');
    decideEntry(s, limits(), request());
    assert.deepEqual(s, copy, 'a risk step mutated the caller’s state');
  });
});

describe('risk manager: config', () => {
  it('takes its limits from the trading section of config.yaml', () => {
    const l = riskLimitsFromConfig(parseConfig({ trading: { max_daily_loss: 0.05, stale_after_seconds: 30 } }).trading);
    assert.equal(l.maxDailyLoss, 0.05);
    assert.equal(l.staleAfterMs, 30_000, 'stale_after_seconds is seconds; the rule works in ms');
    assert.equal(l.riskPerTrade, 0.02);
    assert.equal(l.leverage, 5);
  });
});
