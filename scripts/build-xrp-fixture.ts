/**
 * Rebuilds the XRPUSDT week test fixture (data/fixtures/xrpusdt-2021-week/binance-archive) from the real Binance USDⓈ-M data in
 * ../shared/data/real/freqtrade-testdata (Arrow IPC files with LZ4/ZSTD batches).
 * Values are copied unchanged into Binance's public-archive layout and CSV
 * format; columns the source lacks (quote volume, trade count, taker volumes)
 * are left empty, never invented. Run: npx tsx scripts/build-xrp-fixture.ts
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compressionRegistry, CompressionType, tableFromIPC } from 'apache-arrow';
import { strToU8, zipSync } from 'fflate';
import { decompress as zstdDecompress } from 'fzstd';
import * as lz4 from 'lz4js';
import { archivePath } from '../packages/binance/src/archive/layout.ts';

const SOURCE = process.argv[2] ?? '../shared/data/real/freqtrade-testdata';
const OUT = 'data/fixtures/xrpusdt-2021-week/binance-archive';
const SYMBOL = 'XRPUSDT';

compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: (b: Uint8Array) => Uint8Array.from(lz4.decompress(b)) });
compressionRegistry.set(CompressionType.ZSTD, { decode: (b: Uint8Array) => zstdDecompress(b) });

interface Candle {
  date: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

function readFeather(name: string): Candle[] {
  const table = tableFromIPC(readFileSync(join(SOURCE, name)));
  return table.toArray().map((row) => {
    const r = row.toJSON() as Record<string, unknown>;
    return { date: Number(r.date), open: Number(r.open), high: Number(r.high), low: Number(r.low), close: Number(r.close), volume: Number(r.volume) };
  });
}

function writeZip(path: string, csvName: string, csv: string): void {
  const full = join(OUT, path);
  mkdirSync(dirname(full), { recursive: true });
  // A fixed mtime keeps the zip bytes, and so the checksums, reproducible.
  const zip = zipSync({ [csvName]: [strToU8(csv), { mtime: new Date('2021-12-31T00:00:00Z') }] });
  writeFileSync(full, zip);
  const name = path.split('/').pop() as string;
  writeFileSync(`${full}.CHECKSUM`, `${createHash('sha256').update(zip).digest('hex')}  ${name}\n`);
}

const KLINE_HEADER = 'open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore';

function writeDailyKlines(candles: Candle[], interval: string, intervalMs: number): number {
  const byDay = new Map<string, Candle[]>();
  for (const c of candles) {
    const day = new Date(c.date).toISOString().slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), c]);
  }
  for (const [day, rows] of byDay) {
    const lines = rows.map((c) => [c.date, c.open, c.high, c.low, c.close, c.volume, c.date + intervalMs - 1, '', '', '', '', 0].join(','));
    const path = archivePath({ period: 'daily', dataset: 'klines', symbol: SYMBOL, interval, date: day });
    writeZip(path, `${SYMBOL}-${interval}-${day}.csv`, `${KLINE_HEADER}\n${lines.join('\n')}\n`);
  }
  return byDay.size;
}

function writeMonthlyFunding(rows: Candle[]): number {
  const byMonth = new Map<string, Candle[]>();
  for (const r of rows) {
    const month = new Date(r.date).toISOString().slice(0, 7);
    byMonth.set(month, [...(byMonth.get(month) ?? []), r]);
  }
  for (const [month, list] of byMonth) {
    // freqtrade stores the funding rate in the "open" column of its funding_rate candles.
    const lines = list.map((r) => `${r.date},8,${r.open}`);
    const path = archivePath({ period: 'monthly', dataset: 'fundingRate', symbol: SYMBOL, date: month });
    writeZip(path, `${SYMBOL}-fundingRate-${month}.csv`, `calc_time,funding_interval_hours,last_funding_rate\n${lines.join('\n')}\n`);
  }
  return byMonth.size;
}

rmSync(OUT, { recursive: true, force: true });
const k5 = readFeather('XRP_USDT_USDT-5m-futures.feather');
const k1h = readFeather('XRP_USDT_USDT-1h-futures.feather');
const funding = readFeather('XRP_USDT_USDT-8h-funding_rate.feather');
const files = writeDailyKlines(k5, '5m', 300_000) + writeDailyKlines(k1h, '1h', 3_600_000) + writeMonthlyFunding(funding);
console.log(`wrote ${files} archive files to ${OUT}: ${k5.length} 5m candles, ${k1h.length} 1h candles, ${funding.length} funding rates`);
