import { z } from 'zod';
import { TIMEFRAMES } from '../timeframe.ts';

const symbol = z.string().regex(/^[A-Z0-9]{2,20}USDT$/, 'a USDⓈ-M symbol such as SOLUSDT');
const timeframe = z.enum(TIMEFRAMES);
const fraction = (max: number) => z.number().gt(0).max(max);
const isoDate = z.string().regex(/^\d{4}-\d\d-\d\d$/, 'a date YYYY-MM-DD');

const database = z
  .strictObject({
    /** postgres://user@host:port/db — empty means the embedded PGlite database. */
    url: z.string().default(''),
    embedded_path: z.string().default('./data/db'),
  })
  .prefault({});

const trading = z
  .strictObject({
    symbol: symbol.default('SOLUSDT'),
    initial_balance: z.number().positive().default(2000),
    leverage: z.number().int().min(1).max(20).default(5),
    risk_per_trade: fraction(0.1).default(0.02),
    max_daily_loss: fraction(0.5).default(0.03),
    /** paper is the default; live trading needs an explicit switch. */
    mode: z.enum(['paper', 'sim', 'testnet', 'live']).default('paper'),
  })
  .prefault({});

const models = z
  .strictObject({
    dir: z.string().default('./models'),
    agents_dir: z.string().default('./agents'),
    active_run: z.string().default(''),
  })
  .prefault({});

const binance = z
  .strictObject({
    api_key: z.string().default(''),
    secret: z.string().default(''),
    testnet: z.boolean().default(true),
    rest_url: z.string().default(''),
    ws_url: z.string().default(''),
    /** Signed trading REST; empty = rest_url when set (the simulator), else demo-fapi.binance.com (testnet: true) or fapi.binance.com. */
    trade_rest_url: z.string().default(''),
    /** User-data stream base; empty = <ws_url>/private when ws_url is set, else demo or live /private. */
    private_ws_url: z.string().default(''),
    /** Binance's recvWindow for signed requests, ms. */
    recv_window_ms: z.number().int().min(1000).max(60_000).default(5000),
  })
  .prefault({});

const telegram = z
  .strictObject({
    enabled: z.boolean().default(false),
    token: z.string().default(''),
    chat_id: z.string().default(''),
  })
  .prefault({});

const archive = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** A base URL or a local directory mirroring Binance's public-data layout. */
    source: z.string().default('https://data.binance.vision'),
    verify_checksums: z.boolean().default(true),
  })
  .prefault({});

const data = z
  .strictObject({
    symbols: z.array(symbol).min(1).default(['SOLUSDT']),
    timeframes: z.array(timeframe).min(1).default(['5m', '15m', '1h', '4h', '1d']),
    oi_periods: z.array(z.enum(['5m', '15m', '1h'])).min(1).default(['5m', '15m', '1h']),
    start_date: isoDate.default('2024-01-01'),
    completeness_threshold: fraction(1).default(0.99),
    archive,
  })
  .prefault({});

const collector = z
  .strictObject({
    /** One order_book row per symbol per this many seconds of the depth stream. */
    book_sample_seconds: z.number().positive().default(60),
    /** Wait after a 5m candle closes before polling open interest and ratios (Binance publishes them late). */
    poll_delay_seconds: z.number().min(0).default(3),
    /** A closed candle whose stream message has not arrived after this long is fetched by REST. */
    close_grace_seconds: z.number().min(0).default(5),
    heartbeat_seconds: z.number().positive().default(10),
    /** Rows held in memory while the database is down; beyond it the oldest are dropped (logged, then re-fetched by REST). */
    buffer_max_rows: z.number().int().positive().default(100000),
  })
  .prefault({});

export const configSchema = z
  .strictObject({ database, trading, models, binance, telegram, data, collector })
  .prefault({});

export type Config = z.infer<typeof configSchema>;
