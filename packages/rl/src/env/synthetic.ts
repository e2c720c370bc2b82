import { Frame } from '@oitrader/core';
import { seededRandom, type OutOfFoldPredictions } from '@oitrader/ml';

export interface SyntheticMarketOptions {
  bars: number;
  seed: number;
  /** Bars per trend regime; each regime drifts up or down. */
  regimeBars?: number;
  /** |drift| per bar inside a regime (0 = a driftless random walk). */
  driftPerBar?: number;
  noisePerBar?: number;
  /** Probability that the ML signal names the regime's true direction (0.5 = pure noise). */
  accuracy?: number;
  /** How confident the signal's probabilities look (P of the named class). */
  confidence?: number;
  startMs?: number;
}

const BAR_MS = 300_000;

/**
 * A seeded 5m market of trend regimes with an ML "prediction" that names each
 * regime's true direction with probability `accuracy` — the learning tests'
 * ground truth (the real sample has no known optimum). Returned predictions
 * use the OutOfFoldPredictions contract: one fold whose model was trained
 * before the first bar, so every bar is out of sample.
 */
export function syntheticMarket(options: SyntheticMarketOptions): { frame: Frame; predictions: OutOfFoldPredictions; regimeUp: Uint8Array } {
  const { bars: n, seed } = options;
  const regimeBars = options.regimeBars ?? 48;
  const drift = options.driftPerBar ?? 0.0015;
  const noise = options.noisePerBar ?? 0.002;
  const accuracy = options.accuracy ?? 0.7;
  const confidence = options.confidence ?? 0.7;
  const startMs = options.startMs ?? Date.UTC(2025, 0, 1);
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const time = new Float64Array(n);
  const open = new Float64Array(n);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const close = new Float64Array(n);
  const volume = new Float64Array(n);
  const oi = new Float64Array(n);
  const funding = new Float64Array(n).fill(0.0001);
  const regimeUp = new Uint8Array(n);
  const pShort = new Float64Array(n);
  const pNeutral = new Float64Array(n);
  const pLong = new Float64Array(n);
  let price = 100;
  let openInterest = 1e6;
  let up = true;
  let says = true;
  for (let i = 0; i < n; i++) {
    if (i % regimeBars === 0) {
      up = random() < 0.5;
      says = random() < accuracy ? up : !up;
    }
    time[i] = startMs + i * BAR_MS;
    open[i] = price;
    price *= Math.exp((up ? drift : -drift) + noise * gaussian());
    close[i] = price;
    high[i] = Math.max(open[i], close[i]) * (1 + Math.abs(gaussian()) * noise * 0.5);
    low[i] = Math.min(open[i], close[i]) * (1 - Math.abs(gaussian()) * noise * 0.5);
    volume[i] = 1000 * (1 + random());
    openInterest *= Math.exp(0.001 * gaussian());
    oi[i] = openInterest;
    regimeUp[i] = up ? 1 : 0;
    const other = (1 - confidence) / 2;
    pLong[i] = says ? confidence : other;
    pShort[i] = says ? other : confidence;
    pNeutral[i] = other;
  }
  const frame = new Frame('SOLUSDT', '5m', time, { open, high, low, close, volume, open_interest: oi, funding_rate: funding });
  const predictions: OutOfFoldPredictions = {
    model: 'ensemble',
    timeMs: time,
    fold: new Int32Array(n),
    pShort,
    pNeutral,
    pLong,
    folds: [{ fold: 0, trainStartMs: startMs - 400 * BAR_MS, trainEndMs: startMs - 100 * BAR_MS, knownUntilMs: startMs - BAR_MS, testStartMs: startMs, testEndMs: time[n - 1] }],
  };
  return { frame, predictions, regimeUp };
}
