import { join } from 'node:path';
import { baselineByName, describeMlRule, isStrategyFile, loadStrategySource } from '@oitrader/backtest';
import { riskLimitsFromConfig, type Strategy } from '@oitrader/trading';
import { OitraderError, type Config, type Logger } from '@oitrader/core';
import type { MarketDataLoader } from '@oitrader/data';
import type { BotSignals } from '../bot/trading-bot.ts';
import { activeRun } from '../retrain/champion-registry.ts';
import { AgentSignals } from './agent-signals.ts';
import { ChampionSignals } from './champion-signals.ts';

/** bot.strategy's value that makes the promoted model run (models/ACTIVE) drive the bot. */
export const CHAMPION_STRATEGY = 'champion';
/** bot.strategy's value that makes the trained RL agent bot.agent drive the bot. */
export const AGENT_STRATEGY = 'agent';

export interface BotStrategy {
  /** TradingBotOptions.strategy */
  strategy: Strategy;
  /** TradingBotOptions.signals (only when a model drives the bot). */
  signals?: BotSignals;
  /** One line for the start-up banner. */
  description: string;
  /** Frees the model (the LSTM's tensors); the bot does not step after it. */
  dispose(): void;
}

export interface BotStrategyDeps {
  /** The bot's market-data loader. */
  loader: MarketDataLoader;
  /** The symbol this strategy trades (default trading.symbol); a strategy keeps per-symbol state, so each symbol gets its own. */
  symbol?: string;
  log?: Logger;
  onSwap?: (from: string | undefined, to: string, candleTimeMs: number) => void;
}

/**
 * What `oitrader bot run` trades: `bot.strategy: champion` → the champion
 * model run through the ML-signal strategy (probabilities per candle from
 * ChampionSignals); `bot.strategy: agent` → the RL agent bot.agent (AgentSignals);
 * a path (./strategies/x.ts) → the user's strategy file; any other value → that baseline.
 */
export async function buildBotStrategy(config: Config, deps: BotStrategyDeps): Promise<BotStrategy> {
  if (config.bot.strategy === AGENT_STRATEGY) return buildAgentStrategy(config, deps);
  if (isStrategyFile(config.bot.strategy)) {
    const source = await loadStrategySource(config.bot.strategy);
    return { strategy: source.create(deps.symbol ?? config.trading.symbol), description: `${source.name} from ${source.file}`, dispose: () => undefined };
  }
  if (config.bot.strategy !== CHAMPION_STRATEGY) {
    return { strategy: baselineByName(config.bot.strategy), description: `baseline ${config.bot.strategy}`, dispose: () => undefined };
  }
  const signals = await ChampionSignals.open({
    modelsDir: config.models.dir,
    symbol: deps.symbol ?? config.trading.symbol,
    timeframe: config.bot.timeframe,
    historyBars: config.bot.history_bars,
    loader: deps.loader,
    mlRule: config.trading.ml_rule,
    log: deps.log,
    onSwap: deps.onSwap,
  });
  return {
    strategy: signals.strategy,
    signals,
    description:
      `champion ${signals.model.runId} (models/ACTIVE in ${config.models.dir}) through the ${describeMlRule(signals.model.params)}; ` +
      `${config.bot.history_bars} candles of history per prediction`,
    dispose: () => signals.dispose(),
  };
}

async function buildAgentStrategy(config: Config, deps: BotStrategyDeps): Promise<BotStrategy> {
  if (config.bot.agent === '') {
    throw new OitraderError('bot.strategy is agent but bot.agent names no agent', { hint: `set bot.agent to an agent id in ${config.models.agents_dir} (oitrader rl train makes one)`, exitCode: 2 });
  }
  const signals = await AgentSignals.open({
    agentDir: join(config.models.agents_dir, config.bot.agent),
    modelsDir: config.models.dir,
    symbol: deps.symbol ?? config.trading.symbol,
    timeframe: config.bot.timeframe,
    historyBars: config.bot.history_bars,
    loader: deps.loader,
    risk: riskLimitsFromConfig(config.trading),
    log: deps.log,
  });
  const m = signals.agent.manifest;
  const champion = activeRun(config.models.dir);
  const a = m.env.actions;
  return {
    strategy: signals.strategy,
    signals,
    description:
      `agent ${m.runId} (${m.algorithm}, window ${m.windows.length} of ${m.windows.length}) on model run ${m.modelRun.runId}` +
      `${champion === m.modelRun.runId ? ' (the champion)' : `, not the champion ${champion ?? '(none)'}`}: actions HOLD/LONG/SHORT/EXIT/SCALE_IN/SCALE_OUT ` +
      `through the risk engine, stop ${a.stopAtr} ATR; ${config.bot.history_bars} candles of history per prediction`,
    dispose: () => signals.dispose(),
  };
}
