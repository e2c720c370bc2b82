/**
 * bench/bot: decision latency of the trading bot, candle close → order sent
 * and → step committed, p50/p99 ms. The real SOLUSDT sample (Dec 2025) is in
 * the database; the bot (paper venue, sma-trend + the risk manager) replays
 * the first days, then each of the next candles is "closed" one at a time:
 * the loop's query finds it, the bot loads it, decides, sends, commits.
 * Reference: the goal of 100 ms p99. Excludes the loop's poll
 * interval (bot.poll_seconds) and the collector's own close → row latency
 * (bench/collector). On PostgreSQL (when reachable) and embedded PGlite.
 *   npm run bench:bot [-- candles]
 */
import { performance } from 'node:perf_hooks';
import { latencyPercentiles } from '../packages/cli/src/commands/collect.ts';
import { silentLogger } from '../packages/core/src/index.ts';
import { DEFAULT_RISK_LIMITS, smaTrend } from '../packages/backtest/src/index.ts';
import { MarketDataLoader, migrate, PgliteExecutor, PostgresExecutor, type SqlExecutor } from '../packages/data/src/index.ts';
import { BotStore, PaperVenue, TradingBot, type VenueOrder } from '../packages/live/src/index.ts';
import { dropPostgres, freshPostgresUrl } from '../packages/live/src/testing/engines.ts';
import { importSample, SAMPLE_SYMBOL, sampleSpan } from '../packages/live/src/testing/sample-store.ts';

const CANDLES = Number(process.argv[2] ?? 300);
const BAR = 300_000;
const GOAL_P99_MS = 100;

async function measure(name: string, sql: SqlExecutor): Promise<void> {
  await importSample(sql);
  const span = await sampleSpan(sql, 30);
  const store = new BotStore(sql);
  let sentAt = 0;
  class TimedVenue extends PaperVenue {
    override async submit(orders: VenueOrder[], referencePriceUsd: number, timeMs: number) {
      const states = await super.submit(orders, referencePriceUsd, timeMs);
      sentAt = performance.now();
      return states;
    }
  }
  const bot = new TradingBot({
    bot: 'bench',
    symbol: SAMPLE_SYMBOL,
    timeframe: '5m',
    mode: 'paper',
    strategy: smaTrend(),
    risk: DEFAULT_RISK_LIMITS,
    stopLoss: 0.01,
    execution: { initialBalanceUsd: 2000, leverage: 5 },
    store,
    loader: new MarketDataLoader(sql, silentLogger),
    venue: new TimedVenue({ symbol: SAMPLE_SYMBOL, bot: 'bench', barMs: BAR, initialBalanceUsd: 2000, leverage: 5 }),
  });
  await bot.start(span.firstMs);
  const last = span.lastMs;
  const firstTimed = last - CANDLES * BAR;
  await bot.stepThrough(firstTimed - BAR);
  const toSent: number[] = [];
  const toCommit: number[] = [];
  for (let t = firstTimed; t <= last; t += BAR) {
    const closedAt = performance.now();
    const latest = await store.latestClosedCandle(SAMPLE_SYMBOL, '5m', BAR, t + BAR);
    await bot.stepThrough(latest!);
    toSent.push(sentAt - closedAt);
    toCommit.push(performance.now() - closedAt);
  }
  const sent = latencyPercentiles(toSent);
  const committed = latencyPercentiles(toCommit);
  const fmt = (x: number) => x.toFixed(1);
  console.log(
    `| ${name} | ${sent.samples} | ${fmt(sent.p50)} ms | ${fmt(sent.p99)} ms | ${fmt(committed.p50)} ms | ${fmt(committed.p99)} ms | ${(GOAL_P99_MS / committed.p99).toFixed(1)}× inside |`,
  );
}

console.log('| engine | candles | close → order sent p50 | p99 | close → committed p50 | p99 | p99 vs 100 ms goal |');
console.log('|---|---|---|---|---|---|---|');
const url = await freshPostgresUrl();
if (url) {
  const sql = PostgresExecutor.connect(url);
  await migrate(sql);
  try {
    await measure('PostgreSQL (localhost)', sql);
  } finally {
    await sql.close();
    await dropPostgres(url);
  }
}
const lite = await PgliteExecutor.open(undefined);
await migrate(lite);
await measure('PGlite in memory', lite);
await lite.close();
