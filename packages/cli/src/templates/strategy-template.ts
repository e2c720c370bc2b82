/**
 * __NAME__ — a strategy for oitrader, written by `oitrader new-strategy __NAME__`.
 *
 * Try it:   oitrader backtest --strategy ./strategies/__NAME__.ts --symbols SOLUSDT,BTCUSDT
 * Paper:    oitrader paper --strategy ./strategies/__NAME__.ts
 * Live bot: bot.strategy: ./strategies/__NAME__.ts in config.yaml
 *
 * The contract (docs/write-a-strategy.md): `createStrategy` makes one strategy per symbol; its
 * onBar(ctx) is called at the close of every candle and returns intents — enter, exit, scaleIn,
 * scaleOut — or nothing. A strategy never sizes or sends an order: the risk engine sizes each entry
 * by trading.risk_per_trade and its stop, applies every limit (daily loss, drawdown, open positions,
 * exposure, leverage brackets, the exchange's filters) and places the exchange-side stop. The same
 * code runs in backtests, paper and live, through the same risk engine.
 *
 * ctx.value(column, barsAgo) reads this candle (0) or earlier ones — never a later one, so the
 * strategy cannot peek at the future. Columns: open, high, low, close, volume, taker_buy_volume,
 * open_interest, open_interest_value, funding_rate, ls_global_account, ls_top_account,
 * ls_top_position, taker_buy_sell_ratio, liq_long_usd, liq_short_usd (NaN where the data is missing).
 *
 * The example: an open-interest breakout. Price breaking its 4-hour range while open interest jumps
 * (new positions piling in, not old ones closing) enters with the breakout; the stop goes under the
 * last hour's low; the position closes when price falls back into the middle of the range.
 */
import { enter, exit, type Intent, type Strategy, type StrategyContext } from '@oitrader/trading';

/** Candles of the range a breakout must leave (48 × 5m = 4 hours). */
const RANGE_BARS = 48;
/** Open interest z-score (over RANGE_BARS) that counts as new positions piling in. */
const OI_Z_ENTRY = 1.5;
/** Candles whose low (high for a short) the stop goes under (over). */
const STOP_BARS = 12;

export function createStrategy({ symbol }: { symbol: string }): Strategy {
  return {
    name: `__NAME__`,
    onBar(ctx: StrategyContext): Intent[] {
      if (ctx.index <= RANGE_BARS) return [];
      const high = extreme(ctx, 'high', RANGE_BARS, Math.max);
      const low = extreme(ctx, 'low', RANGE_BARS, Math.min);
      const middle = (high + low) / 2;
      if (ctx.qtyBase > 0) return ctx.closeUsd < middle ? [exit()] : [];
      if (ctx.qtyBase < 0) return ctx.closeUsd > middle ? [exit()] : [];
      // A feature: how unusual this candle's open-interest change is, against the range's own changes.
      const oiZ = zScoreOfChange(ctx, 'open_interest', RANGE_BARS);
      if (!Number.isFinite(oiZ) || oiZ < OI_Z_ENTRY) return []; // no open interest (or nothing unusual): stand aside
      // `score` ranks this entry against other symbols' when the risk budget cannot take them all.
      if (ctx.closeUsd > high) return [enter('long', { stopUsd: extreme(ctx, 'low', STOP_BARS, Math.min, 0), score: oiZ })];
      if (ctx.closeUsd < low) return [enter('short', { stopUsd: extreme(ctx, 'high', STOP_BARS, Math.max, 0), score: oiZ })];
      void symbol; // one instance per symbol: keep per-symbol state in this closure if you need any
      return [];
    },
  };
}

/** The highest (or lowest) `column` over `bars` candles ending `from` candles ago (default: before this one). */
function extreme(ctx: StrategyContext, column: string, bars: number, pick: (...values: number[]) => number, from = 1): number {
  let out = ctx.value(column, from);
  for (let k = from + 1; k < from + bars; k++) out = pick(out, ctx.value(column, k));
  return out;
}

/** This candle's change of `column` in standard deviations of its changes over the `bars` before it. */
function zScoreOfChange(ctx: StrategyContext, column: string, bars: number): number {
  const change = (k: number) => ctx.value(column, k) / ctx.value(column, k + 1) - 1;
  let sum = 0;
  let squares = 0;
  for (let k = 1; k <= bars; k++) {
    const c = change(k);
    sum += c;
    squares += c * c;
  }
  const mean = sum / bars;
  const sd = Math.sqrt(Math.max(0, squares / bars - mean * mean));
  return sd > 0 ? (change(0) - mean) / sd : Number.NaN;
}
