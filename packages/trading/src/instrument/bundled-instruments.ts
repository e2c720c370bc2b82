import { roundToStep, stepDecimals, type Instrument } from './instrument.ts';
import { StaticInstrumentProvider } from './instrument-provider.ts';
import type { LeverageBracket } from './leverage-brackets.ts';

const row = (initialLeverage: number, notionalFloorUsd: number, notionalCapUsd: number, maintMarginRatio: number, cumUsd: number): LeverageBracket => ({
  initialLeverage,
  notionalFloorUsd,
  notionalCapUsd,
  maintMarginRatio,
  cumUsd,
});

const BTC_BRACKETS = [
  row(125, 0, 50_000, 0.004, 0),
  row(100, 50_000, 250_000, 0.005, 50),
  row(50, 250_000, 3_000_000, 0.01, 1_300),
  row(20, 3_000_000, 20_000_000, 0.025, 46_300),
  row(10, 20_000_000, 40_000_000, 0.05, 546_300),
  row(5, 40_000_000, 100_000_000, 0.1, 2_546_300),
  row(4, 100_000_000, 120_000_000, 0.125, 5_046_300),
  row(3, 120_000_000, 200_000_000, 0.15, 8_046_300),
  row(2, 200_000_000, 300_000_000, 0.25, 28_046_300),
];

const ALTCOIN_BRACKETS = [
  row(75, 0, 10_000, 0.0065, 0),
  row(50, 10_000, 50_000, 0.01, 35),
  row(25, 50_000, 250_000, 0.02, 535),
  row(10, 250_000, 1_000_000, 0.05, 8_035),
  row(5, 1_000_000, 2_000_000, 0.1, 58_035),
  row(4, 2_000_000, 5_000_000, 0.125, 108_035),
  row(3, 5_000_000, 10_000_000, 0.15, 233_035),
  row(2, 10_000_000, 20_000_000, 0.25, 1_233_035),
  row(1, 20_000_000, 50_000_000, 0.5, 6_233_035),
];

/**
 * The instruments shipped as data, for offline use only: backtests, the RL
 * env and the local simulator (which serves exactly these on its own
 * exchangeInfo and leverageBracket, so the live path that reads them is
 * exercised in tests). Filters are Binance USDⓈ-M's for these symbols;
 * BTCUSDT's brackets are a published snapshot of Binance's table, the others
 * the common altcoin schedule of the same era. Binance changes both: the
 * live bot reads them from the exchange (BinanceInstrumentProvider).
 */
export const BUNDLED_INSTRUMENTS: readonly Instrument[] = [
  { symbol: 'BTCUSDT', tickSize: 0.1, stepSize: 0.001, minQty: 0.001, minNotionalUsd: 100, brackets: BTC_BRACKETS },
  { symbol: 'ETHUSDT', tickSize: 0.01, stepSize: 0.001, minQty: 0.001, minNotionalUsd: 20, brackets: ALTCOIN_BRACKETS },
  { symbol: 'SOLUSDT', tickSize: 0.01, stepSize: 1, minQty: 1, minNotionalUsd: 5, brackets: ALTCOIN_BRACKETS },
  { symbol: 'XRPUSDT', tickSize: 0.0001, stepSize: 0.1, minQty: 0.1, minNotionalUsd: 5, brackets: ALTCOIN_BRACKETS },
  { symbol: 'DOGEUSDT', tickSize: 0.00001, stepSize: 1, minQty: 1, minNotionalUsd: 5, brackets: ALTCOIN_BRACKETS },
];

export const BUNDLED_SOURCE = 'the bundled instrument snapshot (offline use: backtests, RL, simulator)';

let bundled: StaticInstrumentProvider | undefined;

/** The bundled snapshot as a provider. Never the source for live trading. */
export function bundledInstruments(): StaticInstrumentProvider {
  return (bundled ??= new StaticInstrumentProvider(BUNDLED_INSTRUMENTS, BUNDLED_SOURCE));
}

/**
 * A price for people, on the instrument's tick (87123.4 for BTCUSDT, 0.12345 for
 * DOGEUSDT) — the tick of the bundled snapshot, or 6 significant digits for a
 * symbol it does not know. Not for orders: those round with `roundToStep`.
 */
export function formatPrice(symbol: string, priceUsd: number | undefined): string {
  if (priceUsd === undefined || !Number.isFinite(priceUsd)) return '–';
  const tick = BUNDLED_INSTRUMENTS.find((i) => i.symbol === symbol)?.tickSize;
  if (tick === undefined) return String(Number(priceUsd.toPrecision(6)));
  return roundToStep(priceUsd, tick, 'nearest').toFixed(stepDecimals(tick));
}
