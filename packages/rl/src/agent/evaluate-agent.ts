import { baselineByName, benchmarkEntry, computeMetrics, DEFAULT_ML_SIGNAL, mlSignal, runBacktest, type BacktestOptions, type ReportEntry } from '@oitrader/backtest';
import type { Strategy } from '@oitrader/trading';
import { OitraderError, timeframeMs, type Frame } from '@oitrader/core';
import { TargetEngineer } from '@oitrader/features';
import type { OutOfFoldPredictions } from '@oitrader/ml';
import { ACTION_COUNT } from '../env/actions.ts';
import { controllerStrategy, type ControllerStrategy } from '../env/controller-strategy.ts';
import type { MlSignal } from '../env/controller.ts';
import { alignOutOfSample, sliceMarket, sliceSignal } from '../env/ml-signal.ts';
import { marketColumns } from '../env/observation.ts';
import { agentRiskLimits, type LoadedAgent } from './agent-artifact.ts';

/** Baselines run next to the agent on the same out-of-sample bars. */
export const AGENT_BASELINES = ['flat', 'buy-and-hold', 'oi-trend'] as const;

export interface AgentBacktestOptions {
  /** Trials for the Deflated Sharpe: every agent window trained so far plus every strategy in the table. */
  trials: number;
  /** The model run's label settings, for the ML-signal baseline's class priors (labels known before the test span). */
  labels?: { horizon: number; threshold: number };
  /** Stop distance for the ML-signal baseline's risk wrapper (trading.stop_loss). */
  stopLoss?: number;
  fundingIntervalMs?: number;
}

export interface AgentBacktestWindow {
  window: number;
  /** The agent first, then the baselines and the buy-and-hold 1x benchmark, all on the window's test bars. */
  entries: ReportEntry[];
  actionHistogram: number[];
}

export interface AgentBacktest {
  /** All test windows back to back (each bar traded by the window agent that never saw it), with the baselines on the same bars. */
  combined: ReportEntry[];
  combinedActions: Int8Array;
  combinedHistogram: number[];
  windows: AgentBacktestWindow[];
  testStartIndex: number;
  testEndIndex: number;
}

/**
 * Backtests a walk-forward agent strictly out of sample: window k's network
 * trades only the bars of window k's test block (after its training span), on
 * the backtester with the costs it trained under; flat, buy-and-hold,
 * oi-trend and (when the run's labels are given) the ML-signal strategy run on
 * the same bars. The ML predictions are checked out-of-fold for every bar.
 */
export function backtestAgent(agent: LoadedAgent, frame: Frame, predictions: OutOfFoldPredictions, options: AgentBacktestOptions): AgentBacktest {
  const { manifest, nets } = agent;
  if (frame.symbol !== manifest.symbol || frame.timeframe !== manifest.timeframe) {
    throw new OitraderError(`agent ${manifest.runId} trades ${manifest.symbol} ${manifest.timeframe}, the data is ${frame.symbol} ${frame.timeframe}`, { hint: `pass --symbol ${manifest.symbol} --timeframe ${manifest.timeframe}`, exitCode: 2 });
  }
  const rowOf = (timeMs: number) => {
    const i = frame.indexAtOrAfter(timeMs);
    if (i >= frame.length || frame.time[i] !== timeMs) throw new OitraderError(`the data has no bar at ${new Date(timeMs).toISOString()}, which agent ${manifest.runId} was tested on`, { hint: 'load the span the agent was trained on (see its manifest)', exitCode: 2 });
    return i;
  };
  const spans = manifest.windows.map((w) => ({ start: rowOf(w.testStartMs), end: rowOf(w.testEndMs) + 1 }));
  const testStart = spans[0].start;
  const testEnd = spans[spans.length - 1].end;
  const market = marketColumns(frame);
  const ml = alignOutOfSample(predictions, frame, testStart, testEnd);
  const env = manifest.env;
  const execution: BacktestOptions = {
    initialBalanceUsd: env.initialBalanceUsd,
    leverage: env.leverage,
    takerFeeRate: env.takerFeeRate,
    makerFeeRate: env.makerFeeRate,
    halfSpreadBps: env.halfSpreadBps,
    fundingIntervalMs: options.fundingIntervalMs,
  };
  // The agent is scored through the risk engine it trained under, with all six actions: what it would trade live.
  const risk = agentRiskLimits(manifest);
  const managed: BacktestOptions = { ...execution, risk: { limits: risk, stopLoss: options.stopLoss ?? 0.02 } };
  const probabilities = frame.withColumns({ p_short: ml.pShort, p_neutral: ml.pNeutral, p_long: ml.pLong });

  const agentOn = (start: number, end: number, name: string): ControllerStrategy =>
    controllerStrategy({
      name,
      market: sliceMarket(market, start, end),
      ml: sliceSignal(ml, start, end),
      maxDailyLoss: risk.maxDailyLoss,
      actions: env.actions,
      // Bar i of the slice is frame row start + i; it is traded by the window whose test block holds it.
      choose: (obs, mask, i) => {
        const row = start + i;
        const k = spans.findIndex((s) => row >= s.start && row < s.end);
        return nets[k].act(obs, mask);
      },
    });

  const baselines = (start: number): Array<{ strategy: Strategy; options: BacktestOptions }> => {
    const list: Array<{ strategy: Strategy; options: BacktestOptions }> = AGENT_BASELINES.map((name) => ({ strategy: baselineByName(name), options: execution }));
    if (options.labels) list.push({ strategy: mlSignalBaseline(frame, start, options.labels), options: managed });
    return list;
  };
  const run = (start: number, end: number, name: string) => {
    const slice = probabilities.slice(start, end);
    const agentStrategy = agentOn(start, end, name);
    const entries = [{ strategy: agentStrategy as Strategy, options: managed }, ...baselines(start)].map((s) => {
      const result = runBacktest(slice, s.strategy, s.options);
      return { result, metrics: computeMetrics(result, { trials: options.trials }) };
    });
    entries.push(benchmarkEntry(slice, execution, options.trials));
    return { entries, strategy: agentStrategy };
  };
  const label = `${manifest.algorithm}-agent`;
  const combined = run(testStart, testEnd, `${label} (walk-forward)`);
  const windows = spans.map((s, k) => {
    const r = run(s.start, s.end, `${label} w${k + 1}`);
    return { window: k + 1, entries: r.entries, actionHistogram: [...r.strategy.actionHistogram] };
  });
  return {
    combined: combined.entries,
    combinedActions: combined.strategy.actions,
    combinedHistogram: [...combined.strategy.actionHistogram].slice(0, ACTION_COUNT),
    windows,
    testStartIndex: testStart,
    testEndIndex: testEnd,
  };
}

/** The ML-signal strategy with class priors from labels whose horizon ended before `start` (causal); it runs through the risk engine. */
function mlSignalBaseline(frame: Frame, start: number, labels: { horizon: number; threshold: number }): Strategy {
  const target = new TargetEngineer().createClassificationTarget(frame, labels);
  const barMs = timeframeMs(frame.timeframe);
  const counts = [0, 0, 0];
  for (let t = 0; t < frame.length; t++) if (frame.time[t] + labels.horizon * barMs < frame.time[start] && !Number.isNaN(target[t])) counts[target[t]]++;
  const total = counts[0] + counts[1] + counts[2];
  const priors = (total > 0 ? counts.map((c) => c / total) : [1 / 3, 1 / 3, 1 / 3]) as [number, number, number];
  return mlSignal({ ...DEFAULT_ML_SIGNAL, maxBars: labels.horizon, priors });
}

export interface FreshAgentBacktestOptions {
  /** The model run's probabilities predicted fresh for rows [start, end) (NaN elsewhere): bars after every span the run trained on. */
  ml: MlSignal;
  start: number;
  end: number;
  /** The execution model the bot trades under (trading.initial_balance, leverage, fees). */
  execution: BacktestOptions;
  /** The risk engine the bot trades through (config.yaml trading:). */
  risk: NonNullable<BacktestOptions['risk']>;
  trials: number;
}

/**
 * Scores an agent on bars after every span its model run and its windows
 * trained on, exactly as `bot.strategy: agent` trades them: the newest
 * window's network, greedy, all six actions, through the bot's risk engine;
 * flat, buy-and-hold and oi-trend on the same bars beside it.
 */
export function backtestAgentAfterSpan(agent: LoadedAgent, frame: Frame, options: FreshAgentBacktestOptions): { entries: ReportEntry[]; actionHistogram: number[]; actions: Int8Array } {
  const { manifest, nets } = agent;
  if (frame.symbol !== manifest.symbol || frame.timeframe !== manifest.timeframe) {
    throw new OitraderError(`agent ${manifest.runId} trades ${manifest.symbol} ${manifest.timeframe}, the data is ${frame.symbol} ${frame.timeframe}`, { hint: `pass --symbol ${manifest.symbol} --timeframe ${manifest.timeframe}`, exitCode: 2 });
  }
  const lastTrained = manifest.windows[manifest.windows.length - 1].trainEndMs;
  if (frame.time[options.start] <= lastTrained) throw new OitraderError(`agent ${manifest.runId} trained on bars up to ${new Date(lastTrained).toISOString()}: it is scored only after them`, { exitCode: 2 });
  const { start, end } = options;
  const net = nets[nets.length - 1];
  const strategy = controllerStrategy({
    name: `${manifest.algorithm}-agent (window ${nets.length})`,
    market: sliceMarket(marketColumns(frame), start, end),
    ml: sliceSignal(options.ml, start, end),
    maxDailyLoss: options.risk.limits.maxDailyLoss,
    actions: manifest.env.actions,
    choose: (obs, mask) => net.act(obs, mask),
  });
  const slice = frame.slice(start, end);
  const runs: Array<[Strategy, BacktestOptions]> = [[strategy, { ...options.execution, risk: options.risk }], ...AGENT_BASELINES.map((name): [Strategy, BacktestOptions] => [baselineByName(name), options.execution])];
  const entries = runs.map(([s, o]) => {
    const result = runBacktest(slice, s, o);
    return { result, metrics: computeMetrics(result, { trials: options.trials }) };
  });
  entries.push(benchmarkEntry(slice, options.execution, options.trials));
  return { entries, actionHistogram: [...strategy.actionHistogram], actions: strategy.actions };
}
