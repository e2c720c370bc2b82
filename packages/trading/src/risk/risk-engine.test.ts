import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '@oitrader/core';
import { bundledInstruments } from '../instrument/bundled-instruments.ts';
import type { InstrumentProvider } from '../instrument/instrument-provider.ts';
import type { LeverageBracket } from '../instrument/leverage-brackets.ts';
import { enter, exit, scaleIn, scaleOut, type Intent } from '../strategy/intent.ts';
import { refusal } from './refusal.ts';
import { RiskEngine, type PortfolioSnapshot, type PositionSnapshot, type Verdict } from './risk-engine.ts';
import { DEFAULT_RISK_LIMITS, riskLimitsFromConfig, type RiskLimits } from './risk-limits.ts';
import type { RiskRule } from './risk-rule.ts';
import { utcDayStartMs } from './risk-state.ts';
import { DEFAULT_RULES } from './rules/index.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const limits = (overrides: Partial<RiskLimits> = {}): RiskLimits => ({ ...DEFAULT_RISK_LIMITS, ...overrides });
const engineWith = (l: RiskLimits = limits(), instruments: InstrumentProvider = bundledInstruments(), rules?: RiskRule[]) => new RiskEngine({ limits: l, instruments, stopLoss: 0.02, feeRate: 0, rules });
const flatBook = (equityUsd = 2000, availableUsd = equityUsd, positions: PositionSnapshot[] = []): PortfolioSnapshot => ({ equityUsd, availableUsd, positions });

interface Entry {
  symbol?: string;
  side?: 'long' | 'short';
  entryPriceUsd?: number;
  stopPriceUsd?: number;
  equityUsd?: number;
  availableUsd?: number;
  /** Age of the newest closed candle at the decision (ms). */
  ageMs?: number;
  nowMs?: number;
  dataHealthy?: boolean;
}

/** Would the engine enter? A SOLUSDT long at 100 with a 2% stop, $2,000 equity, a candle that closed 10 s ago. */
function entry(e: RiskEngine, o: Entry = {}): Verdict {
  const nowMs = o.nowMs ?? T0;
  const price = o.entryPriceUsd ?? 100;
  const side = o.side ?? 'long';
  return e.check(nowMs, flatBook(o.equityUsd ?? 2000, o.availableUsd ?? o.equityUsd ?? 2000), { symbol: o.symbol ?? 'SOLUSDT', timeMs: nowMs - 310_000, closeUsd: price, lastCandleCloseMs: nowMs - (o.ageMs ?? 10_000), dataHealthy: o.dataHealthy ?? true }, enter(side, { stopUsd: o.stopPriceUsd ?? 98 }));
}

describe('risk engine: sizing', () => {
  it('sizes so that a fill at the stop loses risk_per_trade of equity', () => {
    const d = entry(engineWith());
    assert.equal(d.allowed, true, d.refusal?.message);
    // 2% of 2000 = 40 USDT at risk over a 2 USDT stop distance = 20 SOL.
    assert.equal(d.qtyBase, 20, `a 2% risk over a 2 USDT stop should buy 20 SOL, got ${d.qtyBase}`);
    assert.equal(entry(engineWith(), { side: 'short', stopPriceUsd: 104 }).qtyBase, 10, 'a short with a 4 USDT stop risks the same 40 USDT: 10 SOL');
  });

  it('rounds the size DOWN to the symbol step, never risking more than asked', () => {
    const d = entry(engineWith(), { stopPriceUsd: 97 });
    assert.equal(d.qtyBase, 13, `40 / 3 = 13.33 SOL must round down to 13, got ${d.qtyBase}`);
  });

  it('refuses a size under LOT_SIZE minQty instead of sending it', () => {
    const d = entry(engineWith(), { stopPriceUsd: 50 });
    assert.equal(d.allowed, false, 'an order under the minimum quantity would be rejected by Binance');
    assert.equal(d.refusal?.code, 'exchange_filters');
    assert.match(d.refusal!.message, /minimum/);
  });

  it('refuses a size under MIN_NOTIONAL instead of sending it', () => {
    // BTCUSDT: 1% of 100 USDT over a 1000 USDT stop = 0.001 BTC = 50 USDT notional < 100 USDT.
    const d = entry(engineWith(limits({ riskPerTrade: 0.01 })), { symbol: 'BTCUSDT', entryPriceUsd: 50_000, stopPriceUsd: 49_000, equityUsd: 100 });
    assert.equal(d.allowed, false, 'a 50 USDT BTC order is below MIN_NOTIONAL and must not be sent');
    assert.match(d.refusal!.message, /notional/);
  });

  it('refuses a stop on the winning side of the entry', () => {
    assert.equal(entry(engineWith(), { stopPriceUsd: 101 }).refusal?.code, 'invalid_stop', 'a long with its stop above the entry has no risk bound');
    assert.equal(entry(engineWith(), { side: 'short', stopPriceUsd: 99 }).refusal?.code, 'invalid_stop', 'a short with its stop below the entry has no risk bound');
  });

  it('an entry without a stop gets trading.stop_loss from the price, on the tick', () => {
    const e = engineWith();
    const v = e.check(T0, flatBook(), { symbol: 'SOLUSDT', timeMs: T0 - 310_000, closeUsd: 123.456, lastCandleCloseMs: T0 }, enter('long'));
    assert.equal(v.proposal?.stopPriceUsd, 120.99, '2% under 123.456, to the 0.01 tick');
  });
});

describe('risk engine: leverage', () => {
  it('caps notional at equity × trading.leverage when the stop is tight', () => {
    const d = entry(engineWith(), { stopPriceUsd: 99.9 });
    assert.equal(d.allowed, true, d.refusal?.message);
    assert.ok(d.qtyBase * 100 <= 2000 * 5, `notional ${d.qtyBase * 100} USDT exceeds 5x of 2000 USDT`);
    assert.equal(d.proposal?.leverage, 5);
  });

  it('caps notional by the available margin', () => {
    const d = entry(engineWith(), { stopPriceUsd: 99.9, availableUsd: 300 });
    assert.ok(d.qtyBase * 100 <= 300 * 5, `notional ${d.qtyBase * 100} USDT needs more than the 300 USDT available at 5x`);
  });

  it('keeps the position within what the exchange allows at the account\'s leverage (the cap of the brackets allowing it; -2027 beyond)', () => {
    const brackets: LeverageBracket[] = [
      { initialLeverage: 10, notionalFloorUsd: 0, notionalCapUsd: 1000, maintMarginRatio: 0.01, cumUsd: 0 },
      { initialLeverage: 2, notionalFloorUsd: 1000, notionalCapUsd: 1e12, maintMarginRatio: 0.05, cumUsd: 40 },
    ];
    const instruments = bundledInstruments().with({ ...bundledInstruments().instrument('SOLUSDT'), brackets });
    const at10 = entry(engineWith(limits({ leverage: 10, minLiquidationDistance: 1 }), instruments), { stopPriceUsd: 99.9 });
    assert.equal(at10.allowed, true, at10.refusal?.message);
    assert.ok(at10.qtyBase * 100 <= 1000, `at 10x the exchange allows 1,000 USDT of position, sized ${at10.qtyBase * 100}`);
    const at2 = entry(engineWith(limits({ leverage: 2, minLiquidationDistance: 1 }), instruments), { stopPriceUsd: 99.9 });
    assert.ok(at2.qtyBase * 100 > 1000 && at2.qtyBase * 100 <= 2000 * 2, `at 2x the bracket no longer binds, equity × 2 does: ${at2.qtyBase * 100}`);
    const tooHigh = entry(engineWith(limits({ leverage: 20 }), instruments), { stopPriceUsd: 99.9 });
    assert.equal(tooHigh.refusal?.code, 'no_margin', 'no bracket allows 20x: nothing can be opened');
  });

  it('refuses when the liquidation price is not far enough beyond the stop', () => {
    // At 20x the liquidation is ~4.4% away; a 4% stop is only ~1.1 stop distances from it.
    const tooClose = entry(engineWith(limits({ leverage: 20 })), { stopPriceUsd: 96 });
    assert.equal(tooClose.refusal?.code, 'liquidation_distance', 'a 20x position liquidates right behind its stop: the stop may not save it');
    const safe = entry(engineWith(limits({ leverage: 5 })), { stopPriceUsd: 96 });
    assert.equal(safe.allowed, true, `at 5x the liquidation (~19.5%) is far beyond a 4% stop: ${safe.refusal?.message}`);
    assert.ok(safe.proposal!.liquidationPriceUsd < 96, 'a long liquidates below its stop');
  });
});

describe('risk engine: daily loss', () => {
  it('fires at max_daily_loss of the UTC-day start equity, flattens and halts entries until the next UTC day', () => {
    const e = engineWith();
    e.mark(T0, 2000);
    assert.equal(e.mark(T0 + 60_000, 1941), false, 'a 2.95% loss is inside the 3% limit');
    e.events.length = 0;
    assert.equal(e.mark(T0 + 120_000, 1940), true, 'a 3% loss (realised + unrealised) must flatten the book');
    assert.deepEqual(e.events.map((x) => x.kind), ['daily_loss']);
    assert.equal(e.tradingState(T0 + 120_000), 'REDUCING');
    const later = T0 + 3_600_000;
    assert.equal(entry(e, { nowMs: later }).refusal?.code, 'daily_loss', 'no new entries after the daily limit fired');
    assert.equal(e.mark(later, 2100), true, 'equity recovering the same day does not lift the halt');
    const nextDay = utcDayStartMs(T0) + DAY + 60_000;
    assert.equal(e.mark(nextDay, 1940), false);
    assert.equal(e.state!.dayStartEquityUsd, 1940, 'the new UTC day starts from the equity at its first mark');
    assert.equal(entry(e, { nowMs: nextDay, equityUsd: 1940 }).allowed, true, 'entries resume on the next UTC day');
    assert.equal(e.tradingState(nextDay), 'ACTIVE');
  });

  it('measures the loss from the start of the UTC day, not from the bot start', () => {
    const e = engineWith();
    e.mark(T0, 2000); // 10:00 UTC
    const nextDay = utcDayStartMs(T0) + DAY;
    e.mark(nextDay + 1000, 1900); // the day started at 1900
    assert.equal(e.mark(nextDay + 2000, 1850), false, 'a 2.6% loss on the day must not fire even though equity is 7.5% below the start');
  });
});

describe('risk engine: max drawdown', () => {
  it('halts and flattens at max_drawdown below the peak until resume', () => {
    const e = engineWith(limits({ maxDailyLoss: 0.5 }));
    e.mark(T0, 2000);
    e.mark(T0 + 1, 2500);
    assert.equal(e.state!.peakEquityUsd, 2500);
    assert.equal(e.mark(T0 + DAY, 2200), false, 'a 12% drawdown is inside the 15% limit');
    e.events.length = 0;
    assert.equal(e.mark(T0 + DAY + 1, 2125), true, 'a 15% drawdown from the 2500 peak must flatten');
    assert.deepEqual(e.events.map((x) => x.kind), ['drawdown']);
    assert.equal(e.tradingState(T0 + DAY + 1), 'HALTED');
    const weekLater = T0 + 7 * DAY;
    e.mark(weekLater, 2125);
    assert.equal(entry(e, { nowMs: weekLater, equityUsd: 2125 }).refusal?.code, 'max_drawdown', 'the drawdown halt outlasts the UTC day');
    e.resume(weekLater, 2125, 'operator');
    assert.equal(entry(e, { nowMs: weekLater, equityUsd: 2125 }).allowed, true, 'resume clears the drawdown halt');
    assert.equal(e.mark(weekLater + 1, 2125), false, 'resume re-bases the peak so the stop does not fire again at once');
  });
});

describe('risk engine: data, errors and the kill switch', () => {
  it('refuses entries on stale or unhealthy data', () => {
    const stale = entry(engineWith(limits({ staleAfterMs: 120_000 })), { ageMs: 200_000 });
    assert.equal(stale.refusal?.code, 'stale_data', 'a candle 200 s old is stale: the decision would trade on old prices');
    assert.equal(entry(engineWith(), { dataHealthy: false }).refusal?.code, 'data_unhealthy', 'an unhealthy collector must veto entries');
    assert.equal(entry(engineWith()).allowed, true);
  });

  it('opens the circuit breaker after repeated exchange errors and closes it after the cooldown', () => {
    const e = engineWith(limits({ circuitBreakerErrors: 3, circuitBreakerCooldownMs: 600_000 }));
    for (let i = 0; i < 2; i++) e.exchangeResult(T0, 2000, false, 'timeout');
    e.exchangeResult(T0, 2000, true);
    for (let i = 0; i < 2; i++) e.exchangeResult(T0, 2000, false, 'timeout');
    assert.equal(entry(e).allowed, true, 'a success between errors resets the count: 2 + 2 is not 3 in a row');
    e.exchangeResult(T0, 2000, false, 'HTTP 503');
    assert.deepEqual(e.events.map((x) => x.kind), ['circuit_breaker']);
    assert.equal(entry(e).refusal?.code, 'circuit_breaker', '3 errors in a row must stop new entries');
    assert.equal(entry(e, { nowMs: T0 + 600_001 }).allowed, true, 'the breaker closes after its cooldown');
  });

  it('the kill switch refuses entries and demands a flat book until resume', () => {
    const e = engineWith();
    e.kill(T0, 2000, 'oitrader bot kill');
    assert.equal(e.flattening, true, 'kill must flatten');
    assert.equal(e.events[0].why, 'oitrader bot kill', 'the command keeps its own words apart from the message');
    assert.equal(entry(e).refusal?.code, 'kill_switch', 'no entries while killed');
    assert.equal(e.mark(T0 + DAY, 2000), true, 'the kill outlasts the UTC day');
    e.resume(T0 + DAY, 2000, 'oitrader bot resume');
    assert.equal(e.flattening, false);
    assert.equal(entry(e, { nowMs: T0 + DAY }).allowed, true, 'resume lifts the kill switch');
  });

  it('stop-entries refuses new entries but never demands a flat book, and only resume releases it', () => {
    const e = engineWith();
    e.stopEntries(T0, 2000, 'oitrader bot stop-entries');
    assert.deepEqual(e.events.map((x) => x.kind), ['stop_entries']);
    assert.equal(e.mark(T0, 2000), false, 'stop-entries must keep the open position (its stop and exits stay), not flatten it');
    assert.equal(e.tradingState(T0), 'REDUCING');
    const refused = entry(e);
    assert.equal(refused.refusal?.code, 'entries_stopped');
    assert.match(refused.refusal!.message, /entries stopped/, 'the refusal must say why');
    assert.equal(e.mark(T0 + DAY, 2000), false);
    assert.equal(entry(e, { nowMs: T0 + DAY }).allowed, false, 'stop-entries must outlast the UTC day');
    e.events.length = 0;
    e.stopEntries(T0 + 1, 2000, 'again');
    assert.deepEqual(e.events, [], 'a second stop-entries is not a second event');
    e.resume(T0 + DAY, 2000, 'oitrader bot resume');
    assert.equal(entry(e, { nowMs: T0 + DAY }).allowed, true, 'resume releases stop-entries');
    const both = engineWith();
    both.kill(T0, 2000, 'k');
    both.stopEntries(T0, 2000, 's');
    assert.equal(both.mark(T0, 2000), true, 'stop-entries must not cancel the flatten a kill switch demands');
  });

  it('a snapshot restored into a fresh engine decides exactly as the original (the bot persists it every step)', () => {
    const e = engineWith();
    e.mark(T0, 2000);
    e.stopEntries(T0, 2000, 'x');
    e.exchangeResult(T0, 2000, false, 'timeout');
    const copy = engineWith();
    copy.restore(e.snapshot());
    assert.deepEqual(entry(copy), entry(e));
    assert.deepEqual(copy.snapshot(), e.snapshot());
    copy.resume(T0, 2000, 'x');
    assert.equal(entry(e).allowed, false, 'a restored copy shares no state with its original');
  });
});

describe('risk engine: decisions over intents', () => {
  const step = (symbol: string, intents: Intent[], closeUsd = 100, at = T0) => ({ symbol, timeMs: at - 300_000, closeUsd, intents, lastCandleCloseMs: at });
  const long = (symbol: string, qtyBase: number, markUsd = 100): PositionSnapshot => ({ symbol, qtyBase, entryPriceUsd: markUsd, marginUsd: (qtyBase * markUsd) / 5, markUsd });

  it('an entry comes out as a market order with its stop (and target) on the exchange, sized by the rules', () => {
    const e = engineWith();
    e.mark(T0, 2000);
    const [d] = e.decide(T0, flatBook(), [step('SOLUSDT', [enter('long', { stopUsd: 98, targetUsd: 106 })])]);
    assert.equal(d.action, 'enter');
    assert.equal(d.allowed, true);
    assert.deepEqual(d.orders, [
      { type: 'market', side: 'buy', qtyBase: 20 },
      { type: 'stop', side: 'sell', qtyBase: 20, triggerUsd: 98, reduceOnly: true, tag: 'stop' },
      { type: 'take_profit', side: 'sell', qtyBase: 20, triggerUsd: 106, reduceOnly: true, tag: 'target' },
    ]);
    assert.equal(e.book('SOLUSDT').stopUsd, 98);
  });

  it('exits and flips always pass; a flip closes now and leaves the new entry to a later bar', () => {
    const e = engineWith();
    e.stopEntries(T0, 2000, 'x');
    e.mark(T0, 2000);
    const [flip] = e.decide(T0, flatBook(2000, 1600, [long('SOLUSDT', 20)]), [step('SOLUSDT', [enter('short')])]);
    assert.equal(flip.action, 'exit');
    assert.deepEqual(flip.orders, [{ type: 'market', side: 'sell', qtyBase: 20, reduceOnly: true }], 'a flip must close first (the old stop must be gone before a new position exists), even while entries are stopped');
    const [again] = e.decide(T0 + 300_000, flatBook(), [step('SOLUSDT', [])]);
    assert.equal(again.orders.length, 0, 'no intent, no order: a refused or pending entry is never carried to a later bar');
  });

  it('a halt that demands a flat book closes every position whatever the strategy says, and names itself on the fill', () => {
    const e = engineWith();
    e.mark(T0, 2000);
    e.kill(T0, 2000, 'test');
    const decisions = e.decide(T0, flatBook(2000, 1000, [long('SOLUSDT', 20), long('ETHUSDT', 1, 3000)]), [step('SOLUSDT', [enter('long')]), step('ETHUSDT', [], 3000), step('BTCUSDT', [enter('long')], 60_000)]);
    assert.deepEqual(decisions.map((d) => d.action), ['flatten', 'flatten', 'hold']);
    assert.deepEqual(decisions[0].orders, [{ type: 'market', side: 'sell', qtyBase: 20, reduceOnly: true, reason: 'kill' }]);
    assert.equal(decisions[2].allowed, false, 'no entry while halted');
  });

  it('scale-in adds a risk-scaled unit and moves the whole position\'s stop; scale-out closes a fraction on the step; max_scale_ins is a hard ceiling', () => {
    const e = engineWith(limits({ maxScaleIns: 1 }));
    e.mark(T0, 2000);
    e.decide(T0, flatBook(), [step('SOLUSDT', [enter('long', { stopUsd: 98 })])]);
    const held = flatBook(2000, 1600, [long('SOLUSDT', 20)]);
    const [add] = e.decide(T0 + 300_000, held, [step('SOLUSDT', [scaleIn(0.5, { stopUsd: 99 })], 100, T0 + 300_000)]);
    assert.equal(add.allowed, true, add.reason);
    assert.equal(add.qtyBase, 20, 'half the risk (20 USDT) over a 1 USDT stop = 20 SOL');
    assert.deepEqual(add.cancelTags, ['stop'], 'the old stop goes');
    assert.deepEqual(add.orders[1], { type: 'stop', side: 'sell', qtyBase: 40, triggerUsd: 99, reduceOnly: true, tag: 'stop' }, 'one stop for the whole position');
    const [second] = e.decide(T0 + 600_000, flatBook(2000, 1200, [long('SOLUSDT', 40)]), [step('SOLUSDT', [scaleIn(0.5, { stopUsd: 99 })], 100, T0 + 600_000)]);
    assert.equal(second.code, 'max_scale_ins');
    const [out] = e.decide(T0 + 900_000, flatBook(2000, 1200, [long('SOLUSDT', 41)]), [step('SOLUSDT', [scaleOut(0.5)], 100, T0 + 900_000)]);
    assert.deepEqual(out.orders, [{ type: 'market', side: 'sell', qtyBase: 20, reduceOnly: true }], 'half of 41 SOL rounds down to 20');
    const [nothing] = e.decide(T0, flatBook(), [step('SOLUSDT', [exit()])]);
    assert.equal(nothing.orders.length, 0, 'no position, nothing to exit');
  });
});

describe('risk engine: one budget over several instruments', () => {
  const step = (symbol: string, intents: Intent[], closeUsd: number, at = T0) => ({ symbol, timeMs: at - 300_000, closeUsd, intents, lastCandleCloseMs: at });

  it('when the budget allows one position and two instruments signal at once, the higher score enters and the other is refused with its typed reason', () => {
    const e = engineWith(limits({ maxOpenPositions: 1 }));
    e.mark(T0, 2000);
    const [sol, btc] = e.decide(T0, flatBook(), [step('SOLUSDT', [enter('long', { score: 0.1 })], 100), step('BTCUSDT', [enter('long', { score: 0.4 })], 60_000)]);
    assert.equal(btc.allowed, true, `BTC ranks first: ${btc.reason}`);
    assert.equal(sol.allowed, false);
    assert.equal(sol.code, 'max_open_positions');
    assert.deepEqual(sol.orders, []);
  });

  it('entries of one step share the available margin, the gross exposure and the risk budget in rank order', () => {
    const e = engineWith(limits({ maxTotalRisk: 0.03, maxOpenPositions: 5 }));
    e.mark(T0, 2000);
    const [a, b, c] = e.decide(T0, flatBook(), [step('SOLUSDT', [enter('long')], 100), step('ETHUSDT', [enter('long')], 3000), step('XRPUSDT', [enter('long')], 2)]);
    assert.equal(a.allowed, true);
    assert.ok(b.allowed && b.qtyBase * 3000 * 0.02 <= 20.0001, `ETH gets what is left of 60 USDT of risk after SOL's 40: ${b.qtyBase}`);
    assert.equal(c.allowed, false, 'the third gets at most the rounding left over');
    assert.ok(c.code === 'max_total_risk' || c.code === 'exchange_filters', `refused as ${c.code}`);
    const full = engineWith(limits({ maxTotalRisk: 0.02, maxOpenPositions: 5 }));
    full.mark(T0, 2000);
    const [, eth] = full.decide(T0, flatBook(), [step('SOLUSDT', [enter('long')], 100), step('ETHUSDT', [enter('long')], 3000)]);
    assert.equal(eth.code, 'max_total_risk', 'SOL took the whole 40 USDT budget');
  });

  it('an instrument may hold at most its share of the risk budget', () => {
    const e = engineWith(limits({ maxTotalRisk: 0.04, maxInstrumentRiskShare: 0.25 }));
    e.mark(T0, 2000);
    const v = entry(e);
    assert.ok(v.allowed && v.qtyBase === 10, `25% of a 80 USDT budget = 20 USDT over a 2 USDT stop = 10 SOL, got ${v.qtyBase}`);
  });

  it('gross exposure across positions is capped at max_gross_exposure × equity', () => {
    const e = engineWith(limits({ maxGrossExposure: 2 }));
    e.mark(T0, 2000);
    const busy = flatBook(2000, 1400, [{ symbol: 'BTCUSDT', qtyBase: 0.05, entryPriceUsd: 60_000, marginUsd: 600, markUsd: 60_000 }]);
    const v = e.check(T0, busy, { symbol: 'SOLUSDT', timeMs: T0, closeUsd: 100, lastCandleCloseMs: T0 }, enter('long', { stopUsd: 99.5 }));
    assert.ok(v.allowed && v.qtyBase * 100 <= 1000 + 1e-6, `4,000 of gross room minus 3,000 held leaves 1,000 USDT, got ${v.qtyBase * 100}`);
  });

  it('after a stop-out the instrument cools down for cooldown_after_stop_minutes', () => {
    const e = engineWith(limits({ cooldownAfterStopMs: 3_600_000 }));
    e.mark(T0, 2000);
    e.decide(T0, flatBook(2000, 1600, [{ symbol: 'SOLUSDT', qtyBase: 20, entryPriceUsd: 100, marginUsd: 400, markUsd: 100 }]), [step('SOLUSDT', [], 100)]);
    const [d] = e.decide(T0 + 300_000, flatBook(), [{ ...step('SOLUSDT', [enter('long')], 100, T0 + 300_000), stoppedOut: true }]);
    assert.equal(d.code, 'cooldown');
    assert.equal(entry(e, { nowMs: T0 + 300_000 + 3_600_000 }).allowed, true, 'the cooldown ends');
  });
});

describe('risk engine: adding a rule is one file', () => {
  it('a rule in the list refuses with its own code and no other code changes', () => {
    const noShorts: RiskRule = { name: 'no-shorts', scope: 'instrument', entry: (p) => (p.side === 'short' ? refusal('invalid_stop', 'this account does not short') : p) };
    const e = engineWith(limits(), bundledInstruments(), [...DEFAULT_RULES, noShorts]);
    assert.equal(entry(e).allowed, true);
    assert.equal(entry(e, { side: 'short', stopPriceUsd: 102 }).refusal?.message, 'this account does not short');
  });
});

describe('risk engine: config', () => {
  it('takes its limits from the trading section of config.yaml', () => {
    const l = riskLimitsFromConfig(parseConfig({ trading: { max_daily_loss: 0.05, stale_after_seconds: 30 } }).trading);
    assert.equal(l.maxDailyLoss, 0.05);
    assert.equal(l.staleAfterMs, 30_000, 'stale_after_seconds is seconds; the rule works in ms');
    assert.equal(l.riskPerTrade, 0.02);
    assert.equal(l.leverage, 5);
    assert.equal(l.maxGrossExposure, 5, 'max_gross_exposure defaults to trading.leverage');
    assert.equal(riskLimitsFromConfig(parseConfig({ trading: { leverage: 3, cooldown_after_stop_minutes: 30 } }).trading).cooldownAfterStopMs, 1_800_000);
  });
});

describe('risk engine: forced entries', () => {
  const step = (intents: Intent[], nowMs = T0) => ({ symbol: 'SOLUSDT', timeMs: nowMs - 300_000, closeUsd: 100, intents, lastCandleCloseMs: nowMs - 10_000, dataHealthy: true });
  const held: PositionSnapshot = { symbol: 'SOLUSDT', qtyBase: 10, entryPriceUsd: 100, marginUsd: 200, markUsd: 100 };

  it('enters in place of the strategy, sized and stopped like any entry, and says it was forced', () => {
    const e = engineWith();
    e.mark(T0, 2000);
    e.requestEntry(T0, 'SOLUSDT', 'short', 'dashboard');
    const [d] = e.decide(T0, flatBook(), [step([])]);
    assert.equal(d.action, 'enter');
    assert.equal(d.side, 'short');
    assert.equal(d.allowed, true);
    assert.match(d.reason, /^force entry \(dashboard\): ok/);
    assert.ok(d.orders.some((o) => o.type === 'stop' && o.reduceOnly), 'a forced entry gets its exchange-side stop');
    assert.equal(e.decide(T0 + 300_000, flatBook(), [step([], T0 + 300_000)])[0].action, 'hold', 'the request is used once');
  });

  it('on a held symbol it is refused and the strategy\'s own exit still goes out', () => {
    const e = engineWith();
    e.mark(T0, 2000);
    e.requestEntry(T0, 'SOLUSDT', 'short', 'telegram');
    const [d] = e.decide(T0, flatBook(2000, 1800, [held]), [step([exit()])]);
    assert.equal(d.action, 'exit', 'the forced request must not swallow the strategy\'s exit');
    assert.equal(d.orders.length, 1);
    assert.match(d.reason, /force entry \(telegram\) refused: SOLUSDT already has a position/);
    e.requestEntry(T0, 'SOLUSDT', 'long', 'telegram');
    const [h] = e.decide(T0, flatBook(2000, 1800, [held]), [step([])]);
    assert.equal(h.allowed, false);
    assert.equal(h.code, 'no_position');
    assert.deepEqual(h.orders, [], 'never stacked');
  });
});
