import { OitraderError, timeframeMs, type Frame } from '@oitrader/core';
import {
  advanceBar,
  barFeed,
  bundledInstruments,
  ExposureExecution,
  RiskEngine,
  type Bar,
  type BarFeed,
  type ExecutionConfig,
  type Fill,
  type InstrumentDecision,
  type InstrumentMarket,
  type InstrumentProvider,
  type InstrumentStep,
  type IntentExecutor,
  type Intent,
  type PortfolioSnapshot,
  type PositionSnapshot,
  type RefusalCode,
  type Rejection,
  type RiskEvent,
  type RiskLimits,
  type RiskRule,
  type Strategy,
  type StrategyContext,
  type Trade,
  SimulatedExchange,
  simulatedContext,
  stoppedOutBy,
} from '@oitrader/trading';

/** The risk engine a backtest runs its strategy's intents through: the bot's rules and limits. */
export interface BacktestRisk {
  limits: RiskLimits;
  /** trading.stop_loss: the stop of an entry whose strategy names none. */
  stopLoss: number;
  rules?: readonly RiskRule[];
}

export interface BacktestOptions extends Partial<ExecutionConfig> {
  /** Funding settles every this many ms, at multiples of it (Binance: 8 h for most symbols). */
  fundingIntervalMs?: number;
  /** Close any open position at the instrument's last bar's close (default true), so every cost is in the trade list. */
  closeAtEnd?: boolean;
  /** The risk engine (the bot's rules); absent = the strategy's raw intents sized by exposure, no stops, no halts (`--no-risk`). */
  risk?: BacktestRisk;
  /** Where instruments come from (default: the bundled snapshot). */
  instruments?: InstrumentProvider;
  /** Operator commands at given bars (open time): the kill-switch drill, stop-entries, resume, flatten — as the bot applies them before deciding. */
  commands?: readonly BacktestCommand[];
}

export interface BacktestCommand {
  atMs: number;
  kind: 'kill' | 'resume' | 'stop_entries' | 'flatten';
  why: string;
}

export interface BacktestResult {
  strategy: string;
  symbol: string;
  timeframe: string;
  initialBalanceUsd: number;
  config: ExecutionConfig;
  time: Float64Array;
  close: Float64Array;
  /** Equity (wallet + unrealised PnL at the close) after each bar. */
  equity: Float64Array;
  /** Signed position size after each bar (a portfolio: gross notional / equity). */
  position: Float64Array;
  trades: Trade[];
  fills: Fill[];
  rejections: Rejection[];
  rejectionCount: number;
  feesUsd: number;
  fundingUsd: number;
  liquidations: number;
  turnoverUsd: number;
  /** Whether the run went through the risk engine. */
  managed: boolean;
  /** Entries the risk engine refused, by reason (empty for an unmanaged run). */
  refusals: Partial<Record<RefusalCode, number>>;
  /** The risk engine's events: halts, day starts, commands. */
  riskEvents: RiskEvent[];
}

/** A backtest of several instruments on one wallet: the portfolio, and each instrument's contribution. */
export interface PortfolioBacktestResult {
  portfolio: BacktestResult;
  /** Per instrument: its trades and fills; equity = initial balance + its contribution (net PnL, realised and open) over the portfolio's time line. */
  instruments: BacktestResult[];
}

/** Builds each instrument's strategy (a strategy keeps per-instrument state). */
export type StrategyFactory = (symbol: string) => Strategy;

interface Leg {
  symbol: string;
  frame: Frame;
  feed: BarFeed;
  market: InstrumentMarket;
  strategy: Strategy;
  context: StrategyContext;
  /** Row of `frame` at the current time (−1 before its first bar). */
  row: number;
  last: number;
  step: InstrumentStep;
  snapshot: PositionSnapshot;
  /** The portfolio row each of the frame's rows sits at. */
  positionByRow: Float64Array;
  contribution: Float64Array;
}

/**
 * Event-driven backtest of one instrument: for each bar, settle funding for
 * the position carried in, execute pending orders against the bar, mark to
 * the close, then ask the strategy for intents, which the risk engine (or,
 * without `risk`, exposure sizing) turns into orders that execute from the
 * next bar.
 */
export function runBacktest(frame: Frame, strategy: Strategy, options: BacktestOptions = {}): BacktestResult {
  if (frame.length < 2) throw new OitraderError('a backtest needs at least 2 bars');
  const result = runPortfolioBacktest([frame], () => strategy, options);
  const leg = result.instruments[0];
  return { ...result.portfolio, symbol: frame.symbol, time: frame.time, close: frame.column('close'), position: leg.position };
}

/**
 * The backtest of several instruments (one timeframe) against one
 * portfolio: every instrument's bars are played at their time, then the
 * strategies of the instruments that have a bar decide together — one risk
 * engine, one wallet, so the budget one takes another cannot. An instrument
 * whose data ends earlier is closed at its last bar (with `closeAtEnd`).
 */
export function runPortfolioBacktest(frames: readonly Frame[], strategyFor: StrategyFactory, options: BacktestOptions = {}): PortfolioBacktestResult {
  if (frames.length === 0) throw new OitraderError('a backtest needs at least one instrument');
  const timeframe = frames[0].timeframe;
  for (const f of frames) {
    if (f.timeframe !== timeframe) throw new OitraderError(`every instrument of a portfolio backtest shares one timeframe: ${f.symbol} is ${f.timeframe}, ${frames[0].symbol} ${timeframe}`, { exitCode: 2 });
    if (f.length < 2) throw new OitraderError(`a backtest needs at least 2 bars, ${f.symbol} has ${f.length}`, { exitCode: 2 });
  }
  if (new Set(frames.map((f) => f.symbol)).size !== frames.length) throw new OitraderError('each instrument may appear once in a portfolio backtest', { exitCode: 2 });
  const instruments = options.instruments ?? bundledInstruments();
  // Per-symbol leverage (trading.overrides) is the account's setting: the execution model and the engine use the same.
  const leverageBySymbol = options.leverageBySymbol ?? options.risk?.limits.leverageBySymbol;
  const exchange = new SimulatedExchange({ ...options, leverageBySymbol }, instruments);
  const portfolio = exchange.portfolio;
  const barMs = timeframeMs(timeframe);
  const executor: IntentExecutor = options.risk
    ? new RiskEngine({ limits: { ...options.risk.limits, leverage: Math.min(options.risk.limits.leverage, exchange.config.leverage), leverageBySymbol }, stopLoss: options.risk.stopLoss, rules: options.risk.rules, instruments, feeRate: exchange.config.takerFeeRate })
    : new ExposureExecution(instruments, exchange.config.leverage);
  const timeline = unionTimeline(frames);
  const n = timeline.length;
  const equity = new Float64Array(n);
  const gross = new Float64Array(n);
  const snapshot: PortfolioSnapshot & { positions: PositionSnapshot[] } = { equityUsd: 0, availableUsd: 0, positions: [] };
  let nowMs = 0;
  const legs: Leg[] = frames.map((frame) => {
    const market = exchange.market(frame.symbol);
    const leg = {
      symbol: frame.symbol,
      frame,
      feed: barFeed(frame, options.fundingIntervalMs),
      market,
      strategy: strategyFor(frame.symbol),
      row: -1,
      last: frame.length - 1,
      step: { symbol: frame.symbol, timeMs: 0, closeUsd: 0, intents: NONE, lastCandleCloseMs: 0 },
      snapshot: { symbol: frame.symbol, qtyBase: 0, entryPriceUsd: 0, marginUsd: 0, markUsd: Number.NaN },
      positionByRow: new Float64Array(frame.length),
      contribution: new Float64Array(n),
    } as Leg;
    leg.context = simulatedContext({ symbol: frame.symbol, frame, market, portfolio, executor, snapshot, strategyName: leg.strategy.name, row: () => leg.row, now: () => nowMs });
    snapshot.positions.push(leg.snapshot);
    return leg;
  });
  for (const leg of legs) leg.strategy.reset?.(leg.frame);
  const bar: Bar = { timeMs: 0, open: 0, high: 0, low: 0, close: 0 };
  const deciding: Leg[] = [];
  const steps: InstrumentStep[] = [];
  const refusals: Partial<Record<RefusalCode, number>> = {};
  const riskEvents: RiskEvent[] = [];
  for (let k = 0; k < n; k++) {
    const t = timeline[k];
    deciding.length = 0;
    for (const leg of legs) {
      if (leg.row + 1 > leg.last || leg.frame.time[leg.row + 1] !== t) continue;
      const i = ++leg.row;
      const fillsBefore = portfolio.fills.length;
      advanceBar(leg.market, leg.feed, i, bar);
      leg.step.stoppedOut = portfolio.fills.length === fillsBefore ? undefined : stoppedOutBy(portfolio.fills, leg.symbol, fillsBefore);
      const p = leg.market.position;
      if (i === leg.last && options.closeAtEnd !== false && p.qtyBase !== 0) {
        leg.market.cancelAll();
        portfolio.fill(leg.symbol, t, p.qtyBase > 0 ? 'sell' : 'buy', Math.abs(p.qtyBase), leg.feed.close[i], exchange.config.takerFeeRate, 'taker', 'end');
      }
      leg.positionByRow[i] = p.qtyBase;
      if (i < leg.last) deciding.push(leg);
    }
    const equityUsd = portfolio.equityUsd();
    equity[k] = equityUsd;
    gross[k] = equityUsd > 0 ? portfolio.grossExposureUsd() / equityUsd : 0;
    for (const leg of legs) leg.contribution[k] = contributionUsd(leg.market);
    if (deciding.length === 0) continue;
    nowMs = t + barMs;
    snapshot.equityUsd = equityUsd;
    snapshot.availableUsd = portfolio.availableUsd();
    for (const leg of legs) syncSnapshot(leg);
    if (options.commands && executor instanceof RiskEngine) for (const c of options.commands) if (c.atMs === t) applyCommand(executor, c, nowMs, equityUsd);
    executor.mark(nowMs, equityUsd);
    steps.length = 0;
    for (const leg of deciding) {
      const s = leg.step;
      s.timeMs = t;
      s.closeUsd = leg.feed.close[leg.row];
      s.lastCandleCloseMs = nowMs;
      s.intents = leg.strategy.onBar(leg.context) ?? NONE;
      steps.push(s);
    }
    const decisions = executor.decide(nowMs, snapshot, steps);
    for (let d = 0; d < decisions.length; d++) applyDecision(decisions[d], deciding[d], t, refusals);
    if (executor instanceof RiskEngine && executor.events.length > 0) riskEvents.push(...executor.events.splice(0));
  }
  const strategyName = legs[0].strategy.name;
  const base = {
    strategy: strategyName,
    timeframe,
    initialBalanceUsd: exchange.config.initialBalanceUsd,
    config: exchange.config,
    managed: options.risk !== undefined,
  };
  const closes = frames.length === 1 ? frames[0].column('close') : new Float64Array(n).fill(Number.NaN);
  const portfolioResult: BacktestResult = {
    ...base,
    symbol: frames.map((f) => f.symbol).join(','),
    time: timeline,
    close: closes,
    equity,
    position: gross,
    trades: portfolio.trades,
    fills: portfolio.fills,
    rejections: exchange.rejections,
    rejectionCount: exchange.rejectionCount,
    feesUsd: portfolio.feesPaidUsd,
    fundingUsd: portfolio.fundingPaidUsd,
    liquidations: portfolio.liquidations,
    turnoverUsd: portfolio.turnoverUsd,
    refusals,
    riskEvents,
  };
  const perInstrument = legs.map((leg): BacktestResult => {
    const p = leg.market.position;
    const trades = portfolio.trades.filter((x) => x.symbol === leg.symbol);
    const fills = portfolio.fills.filter((x) => x.symbol === leg.symbol);
    const rejections = exchange.rejections.filter((x) => x.symbol === leg.symbol);
    const contribution = Float64Array.from(leg.contribution, (c) => base.initialBalanceUsd + c);
    return {
      ...base,
      symbol: leg.symbol,
      time: frames.length === 1 ? leg.frame.time : timeline,
      close: frames.length === 1 ? leg.frame.column('close') : onTimeline(leg.frame, timeline),
      equity: frames.length === 1 ? equity : contribution,
      position: frames.length === 1 ? leg.positionByRow : onTimeline(leg.frame, timeline, leg.positionByRow, true),
      trades,
      fills,
      rejections,
      rejectionCount: rejections.length,
      feesUsd: p.feesPaidUsd,
      fundingUsd: p.fundingPaidUsd,
      liquidations: p.liquidations,
      turnoverUsd: fills.reduce((s, f) => s + f.qtyBase * f.priceUsd, 0),
      refusals: {},
      riskEvents: [],
    };
  });
  return { portfolio: portfolioResult, instruments: perInstrument };
}

const NONE: readonly Intent[] = [];

function applyDecision(d: InstrumentDecision, leg: Leg, t: number, refusals: Partial<Record<RefusalCode, number>>): void {
  if (d.code !== undefined) refusals[d.code] = (refusals[d.code] ?? 0) + 1;
  for (const tag of d.cancelTags) leg.market.cancel(tag);
  const close = leg.feed.close[leg.row];
  for (const order of d.orders) leg.market.submit(t, order, close);
}

function applyCommand(engine: RiskEngine, c: BacktestCommand, nowMs: number, equityUsd: number): void {
  if (c.kind === 'kill') engine.kill(nowMs, equityUsd, c.why);
  else if (c.kind === 'resume') engine.resume(nowMs, equityUsd, c.why);
  else if (c.kind === 'stop_entries') engine.stopEntries(nowMs, equityUsd, c.why);
  else engine.requestFlatten(nowMs, c.why);
}

function syncSnapshot(leg: Leg): void {
  const p = leg.market.position;
  const s = leg.snapshot;
  s.qtyBase = p.qtyBase;
  s.entryPriceUsd = p.entryPriceUsd;
  s.marginUsd = p.marginUsd;
  s.markUsd = p.markUsd;
}

/** An instrument's net result so far: realised PnL − fees − funding, plus its open position's unrealised PnL. */
function contributionUsd(market: InstrumentMarket): number {
  const p = market.position;
  const open = p.qtyBase === 0 ? 0 : p.unrealisedPnlUsd(p.markUsd);
  return p.realisedPnlUsd - p.feesPaidUsd - p.fundingPaidUsd + open;
}

/** Every bar time of every frame, ascending, once. */
function unionTimeline(frames: readonly Frame[]): Float64Array {
  if (frames.length === 1) return frames[0].time;
  const all = new Set<number>();
  for (const f of frames) for (const t of f.time) all.add(t);
  return Float64Array.from([...all].sort((a, b) => a - b));
}

/** A frame's column (default close) on the portfolio's time line: the latest value at or before each time (`zeroBefore`: 0 before the first). */
function onTimeline(frame: Frame, timeline: Float64Array, values: Float64Array = frame.column('close'), zeroAfter = false): Float64Array {
  const out = new Float64Array(timeline.length);
  let j = -1;
  for (let k = 0; k < timeline.length; k++) {
    while (j + 1 < frame.length && frame.time[j + 1] <= timeline[k]) j++;
    out[k] = j < 0 ? (zeroAfter ? 0 : Number.NaN) : values[j];
  }
  return out;
}
