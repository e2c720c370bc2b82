import { Frame } from '@oitrader/core';
import { realOpenInterestFrame, realSampleFrame } from '../../../backtest/src/testing/real-sample.ts';

export { realOpenInterestFrame, realSampleFrame };

/**
 * The real XRPUSDT sample plus SYNTHETIC open interest, ratios, taker flow,
 * order book and liquidations. No real history of those exists in this
 * project (see data/sample/README.md); these deterministic series only let
 * the causality and parity contracts run over every feature. Never reported
 * as market data.
 */
export function sampleWithSyntheticSources(): Frame {
  const frame = realSampleFrame();
  const n = frame.length;
  const close = frame.column('close');
  const volume = frame.column('volume');
  const wave = (i: number, period: number) => Math.sin((2 * Math.PI * i) / period);
  const col = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
  return frame.withColumns({
    quote_volume: col((i) => volume[i] * close[i]),
    trades: col((i) => 1000 + Math.round(volume[i] / 5000)),
    taker_buy_volume: col((i) => volume[i] * (0.5 + 0.1 * wave(i, 37))),
    open_interest: col((i) => 5e8 * (1 + 0.05 * wave(i, 500) + 0.01 * wave(i, 41)) * (close[i] / close[0]) ** 0.3),
    open_interest_value: col((i) => 5e8 * close[i] * (1 + 0.05 * wave(i, 500))),
    ls_global_account: col((i) => 1.5 + 0.3 * wave(i, 300)),
    ls_top_account: col((i) => 1.2 + 0.2 * wave(i, 260)),
    ls_top_position: col((i) => 1.1 + 0.25 * wave(i, 190)),
    taker_buy_sell_ratio: col((i) => 1 + 0.2 * wave(i, 23)),
    liq_long_usd: col((i) => (i % 17 === 0 ? 5000 * (1 + wave(i, 50)) : 0)),
    liq_short_usd: col((i) => (i % 23 === 0 ? 4000 * (1 + wave(i, 70)) : 0)),
    liq_long_count: col((i) => (i % 17 === 0 ? 2 : 0)),
    liq_short_count: col((i) => (i % 23 === 0 ? 1 : 0)),
    ob_imbalance_1pct: col((i) => 0.3 * wave(i, 29)),
    ob_imbalance_2pct: col((i) => 0.2 * wave(i, 31)),
    ob_imbalance_5pct: col((i) => 0.1 * wave(i, 43)),
    ob_spread_bps: col((i) => 1 + (i % 3)),
  });
}
