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

/** The bracket whose [floor, cap) holds the position's notional. */
export function bracketForNotional(brackets: LeverageBracket[], notionalUsd: number): LeverageBracket {
  for (const b of brackets) if (notionalUsd < b.notionalCapUsd) return b;
  return brackets[brackets.length - 1];
}

/** Highest leverage allowed for a position of this notional. */
export function maxLeverageFor(brackets: LeverageBracket[], notionalUsd: number): number {
  return bracketForNotional(brackets, notionalUsd).initialLeverage;
}

/** The largest position notional a position at `leverage` may reach: the cap of the highest bracket allowing that leverage (0 when none does). */
export function maxNotionalAtLeverage(brackets: LeverageBracket[], leverage: number): number {
  let cap = 0;
  for (const b of brackets) if (b.initialLeverage >= leverage) cap = Math.max(cap, b.notionalCapUsd);
  return cap;
}
