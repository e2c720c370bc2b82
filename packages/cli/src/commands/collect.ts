import type { Command } from 'commander';
import { openArchiveSource } from '@oitrader/binance';
import { numberFlag, parseUtcTimeMs, silentLogger, timeframeMs, type Config, type Timeframe } from '@oitrader/core';
import { Collector, describeTarget, openStore, storeTargetFromConfig, type CollectorOptions, type CollectorStats, type SqlExecutor } from '@oitrader/data';
import { loadReplayDataset, SimClock, SimServer } from '@oitrader/sim';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';

/** Binance's production market-data hosts: public, no API key; `binance.testnet` concerns trading only. */
export const BINANCE_FAPI = 'https://fapi.binance.com';
export const BINANCE_FSTREAM = 'wss://fstream.binance.com';

interface CollectFlags extends GlobalOptions {
  for?: number;
  archive: boolean;
}

export interface CollectSummary {
  stats: CollectorStats;
  /** Stream receipt → row committed, ms. */
  storeLatencyMs: { p50: number; p99: number; samples: number };
  /** Candle close (exchange time) → row committed (this machine's clock), ms: the guide's 5 s target. Meaningless against a simulator running faster than real time. */
  closeToRowMs: { p50: number; p99: number; samples: number };
  unflushedJobs: number;
}

export function registerCollectCommand(program: Command): void {
  program
    .command('collect')
    .description('run the 24/7 collector: backfill (archive, then REST), then stream candles, mark price, liquidations and depth into the database')
    .option('--for <seconds>', 'stop after this many seconds (default: run until SIGINT or SIGTERM)', numberFlag('--for', 'positiveSeconds'))
    .option('--no-archive', 'skip the public-archive step even when data.archive.enabled is true')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<CollectFlags>();
      const { config, out } = commandContext(flags);
      const summary = await runCollect(config, out, { forSeconds: flags.for, archive: flags.archive });
      out.result(summary);
    });
}

/** The collector as config.yaml describes it (symbols, timeframes, URLs, archive, timings). */
export function collectorOptions(config: Config, sql: SqlExecutor, archive = true): CollectorOptions {
  const c = config.collector;
  return {
    sql,
    restUrl: config.binance.rest_url || BINANCE_FAPI,
    wsUrl: config.binance.ws_url || BINANCE_FSTREAM,
    symbols: config.data.symbols,
    timeframes: config.data.timeframes,
    oiPeriods: config.data.oi_periods,
    startMs: parseUtcTimeMs(config.data.start_date),
    archive: archive && config.data.archive.enabled ? { source: openArchiveSource(config.data.archive.source), verifyChecksums: config.data.archive.verify_checksums } : undefined,
    bookSampleMs: c.book_sample_seconds * 1000,
    pollDelayMs: c.poll_delay_seconds * 1000,
    closeGraceMs: c.close_grace_seconds * 1000,
    heartbeatMs: c.heartbeat_seconds * 1000,
    bufferMaxRows: c.buffer_max_rows,
  };
}

export async function runCollect(config: Config, out: Output, options: { forSeconds?: number; archive?: boolean } = {}): Promise<CollectSummary> {
  const target = storeTargetFromConfig(config);
  const { sql } = await openStore(target);
  const latencies: number[] = [];
  const closeToRow: number[] = [];
  let fatal: Error | undefined;
  let wake: () => void = () => {};
  const configured = collectorOptions(config, sql, options.archive !== false);
  const { restUrl, wsUrl } = configured;
  const collector = new Collector({
    ...configured,
    onCandleStored: (candle) => {
      latencies.push(candle.storedAtMs - candle.receivedAtMs);
      closeToRow.push(candle.storedAtMs - (candle.openTime + timeframeMs(candle.interval as Timeframe)));
    },
    onFatal: (error) => {
      fatal = error;
      wake();
    },
  });
  out.text(`collecting ${config.data.symbols.join(', ')} × ${config.data.timeframes.join(', ')} from ${restUrl} and ${wsUrl} into ${describeTarget(target)}`);
  const stopSignals = ['SIGINT', 'SIGTERM'] as const;
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
    for (const signal of stopSignals) process.once(signal, resolve);
    if (options.forSeconds !== undefined) setTimeout(resolve, options.forSeconds * 1000).unref();
  });
  let summary: CollectSummary | undefined;
  let started = false;
  try {
    // An unreachable exchange keeps the start retrying for minutes: --for and SIGINT/SIGTERM still end the run.
    const starting = collector.start().then(() => void (started = true));
    starting.catch(() => undefined); // a start still running when the run ends fails quietly against the closed store
    await Promise.race([starting, stopped]);
    if (started) {
      out.text(startLine(collector.stats));
      await stopped;
    }
  } finally {
    for (const signal of stopSignals) process.removeListener(signal, wake);
    const { unflushedJobs } = await collector.stop();
    await sql.close().catch(() => undefined);
    // Writes that never reached the database: say so and fail, so a supervisor notices (REST refetches them).
    if (unflushedJobs > 0) process.exitCode = 1;
    summary = { stats: collector.stats, storeLatencyMs: latencyPercentiles(latencies), closeToRowMs: latencyPercentiles(closeToRow), unflushedJobs };
    printSummary(out, summary);
    if (!fatal && !reachedExchange(collector.stats, started)) {
      out.text(`FAILED: ${restUrl} never answered (${collector.stats.backfillFailures} failed backfills${started ? '' : ', the start did not finish'}): nothing was collected`);
      process.exitCode = 1;
    }
  }
  if (fatal) throw fatal;
  return summary;
}

/** "Up to date" only when the backfill asked the exchange and got nothing new, never when it could not ask. */
function startLine(st: CollectorStats): string {
  if (st.backfilledCandles + st.backfilledPoints > 0) return `backfilled ${st.backfilledCandles} candles and ${st.backfilledPoints} OI/ratio/funding points; streaming (Ctrl-C stops cleanly)`;
  if (st.backfillFailures > 0) return `the backfill failed ${st.backfillFailures} times (is the exchange reachable? see the log); retrying every 30 s while streaming (Ctrl-C stops cleanly)`;
  return 'nothing to backfill: the store is up to date; streaming (Ctrl-C stops cleanly)';
}

/** A run that never heard from the exchange (every backfill failed, nothing streamed) collected nothing: it fails. */
function reachedExchange(st: CollectorStats, started: boolean): boolean {
  if (st.streamedCandles > 0 || st.backfilledCandles + st.backfilledPoints > 0) return true;
  return started && st.backfillFailures === 0;
}

/** p50 and p99 (nearest rank) of latency samples in ms. */
export function latencyPercentiles(values: number[]): CollectSummary['storeLatencyMs'] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  return { p50: at(0.5), p99: at(0.99), samples: sorted.length };
}

function printSummary(out: Output, s: CollectSummary): void {
  const st = s.stats;
  out.text(
    `collector stopped: ${st.streamedCandles} candles streamed, ${st.backfilledCandles} backfilled, ${st.backfilledPoints} OI/ratio/funding points, ` +
      `${st.reconnects} reconnects, ${st.gapsDetected} gaps filled, ${st.rejected} messages rejected, ${st.rateLimited} rate limits`,
  );
  if (s.storeLatencyMs.samples > 0) {
    out.text(`stream → database: p50 ${s.storeLatencyMs.p50} ms, p99 ${s.storeLatencyMs.p99} ms over ${s.storeLatencyMs.samples} candles`);
    out.text(`candle close → database (exchange clock vs ours, so skew included): p50 ${s.closeToRowMs.p50} ms, p99 ${s.closeToRowMs.p99} ms`);
  }
  if (s.unflushedJobs > 0) out.text(`WARNING: ${s.unflushedJobs} writes could not be flushed (database unreachable); REST backfill recovers them on the next start`);
}

/**
 * The demo's live-side stage: the collector against the simulator replaying
 * the bundled sample at high speed, with one dropped stream connection, into a
 * throwaway embedded database; then the stored candles are compared with the
 * simulator's source. Returns false when they differ.
 */
export async function runSimulatedCollection(out: Output, archiveDir: string, seconds: number, symbol = 'SOLUSDT'): Promise<boolean> {
  const dataset = await loadReplayDataset(archiveDir, symbol);
  const source = dataset.klines.get('5m')!;
  // 1200×: one 5m candle every 250 ms of real time, after a day of history to backfill.
  const sim = await SimServer.start({ datasets: [dataset], clock: new SimClock(source[0].openTime + 86_400_000, 1200) });
  const { sql } = await openStore({ embeddedPath: 'memory' });
  const latencies: number[] = [];
  const collector = new Collector({
    sql,
    restUrl: sim.restUrl,
    wsUrl: sim.wsUrl,
    symbols: [symbol],
    timeframes: ['5m', '1h'],
    oiPeriods: ['5m'],
    startMs: source[0].openTime,
    pollDelayMs: 20,
    closeGraceMs: 200,
    stream: { backoffBaseMs: 100, backoffMaxMs: 200 },
    log: silentLogger,
    onCandleStored: (c) => latencies.push(c.storedAtMs - c.receivedAtMs),
  });
  try {
    await collector.start();
    await new Promise((r) => setTimeout(r, (seconds * 1000) / 2));
    sim.dropStreams();
    await new Promise((r) => setTimeout(r, (seconds * 1000) / 2));
    sim.clock.setSpeed(0);
    const now = sim.clock.now();
    const expected = source.filter((k) => k.closeTime < now);
    // Let the last close and any gap backfill land.
    let stored: Array<{ t: number; c: number }> = [];
    for (let wait = 0; wait < 100; wait++) {
      await collector.queue.flush(2000);
      stored = await sql.query<{ t: number; c: number }>(
        "SELECT (extract(epoch FROM time) * 1000)::float8 AS t, close::float8 AS c FROM ohlcv WHERE symbol = $1 AND timeframe = '5m' ORDER BY time",
        [symbol],
      );
      if (stored.length >= expected.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await collector.stop();
    const equal = stored.length === expected.length && stored.every((r, i) => Number(r.t) === expected[i].openTime && Number(r.c) === expected[i].close);
    const p = latencyPercentiles(latencies);
    const st = collector.stats;
    out.text(`simulator: real ${symbol} sample at 1200×; collector ran ${seconds} s with one dropped stream connection`);
    out.text(
      `  ${st.backfilledCandles} candles backfilled by REST, ${st.streamedCandles} streamed, ${st.reconnects} reconnect, ${st.gapsDetected} gaps filled, ${st.rejected} rejected`,
    );
    out.text(`  stream → database p50 ${p.p50} ms, p99 ${p.p99} ms; 5m table ${equal ? 'equals' : 'DIFFERS FROM'} the simulator's source (${stored.length} of ${expected.length} candles)`);
    return equal;
  } finally {
    await collector.stop();
    await sim.close();
    await sql.close();
  }
}
