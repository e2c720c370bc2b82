import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strFromU8, unzipSync } from 'fflate';
import { Frame, nanColumn } from '@oitrader/core';

const ARCHIVE = fileURLToPath(new URL('../../../../data/fixtures/xrpusdt-2021-week/binance-archive/futures/um', import.meta.url));

function csvRows(path: string): string[][] {
  const entries = unzipSync(new Uint8Array(readFileSync(path)));
  const text = strFromU8(Object.values(entries)[0]);
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','));
}

/**
 * The bundled real XRPUSDT 5m candles with the real funding rates joined
 * as-of (rate settled at or before each bar's close), read straight from the
 * sample archive so backtest tests need no database. The sample has no open
 * interest, so that column is NaN, as MarketDataLoader returns it.
 */
export function realSampleFrame(): Frame {
  const dir = join(ARCHIVE, 'daily/klines/XRPUSDT/5m');
  const rows = readdirSync(dir)
    .filter((f) => f.endsWith('.zip'))
    .sort()
    .flatMap((f) => csvRows(join(dir, f)));
  const fundingDir = join(ARCHIVE, 'monthly/fundingRate/XRPUSDT');
  const funding = readdirSync(fundingDir)
    .filter((f) => f.endsWith('.zip'))
    .sort()
    .flatMap((f) => csvRows(join(fundingDir, f)))
    .map((r) => [Number(r[0]), Number(r[2])] as const);
  const n = rows.length;
  const time = new Float64Array(n);
  const cols = { open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n), funding_rate: nanColumn(n), open_interest: nanColumn(n) };
  let j = 0;
  rows.forEach((r, i) => {
    time[i] = Number(r[0]);
    cols.open[i] = Number(r[1]);
    cols.high[i] = Number(r[2]);
    cols.low[i] = Number(r[3]);
    cols.close[i] = Number(r[4]);
    cols.volume[i] = Number(r[5]);
    while (j < funding.length && funding[j][0] <= time[i] + 300_000) j++;
    if (j > 0 && time[i] + 300_000 - funding[j - 1][0] <= 9 * 3_600_000) cols.funding_rate[i] = funding[j - 1][1];
  });
  return new Frame('XRPUSDT', '5m', time, cols);
}

const REAL_ARCHIVE = fileURLToPath(new URL('../../../../data/sample/binance-archive/futures/um', import.meta.url));

/**
 * The first `days` days of the bundled real sample (SOLUSDT, BTCUSDT, ETHUSDT or DOGEUSDT, Dec
 * 2025 on) read straight from its archive zips: 5m candles, 5m open interest
 * and funding joined as MarketDataLoader does — bar t (open time) holds the
 * open interest stamped at its close and the last funding rate settled by it.
 * No database needed.
 */
export function realOpenInterestFrame(symbol: 'SOLUSDT' | 'BTCUSDT' | 'ETHUSDT' | 'DOGEUSDT' = 'SOLUSDT', days = 20): Frame {
  const endMs = Date.UTC(2025, 11, 1) + days * 86_400_000;
  const list = (dir: string) => readdirSync(join(REAL_ARCHIVE, dir)).filter((f) => f.endsWith('.zip')).sort().map((f) => join(REAL_ARCHIVE, dir, f));
  const candles = list(`monthly/klines/${symbol}/5m`).flatMap(csvRows).filter((r) => Number(r[0]) < endMs);
  const oi = new Map<number, [number, number]>();
  for (const file of list(`daily/metrics/${symbol}`)) {
    for (const r of csvRows(file)) {
      const t = Math.floor(Date.parse(`${r[0].replace(' ', 'T')}Z`) / 300_000) * 300_000;
      oi.set(t, [Number(r[2]), Number(r[3])]);
    }
  }
  const funding = list(`monthly/fundingRate/${symbol}`).flatMap(csvRows).map((r) => [Number(r[0]), Number(r[2])] as const);
  const n = candles.length;
  const time = Float64Array.from(candles, (r) => Number(r[0]));
  const num = (k: number) => Float64Array.from(candles, (r) => Number(r[k]));
  const cols: Record<string, Float64Array> = { open: num(1), high: num(2), low: num(3), close: num(4), volume: num(5), open_interest: nanColumn(n), open_interest_value: nanColumn(n), funding_rate: nanColumn(n) };
  let j = 0;
  for (let i = 0; i < n; i++) {
    const known = oi.get(time[i] + 300_000);
    if (known) [cols.open_interest[i], cols.open_interest_value[i]] = known;
    while (j < funding.length && funding[j][0] <= time[i] + 300_000) j++;
    if (j > 0 && time[i] + 300_000 - funding[j - 1][0] <= 9 * 3_600_000) cols.funding_rate[i] = funding[j - 1][1];
  }
  return new Frame(symbol, '5m', time, cols);
}
