/**
 * Builds data/sample/binance-archive — the bundled real sample — from the real
 * Binance USDⓈ-M data in ../shared/data/real (see its SOURCES.md), in the layout
 * and CSV format of Binance's public-data archive:
 *   monthly klines (5m and 1h), daily metrics (5m open interest), monthly fundingRate,
 *   each zip with its .CHECKSUM.
 * Values are copied unchanged. Columns the sources lack (kline quote volume, trade
 * count, taker volumes; the metrics files' long/short and taker ratios) are written
 * EMPTY, never invented. Metrics create_time keeps Binance's few-second jitter.
 * Run: npx tsx scripts/build-sample.ts [../shared/data/real]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync, strToU8, zipSync } from 'fflate';
import { archivePath } from '../packages/binance/src/archive/layout.ts';

const SOURCE = process.argv[2] ?? '../shared/data/real';
const OUT = 'data/sample/binance-archive';
const FROM = Date.UTC(2025, 11, 1);

interface SymbolPlan {
  symbol: string;
  klines: Record<string, string>;
  oi: string;
  funding: { file: string; time: string; rate: string; intervalHours: number };
  /** Exclusive end: every series of the symbol stops where its 5m klines stop. */
  endMs: number;
}

const PLANS: SymbolPlan[] = [
  {
    symbol: 'SOLUSDT',
    klines: { '5m': 'binance-um-klines/SOLUSDT-5m.csv.gz', '1h': 'binance-um-klines/SOLUSDT-1h.csv.gz' },
    oi: 'binance-um-open-interest/SOLUSDT-oi-5m.csv.gz',
    funding: { file: 'binance-um-funding/SOLUSDT-fundingRate-vision-2025-2026.csv.gz', time: 'calc_time', rate: 'funding_rate', intervalHours: 8 },
    endMs: Date.UTC(2026, 2, 1),
  },
  {
    symbol: 'BTCUSDT',
    klines: { '5m': 'binance-um-klines/BTCUSDT-5m.csv.gz', '1h': 'binance-um-klines/BTCUSDT-1h.csv.gz' },
    oi: 'binance-um-open-interest/BTCUSDT-oi-5m.csv.gz',
    funding: { file: 'binance-um-funding/BTCUSDT-fundingRate-2019-2026.csv.gz', time: 'funding_time', rate: 'funding_rate', intervalHours: 8 },
    endMs: Date.UTC(2026, 1, 19, 17, 0),
  },
  {
    symbol: 'ETHUSDT',
    klines: { '5m': 'binance-um-klines/ETHUSDT-5m-2025-2026.csv.gz', '1h': 'binance-um-klines/ETHUSDT-1h.csv.gz' },
    oi: 'binance-um-open-interest/ETHUSDT-oi-5m.csv.gz',
    funding: { file: 'binance-um-funding/ETHUSDT-fundingRate-2019-2026.csv.gz', time: 'funding_time', rate: 'funding_rate', intervalHours: 8 },
    endMs: Date.UTC(2026, 1, 19, 17, 0),
  },
  {
    symbol: 'DOGEUSDT',
    klines: { '5m': 'binance-um-klines/DOGEUSDT-5m.csv.gz', '1h': 'binance-um-klines/DOGEUSDT-1h.csv.gz' },
    oi: 'binance-um-open-interest/DOGEUSDT-oi-5m.csv.gz',
    funding: { file: 'binance-um-funding/DOGEUSDT-fundingRate-vision-2025-2026.csv.gz', time: 'calc_time', rate: 'funding_rate', intervalHours: 8 },
    endMs: Date.UTC(2026, 1, 19, 17, 0),
  },
];

function readCsv(file: string): { header: string[]; rows: string[][] } {
  const text = new TextDecoder().decode(gunzipSync(new Uint8Array(readFileSync(join(SOURCE, file)))));
  const [head, ...lines] = text.trim().split('\n');
  return { header: head.split(','), rows: lines.map((l) => l.split(',')) };
}

function column(header: string[], name: string, file: string): number {
  const i = header.indexOf(name);
  if (i < 0) throw new Error(`${file}: no column ${name}`);
  return i;
}

function writeZip(path: string, csv: string): void {
  const full = join(OUT, path);
  mkdirSync(dirname(full), { recursive: true });
  const name = path.split('/').pop() as string;
  // A fixed mtime keeps the zip bytes, and so the checksums, reproducible.
  const zip = zipSync({ [name.replace(/\.zip$/, '.csv')]: [strToU8(csv), { mtime: new Date('2026-03-01T00:00:00Z') }] });
  writeFileSync(full, zip);
  writeFileSync(`${full}.CHECKSUM`, `${createHash('sha256').update(zip).digest('hex')}  ${name}\n`);
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

const month = (ms: number) => new Date(ms).toISOString().slice(0, 7);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const KLINE_HEADER = 'open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore';
const METRICS_HEADER = 'create_time,symbol,sum_open_interest,sum_open_interest_value,count_toptrader_long_short_ratio,sum_toptrader_long_short_ratio,count_long_short_ratio,sum_taker_long_short_vol_ratio';
const INTERVAL_MS: Record<string, number> = { '5m': 300_000, '1h': 3_600_000 };

function buildSymbol(plan: SymbolPlan): string {
  const { symbol } = plan;
  const inSpan = (t: number) => t >= FROM && t < plan.endMs;
  const counts: string[] = [];
  for (const [interval, file] of Object.entries(plan.klines)) {
    const { header, rows } = readCsv(file);
    const [t, o, h, l, c, v] = ['open_time', 'open', 'high', 'low', 'close', 'volume'].map((n) => column(header, n, file));
    // A candle belongs in the sample only if it closed before the span's end.
    const kept = rows.filter((r) => inSpan(Number(r[t])) && Number(r[t]) + INTERVAL_MS[interval] <= plan.endMs);
    for (const [m, list] of groupBy(kept, (r) => month(Number(r[t])))) {
      const lines = list.map((r) => [r[t], r[o], r[h], r[l], r[c], r[v], Number(r[t]) + INTERVAL_MS[interval] - 1, '', '', '', '', 0].join(','));
      writeZip(archivePath({ period: 'monthly', dataset: 'klines', symbol, interval, date: m }), `${KLINE_HEADER}\n${lines.join('\n')}\n`);
    }
    counts.push(`${kept.length} ${interval} candles`);
  }
  {
    const { header, rows } = readCsv(plan.oi);
    const [t, oi, value] = ['create_time', 'sum_open_interest', 'sum_open_interest_value'].map((n) => column(header, n, plan.oi));
    // A metrics row stamped at create_time is the open interest at that instant (the 5 minutes that end then); one file per calendar day of create_time.
    const kept = rows.filter((r) => inSpan(Number(r[t])));
    for (const [d, list] of groupBy(kept, (r) => day(Number(r[t])))) {
      // Binance writes create_time as "YYYY-MM-DD HH:MM:SS"; the ratio columns are empty (the source dropped them).
      const lines = list.map((r) => [new Date(Number(r[t])).toISOString().slice(0, 19).replace('T', ' '), symbol, r[oi], r[value], '', '', '', ''].join(','));
      writeZip(archivePath({ period: 'daily', dataset: 'metrics', symbol, date: d }), `${METRICS_HEADER}\n${lines.join('\n')}\n`);
    }
    counts.push(`${kept.length} open-interest rows`);
  }
  {
    const { file, intervalHours } = plan.funding;
    const { header, rows } = readCsv(file);
    const t = column(header, plan.funding.time, file);
    const rate = column(header, plan.funding.rate, file);
    const kept = rows.filter((r) => inSpan(Number(r[t])));
    for (const [m, list] of groupBy(kept, (r) => month(Number(r[t])))) {
      const lines = list.map((r) => `${r[t]},${intervalHours},${r[rate]}`);
      writeZip(archivePath({ period: 'monthly', dataset: 'fundingRate', symbol, date: m }), `calc_time,funding_interval_hours,last_funding_rate\n${lines.join('\n')}\n`);
    }
    counts.push(`${kept.length} funding rates`);
  }
  return `${symbol}: ${counts.join(', ')} (${day(FROM)} .. ${new Date(plan.endMs - 1).toISOString().slice(0, 16)})`;
}

rmSync(OUT, { recursive: true, force: true });
for (const plan of PLANS) console.log(buildSymbol(plan));
