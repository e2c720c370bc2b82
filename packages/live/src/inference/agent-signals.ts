import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROBABILITY_COLUMNS } from '@oitrader/backtest';
import type { RiskLimits } from '@oitrader/trading';
import { OitraderError, timeframeMs, type Frame, type Logger, type Timeframe } from '@oitrader/core';
import type { MarketDataLoader } from '@oitrader/data';
import { FEATURE_SET_VERSION, FeatureEngineer } from '@oitrader/features';
import { controllerStrategy, loadAgent, MARKET_FEATURES, type ActionChooser, type ControllerStrategy, type LoadedAgent } from '@oitrader/rl';
import type { BotSignals, CandleSignals } from '../bot/trading-bot.ts';
import { RunSignals } from './run-signals.ts';

/** Frame columns holding the agent's market observation for each candle (prefixed: `funding_rate` is also a candle column). */
export const AGENT_MARKET_COLUMNS = MARKET_FEATURES.map((name) => `obs_${name}`);

export interface AgentSignalsOptions {
  /** models.agents_dir/<bot.agent>/ */
  agentDir: string;
  /** models.dir: the agent's model run is loaded from here. */
  modelsDir: string;
  symbol: string;
  timeframe: Timeframe;
  historyBars: number;
  loader: MarketDataLoader;
  /** The bot's risk limits: the agent observes its daily PnL against the bot's daily-loss limit (the engine's mask does the rest). */
  risk: RiskLimits;
  log?: Logger;
}

/** What a candle's decision records about the agent that made it (bot_decisions.detail.signals.source). */
export interface AgentSource {
  agent: string;
  run: string;
  /** The walk-forward window whose network decides (the newest: trained on the most data). */
  window: number;
}

/**
 * The agent's choice: the newest window's network, greedy, over the risk
 * engine's mask — all six actions, as the env trained and the backtest scored
 * it: the bot's risk engine carries out scale-ins and scale-outs as it does
 * there.
 */
export function agentChooser(agent: LoadedAgent): ActionChooser {
  const net = agent.nets[agent.nets.length - 1];
  return (obs, mask) => net.act(obs, mask);
}

/**
 * `bot.strategy: agent`: a trained RL agent decides each closed candle.
 * `prepare` computes what the observation needs for the candle that just
 * closed — the agent's model run's p_short / p_neutral / p_long (RunSignals)
 * and the market features (computeLatest on the candles up to it) — and the
 * bot writes them into frame columns; `strategy` (the RL TradingController,
 * via controllerStrategy) reads that row, builds observation and mask, and
 * returns the agent's orders, which the bot's gate sizes and stops. A restart
 * replays with the stored values: no inference, no feature computation.
 */
export class AgentSignals implements BotSignals {
  readonly columns: readonly string[] = [...PROBABILITY_COLUMNS, ...AGENT_MARKET_COLUMNS];
  readonly strategy: ControllerStrategy;
  readonly agent: LoadedAgent;
  readonly run: RunSignals;
  readonly #o: AgentSignalsOptions;
  readonly #engineer = new FeatureEngineer({ features: [...MARKET_FEATURES] });
  readonly #span: number;
  readonly #barMs: number;

  private constructor(o: AgentSignalsOptions, agent: LoadedAgent, run: RunSignals) {
    this.#o = o;
    this.agent = agent;
    this.run = run;
    this.#barMs = timeframeMs(o.timeframe);
    this.#span = Math.max(o.historyBars, this.#engineer.requiredHistory({ timeframe: o.timeframe }));
    const market = { names: MARKET_FEATURES, columns: MARKET_FEATURES.map(() => new Float64Array(1)), unavailable: agent.manifest.unavailableFeatures };
    const ml = { pShort: new Float64Array(1), pNeutral: new Float64Array(1), pLong: new Float64Array(1) };
    this.strategy = controllerStrategy({
      name: `agent ${agent.manifest.runId}`,
      market,
      ml,
      choose: agentChooser(agent),
      maxDailyLoss: o.risk.maxDailyLoss,
      actions: agent.manifest.env.actions,
      // The bot's frame grows: the candle's inputs are copied from its columns (filled by prepare) into one-row buffers.
      row: (ctx) => {
        ml.pShort[0] = ctx.value('p_short');
        ml.pNeutral[0] = ctx.value('p_neutral');
        ml.pLong[0] = ctx.value('p_long');
        AGENT_MARKET_COLUMNS.forEach((c, f) => (market.columns[f][0] = ctx.value(c)));
        return 0;
      },
    });
  }

  /** Loads the agent and its model run; refuses an agent this bot cannot feed, saying what to do. */
  static async open(o: AgentSignalsOptions): Promise<AgentSignals> {
    if (!existsSync(join(o.agentDir, 'manifest.json'))) {
      throw new OitraderError(`bot.strategy is agent but there is no agent in ${o.agentDir}`, {
        hint: 'train one (oitrader rl train) and set bot.agent to its id (a directory of models.agents_dir)',
        exitCode: 2,
      });
    }
    const agent = loadAgent(o.agentDir, { featureSetVersion: FEATURE_SET_VERSION, symbol: o.symbol });
    const m = agent.manifest;
    if (m.timeframe !== o.timeframe) {
      throw new OitraderError(`agent ${m.runId} was trained on ${m.symbol} ${m.timeframe}, the bot trades ${o.symbol} ${o.timeframe}`, { hint: `set bot.timeframe: ${m.timeframe}, or train an agent on ${o.timeframe}`, exitCode: 2 });
    }
    const runDir = join(o.modelsDir, m.modelRun.runId);
    if (!existsSync(join(runDir, 'manifest.json'))) {
      throw new OitraderError(`agent ${m.runId} observes the predictions of model run ${m.modelRun.runId}, which is not in ${o.modelsDir}`, {
        hint: `restore models/${m.modelRun.runId}, or train an agent on a present run (oitrader rl train --model-run <run-id>)`,
        exitCode: 2,
      });
    }
    const observed = m.modelRun.model ?? 'ensemble';
    const run = await RunSignals.open({ runDir, symbol: o.symbol, timeframe: o.timeframe, historyBars: o.historyBars, loader: o.loader, log: o.log, model: observed });
    return new AgentSignals(o, agent, run);
  }

  async prepare(frame: Frame, index: number, stored: CandleSignals | undefined): Promise<CandleSignals> {
    if (stored) return stored;
    const { values } = await this.run.predict(frame, index);
    const window = await this.#window(frame, index);
    const t = frame.time[index];
    // A short or gapped window gives no market features (0 in the observation; without ATR the mask refuses entries).
    const clean = window.length === this.#span && window.time[0] === t - (this.#span - 1) * this.#barMs;
    const latest = clean ? this.#engineer.computeLatest(window) : {};
    const market = Object.fromEntries(MARKET_FEATURES.map((name, f) => [AGENT_MARKET_COLUMNS[f], latest[name] ?? Number.NaN]));
    const source: AgentSource = { agent: this.agent.manifest.runId, run: this.run.runId, window: this.agent.nets.length };
    return { values: { ...values, ...market }, source: { ...source } };
  }

  dispose(): void {
    this.run.dispose();
  }

  /** The `#span` candles ending at row `index` (rows after it are never read); stored candles when the session frame is shorter. */
  async #window(frame: Frame, index: number): Promise<Frame> {
    if (index + 1 >= this.#span) return frame.slice(index + 1 - this.#span, index + 1);
    const t = frame.time[index];
    return this.#o.loader.loadAllData(this.#o.symbol, this.#o.timeframe, t - (this.#span - 1) * this.#barMs, t + this.#barMs).catch(() => frame.slice(0, index + 1));
  }
}
