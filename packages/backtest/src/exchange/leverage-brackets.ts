import { OitraderError } from '@oitrader/core';

/** One row of Binance GET /fapi/v1/leverageBracket. */
export interface LeverageBracket {
  initialLeverage: number;
  notionalFloorUsd: number;
  notionalCapUsd: number;
  /** Maintenance margin ratio, a fraction. */
  maintMarginRatio: number;
  /** Maintenance amount: cum_i = cum_{i-1} + floor_i * (mmr_i - mmr_{i-1}). */
  cumUsd: number;
}

const row = (initialLeverage: number, notionalFloorUsd: number, notionalCapUsd: number, maintMarginRatio: number, cumUsd: number): LeverageBracket => ({
  initialLeverage,
  notionalFloorUsd,
  notionalCapUsd,
  maintMarginRatio,
  cumUsd,
});

/**
 * Maintenance-margin brackets shipped as data. BTCUSDT is a published snapshot
 * of Binance's table; the others are the common altcoin schedule of the same
 * era. Binance changes these: the live bot fetches leverageBracket and the
 * backtest reports which table it used.
 */
export const LEVERAGE_BRACKETS: Record<string, LeverageBracket[]> = {
  BTCUSDT: [
    row(125, 0, 50_000, 0.004, 0),
    row(100, 50_000, 250_000, 0.005, 50),
    row(50, 250_000, 3_000_000, 0.01, 1_300),
    row(20, 3_000_000, 20_000_000, 0.025, 46_300),
    row(10, 20_000_000, 40_000_000, 0.05, 546_300),
    row(5, 40_000_000, 100_000_000, 0.1, 2_546_300),
    row(4, 100_000_000, 120_000_000, 0.125, 5_046_300),
    row(3, 120_000_000, 200_000_000, 0.15, 8_046_300),
    row(2, 200_000_000, 300_000_000, 0.25, 28_046_300),
  ],
  ...Object.fromEntries(
    ['ETHUSDT', 'SOLUSDT', 'XRPUSDT'].map((symbol) => [
      symbol,
      [
        row(75, 0, 10_000, 0.0065, 0),
        row(50, 10_000, 50_000, 0.01, 35),
        row(25, 50_000, 250_000, 0.02, 535),
        row(10, 250_000, 1_000_000, 0.05, 8_035),
        row(5, 1_000_000, 2_000_000, 0.1, 58_035),
        row(4, 2_000_000, 5_000_000, 0.125, 108_035),
        row(3, 5_000_000, 10_000_000, 0.15, 233_035),
        row(2, 10_000_000, 20_000_000, 0.25, 1_233_035),
        row(1, 20_000_000, 50_000_000, 0.5, 6_233_035),
      ],
    ]),
  ),
};

export function bracketsFor(symbol: string): LeverageBracket[] {
  const brackets = LEVERAGE_BRACKETS[symbol];
  if (!brackets) throw new OitraderError(`no leverage brackets for ${symbol}`, { hint: `bundled: ${Object.keys(LEVERAGE_BRACKETS).join(', ')}` });
  return brackets;
}

/** The bracket whose [floor, cap) holds the position's notional. */
export function bracketForNotional(brackets: LeverageBracket[], notionalUsd: number): LeverageBracket {
  for (const b of brackets) if (notionalUsd < b.notionalCapUsd) return b;
  return brackets[brackets.length - 1];
}

/** Highest leverage allowed for a position of this notional. */
export function maxLeverageFor(brackets: LeverageBracket[], notionalUsd: number): number {
  return bracketForNotional(brackets, notionalUsd).initialLeverage;
}
