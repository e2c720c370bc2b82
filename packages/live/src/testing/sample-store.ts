import { fileURLToPath } from 'node:url';
import { DirectorySource } from '@oitrader/binance';
import { importArchive, type SqlExecutor } from '@oitrader/data';

/** The bundled real sample in Binance's archive layout (data/sample/README.md). */
export const SAMPLE_ARCHIVE = fileURLToPath(new URL('../../../../data/sample/binance-archive', import.meta.url));
export const SAMPLE_SYMBOL = 'SOLUSDT';

/** Imports the sample's first month of 5m candles and funding rates (SOLUSDT unless told): the bot's market data. */
export async function importSample(sql: SqlExecutor, symbols: readonly string[] = [SAMPLE_SYMBOL]): Promise<void> {
  const report = await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE), {
    symbols: [...symbols],
    timeframes: ['5m'],
    datasets: ['klines', 'fundingRate'],
    startMs: Date.UTC(2025, 11, 1),
    endMs: Date.UTC(2025, 11, 31),
  });
  if (report.failed > 0) throw new Error(`sample import failed: ${JSON.stringify(report.files.filter((f) => f.error))}`);
}

/** Open times of the first stored 5m candle and of the last one within `days` of it (a replayed week by default). */
export async function sampleSpan(sql: SqlExecutor, days = 7): Promise<{ firstMs: number; lastMs: number }> {
  const [r] = await sql.query<{ a: number; b: number }>(
    `SELECT (extract(epoch FROM min(time)) * 1000)::float8 AS a, (extract(epoch FROM max(time)) * 1000)::float8 AS b FROM ohlcv WHERE symbol = $1 AND timeframe = '5m'`,
    [SAMPLE_SYMBOL],
  );
  const firstMs = Number(r.a);
  return { firstMs, lastMs: Math.min(Number(r.b), firstMs + days * 86_400_000 - 300_000) };
}
