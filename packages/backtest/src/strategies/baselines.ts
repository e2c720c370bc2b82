import { OitraderError, timeframeMs } from '@oitrader/core';
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
 * rule; the cross-sectional version (short the highest, long the lowest across
 * a portfolio) is not built yet. Without funding_rate (or NaN) it stands aside.
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
