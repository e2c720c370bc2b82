import {
  BinanceBannedError,
  BinanceMarketData,
  BinanceRestClient,
  CombinedStream,
  parseStreamMessage,
  streamNames,
  type ArchiveSource,
  type CombinedStreamOptions,
  type KlineEvent,
  type RestClientOptions,
  type RestEvent,
} from '@oitrader/binance';
import { createLogger, DAY_MS, OitraderError, timeframeMs, type Logger, type Timeframe } from '@oitrader/core';
import { importArchive } from '../import/archive-import.ts';
import { findStoredGaps } from '../quality/stored-gaps.ts';
import { bulkUpsert, type Batch } from '../store/bulk-upsert.ts';
import { logIngest, type IngestLogEntry } from '../store/ingest-log.ts';
import type { SqlExecutor } from '../store/sql-executor.ts';
import { sampleBook } from './book-sample.ts';
import { FuturesDataSeries, klineBatch, latestTime } from './series.ts';
import { SeriesCursors, seriesKey } from './series-cursors.ts';
import { WriteQueue } from './write-queue.ts';

export interface CollectorOptions {
  sql: SqlExecutor;
  restUrl: string;
  wsUrl: string;
  symbols: string[];
  timeframes: Timeframe[];
  oiPeriods: string[];
  /** Where history starts when the store holds nothing for a series (epoch ms). */
  startMs: number;
  /** Old history from Binance's public archive before REST fills the recent gap. */
  archive?: { source: ArchiveSource; verifyChecksums: boolean };
  /** One order_book row per symbol per this many ms of depth stream. */
  bookSampleMs?: number;
  /** Wait after a period closes before polling open interest and ratios (Binance publishes them a little late). */
  pollDelayMs?: number;
  heartbeatMs?: number;
  bufferMaxRows?: number;
  /** How long after a candle closes its stream message may take before REST fetches it instead. */
  closeGraceMs?: number;
  /** Klines per REST page: 1000 is the cheapest weight per bar. */
  klinePageLimit?: number;
  /** Retry a failed backfill after this long. */
  backfillRetryMs?: number;
  /** How often holes inside stored candle history are looked for and refilled by REST (also once at start). */
  gapRepairMs?: number;
  rest?: Partial<RestClientOptions>;
  stream?: Partial<Pick<CombinedStreamOptions, 'backoffBaseMs' | 'backoffMaxMs' | 'pingIntervalMs' | 'idleTimeoutMs' | 'reconnectAfterMs'>>;
  log?: Logger;
  /** Called when a streamed closed candle has committed: the latency probe. */
  onCandleStored?: (candle: { symbol: string; interval: string; openTime: number; receivedAtMs: number; storedAtMs: number }) => void;
  /** Called on an error the collector must not outlive (a 418 ban). */
  onFatal?: (error: Error) => void;
}

export interface CollectorStats {
  streamedCandles: number;
  backfilledCandles: number;
  backfilledPoints: number;
  /** Candles fetched by REST into holes inside stored history. */
  repairedCandles: number;
  duplicateCandles: number;
  gapsDetected: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  liquidations: number;
  bookSamples: number;
  reconnects: number;
  streamDrops: number;
  rateLimited: number;
  restRetries: number;
  backfillFailures: number;
}

interface StreamHealth {
  lastMessageAt: number;
  lastEventTime: number;
  lagMs: number;
  messages: number;
}

const SOURCE = 'collector';
const REJECTION_LOGS_PER_MINUTE = 50;

/**
 * The 24/7 collector: backfill (archive, then REST) up to the exchange's
 * clock, then stream; after every reconnect, and whenever a streamed candle
 * reveals a gap, REST fills the gap, so no closed candle is lost. Every
 * write goes through one bounded, retrying queue; every write is an
 * idempotent upsert, so overlaps between REST and stream are harmless.
 */
export class Collector {
  readonly stats: CollectorStats = {
    streamedCandles: 0,
    backfilledCandles: 0,
    backfilledPoints: 0,
    repairedCandles: 0,
    duplicateCandles: 0,
    gapsDetected: 0,
    rejected: 0,
    rejectedByReason: {},
    liquidations: 0,
    bookSamples: 0,
    reconnects: 0,
    streamDrops: 0,
    rateLimited: 0,
    restRetries: 0,
    backfillFailures: 0,
  };
  readonly queue: WriteQueue;
  readonly market: BinanceMarketData;
  readonly #o: CollectorOptions;
  readonly #log: Logger;
  readonly #symbols: Set<string>;
  readonly #streams: string[];
  readonly #health = new Map<string, StreamHealth>();
  /** Newest row stored or queued per series: for candles, the open time of the newest *contiguous* closed candle. */
  readonly #cursors = new SeriesCursors();
  readonly #series: FuturesDataSeries;
  readonly #running = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #lastBookSample = new Map<string, number>();
  readonly #nextFunding = new Map<string, number>();
  /** Holes the exchange itself has no candles for (a real outage): not asked for again by this process. */
  readonly #unfillable = new Set<string>();
  #stream: CombinedStream | undefined;
  /** Set by stop() or a ban: no new backfill, stream or timer starts. */
  #stopped = false;
  #stopCalled = false;
  /** Aborted by stop(): a REST page in flight or backing off against an unreachable exchange ends at once. */
  readonly #stopping = new AbortController();
  #rejectionMinute = 0;
  #rejectionLogs = 0;

  constructor(options: CollectorOptions) {
    this.#o = options;
    this.#log = options.log ?? createLogger('collector');
    this.#symbols = new Set(options.symbols);
    this.queue = new WriteQueue(options.sql, {
      maxRows: options.bufferMaxRows,
      log: this.#log,
      onRecovered: (outage) => {
        this.#ingestLog({ level: 'warn', dataset: 'database', message: `database writes caught up after ${outage.failures} failed attempts; ${outage.droppedRows} buffered rows were dropped`, detail: outage });
        if (outage.droppedRows > 0) this.#backfillEverything('recover rows dropped while the database was down');
      },
    });
    const rest = new BinanceRestClient({ baseUrl: options.restUrl, ...options.rest, signal: this.#stopping.signal, onEvent: (event) => this.#onRestEvent(event) });
    this.market = new BinanceMarketData(rest);
    this.#series = new FuturesDataSeries(this.market, options.oiPeriods, this.#cursors);
    this.#series.onRejected = (reason) => this.#reject(reason);
    this.#streams = options.symbols.flatMap((s) => [
      ...options.timeframes.map((tf) => streamNames.kline(s, tf)),
      streamNames.markPrice(s),
      streamNames.forceOrder(s),
      streamNames.depth(s),
    ]);
  }

  /** Backfills, then opens the streams. Resolves once the first backfill has been queued and the streams started. */
  async start(): Promise<void> {
    this.#ingestLog({ level: 'info', dataset: 'collector', message: `collector starting: ${this.#o.symbols.join(', ')} × ${this.#o.timeframes.join(', ')}`, detail: { streams: this.#streams.length } });
    await this.#checkSymbols();
    await this.#loadCursors();
    if (this.#o.archive) await this.#importArchive(this.#o.archive);
    await Promise.all(this.#o.symbols.map((symbol) => this.#backfillSymbol(symbol)));
    await this.#repairAllGaps();
    if (this.#stopped) return;
    this.#stream = new CombinedStream({
      wsUrl: this.#o.wsUrl,
      streams: this.#streams,
      ...this.#o.stream,
      onMessage: (raw, receivedAt) => this.#onMessage(raw, receivedAt),
      onOpen: (open) => {
        if (!open.reconnect) return;
        this.stats.reconnects++;
        this.#ingestLog({ level: 'warn', dataset: 'stream', message: `stream connection ${open.connection} reconnected; backfilling the gap by REST`, detail: { streams: open.streams.length } });
        this.#backfillEverything('reconnect');
      },
      onClose: (close) => {
        this.stats.streamDrops++;
        this.#ingestLog({ level: 'warn', dataset: 'stream', message: `stream connection ${close.connection} closed (code ${close.code}); reconnecting in ${close.retryInMs} ms (attempt ${close.attempt})`, detail: { ...close } });
      },
    });
    this.#stream.start();
    this.#every(this.#o.heartbeatMs ?? 10_000, () => this.#writeHealth());
    this.#every(this.#o.gapRepairMs ?? 60 * 60_000, () => void this.#repairAllGaps());
    // A fallback to the candle-close trigger, for configurations without a 5m stream.
    this.#every(5 * 60_000, () => this.#o.symbols.forEach((s) => void this.#scheduleSeries(s)));
  }

  /**
   * Stop with a deadline: close the streams, give running backfills (a REST
   * page in flight, possibly retrying against an unreachable exchange) at most
   * `timeoutMs` (they stop at their next page: nothing is lost, the store is
   * the cursor), write health, flush the queue for at most `timeoutMs`, then
   * close it: what could not be written is reported, never retried forever.
   */
  async stop(timeoutMs = 3_000): Promise<{ unflushedJobs: number; unflushedRows: number }> {
    if (this.#stopCalled) return { unflushedJobs: this.queue.stats.pendingJobs, unflushedRows: this.queue.stats.pendingRows };
    this.#stopCalled = true;
    this.#stopped = true;
    this.#stopping.abort();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#stream?.close();
    await Promise.race([Promise.allSettled([...this.#running.values()]), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.#writeHealth();
    this.#ingestLog({ level: 'info', dataset: 'collector', message: 'collector stopped', detail: { ...this.stats } });
    await this.queue.flush(timeoutMs);
    const unflushedRows = this.queue.stats.pendingRows;
    const unflushedJobs = this.queue.close();
    if (unflushedJobs > 0) this.#log.error('stopping with writes that could not be flushed; REST refetches them on the next start', { jobs: unflushedJobs, rows: unflushedRows });
    return { unflushedJobs, unflushedRows };
  }

  /**
   * A well-formed symbol the exchange does not list would be asked for every 30 s
   * forever (-1121 Invalid symbol): refuse it at start instead. When exchangeInfo
   * itself cannot be fetched the check is skipped (logged); the backfill retries.
   */
  async #checkSymbols(): Promise<void> {
    let listed: Set<string>;
    try {
      listed = new Set((await this.market.exchangeInfo()).map((s) => s.symbol));
    } catch (error) {
      if (error instanceof BinanceBannedError) throw error;
      this.#log.warn('could not fetch exchangeInfo to check the symbols; continuing', { error: (error as Error).message });
      return;
    }
    const unknown = this.#o.symbols.filter((s) => !listed.has(s));
    if (unknown.length > 0) {
      throw new OitraderError(`the exchange does not list ${unknown.join(', ')} (USDⓈ-M exchangeInfo)`, {
        hint: 'fix data.symbols in config.yaml: use symbols Binance USDⓈ-M futures lists, e.g. SOLUSDT, BTCUSDT',
        exitCode: 2,
      });
    }
  }

  async #loadCursors(): Promise<void> {
    for (const symbol of this.#o.symbols) {
      for (const tf of this.#o.timeframes) {
        const last = await latestTime(this.#o.sql, 'ohlcv', { symbol, timeframe: tf });
        if (last !== undefined) this.#cursors.advance(candleKey(symbol, tf), last);
      }
      await this.#series.loadCursors(this.#o.sql, symbol);
    }
  }

  /** Whole days of history the store lacks come from the archive (cheap, no rate limit); REST fills the rest. */
  async #importArchive(archive: NonNullable<CollectorOptions['archive']>): Promise<void> {
    const serverNow = await this.market.serverTime();
    const endMs = Math.floor(serverNow / DAY_MS) * DAY_MS - 1;
    for (const symbol of this.#o.symbols) {
      const known = this.#o.timeframes.map((tf) => this.#cursors.get(candleKey(symbol, tf)));
      const startMs = known.every((t) => t !== undefined) ? Math.min(...(known as number[])) : this.#o.startMs;
      if (endMs - startMs < DAY_MS) continue;
      const report = await importArchive(this.#o.sql, archive.source, {
        symbols: [symbol],
        timeframes: this.#o.timeframes,
        datasets: ['klines', 'metrics', 'fundingRate'],
        startMs,
        endMs,
        verifyChecksums: archive.verifyChecksums,
      });
      this.#log.info('archive import', { symbol, files: report.files.length, inserted: report.inserted, missing: report.missing, failed: report.failed });
    }
    await this.#loadCursors();
  }

  async #backfillSymbol(symbol: string): Promise<void> {
    await Promise.all([...this.#o.timeframes.map((tf) => this.#scheduleKlines(symbol, tf)), this.#scheduleFunding(symbol), this.#scheduleSeries(symbol)]);
  }

  #scheduleKlines(symbol: string, tf: Timeframe): Promise<void> {
    return this.#schedule(`klines:${symbol}:${tf}`, () => this.#backfillKlines(symbol, tf));
  }

  #repairAllGaps(): Promise<void> {
    return Promise.all(
      this.#o.symbols.flatMap((symbol) => this.#o.timeframes.map((tf) => this.#schedule(`repair:${symbol}:${tf}`, () => this.#repairGaps(symbol, tf)))),
    ).then(() => undefined);
  }

  /**
   * Holes inside stored history (a candle lost while both the stream and REST
   * failed) are never reached by the forward backfill, which starts after the
   * newest row. Found with the store's gap query and refilled page by page;
   * the REST client's weight budget paces the requests.
   */
  async #repairGaps(symbol: string, tf: Timeframe): Promise<void> {
    const step = timeframeMs(tf);
    const gaps = await findStoredGaps(this.#o.sql, 'ohlcv', { symbol, timeframe: tf }, step, 50);
    let repaired = 0;
    for (const gap of gaps) {
      const gapKey = `${symbol}:${tf}:${gap.afterMs}`;
      if (this.#unfillable.has(gapKey)) continue;
      let cursor = gap.afterMs + step;
      let found = 0;
      while (cursor < gap.beforeMs && !this.#stopped) {
        const limit = Math.min(this.#o.klinePageLimit ?? 1000, Math.max(2, Math.ceil((gap.beforeMs - cursor) / step)));
        const page = await this.market.klines(symbol, tf, { startTime: cursor, endTime: gap.beforeMs - 1, limit });
        const rows = page.rows.filter((k) => k.openTime >= cursor && k.openTime < gap.beforeMs);
        if (rows.length === 0) break;
        await this.#writeBackfill(klineBatch(symbol, tf, rows, 'rest'));
        found += rows.length;
        cursor = rows[rows.length - 1].openTime + step;
      }
      if (found === 0) this.#unfillable.add(gapKey);
      repaired += found;
    }
    this.stats.repairedCandles += repaired;
    if (repaired > 0) this.#ingestLog({ level: 'warn', dataset: 'ohlcv', symbol, rowsWritten: repaired, message: `repaired ${repaired} ${tf} candles missing inside stored history by REST` });
  }

  #scheduleFunding(symbol: string): Promise<void> {
    return this.#schedule(`funding:${symbol}`, () => this.#backfillFunding(symbol));
  }

  #scheduleSeries(symbol: string): Promise<void> {
    return this.#schedule(`series:${symbol}`, () => this.#series.backfill(symbol, (b) => this.#writeBackfill(b)));
  }

  #backfillEverything(reason: string): void {
    if (this.#stopped) return;
    this.#log.info('backfilling every series', { reason });
    for (const symbol of this.#o.symbols) void this.#backfillSymbol(symbol);
  }

  /** Pages klines forward from the newest stored candle to the exchange's clock; stores closed candles only. */
  async #backfillKlines(symbol: string, tf: Timeframe): Promise<void> {
    const key = candleKey(symbol, tf);
    const step = timeframeMs(tf);
    const limit = this.#o.klinePageLimit ?? 1000;
    const serverNow = await this.market.serverTime();
    let cursor = (this.#cursors.begin(key, step) ?? this.#o.startMs - step) + step;
    let total = 0;
    while (!this.#stopped) {
      // A short gap asks for a short page: weight 1 instead of 5.
      const pageLimit = Math.min(limit, Math.max(2, Math.ceil((serverNow - cursor) / step) + 1));
      const page = await this.market.klines(symbol, tf, { startTime: cursor, endTime: serverNow, limit: pageLimit });
      for (const r of page.rejected) this.#reject(`klines ${symbol} ${tf} REST: ${r.reason}`);
      const closed = page.rows.filter((k) => k.closeTime < serverNow);
      if (closed.length > 0) {
        await this.#writeBackfill(klineBatch(symbol, tf, closed, 'rest'));
        this.#cursors.advance(key, closed[closed.length - 1].openTime);
        total += closed.length;
      }
      if (page.rows.length + page.rejected.length < pageLimit || closed.length < page.rows.length || page.rows.length === 0) break;
      cursor = page.rows[page.rows.length - 1].openTime + step;
    }
    this.stats.backfilledCandles += total;
    if (total > 0) this.#ingestLog({ level: 'info', dataset: 'ohlcv', symbol, rowsWritten: total, message: `backfilled ${total} ${tf} candles by REST` });
  }

  async #backfillFunding(symbol: string): Promise<void> {
    const serverNow = await this.market.serverTime();
    const key = seriesKey('funding_rate', { symbol });
    let cursor = (this.#cursors.begin(key, 1) ?? this.#o.startMs - 1) + 1;
    while (!this.#stopped) {
      const page = await this.market.fundingRate(symbol, { startTime: cursor, endTime: serverNow, limit: 1000 });
      for (const r of page.rejected) this.#reject(`fundingRate ${symbol} REST: ${r.reason}`);
      if (page.rows.length === 0) break;
      await this.#writeBackfill({
        table: 'funding_rate',
        keys: { symbol },
        time: page.rows.map((r) => r.time),
        values: { funding_rate: page.rows.map((r) => r.fundingRate), mark_price: page.rows.map((r) => r.markPrice) },
        source: 'rest',
      });
      const newest = page.rows[page.rows.length - 1].time;
      this.#cursors.advance(key, newest);
      cursor = newest + 1;
      if (page.rows.length < 1000) break;
    }
  }

  /**
   * Runs one backfill per key at a time; a request arriving while it runs
   * makes it run once more afterwards (so the newest gap is never skipped).
   * Failures are logged and retried later; a 418 ban stops the collector.
   */
  #schedule(key: string, task: () => Promise<void>): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    const running = this.#running.get(key);
    if (running) {
      this.#again.add(key);
      return running;
    }
    const run = (async () => {
      do {
        this.#again.delete(key);
        try {
          await task();
        } catch (error) {
          this.#backfillFailed(key, task, error as Error);
          break;
        }
      } while (this.#again.has(key) && !this.#stopped);
    })().finally(() => this.#running.delete(key));
    this.#running.set(key, run);
    return run;
  }

  #backfillFailed(key: string, task: () => Promise<void>, error: Error): void {
    // Stopping abandons the requests in flight: that is no failure, and nothing is retried.
    if (this.#stopped) return;
    this.stats.backfillFailures++;
    if (error instanceof BinanceBannedError) {
      this.#stopped = true;
      this.#log.error(error.message, { hint: error.hint });
      this.#ingestLog({ level: 'error', dataset: 'rest', message: error.message });
      this.#o.onFatal?.(error);
      return;
    }
    const retryMs = this.#o.backfillRetryMs ?? 30_000;
    this.#log.warn('backfill failed; will retry', { key, error: error.message, retryMs });
    this.#ingestLog({ level: 'error', dataset: 'rest', message: `backfill ${key} failed: ${error.message}; retrying in ${retryMs} ms` });
    this.#after(retryMs, () => void this.#schedule(key, task));
  }

  #onMessage(raw: string, receivedAt: number): void {
    let message;
    try {
      message = parseStreamMessage(raw);
    } catch (error) {
      this.#reject((error as Error).message);
      return;
    }
    const event = message.event;
    if (!this.#symbols.has(event.symbol)) {
      this.#reject(`unknown symbol ${JSON.stringify(event.symbol)} on stream ${message.stream || '(raw)'}`);
      return;
    }
    const health = this.#health.get(message.stream) ?? { lastMessageAt: 0, lastEventTime: 0, lagMs: 0, messages: 0 };
    health.lastMessageAt = receivedAt;
    health.lastEventTime = event.eventTime;
    health.lagMs = receivedAt - event.eventTime;
    health.messages++;
    this.#health.set(message.stream, health);
    switch (event.type) {
      case 'kline':
        if (event.closed) this.#onClosedCandle(event, receivedAt);
        break;
      case 'markPrice': {
        const previous = this.#nextFunding.get(event.symbol);
        this.#nextFunding.set(event.symbol, event.nextFundingTime);
        if (previous !== undefined && event.nextFundingTime > previous) {
          this.#after(this.#o.pollDelayMs ?? 3000, () => void this.#scheduleFunding(event.symbol));
        }
        break;
      }
      case 'liquidation':
        this.stats.liquidations++;
        this.#write(
          {
            table: 'liquidations',
            keys: { symbol: event.symbol },
            time: [event.tradeTime],
            values: { side: [event.side], price: [event.price], qty: [event.qty], avg_price: [event.avgPrice], status: [event.status] },
            source: 'ws',
          },
          `liquidation ${event.symbol}`,
        );
        break;
      case 'depth': {
        const last = this.#lastBookSample.get(event.symbol) ?? Number.NEGATIVE_INFINITY;
        if (event.transactionTime - last < (this.#o.bookSampleMs ?? 60_000)) break;
        const sample = sampleBook(event);
        if (!sample) {
          this.#reject(`depth ${event.symbol}: crossed or empty book`);
          break;
        }
        this.#lastBookSample.set(event.symbol, event.transactionTime);
        this.stats.bookSamples++;
        const { time, ...values } = sample;
        this.#write(
          { table: 'order_book', keys: { symbol: event.symbol }, time: [time], values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [v]])), source: 'ws' },
          `book ${event.symbol}`,
        );
        break;
      }
    }
  }

  #onClosedCandle(k: KlineEvent, receivedAtMs: number): void {
    const tf = k.interval as Timeframe;
    if (!this.#o.timeframes.includes(tf)) {
      this.#reject(`unexpected kline interval ${k.interval} for ${k.symbol}`);
      return;
    }
    const key = candleKey(k.symbol, tf);
    // The cursor only moves over contiguous candles: after a gap it stays put so the REST backfill starts inside the gap.
    const last = this.#cursors.get(key);
    if (last !== undefined && k.openTime <= last) this.stats.duplicateCandles++;
    else if (last !== undefined && k.openTime === last + timeframeMs(tf) && !this.#cursors.holds(key)) this.#cursors.advance(key, k.openTime);
    else {
      this.stats.gapsDetected++;
      void this.#scheduleKlines(k.symbol, tf);
    }
    this.stats.streamedCandles++;
    this.#write(klineBatch(k.symbol, tf, [k], 'ws'), `candle ${key} ${k.openTime}`, (storedAtMs) =>
      this.#o.onCandleStored?.({ symbol: k.symbol, interval: tf, openTime: k.openTime, receivedAtMs, storedAtMs }),
    );
    this.#expectSiblingCloses(k.symbol, k.closeTime + 1);
    // Open interest and ratios are published per period: poll once the 5m period that just ended is out.
    if (tf === '5m') {
      this.#after(this.#o.pollDelayMs ?? 3000, () => void this.#scheduleSeries(k.symbol));
    }
  }

  /**
   * Every timeframe whose candle also closed at `closedAt` must deliver it
   * within the grace period; if its message was lost (dropped, malformed,
   * rejected) REST fetches it now instead of when the next candle shows the gap.
   */
  #expectSiblingCloses(symbol: string, closedAt: number): void {
    for (const tf of this.#o.timeframes) {
      const step = timeframeMs(tf);
      if (closedAt % step !== 0) continue;
      this.#after(this.#o.closeGraceMs ?? 5000, () => {
        if ((this.#cursors.get(candleKey(symbol, tf)) ?? Number.NEGATIVE_INFINITY) >= closedAt - step) return;
        this.stats.gapsDetected++;
        void this.#scheduleKlines(symbol, tf);
      });
    }
  }

  /** A REST page: waits for room in the queue rather than overflowing it. Candles are counted per backfill run. */
  async #writeBackfill(batch: Batch): Promise<void> {
    await this.queue.waitForRoom(batch.time.length);
    if (batch.table !== 'ohlcv') this.stats.backfilledPoints += batch.time.length;
    this.#write(batch, `rest ${seriesKey(batch.table, batch.keys)}`);
  }

  #write(batch: Batch, label: string, onStored?: (storedAtMs: number) => void): void {
    if (batch.time.length === 0) return;
    this.queue.push({
      rows: batch.time.length,
      label,
      run: async (sql) => {
        await bulkUpsert(sql, batch);
      },
      onStored,
      // The series' cursor is held before the dropped rows, so the next backfill fetches them again.
      onDropped: () => this.#cursors.hole(seriesKey(batch.table, batch.keys), Math.min(...Array.from(batch.time))),
    });
  }

  #reject(reason: string): void {
    this.stats.rejected++;
    const kind = reason.split(': ')[0].slice(0, 80);
    this.stats.rejectedByReason[kind] = (this.stats.rejectedByReason[kind] ?? 0) + 1;
    const minute = Math.floor(Date.now() / 60_000);
    if (minute !== this.#rejectionMinute) {
      this.#rejectionMinute = minute;
      this.#rejectionLogs = 0;
    }
    // A flood of bad messages is counted in full but logged at a bounded rate.
    if (this.#rejectionLogs++ < REJECTION_LOGS_PER_MINUTE) {
      this.#log.warn('rejected a message', { reason });
      this.#ingestLog({ level: 'warn', dataset: 'stream', rowsRejected: 1, message: `rejected: ${reason}` });
    }
  }

  #onRestEvent(event: RestEvent): void {
    if (event.kind === 'rate-limited') {
      this.stats.rateLimited++;
      this.#ingestLog({ level: 'warn', dataset: 'rest', message: `HTTP 429 on ${event.path}: pausing every request for ${event.retryAfterMs} ms (Retry-After)`, detail: event });
    } else {
      this.stats.restRetries++;
      this.#ingestLog({ level: 'warn', dataset: 'rest', message: `backoff ${event.backoffMs} ms after ${event.status ?? 'network error'} on ${event.path}: ${event.reason}`, detail: event });
    }
  }

  #ingestLog(entry: Omit<IngestLogEntry, 'source'>): void {
    this.queue.push({ rows: 1, label: `log ${entry.message.slice(0, 40)}`, run: (sql) => logIngest(sql, { source: SOURCE, ...entry }) });
  }

  #writeHealth(): void {
    const reconnects = this.stats.reconnects;
    const rows = [...this.#health.entries()];
    if (rows.length === 0) return;
    this.queue.push({
      rows: rows.length,
      label: 'stream health',
      run: async (sql) => {
        for (const [stream, h] of rows) {
          await sql.query(
            `INSERT INTO stream_health (stream, last_message_at, last_event_time, lag_ms, messages, reconnects, updated_at)
             VALUES ($1, to_timestamp($2::float8 / 1000), to_timestamp($3::float8 / 1000), $4, $5, $6, now())
             ON CONFLICT (stream) DO UPDATE SET last_message_at = EXCLUDED.last_message_at, last_event_time = EXCLUDED.last_event_time,
               lag_ms = EXCLUDED.lag_ms, messages = EXCLUDED.messages, reconnects = EXCLUDED.reconnects, updated_at = now()`,
            [stream, h.lastMessageAt, h.lastEventTime, h.lagMs, h.messages, reconnects],
          );
        }
      },
    });
  }

  #after(ms: number, fn: () => void): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    this.#timers.add(timer);
  }
}

function candleKey(symbol: string, timeframe: string): string {
  return seriesKey('ohlcv', { symbol, timeframe });
}
