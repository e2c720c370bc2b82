import { fileURLToPath } from 'node:url';
import { DirectorySource } from '@oitrader/binance';
import { importArchive, type SqlExecutor } from '@oitrader/data';

/** The bundled real sample in Binance's archive layout (data/sample/README.md). */
export const SAMPLE_ARCHIVE = fileURLToPath(new URL('../../../../data/sample/binance-archive', import.meta.url));
export const SAMPLE_SYMBOL = 'XRPUSDT';

/** Imports the sample's 5m candles and funding rates: the bot's market data. */
export async function importSample(sql: SqlExecutor): Promise<void> {
  const report = await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE), { symbols: [SAMPLE_SYMBOL], timeframes: ['5m'], datasets: ['klines', 'fundingRate'] });
  if (report.failed > 0) throw new Error(`sample import failed: ${JSON.stringify(report.files.filter((f) => f.error))}`);
}

/** Open times of the first and last stored 5m candle. */
export async function sampleSpan(sql: SqlExecutor): Promise<{ firstMs: number; lastMs: number }> {
  const [r] = await sql.query<{ a: number; b: number }>(
    `SELECT (extract(epoch FROM min(time)) * 1000)::float8 AS a, (extract(epoch FROM max(time)) * 1000)::float8 AS b FROM ohlcv WHERE symbol = $1 AND timeframe = '5m'`,
    [SAMPLE_SYMBOL],
  );
  return { firstMs: Number(r.a), lastMs: Number(r.b) };
}
