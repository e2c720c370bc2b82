import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strToU8, zipSync } from 'fflate';

/** The XRPUSDT week test fixture: real XRPUSDT perpetual candles and funding, 2021-11-15..21 (data/fixtures/xrpusdt-2021-week/README.md). */
export const SAMPLE_ARCHIVE = fileURLToPath(new URL('../../../../data/fixtures/xrpusdt-2021-week/binance-archive', import.meta.url));

/**
 * Writes archive-format zips into a temporary mirror. FORMAT FIXTURES ONLY:
 * these files copy the layout and CSV columns of Binance's archive so the
 * parsers can be tested where no real file of that kind exists here; their
 * numbers are not market data and nothing trains or reports on them.
 */
export function writeFormatFixtures(files: Record<string, string>, options: { checksum?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'oitrader-archive-'));
  for (const [path, csv] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    const zip = zipSync({ [`${path.split('/').pop()!.replace('.zip', '.csv')}`]: strToU8(csv) });
    writeFileSync(full, zip);
    if (options.checksum !== false) writeFileSync(`${full}.CHECKSUM`, `${createHash('sha256').update(zip).digest('hex')}  ${path.split('/').pop()}\n`);
  }
  return root;
}

const METRICS_HEADER = 'create_time,symbol,sum_open_interest,sum_open_interest_value,count_toptrader_long_short_ratio,sum_toptrader_long_short_ratio,count_long_short_ratio,sum_taker_long_short_vol_ratio';

/** A day of 5-minute metrics rows in Binance's format (format fixture, see above). */
export function metricsFixtureCsv(day: string, options: { zeroOiAt?: number[]; header?: boolean; lateSecond?: boolean } = {}): string {
  const start = Date.parse(`${day}T00:00:00Z`);
  const lines: string[] = [];
  for (let i = 0; i < 288; i++) {
    const t = new Date(start + i * 300_000 + (options.lateSecond && i % 2 === 1 ? 1000 : 0)).toISOString().replace('T', ' ').slice(0, 19);
    const oi = options.zeroOiAt?.includes(i) ? '0' : (100000 + i).toFixed(3);
    lines.push(`${t},BTCUSDT,${oi},${(Number(oi) * 62000).toFixed(2)},1.${i % 10},1.8${i % 7},0.5${i % 9},1.1${i % 5}`);
  }
  return `${options.header === false ? '' : `${METRICS_HEADER}\n`}${lines.join('\n')}\n`;
}

/** The bundled real sample: SOLUSDT and BTCUSDT with 5m open interest, Dec 2025 – Feb 2026 (data/sample/README.md). */
export const REAL_SAMPLE_ARCHIVE = fileURLToPath(new URL('../../../../data/sample/binance-archive', import.meta.url));
