import type { Command } from 'commander';
import { checkWindow, parseTimeframe, parseUtcTimeMs, symbolFlag, type Config, type Frame } from '@oitrader/core';
import { MarketDataLoader, openStore, storeTargetFromConfig, type StoreTarget } from '@oitrader/data';

export const DEMO_DB = 'data/demo/db';

export interface FrameFlags {
  symbol?: string;
  timeframe: string;
  start: string;
  end: string;
  demoDb?: boolean;
  /** An embedded database directory instead of the configured store (the dashboard's backtests read the paper bot's). */
  db?: string;
}

/** The options every command that reads a MarketDataLoader frame shares. */
export function addFrameOptions(command: Command): Command {
  return command
    .option('--symbol <symbol>', 'symbol (default: trading.symbol, the first of trading.symbols)', symbolFlag('--symbol'))
    .option('--timeframe <tf>', 'bar size', '5m')
    .option('--start <date>', 'first bar (UTC)', '2000-01-01')
    .option('--end <date>', 'stop before (UTC)', '2100-01-01')
    .option('--demo-db', 'read the demo database (data/demo/db) instead of the configured one')
    .option('--db <dir>', 'read this embedded database directory instead of the configured one');
}

export async function loadFrame(flags: FrameFlags, config: Config): Promise<Frame> {
  const [timeframe, startMs, endMs] = [parseTimeframe(flags.timeframe), parseUtcTimeMs(flags.start), parseUtcTimeMs(flags.end)];
  checkWindow(startMs, endMs);
  const { sql } = await openStore(storeOf(flags, config));
  try {
    const { frame } = await new MarketDataLoader(sql).load(flags.symbol ?? config.trading.symbol, timeframe, startMs, endMs);
    return frame;
  } finally {
    await sql.close();
  }
}

/** Several symbols' frames over one window and timeframe, from one store connection. */
export async function loadFrames(symbols: readonly string[], flags: Omit<FrameFlags, 'symbol'>, config: Config): Promise<Frame[]> {
  const [timeframe, startMs, endMs] = [parseTimeframe(flags.timeframe), parseUtcTimeMs(flags.start), parseUtcTimeMs(flags.end)];
  checkWindow(startMs, endMs);
  const { sql } = await openStore(storeOf(flags, config));
  try {
    const loader = new MarketDataLoader(sql);
    const frames: Frame[] = [];
    for (const symbol of symbols) frames.push((await loader.load(symbol, timeframe, startMs, endMs)).frame);
    return frames;
  } finally {
    await sql.close();
  }
}

function storeOf(flags: FrameFlags, config: Config): StoreTarget {
  if (flags.db !== undefined) return { embeddedPath: flags.db };
  return flags.demoDb ? { embeddedPath: DEMO_DB } : storeTargetFromConfig(config);
}
