/**
 * bench/backtest: bars per second of the event-driven backtester (full
 * execution model: fees, slippage, funding, liquidation checks) running a
 * 48-bar SMA trend strategy over >= 1M five-minute bars — the real XRPUSDT
 * sample, alternately forwards and mirrored backwards. Reference: a minimal
 * hand-written loop over per-bar objects running the same strategy with fees
 * only (no orders, margin, funding or liquidation) — an upper bound for any
 * engine, not an equivalent one. Peers' published figures: Jesse ~510k
 * 1m candles/s, backtrader ~123k bars/s. Goal (issue 6): >= 2M bars/s.
 *   npm run bench:backtest [-- repeats]
 */
import { Frame } from '../packages/core/src/index.ts';
import { DEFAULT_RISK_LIMITS } from '../packages/trading/src/index.ts';
import { runBacktest, runPortfolioBacktest, smaTrend } from '../packages/backtest/src/index.ts';
import { realOpenInterestFrame, realSampleFrame } from '../packages/backtest/src/testing/real-sample.ts';
import { bestSeconds } from './timing.ts';

const REPEATS = Number(process.argv[2] ?? 520);

/** `repeats` copies of a real frame back to back, odd copies mirrored in time (open and close swapped): real bars, no jumps. */
function tiled(sample: Frame, repeats: number, startMs: number): Frame {
  const n = sample.length * repeats;
  const time = new Float64Array(n);
  const cols: Record<string, Float64Array> = Object.fromEntries(['open', 'high', 'low', 'close', 'volume', 'funding_rate'].map((c) => [c, new Float64Array(n)]));
  for (let r = 0; r < repeats; r++) {
    const backwards = r % 2 === 1;
    for (let i = 0; i < sample.length; i++) {
      const k = r * sample.length + i;
      const src = backwards ? sample.length - 1 - i : i;
      time[k] = startMs + k * 300_000;
      cols.open[k] = sample.column(backwards ? 'close' : 'open')[src];
      cols.close[k] = sample.column(backwards ? 'open' : 'close')[src];
      cols.high[k] = sample.column('high')[src];
      cols.low[k] = sample.column('low')[src];
      cols.volume[k] = sample.column('volume')[src];
      cols.funding_rate[k] = sample.column('funding_rate')[src];
    }
  }
  return new Frame(sample.symbol, '5m', time, cols);
}

const sample = realSampleFrame();
const n = sample.length * REPEATS;
// Odd copies run the sample backwards in time (each candle mirrored: open and close swapped), so the chained
// series returns to where it started instead of drifting: real bars, real volatility, no jumps.
const frame = tiled(sample, REPEATS, sample.time[0]);
const time = frame.time;
const cols = Object.fromEntries(['open', 'high', 'low', 'close'].map((c) => [c, frame.column(c)]));


interface BarObject {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

/** The reference: how backtests are commonly written — an array of bar objects and a context object per bar. */
function naiveLoop(bars: BarObject[]): number {
  let cash = 2000;
  let qty = 0;
  const closes: number[] = [];
  for (const bar of bars) {
    const context = { bar, position: qty, history: closes };
    closes.push(bar.close);
    if (closes.length > 48) closes.shift();
    if (closes.length < 48) continue;
    const sma = context.history.reduce((s, c) => s + c, 0) / 48;
    const target = bar.close > sma ? 1 : -1;
    if (Math.sign(qty) !== target) {
      const equity = cash + qty * bar.close;
      const newQty = (target * equity * 5 * 0.98) / bar.close;
      const traded = Math.abs(newQty - qty) * bar.close;
      cash -= (newQty - qty) * bar.close + traded * 0.0005;
      qty = newQty;
    }
  }
  return cash + qty * bars[bars.length - 1].close;
}


const bars: BarObject[] = Array.from({ length: n }, (_, i) => ({ time: time[i], open: cols.open[i], high: cols.high[i], low: cols.low[i], close: cols.close[i] }));
let trades = 0;
const ours = bestSeconds(3, () => {
  trades = runBacktest(frame, smaTrend(48), { leverage: 5 }).trades.length;
});
const naive = bestSeconds(3, () => naiveLoop(bars));
const rate = (s: number, bars = n) => Math.round(bars / s).toLocaleString('en-US');
console.log(`bench/backtest: ${n.toLocaleString('en-US')} bars (real 5m XRPUSDT sample, ${REPEATS} copies), sma-trend(48), 5x, node ${process.version}`);
console.log(`oitrader backtester (full execution model): ${rate(ours).padStart(12)} bars/s   ${trades} trades`);
console.log(`minimal per-bar-object loop (fees only):    ${rate(naive).padStart(12)} bars/s   (upper bound, not an engine)`);
console.log(`ratio ours / minimal loop: ${(naive / ours).toFixed(2)}; ours / Jesse (510k): ${(n / ours / 510_000).toFixed(1)}; ours / backtrader (123k): ${(n / ours / 123_000).toFixed(1)}`);
console.log(`goal >= 2,000,000 bars/s: ${n / ours >= 2_000_000 ? 'met' : 'NOT met'}`);

// A portfolio: four real symbols (81 days of the bundled sample each, tiled to ~260k bars each) on one wallet,
// one risk engine — every bar of every symbol stepped, the four strategies deciding together.
const symbols = ['SOLUSDT', 'BTCUSDT', 'ETHUSDT', 'DOGEUSDT'] as const;
const frames = symbols.map((s) => {
  const real = realOpenInterestFrame(s, 81);
  return tiled(real, Math.ceil(260_000 / real.length), sample.time[0]);
});
const portfolioBars = frames.reduce((sum, f) => sum + f.length, 0);
let portfolioTrades = 0;
const raw = bestSeconds(3, () => {
  portfolioTrades = runPortfolioBacktest(frames, () => smaTrend(48), { leverage: 5 }).portfolio.trades.length;
});
let managedTrades = 0;
const managed = bestSeconds(3, () => {
  managedTrades = runPortfolioBacktest(frames, () => smaTrend(48), { leverage: 5, risk: { limits: { ...DEFAULT_RISK_LIMITS, maxDailyLoss: 0.5, maxDrawdown: 0.95 }, stopLoss: 0.02 } }).portfolio.trades.length;
});
console.log(`4-symbol portfolio (${symbols.join(', ')}), ${portfolioBars.toLocaleString('en-US')} bars in all, one wallet, sma-trend(48) per symbol:`);
console.log(`  unmanaged:                  ${rate(raw, portfolioBars).padStart(12)} bars/s   ${portfolioTrades} trades`);
console.log(`  through the risk engine:    ${Math.round(portfolioBars / managed).toLocaleString('en-US').padStart(12)} bars/s   ${managedTrades} trades`);
console.log(`  unmanaged ${(portfolioBars / raw).toLocaleString('en-US', { maximumFractionDigits: 0 })} bars/s = ${(portfolioBars / raw / (n / ours)).toFixed(2)} × the one-symbol figure`);
