import { OitraderError } from './errors.ts';

/** Binance kline intervals this product stores and trades on. */
export const TIMEFRAMES = ['1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

const MINUTE_MS = 60_000;
const TIMEFRAME_MS: Record<Timeframe, number> = {
  '1m': MINUTE_MS,
  '3m': 3 * MINUTE_MS,
  '5m': 5 * MINUTE_MS,
  '15m': 15 * MINUTE_MS,
  '30m': 30 * MINUTE_MS,
  '1h': 60 * MINUTE_MS,
  '2h': 120 * MINUTE_MS,
  '4h': 240 * MINUTE_MS,
  '6h': 360 * MINUTE_MS,
  '8h': 480 * MINUTE_MS,
  '12h': 720 * MINUTE_MS,
  '1d': 1440 * MINUTE_MS,
};

export function isTimeframe(value: string): value is Timeframe {
  return (TIMEFRAMES as readonly string[]).includes(value);
}

export function parseTimeframe(value: string): Timeframe {
  if (!isTimeframe(value)) {
    throw new OitraderError(`unknown timeframe "${value}"`, { hint: `use one of ${TIMEFRAMES.join(', ')}`, exitCode: 2 });
  }
  return value;
}

export function timeframeMs(timeframe: Timeframe): number {
  return TIMEFRAME_MS[timeframe];
}

/** Start of the bar (open time) that contains `timeMs`. All bars are UTC-aligned. */
export function floorToTimeframe(timeMs: number, timeframe: Timeframe): number {
  const step = TIMEFRAME_MS[timeframe];
  return Math.floor(timeMs / step) * step;
}

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
