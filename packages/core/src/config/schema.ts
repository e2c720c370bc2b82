import { z } from 'zod';
import { TIMEFRAMES } from '../timeframe.ts';

export const SYMBOL_RULE = z.string().regex(/^[A-Z0-9]{2,20}USDT$/, 'a USDⓈ-M symbol such as SOLUSDT');
const symbol = SYMBOL_RULE;
const timeframe = z.enum(TIMEFRAMES);
/** Numbers are finite: YAML's `.nan` and `.inf` are refused as "not a finite number". */
const finite = () => z.number({ error: 'a finite number' });
const fraction = (max: number) => finite().gt(0).max(max);
/** A real calendar day: `2024-13-45` matches the pattern but is no date. */
const isoDate = z
  .string()
  .regex(/^\d{4}-\d\d-\d\d$/, 'a date YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'a calendar date YYYY-MM-DD');

/**
 * Rules shared by config.yaml and the CLI's numeric flags (core/config/flags.ts):
 * one place says what a valid leverage, balance, fee or fraction is.
 */
export const NUMBER_RULES = {
  leverage: finite().int().min(1).max(20),
  balanceUsd: finite().positive(),
  /** Binance's fee rates are fractions of notional, 0 to 1 %. */
  feeRate: finite().min(0).max(0.01),
  /** Half-spread or slippage, basis points: never negative (a negative spread pays the trader). */
  bps: finite().min(0).max(1000),
  completeness: fraction(1),
  positiveSeconds: finite().positive(),
  /** A simulator replay speed, x real time; 0 = stepped by hand. */
  speed: finite().min(0).max(1_000_000),
  port: finite().int().min(0).max(65535),
  /** A label threshold on a forward return (fraction), e.g. 0.005 = 0.5 %. */
  returnThreshold: finite().gt(0).max(1),
  bars: finite().int().positive(),
  count: finite().int().min(0),
  seed: finite().int().min(0),
  share: finite().gt(0).lt(1),
} as const;

const database = z
  .strictObject({
    /** postgres://user@host:port/db — empty means the embedded PGlite database. */
    url: z.string().default(''),
    embedded_path: z.string().default('./data/db'),
  })
  .prefault({});

/**
 * How a model run's probabilities become trades (`bot.strategy: champion` and `backtest --strategy ml-signal --model`).
 * `cost-aware` (the default) enters only when the expected net return over the label's horizon, after taker fees
 * both ways, slippage and funding, clears `hurdle`; `ml-signal` is the old fixed threshold × prior rule.
 */
const mlRule = z
  .strictObject({
    rule: z.enum(['cost-aware', 'ml-signal']).default('cost-aware'),
    /** Minimum expected net return of an entry after every cost (fraction of notional over the horizon). */
    hurdle: finite().min(0).max(0.1).default(0.0005),
    /** Fraction of the Kelly exposure taken; risk_per_trade and the risk engine cap it. */
    kelly_fraction: fraction(1).default(0.25),
    /** The protective exchange-side stop in ATRs (the label exits at its horizon; the stop is for the tail). */
    stop_atr: finite().gt(0).max(100).default(6),
    /** Take-profit in ATRs; 0 = none (a fixed-horizon label has no profit barrier). */
    take_profit_atr: finite().min(0).max(100).default(0),
    /** The taker fee the rule expects per fill (the bot's account tier; the backtest uses its --taker-fee). */
    taker_fee: NUMBER_RULES.feeRate.default(0.0005),
    /** Expected slippage per fill in basis points (half-spread + impact; the backtest uses its own --spread-bps). */
    slippage_bps: NUMBER_RULES.bps.default(2),
  })
  .prefault({});

const trading = z
  .strictObject({
    /** The symbol of a one-symbol setup; with `symbols` it is the first of them. */
    symbol: symbol.default('SOLUSDT'),
    /** The portfolio the bot trades on one account and the backtest's default (a list replaces `symbol`). */
    symbols: z.array(symbol).min(1).max(20).optional(),
    /** Per-symbol settings where a trader needs them: `SOLUSDT: { leverage: 3 }`, `DOGEUSDT: { enabled: false }`. */
    overrides: z.record(symbol, z.strictObject({ leverage: NUMBER_RULES.leverage.optional(), enabled: z.boolean().optional() })).default({}),
    initial_balance: NUMBER_RULES.balanceUsd.default(2000),
    leverage: NUMBER_RULES.leverage.default(5),
    risk_per_trade: fraction(0.1).default(0.02),
    max_daily_loss: fraction(0.5).default(0.03),
    /** paper is the default; live trading needs an explicit switch. `testnet` is the old name of demo trading. */
    mode: z
      .enum(['paper', 'sim', 'demo', 'live', 'testnet'])
      .default('paper')
      .transform((mode) => (mode === 'testnet' ? 'demo' : mode)),
    /** Halt entries and flatten at this fraction below the peak equity, until `oitrader bot resume`. */
    max_drawdown: fraction(0.9).default(0.15),
    /** The liquidation price must be at least this many stop distances from the entry. */
    min_liquidation_distance: z.number().min(1).default(2),
    /** No entries when the newest closed candle is older than this. */
    stale_after_seconds: z.number().positive().default(120),
    /** Exchange errors in a row that open the circuit breaker, and how long it stays open. */
    circuit_breaker_errors: z.number().int().positive().default(5),
    circuit_breaker_cooldown_seconds: z.number().positive().default(900),
    /** The exchange-side stop of every position, as a fraction of the entry price. */
    stop_loss: fraction(0.5).default(0.02),
    /** Portfolio rules (the risk engine, docs/phase-5-live.md): positions open at once across every symbol. */
    max_open_positions: z.number().int().min(1).default(3),
    /** Σ |notional| of every position ≤ this × equity; absent = trading.leverage. */
    max_gross_exposure: z.number().positive().max(125).optional(),
    /** Σ over positions of size × stop distance ≤ this fraction of equity (the risk budget). */
    max_total_risk: fraction(1).default(0.06),
    /** One instrument may hold at most this share of the risk budget (1 = no limit). */
    max_instrument_risk_share: fraction(1).default(1),
    /** No new entry on a symbol for this long after one of its positions was stopped out (freqtrade's StoplossGuard); 0 = off. */
    cooldown_after_stop_minutes: z.number().min(0).default(0),
    /** Scale-ins on top of an entry (the RL agent's SCALE_IN); a hard ceiling whatever the strategy asks. */
    max_scale_ins: z.number().int().min(0).default(2),
    ml_rule: mlRule,
  })
  .refine((t) => t.symbols === undefined || new Set(t.symbols).size === t.symbols.length, { message: 'trading.symbols lists a symbol twice', path: ['symbols'] })
  .refine((t) => Object.keys(t.overrides).every((s) => (t.symbols ?? [t.symbol]).includes(s)), { message: 'trading.overrides names a symbol that trading.symbols does not list', path: ['overrides'] })
  .refine((t) => (t.symbols ?? [t.symbol]).some((s) => t.overrides[s]?.enabled !== false), { message: 'trading.overrides disables every symbol: enable at least one', path: ['overrides'] })
  // `symbols` replaces `symbol`: the one-symbol name everywhere a single symbol is meant is the list's first.
  .transform((t) => (t.symbols === undefined ? { ...t, symbols: [t.symbol] } : { ...t, symbols: t.symbols, symbol: t.symbols[0] }))
  .prefault({});

const models = z
  .strictObject({
    dir: z.string().default('./models'),
    agents_dir: z.string().default('./agents'),
    active_run: z.string().default(''),
    /** UTC time (HH:MM) of the daily model retrain (`oitrader retrain --schedule`). */
    retrain_at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM (UTC)').default('00:30'),
    /** Cron pattern (UTC) of the RL agent's retrain in `oitrader retrain --schedule`: Sundays 01:00 by default, after that day's model retrain. */
    rl_retrain_cron: z.string().min(1).default('0 1 * * 0'),
    /** Environment steps per walk-forward window of the scheduled RL retrain (as `oitrader rl train --timesteps`). */
    rl_retrain_timesteps: z.number().int().positive().default(200_000),
    /** Days of history the retrain trains on (the newest, expanding walk-forward inside). */
    retrain_days: z.number().int().min(3).default(30),
    /** A challenger is promoted only when its log loss is lower than the champion's by at least this much. */
    promote_margin: z.number().default(0.002),
    /** Rows of the comparison window (the newest rows both runs predicted out of sample). */
    compare_rows: z.number().int().positive().default(576),
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
    /** The Bot API server: Telegram's, or a self-hosted telegram-bot-api. https, or http on this machine only (the token travels in the path). */
    api_root: z
      .string()
      .default('https://api.telegram.org')
      .refine((v) => /^https:\/\/[^/]/.test(v) || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(v), 'https://…, or http:// only on 127.0.0.1/localhost (the token is sent in every request)'),
    /** Deadline (seconds) of the start-up check (getMe, first poll) and of each alert: an unreachable Telegram ends the start with exit 2 instead of hanging. */
    timeout_seconds: z.number().int().min(1).max(120).default(10),
    /** UTC time (HH:MM) of the daily summary message. */
    daily_summary_at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM (UTC)').default('00:05'),
    /** Which alerts are sent (commands always answer): entries, exits (stops and liquidations included), risk events, the daily summary. */
    notify: z
      .strictObject({ entry: z.boolean().default(true), exit: z.boolean().default(true), risk: z.boolean().default(true), daily: z.boolean().default(true) })
      .prefault({}),
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
    book_sample_seconds: finite().positive().default(60),
    /** Wait after a 5m candle closes before polling open interest and ratios (Binance publishes them late). */
    poll_delay_seconds: finite().min(0).default(3),
    /** A closed candle whose stream message has not arrived after this long is fetched by REST. */
    close_grace_seconds: finite().min(0).default(5),
    heartbeat_seconds: finite().positive().default(10),
    /** Rows held in memory while the database is down; beyond it the oldest are dropped (logged, then re-fetched by REST). */
    buffer_max_rows: finite().int().positive().default(100000),
  })
  .prefault({});

const dashboard = z
  .strictObject({
    /** `oitrader bot run` serves the dashboard and /metrics from the bot's own process (attachMonitoring). */
    enabled: z.boolean().default(true),
    /** 127.0.0.1 by default: the page is read-only for anyone who reaches it; controls need OITRADER_DASHBOARD_TOKEN. */
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8321),
    /** A host beyond loopback is refused unless this is true (or --allow-remote), and then needs OITRADER_DASHBOARD_TOKEN (≥ 24 characters). */
    allow_remote: z.boolean().default(false),
    /** Host names the page may be reached by besides loopback and the bound address (others are refused: DNS rebinding). */
    allowed_hosts: z.array(z.string().min(1)).default([]),
  })
  .prefault({});

const bot = z
  .strictObject({
    /** Names the bot in client order ids and its state rows; one name per account and symbol. */
    name: z.string().regex(/^[a-z0-9]{1,8}$/, 'up to 8 lowercase letters or digits').default('oit'),
    timeframe: timeframe.default('5m'),
    /**
     * `champion`: the promoted model run (models.dir/ACTIVE) drives the bot through the ML-signal strategy,
     * predicting every closed candle (a promotion takes effect at the next candle); `agent`: the trained RL
     * agent `bot.agent` decides (docs/phase-5-live.md); a path such as ./strategies/my-breakout.ts is your own
     * strategy file (oitrader new-strategy, docs/write-a-strategy.md); any other value is a baseline name such as sma-trend.
     */
    strategy: z.string().default('sma-trend'),
    /** With `strategy: agent`: the agent's id, a directory of models.agents_dir (its manifest names the model run it observes). */
    agent: z.string().default(''),
    /** What reconciliation does with a position found on the exchange that the bot's state does not know. */
    on_unknown_position: z.enum(['adopt', 'close']).default('adopt'),
    /**
     * Open orders on the bot's symbols that another client placed (another bot, a person, another prefix): by
     * default the bot reports them and refuses to trade beside them; `ignore` reports them and trades anyway
     * (it never cancels or counts them).
     */
    on_foreign_orders: z.enum(['refuse', 'ignore']).default('refuse'),
    /**
     * An entry the exchange acknowledged but has not filled blocks new entries on its symbol; one still
     * unfilled this many candles after its decision is cancelled (the cancel confirmed) before the next decision.
     */
    unfilled_entry_timeout_candles: z.number().int().min(1).max(288).default(1),
    /** A file whose existence engages the kill switch (checked every loop). */
    kill_file: z.string().default('./data/KILL'),
    /** Candles of history for each decision: with `strategy: champion`, the trailing window computeLatest gets (at least the run's longest feature warm-up; the bot refuses less and names the minimum). */
    history_bars: z.number().int().min(50).default(1100),
    /** How often the loop looks for a newly closed candle. */
    poll_seconds: z.number().positive().default(2),
    /**
     * Where the bot's candles come from: `auto` runs the collector in the bot's process unless another
     * collector's heartbeat in the database is fresh; `in-process` always; `external` never (oitrader collect runs).
     */
    collector: z.enum(['auto', 'in-process', 'external']).default('auto'),
  })
  .prefault({});

/** Fan-out of training jobs (hyperparameter-search trials) to `oitrader worker` processes over BullMQ. */
const queue = z
  .strictObject({
    /** redis://[:password@]host:port[/db] — empty means every job runs in this process (the embedded default). */
    redis_url: z.string().default(''),
    /** Key prefix in Redis: separate installations (or test runs) sharing one Redis use different prefixes. */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
      .default('oitrader'),
    /**
     * A worker holds a job's lock this long; a killed worker's job goes to another worker once it expires.
     * Longer than one trial's evaluation (a trial blocks its worker's event loop, so the lock is not renewed meanwhile).
     */
    lock_seconds: z.number().positive().default(300),
  })
  .prefault({});

export const configSchema = z
  .strictObject({ database, trading, models, binance, telegram, data, collector, bot, dashboard, queue })
  .prefault({});

export type Config = z.infer<typeof configSchema>;

/** The symbols the bot trades: trading.symbols without those `trading.overrides` disables, in the configured order. */
export function tradedSymbols(trading: Config['trading']): string[] {
  return trading.symbols.filter((s) => trading.overrides[s]?.enabled !== false);
}

/** The traded symbols whose leverage differs from trading.leverage (trading.overrides), with it. */
export function leverageBySymbol(trading: Config['trading']): Record<string, number> {
  return Object.fromEntries(tradedSymbols(trading).flatMap((s) => (trading.overrides[s]?.leverage === undefined ? [] : [[s, trading.overrides[s].leverage!]])));
}
