import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Frame } from '@oitrader/core';
import { DEFAULT_RISK_LIMITS, type EnterIntent, type Intent, type Strategy, type StrategyContext } from '@oitrader/trading';
import { runBacktest, type BacktestOptions } from '../engine/backtester.ts';
import { costAwareRule, costAwareSide, expectedEdge, geometricPayoffs, kellyExposure, labelPayoffs, standAsideReason, tripleBarrierPayoffs, type CostAwareParams, type ClassPayoffs } from './cost-aware-rule.ts';

const T0 = Date.UTC(2026, 0, 5);
const M5 = 300_000;
/** Symmetric label payoffs: a LONG row moved +1.2 % on average, a SHORT row −1.2 %, a NEUTRAL row 0. */
const PAYOFFS: ClassPayoffs = { mean: [-0.012, 0, 0.012], meanSquare: [0.0002, 0.00002, 0.0002] };
const BINANCE = { takerFeeRate: 0.0005, slippageRate: 0.0001 };
const base = { payoffs: PAYOFFS, costs: BINANCE, horizonBars: 48 };

function params(extra: Partial<CostAwareParams> = {}): CostAwareParams {
  return { ...base, hurdle: 0.0005, kellyFraction: 0.25, stopAtr: 6, takeProfitAtr: 0, atrPeriod: 14, ...extra };
}

/** A seeded pseudo-random stream (not market data): xorshift32. */
function stream(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/**
 * FIXTURE (generated, not market data): a random walk around 100 with a
 * 0.4 % range per bar, probabilities leaning long or short at random, and a
 * funding rate column.
 */
function fixture(n: number, seed: number, fundingRate = 0): Frame {
  const rand = stream(seed);
  const close = new Float64Array(n);
  const open = new Float64Array(n);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const pShort = new Float64Array(n);
  const pNeutral = new Float64Array(n);
  const pLong = new Float64Array(n);
  let price = 100;
  for (let i = 0; i < n; i++) {
    open[i] = price;
    price *= 1 + (rand() - 0.5) * 0.004;
    close[i] = price;
    high[i] = Math.max(open[i], close[i]) * 1.002;
    low[i] = Math.min(open[i], close[i]) * 0.998;
    const lean = (rand() - 0.5) * 0.5;
    pNeutral[i] = 0.3;
    pLong[i] = 0.35 + lean / 2;
    pShort[i] = 0.35 - lean / 2;
  }
  return new Frame('SOLUSDT', '5m', Float64Array.from({ length: n }, (_, i) => T0 + i * M5), {
    open, high, low, close, volume: new Float64Array(n).fill(1000), p_short: pShort, p_neutral: pNeutral, p_long: pLong, funding_rate: new Float64Array(n).fill(fundingRate),
  });
}

const managed: BacktestOptions = { takerFeeRate: BINANCE.takerFeeRate, halfSpreadBps: 1, impactBpsPer100k: 0, risk: { limits: DEFAULT_RISK_LIMITS, stopLoss: 0.02 } };

/** Calls onBar bar by bar on a context that can only read bars ≤ its index (as the backtester's), flat throughout. */
function decisions(strategy: Strategy, frame: Frame, upTo: number): Array<readonly Intent[] | undefined> {
  strategy.reset?.(frame);
  const out: Array<readonly Intent[] | undefined> = [];
  for (let index = 0; index < upTo; index++) {
    const ctx = {
      symbol: frame.symbol, frame, index, timeMs: frame.time[index], closeUsd: frame.column('close')[index], qtyBase: 0, leverage: 5,
      value: (column: string, barsAgo = 0) => {
        if (barsAgo < 0) throw new Error('look-ahead');
        return frame.column(column)[index - barsAgo];
      },
    } as unknown as StrategyContext;
    out.push(strategy.onBar(ctx));
  }
  return out;
}

describe('cost-aware decision rule: the arithmetic', () => {
  it('costs flip a marginal trade into no trade', () => {
    // p_long − p_short = 0.05 → expected move 0.05 × 1.2 % = 0.06 %: a trade without costs, none after 0.12 % round trip.
    const p = [0.3, 0.35, 0.35] as const;
    const free = expectedEdge(p, 0, { ...base, costs: { takerFeeRate: 0, slippageRate: 0 } }, M5);
    const paid = expectedEdge(p, 0, base, M5);
    assert.ok(Math.abs(free.grossMove - 0.0006) < 1e-12, `expected move ${free.grossMove}, want 0.06 %`);
    assert.equal(costAwareSide(free, 0.0005), 1, 'without costs a 0.06 % expected move clears a 0.05 % hurdle');
    assert.ok(Math.abs(paid.roundTripCost - 0.0012) < 1e-12, 'round trip = 2 × (0.05 % taker + 0.01 % slippage)');
    assert.equal(costAwareSide(paid, 0.0005), 0, 'after 0.12 % of fees and slippage the same lean is a loss: stand aside');
    assert.match(standAsideReason(paid, 0.0005), /stood aside: best expected net return −0\.06 % \(long\) < hurdle 0\.05 %/);
  });

  it('a higher fee never adds trades', () => {
    const frame = fixture(2000, 7);
    let previous = Infinity;
    for (const takerFeeRate of [0, 0.0002, 0.0005, 0.001, 0.002]) {
      const entries = decisions(costAwareRule(params({ costs: { takerFeeRate, slippageRate: 0.0001 } })), frame, frame.length).filter((d) => d?.[0]?.kind === 'enter').length;
      assert.ok(entries <= previous, `taker fee ${takerFeeRate} gave ${entries} entry signals, more than the lower fee's ${previous}`);
      previous = entries;
    }
    assert.equal(previous, 0, 'at 0.2 % a side no lean of this fixture pays for the round trip');
    const cheap = runBacktest(frame, costAwareRule(params({ costs: { takerFeeRate: 0.0002, slippageRate: 0.0001 } })), managed).trades.length;
    const dear = runBacktest(frame, costAwareRule(params({ costs: { takerFeeRate: 0.001, slippageRate: 0.0001 } })), managed).trades.length;
    assert.ok(cheap > dear, `backtest trades: fee 0.02 % → ${cheap}, fee 0.1 % → ${dear}; a dearer fee must trade less`);
  });

  it('the short side is the long side mirrored', () => {
    const long = expectedEdge([0.2, 0.3, 0.5], 0, base, M5);
    const short = expectedEdge([0.5, 0.3, 0.2], 0, base, M5);
    assert.ok(Math.abs(long.long - short.short) < 1e-15 && Math.abs(long.short - short.long) < 1e-15, 'mirrored probabilities give mirrored edges');
    assert.equal(costAwareSide(long, 0.0005), 1);
    assert.equal(costAwareSide(short, 0.0005), -1);
    assert.ok(Math.abs(long.variance - short.variance) < 1e-15, 'the same risk on either side');
  });

  it('positive funding costs a long and pays a short over the horizon; negative the reverse', () => {
    const p = [0.3, 0.3, 0.4] as const;
    const none = expectedEdge(p, 0, base, M5);
    const positive = expectedEdge(p, 0.0001, base, M5);
    const negative = expectedEdge(p, -0.0001, base, M5);
    // 48 bars of 5m = 4 h = half a funding interval: 0.5 × 0.01 %.
    assert.ok(Math.abs(positive.longFunding - 0.00005) < 1e-15, `a long over 4 h at +0.01 % per 8 h pays 0.005 %, got ${positive.longFunding}`);
    assert.ok(positive.long < none.long && positive.short > none.short, 'positive funding: longs pay shorts');
    assert.ok(negative.long > none.long && negative.short < none.short, 'negative funding: shorts pay longs');
    assert.equal(expectedEdge(p, Number.NaN, base, M5).long, none.long, 'an unknown rate counts as 0');
  });

  it('funding alone can flip a marginal long into standing aside', () => {
    const p = [0.25, 0.3, 0.45] as const; // move 0.24 %, net 0.12 % before funding
    assert.equal(costAwareSide(expectedEdge(p, 0, base, M5), 0.0005), 1);
    assert.equal(costAwareSide(expectedEdge(p, 0.002, base, M5), 0.0005), 0, 'at +0.2 % per 8 h the long pays 0.1 % over 4 h and its edge falls below the hurdle');
  });

  it('Kelly sizing grows with the edge, shrinks with variance and leverage, and is capped at the whole exposure', () => {
    assert.equal(kellyExposure(-0.001, 0.0002, 0.25, 5), 0);
    assert.ok(kellyExposure(0.002, 0.0002, 0.25, 5) > kellyExposure(0.001, 0.0002, 0.25, 5));
    assert.ok(kellyExposure(0.001, 0.0004, 0.25, 5) < kellyExposure(0.001, 0.0002, 0.25, 5));
    assert.ok(Math.abs(kellyExposure(0.001, 0.0002, 0.25, 5) - 0.25) < 1e-12, '¼ × 0.001 / 0.0002 = 1.25 × equity = 0.25 of 5x');
    assert.equal(kellyExposure(0.1, 0.0002, 1, 5), 1);
  });

  it('a triple-barrier label pays its barriers: +take-profit for LONG, −stop for SHORT, 0 at the time barrier', () => {
    const payoffs = tripleBarrierPayoffs({ takeProfit: 0.02, stopLoss: 0.01 });
    assert.deepEqual(payoffs.mean, [-0.01, 0, 0.02]);
    const edge = expectedEdge([0.3, 0.4, 0.3], 0, { ...base, payoffs }, M5);
    assert.ok(Math.abs(edge.grossMove - 0.003) < 1e-15, 'equal odds of a 2 % target and a 1 % stop: +0.3 % expected');
    assert.equal(costAwareSide(edge, 0.0005), 1, 'an asymmetric barrier pays a long at even odds after 0.12 % costs');
  });

  it('without known labels the payoffs are the label geometry: ± the threshold', () => {
    const frame = fixture(200, 3);
    assert.deepEqual(labelPayoffs(frame, { horizon: 48, threshold: 0.005 }, frame.time[0]), geometricPayoffs(0.005));
  });
});

describe('cost-aware decision rule: causality', () => {
  it('decides each bar from that bar and earlier: changing every later bar changes no earlier decision', () => {
    const frame = fixture(600, 11, 0.0001);
    const cut = 300;
    const scrambled = fixture(600, 99, -0.0003);
    // Same bars up to `cut`, different prices, probabilities and funding afterwards.
    const columns = Object.fromEntries(['open', 'high', 'low', 'close', 'volume', 'p_short', 'p_neutral', 'p_long', 'funding_rate'].map((c) => {
      const a = Float64Array.from(frame.column(c));
      a.set(scrambled.column(c).subarray(cut), cut);
      return [c, a];
    }));
    const other = new Frame(frame.symbol, frame.timeframe, frame.time, columns);
    const rule = params({ hurdle: 0 });
    const a = decisions(costAwareRule(rule), frame, cut);
    const b = decisions(costAwareRule(rule), other, cut);
    assert.ok(a.some((d) => d?.[0]?.kind === 'enter'), 'the fixture must give entries, or the comparison proves nothing');
    assert.deepEqual(b, a, 'a decision before the cut moved when bars after it changed: the rule reads the future');
  });

  it('through the backtester and the risk engine, positions and equity up to bar t are the same when the bars after t do not exist', () => {
    const frame = fixture(900, 13, 0.0001);
    const rule = () => costAwareRule(params({ hurdle: 0, horizonBars: 24 }));
    const full = runBacktest(frame, rule(), { ...managed, closeAtEnd: false });
    assert.ok(full.trades.length > 3, 'the fixture must trade, or the comparison proves nothing');
    for (const cut of [200, 550]) {
      const part = runBacktest(frame.slice(0, cut), rule(), { ...managed, closeAtEnd: false });
      for (let i = 0; i < cut; i++) {
        assert.equal(part.position[i], full.position[i], `position at bar ${i} depends on bars after ${cut}`);
        assert.equal(part.equity[i], full.equity[i], `equity at bar ${i} depends on bars after ${cut}`);
      }
    }
  });

  it('payoffs learn only from labels whose horizon had closed before the decision window', () => {
    const frame = fixture(800, 5);
    const labels = { horizon: 48, threshold: 0.002 };
    const knownBefore = frame.time[400];
    const changed = new Frame(frame.symbol, frame.timeframe, frame.time, { ...Object.fromEntries(['open', 'high', 'low', 'volume'].map((c) => [c, frame.column(c)])), close: Float64Array.from(frame.column('close'), (v, i) => (i >= 400 ? v * (1 + (i % 7) / 50) : v)) });
    // Decisions from the close of bar 399 on: row t's label is known when close[t + 48] is, so rows ≤ 351 (closes ≤ 399) only.
    assert.deepEqual(labelPayoffs(changed, labels, knownBefore), labelPayoffs(frame, labels, knownBefore), 'payoffs moved with closes the decision could not have seen');
  });
});

describe('cost-aware decision rule: trading', () => {
  it('holds to the label horizon, exits early only when the other side clears the hurdle', () => {
    const n = 200;
    const frame = fixture(n, 21);
    const pLong = Float64Array.from(frame.column('p_long'));
    const pShort = Float64Array.from(frame.column('p_short'));
    for (let i = 0; i < n; i++) [pLong[i], pShort[i]] = [0.35, 0.35];
    [pLong[30], pShort[30]] = [0.55, 0.15]; // a strong long at bar 30
    [pLong[40], pShort[40]] = [0.3, 0.4]; // a weak short lean at bar 40: inside the band, the long is held
    [pLong[100], pShort[100]] = [0.55, 0.15]; // a long at 100 …
    [pLong[110], pShort[110]] = [0.15, 0.55]; // … reversed at 110: the short clears the hurdle, exit
    const f = new Frame(frame.symbol, frame.timeframe, frame.time, { ...Object.fromEntries(['open', 'high', 'low', 'close', 'volume', 'p_neutral', 'funding_rate'].map((c) => [c, frame.column(c)])), p_long: pLong, p_short: pShort });
    const result = runBacktest(f, costAwareRule(params({ horizonBars: 20, stopAtr: 4 })), { ...managed, closeAtEnd: false });
    const entries = result.trades.map((t) => (t.entryTimeMs - T0) / M5);
    const exits = result.trades.map((t) => (t.exitTimeMs - T0) / M5);
    assert.deepEqual(entries.slice(0, 2), [31, 101], `entries at bars ${entries}: one per strong signal, filled at the next open`);
    assert.equal(exits[0], 51, 'the first long is held through the weak short lean to its 20-bar horizon (decided at the close of bar 50)');
    assert.equal(exits[1], 111, 'the second long exits when the short side clears the hurdle');
  });

  it('a lean that persists past the horizon rolls the position over instead of paying another round trip', () => {
    const n = 200;
    const frame = fixture(n, 21);
    const pLong = Float64Array.from({ length: n }, (_, i) => (i >= 30 && i < 100 ? 0.55 : 0.35));
    const pShort = Float64Array.from({ length: n }, (_, i) => (i >= 30 && i < 100 ? 0.15 : 0.35));
    const f = new Frame(frame.symbol, frame.timeframe, frame.time, { ...Object.fromEntries(['open', 'high', 'low', 'close', 'volume', 'p_neutral', 'funding_rate'].map((c) => [c, frame.column(c)])), p_long: pLong, p_short: pShort });
    const result = runBacktest(f, costAwareRule(params({ horizonBars: 20, stopAtr: 4 })), { ...managed, closeAtEnd: false });
    assert.equal(result.trades.length, 1, `a 70-bar lean with a 20-bar horizon made ${result.trades.length} trades: it paid fees to exit and re-enter the same side`);
    assert.equal((result.trades[0].entryTimeMs - T0) / M5, 31);
    assert.equal((result.trades[0].exitTimeMs - T0) / M5, 111, 'held until the first horizon after the lean ended (rolled at bars 50, 70, 90; exit decided at 110)');
  });

  it('the risk engine takes the Kelly size as an upper bound: a smaller Kelly fraction, smaller positions; risk_per_trade caps a large one', () => {
    const frame = fixture(400, 8);
    const qty = (kellyFraction: number) => runBacktest(frame, costAwareRule(params({ hurdle: 0, kellyFraction })), managed).trades.map((t) => t.qtyBase);
    const [small] = qty(0.05);
    const [large] = qty(1);
    const [capped] = runBacktest(frame, costAwareRule(params({ hurdle: 0, kellyFraction: 1 })), { ...managed, risk: { ...managed.risk!, limits: { ...DEFAULT_RISK_LIMITS, riskPerTrade: 0.005 } } }).trades.map((t) => t.qtyBase);
    assert.ok(small > 0 && small < large, `the first entry: Kelly 0.05 sized ${small}, Kelly 1 sized ${large}; a smaller fraction must trade smaller`);
    assert.ok(capped > 0 && capped < large, `risk_per_trade 0.5 % sized ${capped}, not below the Kelly-1 size ${large} under 2 %`);
  });

  it('sizes by fractional Kelly and passes a protective stop to the risk engine', () => {
    const frame = fixture(100, 4);
    const enters = decisions(costAwareRule(params({ hurdle: 0 })), frame, frame.length)
      .map((d) => d?.[0])
      .filter((i): i is EnterIntent => i?.kind === 'enter');
    assert.ok(enters.length > 0);
    for (const e of enters) {
      assert.ok(e.exposure !== undefined && e.exposure > 0 && e.exposure <= 1, `exposure ${e.exposure} outside (0, 1]`);
      assert.ok(e.stopUsd !== undefined && e.targetUsd === undefined, 'a stop, and no take-profit for a fixed-horizon label');
      assert.ok(e.score !== undefined && e.score >= 0, 'ranked by its expected net return');
    }
  });
});
