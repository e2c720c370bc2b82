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
