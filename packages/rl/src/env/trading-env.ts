import {
  advanceBar,
  bundledInstruments,
  DEFAULT_RISK_LIMITS,
  RiskEngine,
  simulatedContext,
  SimulatedExchange,
  type BarFeed,
  type ExecutionConfig,
  type InstrumentMarket,
  type InstrumentStep,
  type PortfolioSnapshot,
  type PositionSnapshot,
  type RiskLimits,
  type StrategyContext,
} from '@oitrader/trading';
import { barFeed } from '@oitrader/trading';
import { OitraderError, timeframeMs, type Frame } from '@oitrader/core';
import { seededRandom } from '@oitrader/ml';
import type { Env, StepResult } from '../algo/env.ts';
import { ACTION_COUNT } from './actions.ts';
import { TradingController, type ActionConfig, type MlSignal } from './controller.ts';
import { marketColumns, OBSERVATION_SIZE, type MarketColumns } from './observation.ts';

/** The reward: change in log equity after every cost, minus penalties (each term logged per episode). */
export interface RewardConfig {
  /** Multiplies the whole reward (log returns of 5m bars are ~1e-3). */
  scale: number;
  /** Per unit of new drawdown (fraction of the peak). */
  drawdownPenalty: number;
  /** Per unit of traded notional / equity (on top of the fees already in equity). */
  turnoverPenalty: number;
  /** Once per liquidation. */
  liquidationPenalty: number;
}

export const DEFAULT_REWARD: RewardConfig = { scale: 100, drawdownPenalty: 1, turnoverPenalty: 0, liquidationPenalty: 1 };

export interface TradingEnvOptions {
  initialBalanceUsd?: number;
  execution?: Partial<Omit<ExecutionConfig, 'initialBalanceUsd'>>;
  risk?: RiskLimits;
  actions?: ActionConfig;
  reward?: Partial<RewardConfig>;
  /** First and (exclusive) last frame row the env may use; episodes start inside. */
  startIndex?: number;
  endIndex?: number;
  /** Bars per episode (the episode is truncated after this many steps or at the span's end). */
  episodeBars?: number;
  /** Equity below this fraction of the initial balance ends the episode (terminated). */
  ruinFraction?: number;
  fundingIntervalMs?: number;
  /** Precomputed market features (shared by the N envs of a vector); computed from the frame otherwise. */
  market?: MarketColumns;
}

export interface EpisodeSummary extends Record<string, number> {
  bars: number;
  finalEquityUsd: number;
  logReturn: number;
  drawdownPenalty: number;
  turnoverPenalty: number;
  liquidationPenalty: number;
  feesUsd: number;
  fundingUsd: number;
  trades: number;
  liquidations: number;
  invalidActions: number;
}

export interface TradingInfo {
  index: number;
  equityUsd: number;
  valid: boolean;
  /** Set on the step that ends the episode. */
  episode?: EpisodeSummary;
}

/**
 * Gym-style futures environment (SPEC phase 4): one step = one closed bar.
 * `step(action)` turns the action into orders through the TradingController
 * (risk manager inside), submits them to a SimulatedExchange — the
 * backtester's execution model: isolated margin, fees, slippage, funding,
 * Binance liquidation, stops resting on the exchange — and plays the next bar
 * with the backtester's own `advanceBar`. The observation at step t uses
 * bars ≤ t only.
 */
export class FuturesTradingEnv implements Env<TradingInfo> {
  readonly observationSize = OBSERVATION_SIZE;
  readonly actionCount = ACTION_COUNT;
  readonly frame: Frame;
  readonly market: MarketColumns;
  readonly controller: TradingController;
  readonly reward: RewardConfig;
  readonly startIndex: number;
  readonly endIndex: number;
  readonly episodeBars: number;
  readonly initialBalanceUsd: number;
  /** The execution model's settings (fees, slippage, leverage) every episode uses. */
  readonly execution: ExecutionConfig;
  /** The risk limits the engine applies (the bot's, recorded in the agent's manifest). */
  readonly risk: RiskLimits;
  #exchange!: SimulatedExchange;
  #book!: InstrumentMarket;
  #engine!: RiskEngine;
  #context!: StrategyContext;
  readonly #snapshot: PortfolioSnapshot & { positions: PositionSnapshot[] };
  readonly #step: InstrumentStep;
  readonly #feed: BarFeed;
  readonly #options: TradingEnvOptions;
  readonly #barMs: number;
  #random: () => number;
  #index = 0;
  #episodeStart = 0;
  #equity = 0;
  #lastTurnover = 0;
  #lastLiquidations = 0;
  #terms = { logReturn: 0, drawdownPenalty: 0, turnoverPenalty: 0, liquidationPenalty: 0, invalid: 0 };
  readonly #obs = new Float32Array(OBSERVATION_SIZE);

  /** `ml` must be aligned with the frame's rows; use `alignOutOfSample` to build it from a run's out-of-fold predictions. */
  constructor(frame: Frame, ml: MlSignal, options: TradingEnvOptions = {}) {
    this.frame = frame;
    this.#options = options;
    this.initialBalanceUsd = options.initialBalanceUsd ?? 2000;
    this.startIndex = options.startIndex ?? 0;
    this.endIndex = Math.min(options.endIndex ?? frame.length, frame.length);
    if (this.endIndex - this.startIndex < 2) throw new OitraderError(`the env needs at least 2 bars, got rows ${this.startIndex}..${this.endIndex}`);
    if (ml.pLong.length !== frame.length) throw new OitraderError(`ML predictions have ${ml.pLong.length} rows for ${frame.length} bars`, { hint: 'align them with alignOutOfSample(predictions, frame)' });
    this.episodeBars = Math.min(options.episodeBars ?? 2048, this.endIndex - this.startIndex - 1);
    this.reward = { ...DEFAULT_REWARD, ...options.reward };
    this.market = options.market ?? marketColumns(frame);
    this.#feed = barFeed(frame, options.fundingIntervalMs);
    this.#barMs = timeframeMs(frame.timeframe);
    this.execution = new SimulatedExchange({ ...options.execution, initialBalanceUsd: this.initialBalanceUsd }).config;
    const risk = options.risk ?? DEFAULT_RISK_LIMITS;
    this.risk = { ...DEFAULT_RISK_LIMITS, ...risk, leverage: Math.min(risk.leverage, this.execution.leverage), leverageBySymbol: undefined };
    this.#snapshot = { equityUsd: this.initialBalanceUsd, availableUsd: this.initialBalanceUsd, positions: [{ symbol: frame.symbol, qtyBase: 0, entryPriceUsd: 0, marginUsd: 0, markUsd: Number.NaN }] };
    this.#step = { symbol: frame.symbol, timeMs: 0, closeUsd: 0, intents: [], lastCandleCloseMs: 0 };
    this.#newEpisode();
    this.controller = new TradingController(this.market, ml, { initialBalanceUsd: this.initialBalanceUsd, leverage: this.execution.leverage, maxDailyLoss: this.risk.maxDailyLoss, actions: options.actions });
    this.#random = seededRandom(0);
  }

  /** A fresh wallet, market and risk engine for an episode. */
  #newEpisode(): void {
    this.#exchange = new SimulatedExchange({ ...this.#options.execution, initialBalanceUsd: this.initialBalanceUsd });
    this.#book = this.#exchange.market(this.frame.symbol);
    this.#engine = new RiskEngine({ limits: this.risk, instruments: bundledInstruments(), stopLoss: 0.02, feeRate: this.execution.takerFeeRate });
    this.#context = simulatedContext({
      symbol: this.frame.symbol,
      frame: this.frame,
      market: this.#book,
      portfolio: this.#exchange.portfolio,
      executor: this.#engine,
      snapshot: this.#snapshot,
      strategyName: 'rl-env',
      row: () => this.#index,
      now: () => this.frame.time[this.#index] + this.#barMs,
    });
  }

  get exchange(): SimulatedExchange {
    return this.#exchange;
  }

  /** The episode's risk engine. */
  get engine(): RiskEngine {
    return this.#engine;
  }

  get index(): number {
    return this.#index;
  }

  /** Starts an episode at a random row of the span (seeded), or at `startAt` when given. */
  reset(seed?: number, startAt?: number): Float32Array {
    if (seed !== undefined) this.#random = seededRandom(seed);
    const latest = this.endIndex - 1 - this.episodeBars;
    this.#episodeStart = startAt ?? this.startIndex + Math.floor(this.#random() * (latest - this.startIndex + 1));
    this.#index = this.#episodeStart;
    this.#newEpisode();
    this.#lastTurnover = 0;
    this.#lastLiquidations = 0;
    this.#terms = { logReturn: 0, drawdownPenalty: 0, turnoverPenalty: 0, liquidationPenalty: 0, invalid: 0 };
    this.controller.reset();
    this.#equity = this.initialBalanceUsd;
    this.#observe();
    return this.controller.observation(this.#obs).slice();
  }

  actionMask(): Uint8Array {
    return this.controller.actionMask();
  }

  /** The account at the close of the current bar, through the risk engine's mark, into the controller. */
  #observe(): void {
    const p = this.#book.position;
    const s = this.#snapshot;
    const nowMs = this.frame.time[this.#index] + this.#barMs;
    s.equityUsd = this.#exchange.portfolio.equityUsd();
    s.availableUsd = this.#exchange.portfolio.availableUsd();
    const snap = s.positions[0];
    snap.qtyBase = p.qtyBase;
    snap.entryPriceUsd = p.entryPriceUsd;
    snap.marginUsd = p.marginUsd;
    snap.markUsd = p.markUsd;
    this.#engine.mark(nowMs, s.equityUsd);
    this.controller.observe(this.#context, this.#index);
  }

  step(action: number): StepResult<TradingInfo> {
    const i = this.#index;
    const { intents, valid } = this.controller.intents(action);
    if (!valid) this.#terms.invalid++;
    const nowMs = this.frame.time[i] + this.#barMs;
    const step = this.#step;
    step.timeMs = this.frame.time[i];
    step.closeUsd = this.#feed.close[i];
    step.lastCandleCloseMs = nowMs;
    step.intents = intents;
    const [decision] = this.#engine.decide(nowMs, this.#snapshot, [step]);
    for (const tag of decision.cancelTags) this.#book.cancel(tag);
    for (const order of decision.orders) this.#book.submit(this.frame.time[i], order, this.#feed.close[i]);
    this.#engine.events.length = 0;
    const peakBefore = this.#engine.state!.peakEquityUsd;
    const drawdownBefore = 1 - this.#equity / peakBefore;
    this.#index = i + 1;
    advanceBar(this.#book, this.#feed, this.#index);
    const portfolio = this.#exchange.portfolio;
    this.#observe();
    const equity = this.#snapshot.equityUsd;
    const drawdownAfter = 1 - equity / this.#engine.state!.peakEquityUsd;
    const logReturn = Math.log(Math.max(equity, 1e-9) / Math.max(this.#equity, 1e-9));
    const turnover = (portfolio.turnoverUsd - this.#lastTurnover) / Math.max(this.#equity, 1e-9);
    const liquidated = portfolio.liquidations - this.#lastLiquidations;
    const dd = this.reward.drawdownPenalty * Math.max(0, drawdownAfter - drawdownBefore);
    const to = this.reward.turnoverPenalty * turnover;
    const liq = this.reward.liquidationPenalty * liquidated;
    this.#terms.logReturn += logReturn;
    this.#terms.drawdownPenalty += dd;
    this.#terms.turnoverPenalty += to;
    this.#terms.liquidationPenalty += liq;
    const reward = this.reward.scale * (logReturn - dd - to - liq);
    this.#equity = equity;
    this.#lastTurnover = portfolio.turnoverUsd;
    this.#lastLiquidations = portfolio.liquidations;
    const terminated = equity < (this.#options.ruinFraction ?? 0.1) * this.initialBalanceUsd;
    const truncated = !terminated && (this.#index - this.#episodeStart >= this.episodeBars || this.#index >= this.endIndex - 1);
    const info: TradingInfo = { index: this.#index, equityUsd: equity, valid };
    if (terminated || truncated) {
      info.episode = {
        bars: this.#index - this.#episodeStart,
        finalEquityUsd: equity,
        logReturn: this.#terms.logReturn,
        drawdownPenalty: this.#terms.drawdownPenalty,
        turnoverPenalty: this.#terms.turnoverPenalty,
        liquidationPenalty: this.#terms.liquidationPenalty,
        feesUsd: portfolio.feesPaidUsd,
        fundingUsd: portfolio.fundingPaidUsd,
        trades: portfolio.trades.length,
        liquidations: portfolio.liquidations,
        invalidActions: this.#terms.invalid,
      };
    }
    return { obs: this.controller.observation(this.#obs).slice(), reward, terminated, truncated, info };
  }
}
