import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { readStreamHealth, type SqlExecutor } from '@oitrader/data';
import type { BotEvents } from '../bot/bot-events.ts';

export interface BotMetricsOptions {
  bot: string;
  barMs: number;
  /** Read on every scrape for the data-lag gauges (the collector's stream_health rows). */
  sql?: SqlExecutor;
  clock?: () => number;
}

const DAY_MS = 86_400_000;

/**
 * Prometheus metrics for operators, on a registry of their own (so two bots or
 * tests in one process never share counters): candles stepped, decision
 * latency (candle close → decision committed), orders by outcome, equity,
 * today's PnL and each stream's data lag.
 */
export class BotMetrics {
  readonly registry = new Registry();
  readonly #candles: Counter;
  readonly #latency: Histogram;
  readonly #orders: Counter;
  readonly #equity: Gauge;
  readonly #dayPnl: Gauge;
  #dayStart: { day: number; equityUsd: number } | undefined;

  constructor(options: BotMetricsOptions) {
    const clock = options.clock ?? Date.now;
    this.registry.setDefaultLabels({ bot: options.bot });
    const registers = [this.registry];
    this.#candles = new Counter({ name: 'oitrader_candles_total', help: 'Closed candles the bot stepped and committed', registers });
    this.#latency = new Histogram({
      name: 'oitrader_decision_latency_seconds',
      help: 'Candle close to decision committed',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.#orders = new Counter({ name: 'oitrader_orders_total', help: 'Order state changes by intent and outcome (NEW, FILLED, CANCELED, REJECTED)', labelNames: ['intent', 'status'], registers });
    this.#equity = new Gauge({ name: 'oitrader_equity_usd', help: 'Account equity (USDT) at the last committed step', registers });
    this.#dayPnl = new Gauge({ name: 'oitrader_daily_pnl_usd', help: "Equity change since the UTC day's first step (USDT)", registers });
    const sql = options.sql;
    new Gauge({
      name: 'oitrader_data_lag_seconds',
      help: 'Per collector stream: wall clock minus the last message received',
      labelNames: ['stream'],
      registers,
      async collect() {
        if (!sql) return;
        this.reset();
        const now = clock();
        for (const row of await readStreamHealth(sql)) this.set({ stream: row.stream }, Math.max(0, now - row.lastMessageAtMs) / 1000);
      },
    });
    this.barMs = options.barMs;
    this.clock = clock;
  }

  readonly barMs: number;
  readonly clock: () => number;

  /** Subscribes to a running bot's events; returns the unsubscribe function. */
  attach(events: BotEvents): () => void {
    const onDecision = (d: { candleTimeMs: number }) => this.#latency.observe(Math.max(0, this.clock() - (d.candleTimeMs + this.barMs)) / 1000);
    const onOrder = (o: { intent: string; status: string }) => this.#orders.inc({ intent: o.intent, status: o.status });
    const onEquity = (e: { timeMs: number; equityUsd: number }) => this.observeEquity(e.timeMs, e.equityUsd);
    events.on('decision', onDecision);
    events.on('order', onOrder);
    events.on('equity', onEquity);
    return () => {
      events.off('decision', onDecision);
      events.off('order', onOrder);
      events.off('equity', onEquity);
    };
  }

  /** One committed step's equity: counts the candle, sets equity and today's PnL (the day starts at the first step after 00:00 UTC). */
  observeEquity(timeMs: number, equityUsd: number): void {
    this.#candles.inc();
    this.#equity.set(equityUsd);
    const day = Math.floor((timeMs - 1) / DAY_MS);
    if (!this.#dayStart || this.#dayStart.day !== day) this.#dayStart = { day, equityUsd };
    this.#dayPnl.set(equityUsd - this.#dayStart.equityUsd);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
