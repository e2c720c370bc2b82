import { OitraderError, timeframeMs, type Frame } from '@oitrader/core';
import { enter, exit, type Intent, type Strategy, type StrategyContext } from '@oitrader/trading';

const NONE: readonly Intent[] = [];
const LONG: readonly Intent[] = Object.freeze([enter('long', { exposure: 1 })]);
const SHORT: readonly Intent[] = Object.freeze([enter('short', { exposure: 1 })]);
const FLAT: readonly Intent[] = Object.freeze([exit()]);

/** The intent that moves the position toward `target` (−1 short, 0 flat, +1 long) at full exposure. */
function toward(target: number): readonly Intent[] {
  return target > 0 ? LONG : target < 0 ? SHORT : FLAT;
}

/** Goes long on the first bar and holds: at full exposure, or at `exposure` of equity × leverage (1/N each: an equal-weight portfolio). */
export function buyAndHold(exposure = 1): Strategy {
  const intents: readonly Intent[] = exposure === 1 ? LONG : Object.freeze([enter('long', { exposure })]);
  return {
    name: exposure === 1 ? 'buy-and-hold' : `buy-and-hold ${(exposure * 100).toFixed(0)}%`,
    onBar: (ctx) => (ctx.qtyBase === 0 && ctx.index === 0 ? intents : NONE),
  };
}

/** Never trades: the zero line every model must beat after costs. */
export function flat(): Strategy {
  return { name: 'flat', onBar: () => NONE };
}

/** Each bar, with probability `tradeProbability`, picks long, short or flat at random (seeded). */
export function randomStrategy(seed = 1, tradeProbability = 0.02): Strategy {
  let state = seed;
  const random = () => ((state = (state * 16807) % 2147483647) / 2147483647);
  return {
    name: `random(seed=${seed})`,
    reset: () => (state = seed),
    onBar: () => (random() < tradeProbability ? toward([-1, 0, 1][Math.floor(random() * 3)]) : NONE),
  };
}

/**
 * The classic open-interest reading: OI rising with price = new longs (go
 * long); OI rising while price falls = new shorts (go short); OI falling =
 * positions closing (flat). Changes over `lookback` bars; needs an
 * open_interest column (NaN → flat).
 */
export function oiTrend(lookback = 12, threshold = 0.002): Strategy {
  return {
    name: `oi-trend(${lookback})`,
    reset: (frame) => {
      if (!frame.has('open_interest')) throw new OitraderError('oi-trend needs an open_interest column', { hint: 'load the frame with MarketDataLoader.loadAllData' });
    },
    onBar: (ctx: StrategyContext) => {
      const oiChange = ctx.value('open_interest') / ctx.value('open_interest', lookback) - 1;
      const priceChange = ctx.value('close') / ctx.value('close', lookback) - 1;
      let target = 0;
      if (oiChange > threshold && priceChange > threshold) target = 1;
      else if (oiChange > threshold && priceChange < -threshold) target = -1;
      else if (!Number.isFinite(oiChange)) target = 0;
      return target === Math.sign(ctx.qtyBase) ? NONE : toward(target);
    },
  };
}

/** A price-only trend baseline for symbols without open interest: long above the SMA, short below. */
export function smaTrend(period = 48): Strategy {
  let sum = 0;
  return {
    name: `sma-trend(${period})`,
    reset: () => (sum = 0),
    onBar: (ctx) => {
      sum += ctx.value('close');
      if (ctx.index >= period) sum -= ctx.value('close', period);
      if (ctx.index < period - 1) return NONE;
      const target = ctx.closeUsd > sum / period ? 1 : -1;
      return target === Math.sign(ctx.qtyBase) ? NONE : toward(target);
    },
  };
}

/** Enters `side` when flat and holds `holdBars` (the risk engine's stop may end it sooner): the low-turnover shape of the two rules below. */
function holdFor(holdBars: () => number, decide: (ctx: StrategyContext) => -1 | 0 | 1): Pick<Strategy, 'onBar'> & { restart(): void } {
  let entered = -1;
  return {
    restart: () => (entered = -1),
    onBar: (ctx) => {
      if (ctx.qtyBase !== 0) {
        if (entered < 0) entered = ctx.index;
        return ctx.index - entered >= holdBars() - 1 ? ((entered = -1), FLAT) : NONE;
      }
      entered = -1;
      const side = decide(ctx);
      return side === 0 ? NONE : toward(side);
    },
  };
}

/**
 * Price against open interest, held to a horizon (low turnover, unlike
 * oi-trend): a rise of more than `threshold` over `lookback` bars while open
 * interest falls is shorts covering, not new buyers — go short; a fall while
 * open interest falls is longs being flushed out — go long. Held `holdHours`
 * (the label horizon's scale), then flat. Needs open_interest (NaN → no entry).
 */
export function oiDivergence(lookback = 24, threshold = 0.01, holdHours = 4): Strategy {
  let bars = 1;
  const rule = holdFor(
    () => bars,
    (ctx) => {
      const price = ctx.value('close') / ctx.value('close', lookback) - 1;
      const oi = ctx.value('open_interest') / ctx.value('open_interest', lookback) - 1;
      if (!Number.isFinite(price) || !Number.isFinite(oi) || oi > -threshold / 2) return 0;
      return price > threshold ? -1 : price < -threshold ? 1 : 0;
    },
  );
  return {
    name: `oi-divergence(${lookback}, hold ${holdHours}h)`,
    reset: (frame) => {
      if (!frame.has('open_interest')) throw new OitraderError('oi-divergence needs an open_interest column', { hint: 'load the frame with MarketDataLoader.loadAllData' });
      bars = Math.max(1, Math.round((holdHours * 3_600_000) / timeframeMs(frame.timeframe)));
      rule.restart();
    },
    onBar: rule.onBar,
  };
}

/**
 * Funding carry: when the last settled funding rate is extreme, take the side
 * that is paid it — short above `threshold` (longs pay shorts), long below
 * −`threshold` — and hold one funding interval (8 h) at a time. A one-symbol
 * rule; `fundingCarryCrossSection` is the portfolio version. Without
 * funding_rate (or NaN) it stands aside.
 */
export function fundingCarry(threshold = 0.0003, holdHours = 8): Strategy {
  let bars = 1;
  let known = true;
  const rule = holdFor(
    () => bars,
    (ctx) => {
      if (!known) return 0;
      const rate = ctx.value('funding_rate');
      return !Number.isFinite(rate) ? 0 : rate > threshold ? -1 : rate < -threshold ? 1 : 0;
    },
  );
  return {
    name: `funding-carry(${(threshold * 100).toFixed(3)}%)`,
    reset: (frame) => {
      // Without funding data it stands aside (it is compared in every backtest, also on data without funding).
      known = frame.has('funding_rate');
      bars = Math.max(1, Math.round((holdHours * 3_600_000) / timeframeMs(frame.timeframe)));
      rule.restart();
    },
    onBar: rule.onBar,
  };
}

export interface CrossSectionCarryOptions {
  /** Trade only when the highest and lowest settled rate differ by more than this (per funding interval). Default 0.01%. */
  spread?: number;
  /** Rebalance at each UTC multiple of this many hours (Binance settles funding at 00:00, 08:00, 16:00). Default 8. */
  holdHours?: number;
}

/**
 * Cross-sectional funding carry, a portfolio baseline: at each funding
 * boundary (00/08/16 UTC) rank the symbols by their last settled funding rate,
 * short the highest third and long the lowest third (at least one each; 1/(2k)
 * of the book per leg, so the book is market-neutral in notional), hold to the
 * next boundary, then re-rank. It earns the funding spread between the legs
 * and bears their relative price moves. Every symbol's rate is read as of the
 * bar being decided (each frame's funding_rate is already the rate settled by
 * the bar's close): nothing later is seen. Symbols without a finite rate at a
 * boundary sit it out; fewer than two → flat.
 */
export function fundingCarryCrossSection(frames: readonly Frame[], options: CrossSectionCarryOptions = {}): { name: string; create(symbol: string): Strategy } {
  const spread = options.spread ?? 0.0001;
  const periodMs = (options.holdHours ?? 8) * 3_600_000;
  const targets = crossSectionTargets(frames, spread, periodMs);
  const name = `funding-carry cross-section(${frames.length})`;
  return {
    name,
    create: (symbol) => {
      const target = targets.get(symbol);
      if (!target) throw new OitraderError(`${name} was built for ${frames.map((f) => f.symbol).join(', ')}, not ${symbol}`);
      const legs = Math.max(1, Math.floor(frames.length / 3));
      const exposure = 1 / (2 * legs);
      const long = Object.freeze([enter('long', { exposure })]);
      const short = Object.freeze([enter('short', { exposure })]);
      return {
        name,
        onBar: (ctx) => {
          const want = target[ctx.index];
          const held = Math.sign(ctx.qtyBase);
          if (want === held) return NONE;
          // Flat first, then the new side on the next bar: one intent per bar, never a flip in one order.
          if (held !== 0) return FLAT;
          return want > 0 ? long : want < 0 ? short : NONE;
        },
      };
    },
  };
}

/** Per symbol, per row: −1 / 0 / +1, decided at each boundary from every symbol's rate as of that moment. */
function crossSectionTargets(frames: readonly Frame[], spread: number, periodMs: number): Map<string, Int8Array> {
  const rates = frames.map((f) => (f.has('funding_rate') ? f.column('funding_rate') : undefined));
  const cursor = frames.map(() => -1);
  const target = frames.map((f) => new Int8Array(f.length));
  const current = new Int8Array(frames.length);
  const times = [...new Set(frames.flatMap((f) => Array.from(f.time)))].sort((a, b) => a - b);
  const legs = Math.max(1, Math.floor(frames.length / 3));
  let period = Number.NaN;
  for (const t of times) {
    for (let s = 0; s < frames.length; s++) while (cursor[s] + 1 < frames[s].length && frames[s].time[cursor[s] + 1] <= t) cursor[s]++;
    const p = Math.floor(t / periodMs);
    if (p !== period) {
      period = p;
      current.fill(0);
      const ranked = frames
        .map((_, s) => ({ s, rate: cursor[s] >= 0 && rates[s] ? rates[s]![cursor[s]] : Number.NaN }))
        .filter((r) => Number.isFinite(r.rate))
        .sort((a, b) => a.rate - b.rate);
      if (ranked.length >= 2 && ranked[ranked.length - 1].rate - ranked[0].rate > spread) {
        const k = Math.min(legs, Math.floor(ranked.length / 2));
        for (let i = 0; i < k; i++) {
          current[ranked[i].s] = 1;
          current[ranked[ranked.length - 1 - i].s] = -1;
        }
      }
    }
    for (let s = 0; s < frames.length; s++) if (cursor[s] >= 0 && frames[s].time[cursor[s]] === t) target[s][cursor[s]] = current[s];
  }
  return new Map(frames.map((f, s) => [f.symbol, target[s]]));
}

export const BASELINES: Record<string, () => Strategy> = {
  'buy-and-hold': buyAndHold,
  flat,
  random: () => randomStrategy(1),
  'oi-trend': () => oiTrend(),
  'oi-divergence': () => oiDivergence(),
  'funding-carry': () => fundingCarry(),
  'sma-trend': () => smaTrend(),
};

export function baselineByName(name: string): Strategy {
  const make = BASELINES[name];
  if (!make) throw new OitraderError(`unknown strategy "${name}"`, { hint: `choose one of ${Object.keys(BASELINES).join(', ')}`, exitCode: 2 });
  return make();
}
