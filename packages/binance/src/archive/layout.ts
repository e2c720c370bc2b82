/**
 * Binance's public-data archive for USDⓈ-M futures:
 *   futures/um/{daily|monthly}/klines/<SYM>/<interval>/<SYM>-<interval>-<date>.zip
 *   futures/um/daily/metrics/<SYM>/<SYM>-metrics-<date>.zip
 *   futures/um/monthly/fundingRate/<SYM>/<SYM>-fundingRate-<month>.zip
 *   futures/um/daily/bookDepth/<SYM>/<SYM>-bookDepth-<date>.zip
 *   futures/um/daily/liquidationSnapshot/<SYM>/<SYM>-liquidationSnapshot-<date>.zip
 * Each zip holds one CSV; `<file>.zip.CHECKSUM` holds "<sha256>  <file>.zip".
 */
export type ArchiveDataset = 'klines' | 'metrics' | 'fundingRate' | 'bookDepth' | 'liquidationSnapshot';
export type ArchivePeriod = 'daily' | 'monthly';

export interface ArchiveFile {
  period: ArchivePeriod;
  dataset: ArchiveDataset;
  symbol: string;
  /** Kline interval; only for klines. */
  interval?: string;
  /** `YYYY-MM-DD` for daily files, `YYYY-MM` for monthly. */
  date: string;
  /** Path relative to the archive root, with forward slashes. */
  path: string;
}

const DATASETS: readonly ArchiveDataset[] = ['klines', 'metrics', 'fundingRate', 'bookDepth', 'liquidationSnapshot'];

export function archivePath(file: Omit<ArchiveFile, 'path'>): string {
  const dir = file.interval ? `${file.symbol}/${file.interval}` : file.symbol;
  const name = file.interval ? `${file.symbol}-${file.interval}-${file.date}` : `${file.symbol}-${file.dataset}-${file.date}`;
  return `futures/um/${file.period}/${file.dataset}/${dir}/${name}.zip`;
}

/** Recognises an archive zip path (anywhere under a mirror root); undefined if it is not one. */
export function parseArchivePath(path: string): ArchiveFile | undefined {
  const normalized = path.replaceAll('\\', '/');
  const match = /futures\/um\/(daily|monthly)\/([A-Za-z]+)\/([A-Z0-9]+)\/(?:([0-9]+[mhdwM])\/)?([^/]+)\.zip$/.exec(normalized);
  if (!match) return undefined;
  const [, period, dataset, symbol, interval, name] = match;
  if (!(DATASETS as readonly string[]).includes(dataset)) return undefined;
  const date = /(\d{4}-\d\d(?:-\d\d)?)$/.exec(name)?.[1];
  if (!date) return undefined;
  if ((period === 'daily') !== (date.length === 10)) return undefined;
  const file = { period: period as ArchivePeriod, dataset: dataset as ArchiveDataset, symbol, date, ...(interval ? { interval } : {}) };
  return { ...file, path: normalized.slice(normalized.indexOf('futures/um/')) };
}
