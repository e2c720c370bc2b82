import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  baselineByName,
  benchmarkEntry,
  bestExpectedEdge,
  computeMetrics,
  DEFAULT_ML_SIGNAL,
  describeMlRule,
  formatSummary,
  labelPayoffs,
  mlRuleParams,
  mlRuleStrategy,
  renderHtmlReport,
  reportBasePath,
  reportJson,
  runBacktest,
  standAsideReason,
  type BacktestOptions,
  type BacktestResult,
  type MlRuleParams,
  type MlSignalParams,
  type ReportEntry,
  type TradeCosts,
} from '@oitrader/backtest';
import { DEFAULT_EXECUTION, riskLimitsFromConfig, type Strategy } from '@oitrader/trading';
import { DataError, formatUtc, OitraderError, writeFileAtomic, type Config, type Frame } from '@oitrader/core';
import { FEATURE_SET_VERSION, FeatureEngineer, TargetEngineer } from '@oitrader/features';
import { alignPredictions, assertOutOfSample, finalKnownUntilMs, loadRun, matrixFromColumns, readManifest, readOutOfFoldPredictions, registerTrials, TRIALS_FILE, type FoldSpan } from '@oitrader/ml';
import type { Output } from '../output.ts';
import { writeTradingResult } from './trading-result.ts';

/** Entry thresholds of the ML-signal rule tried on the validation windows (× the class prior). */
export const THRESHOLD_GRID = [1.0, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0];
/** Hurdles of the cost-aware rule tried on the validation windows (expected net return after costs, fraction). */
export const HURDLE_GRID = [0, 0.00025, 0.0005, 0.001, 0.002, 0.004];
/** The baselines the ML-signal strategy is compared with, on the same bars. */
export const ML_BASELINES = ['flat', 'buy-and-hold', 'oi-trend', 'oi-divergence', 'funding-carry', 'sma-trend'];
const MIN_TRADES_TO_CHOOSE = 5;

export interface MlBacktestOptions {
  modelsDir: string;
  runId: string;
  execution: BacktestOptions;
  trading: Config['trading'];
  outDir: string;
  /** Bars the user asked to trade (default: the run's out-of-fold test windows). */
  requestedStartMs?: number;
  requestedEndMs?: number;
  params?: Partial<Omit<MlSignalParams, 'priors' | 'threshold'>>;
  /** The rule traded and judged (default trading.ml_rule.rule); the other rule is traded beside it for comparison. */
  rule?: MlRuleName;
  /** Pin a rule's setting (threshold × prior, or hurdle) instead of choosing it on validation: the rule as configured, no selection. */
  pinned?: Partial<Record<MlRuleName, number>>;
}

export type MlRuleName = MlRuleParams['rule'];

export interface ValidationRow {
  /** The grid value: threshold × prior (ml-signal) or hurdle (cost-aware). */
  value: number;
  sharpe: number;
  trades: number;
  returnPct: number;
}

export interface MlBacktestResult {
  /** The HTML report's path. */
  report: string;
  rule: MlRuleName;
  /** The ML-signal threshold and the cost-aware hurdle chosen on validation. */
  threshold: number;
  hurdle: number;
  /** The traded rule's validation grid. */
  validation: ValidationRow[];
  /** The traded rule, the other rule, then the baselines. */
  test: ReportEntry[];
  beatBaselines: boolean;
  /** Trials the Deflated Sharpe counts. */
  trials: number;
  span: { validation: [string, string]; test: [string, string] };
}

interface RuleGrid {
  rule: MlRuleName;
  values: readonly number[];
  label(value: number): string;
  params(value: number): MlRuleParams;
  /** The value when validation cannot judge (no setting made enough trades). */
  untested: number;
}

interface RuleChoice {
  rule: MlRuleName;
  value: number;
  params: MlRuleParams;
  validation: ValidationRow[];
  distinctTradeSets: number;
  /** The trial registry's keys of those trade sets. */
  tradeSets: string[];
}

/** The costs the cost-aware rule expects per fill: the backtest's own taker fee, half-spread and size impact at full exposure. */
export function expectedCosts(execution: BacktestOptions): TradeCosts {
  const e = { ...DEFAULT_EXECUTION, ...execution };
  const notionalUsd = e.initialBalanceUsd * e.leverage;
  return { takerFeeRate: e.takerFeeRate, slippageRate: (e.halfSpreadBps + (e.impactBpsPer100k * notionalUsd) / 100_000) / 10_000 };
}

/** Which trades a run made: settings with the same key traded identically (one trial, not several). */
function tradeSetKey(result: BacktestResult): string {
  return result.trades.map((t) => `${t.entryTimeMs}${t.side[0]}${t.exitTimeMs}`).join(',');
}

/** A pinned setting: run on validation for the record, traded whatever it scored. */
function pinnedChoice(grid: RuleGrid, value: number, frame: Frame, managed: BacktestOptions): RuleChoice {
  const choice = chooseOnValidation({ ...grid, values: [value], untested: value }, frame, managed);
  return { ...choice, value, params: grid.params(value), distinctTradeSets: 1, tradeSets: [`pinned ${value}`] };
}

/** The setting of either rule that never trades (threshold or hurdle ∞): chosen when every setting that trades lost on validation. */
export const STAND_ASIDE = Number.POSITIVE_INFINITY;

/**
 * Runs every grid value on the validation bars and picks the best Sharpe. A value with a handful of trades proves
 * nothing; standing aside (Sharpe 0) is always a candidate, so when every value that trades lost, the rule does not trade.
 */
function chooseOnValidation(grid: RuleGrid, frame: Frame, managed: BacktestOptions): RuleChoice {
  const keys = new Set<string>(['']);
  const validation = grid.values.map((value): ValidationRow => {
    const result = runBacktest(frame, mlRuleStrategy(grid.params(value)), managed);
    keys.add(tradeSetKey(result));
    const metrics = computeMetrics(result);
    return { value, sharpe: metrics.sharpe, trades: metrics.trades, returnPct: metrics.totalReturn * 100 };
  });
  const eligible = validation.filter((v) => v.trades >= MIN_TRADES_TO_CHOOSE && Number.isFinite(v.sharpe));
  const standAside: ValidationRow = { value: STAND_ASIDE, sharpe: 0, trades: 0, returnPct: 0 };
  // No setting traded enough to judge: the rule's own default (the configured hurdle; ML-signal's 1.2 × prior), not the most eager setting.
  const value = eligible.length > 0 ? [standAside, ...eligible].reduce((a, b) => (b.sharpe > a.sharpe ? b : a)).value : grid.untested;
  return { rule: grid.rule, value, params: grid.params(value), validation, distinctTradeSets: keys.size, tradeSets: [...keys].map((k) => (k === '' ? 'stand aside' : createHash('sha1').update(k).digest('hex').slice(0, 16))) };
}

function spanOf(folds: FoldSpan[]): [number, number] {
  return [Math.min(...folds.map((f) => f.testStartMs)), Math.max(...folds.map((f) => f.testEndMs))];
}

function sliceByTime(frame: Frame, [fromMs, toMs]: [number, number]): Frame {
  const start = frame.indexAtOrAfter(fromMs);
  let end = start;
  while (end < frame.length && frame.time[end] <= toMs) end++;
  return frame.slice(start, end);
}

/** The run's final ensemble on features computed fresh (causal, on the whole frame), only for bars from `fromMs`. */
export async function freshProbabilities(runDir: string, frame: Frame, fromMs: number, model = 'ensemble'): Promise<Record<string, Float64Array>> {
  const table = new FeatureEngineer().engineerAllFeatures(frame);
  const { manifest, ensemble } = await loadRun(runDir, { featureSetVersion: FEATURE_SET_VERSION, features: table.names });
  try {
    const proba = await ensemble.predictObserved(model, matrixFromColumns(table.columns, manifest.features));
    const pick = (c: number) => Float64Array.from(frame.time, (t, i) => (t >= fromMs ? proba[i * 3 + c] : Number.NaN));
    return { p_short: pick(0), p_neutral: pick(1), p_long: pick(2) };
  } finally {
    ensemble.dispose();
  }
}

/**
 * Backtests the ML-signal strategy on a model run's OUT-OF-FOLD predictions
 * only: the earlier half of the ensemble's test windows chooses the entry
 * threshold, the later half is traded and reported next to the baselines.
 * Bars a model of the run was trained on are refused by construction.
 */
export async function runMlSignalBacktest(out: Output, frame: Frame, options: MlBacktestOptions): Promise<MlBacktestResult> {
  const runDir = join(options.modelsDir, options.runId);
  const manifest = readManifest(runDir);
  if (manifest.symbol !== frame.symbol || manifest.timeframe !== frame.timeframe) {
    throw new OitraderError(`model run ${options.runId} was trained on ${manifest.symbol} ${manifest.timeframe}, the frame is ${frame.symbol} ${frame.timeframe}`, { hint: `pass --symbol ${manifest.symbol} --timeframe ${manifest.timeframe}`, exitCode: 2 });
  }
  const oof = await readOutOfFoldPredictions(runDir, 'ensemble');
  const folds = [...oof.folds].sort((a, b) => a.fold - b.fold);
  if (folds.length < 2) {
    throw new DataError(`model run ${options.runId} has out-of-fold ensemble predictions for ${folds.length} fold(s); ml-signal needs 2: one to choose the threshold, one to trade`, { hint: 'train with --folds 3 or more' });
  }
  const horizon = manifest.labels.horizon;
  const finalKnownUntil = finalKnownUntilMs(manifest);
  const fresh = options.requestedStartMs !== undefined && options.requestedStartMs > finalKnownUntil;
  // Out-of-fold: the earlier half of the test windows chooses the threshold, the later half is traded.
  // Fresh (bars after the training span): every out-of-fold window chooses, the final models predict the new bars.
  const validationFolds = fresh ? folds : folds.slice(0, Math.floor(folds.length / 2));
  const validationSpan = spanOf(validationFolds);
  let testSpan: [number, number];
  if (fresh) {
    testSpan = [options.requestedStartMs!, Math.min(options.requestedEndMs ?? Infinity, frame.time[frame.length - 1] + 1) - 1];
    if (testSpan[1] < testSpan[0]) throw new OitraderError(`no bars after ${formatUtc(testSpan[0])} in the loaded data`, { hint: 'import newer data first', exitCode: 2 });
  } else {
    testSpan = spanOf(folds.slice(validationFolds.length));
    if (options.requestedStartMs !== undefined || options.requestedEndMs !== undefined) {
      const from = Math.max(options.requestedStartMs ?? -Infinity, frame.time[0]);
      const to = Math.min(options.requestedEndMs ?? Infinity, frame.time[frame.length - 1] + 1) - 1;
      if (from < testSpan[0] || to > testSpan[1]) {
        throw new OitraderError(
          `ml-signal trades run ${options.runId} only on its out-of-fold test windows ${formatUtc(testSpan[0])} .. ${formatUtc(testSpan[1])}, or on bars after ${formatUtc(finalKnownUntil)}; ${formatUtc(from)} .. ${formatUtc(to)} reaches bars a model of the run was trained on, or that chose its threshold`,
          { hint: 'drop --start/--end (the test windows are the default), or pass a --start after the run\'s training span', exitCode: 2 },
        );
      }
      testSpan = [from, to];
    }
  }
  const oofColumns = (() => {
    const rows = alignPredictions(oof, frame.time);
    const pick = (column: Float64Array) => Float64Array.from(rows, (r) => (r < 0 ? Number.NaN : column[r]));
    return { p_short: pick(oof.pShort), p_neutral: pick(oof.pNeutral), p_long: pick(oof.pLong) };
  })();
  const validationFrame = sliceByTime(frame.withColumns(oofColumns), validationSpan);
  // The guarantee, checked on the bars actually used: every prediction comes from a model that never saw the bar.
  assertOutOfSample(oof, validationFrame.time);
  let testFrame: Frame;
  if (fresh) {
    testFrame = sliceByTime(frame.withColumns(await freshProbabilities(runDir, frame, testSpan[0])), testSpan);
    if (testFrame.time[0] <= finalKnownUntil) throw new DataError('internal: a fresh prediction would cover a bar the run trained on');
  } else {
    testFrame = sliceByTime(frame.withColumns(oofColumns), testSpan);
    assertOutOfSample(oof, testFrame.time);
  }

  // Class priors and class payoffs from labels already known before the validation window opens (causal).
  const labels = { horizon, threshold: manifest.labels.threshold };
  const priors = new TargetEngineer().classPriors(frame, labels, validationSpan[0]);
  const payoffs = labelPayoffs(frame, labels, validationSpan[0]);
  const costs = expectedCosts(options.execution);
  const ruleConfig = options.trading.ml_rule;
  const primary = options.rule ?? ruleConfig.rule;
  const grids: Record<MlRuleName, RuleGrid> = {
    'ml-signal': {
      rule: 'ml-signal',
      values: THRESHOLD_GRID,
      label: (v) => (v === STAND_ASIDE ? 'stand aside' : `${v} × prior`),
      untested: DEFAULT_ML_SIGNAL.threshold,
      params: (threshold) => ({ rule: 'ml-signal', ...DEFAULT_ML_SIGNAL, maxBars: horizon, ...options.params, priors, threshold }),
    },
    'cost-aware': {
      rule: 'cost-aware',
      values: HURDLE_GRID,
      label: (v) => (v === STAND_ASIDE ? 'stand aside' : `hurdle ${(v * 100).toFixed(3)}%`),
      untested: ruleConfig.hurdle,
      params: (hurdle) => ({ ...(mlRuleParams({ ...ruleConfig, rule: 'cost-aware' }, { horizonBars: horizon, priors, payoffs }, costs) as Extract<MlRuleParams, { rule: 'cost-aware' }>), hurdle }),
    },
  };
  // The ML rule trades through the risk engine the bot runs; the baselines trade unmanaged, as published.
  const managed: BacktestOptions = { ...options.execution, risk: { limits: riskLimitsFromConfig(options.trading), stopLoss: options.trading.stop_loss } };
  const searchEvaluations = Number(manifest.metrics.searchEvaluations ?? 0);
  const order: MlRuleName[] = primary === 'cost-aware' ? ['cost-aware', 'ml-signal'] : ['ml-signal', 'cost-aware'];
  const chosen = order.map((rule) => {
    const pin = options.pinned?.[rule];
    return pin === undefined ? chooseOnValidation(grids[rule], validationFrame, managed) : pinnedChoice(grids[rule], pin, validationFrame, managed);
  });
  // Every distinct trade set either grid produced on validation is a trial; settings that trade identically count once.
  const ruleTrials = chosen.reduce((n, c) => n + c.distinctTradeSets, 0);
  // The run's trial registry: what this command tried joins what train, earlier backtests and rl backtest tried on the run.
  const trials = await registerTrials(
    runDir,
    options.runId,
    [...Array.from({ length: searchEvaluations }, (_, i) => `search ${i + 1}`), ...chosen.flatMap((c) => c.tradeSets.map((k) => `rule ${c.rule} ${k}`)), ...ML_BASELINES.map((b) => `baseline ${b}`)],
    'backtest --strategy ml-signal',
  );

  const strategies: Array<[Strategy, BacktestOptions]> = [
    ...chosen.map((c): [Strategy, BacktestOptions] => [mlRuleStrategy(c.params), managed]),
    // Buy-and-hold is the 1x benchmark a trader compares with (at the account's leverage it is liquidated on most samples).
    ...ML_BASELINES.map((name): [Strategy, BacktestOptions] => [baselineByName(name), name === 'buy-and-hold' ? { ...options.execution, leverage: 1 } : options.execution]),
  ];
  const test: ReportEntry[] = strategies.map(([strategy, runOptions]) => {
    const result = runBacktest(testFrame, strategy, runOptions);
    return { result, metrics: computeMetrics(result, { trials }) };
  });
  const ml = test[0].metrics;
  const baselines = test.slice(chosen.length);
  const bestBaseline = baselines.reduce((a, b) => (b.metrics.sharpe > a.metrics.sharpe ? b : a));
  const beatBaselines = baselines.every((b) => ml.sharpe > b.metrics.sharpe && ml.totalReturn > b.metrics.totalReturn);
  const main = chosen[0];
  const mlSignalChoice = chosen.find((c) => c.rule === 'ml-signal')!;
  const costAwareChoice = chosen.find((c) => c.rule === 'cost-aware')!;

  // Why the rule stood aside, in the terminal and in the report's "stood aside: why" note.
  const asideWhy: string[] = [];
  if (main.value === STAND_ASIDE) asideWhy.push(`the ${primary} rule stood aside: every setting that traded lost on validation (after costs)`);
  if (main.params.rule === 'cost-aware' && test[0].metrics.trades === 0) {
    const best = bestExpectedEdge(testFrame, main.params);
    if (best && main.value !== STAND_ASIDE) asideWhy.push(`${standAsideReason(best, main.params.hurdle)} on ${formatUtc(best.timeMs)}`);
    if (best && main.value === STAND_ASIDE) asideWhy.push(`best expected net return on the traded bars ${(Math.max(best.long, best.short) * 100).toFixed(3)} % on ${formatUtc(best.timeMs)}`);
  }

  const title = `oitrader backtest: ${primary} rule (run ${options.runId}) on ${frame.symbol} ${frame.timeframe}, out-of-fold test windows ${formatUtc(testSpan[0])} .. ${formatUtc(testSpan[1])}`;
  // The report adds the 1x buy-and-hold benchmark line; "beat every baseline" stays the published comparison.
  const reported = [...test, benchmarkEntry(testFrame, options.execution, trials)];
  const base = reportBasePath(options.outDir, ['backtest-ml-signal', options.runId, frame.symbol, frame.timeframe]);
  writeFileAtomic(`${base}.html`, renderHtmlReport(title, reported, '', undefined, { stoodAsideWhy: asideWhy }));
  writeFileAtomic(`${base}.json`, `${JSON.stringify({ runId: options.runId, rule: primary, threshold: mlSignalChoice.value, hurdle: costAwareChoice.value, priors, payoffs, costs, validation: Object.fromEntries(chosen.map((c) => [c.rule, c.validation])), trials, strategies: reportJson(reported) }, null, 2)}\n`);

  out.text(`model run ${options.runId}: ${fresh ? 'final models predicting bars after its training span' : 'ensemble out-of-fold predictions'}; rule settings chosen on ${formatUtc(validationSpan[0])} .. ${formatUtc(validationSpan[1])} (${validationFrame.length} bars), traded on ${formatUtc(testSpan[0])} .. ${formatUtc(testSpan[1])} (${testFrame.length} bars)`);
  out.text(`class priors (labels known before the validation window): short ${priors[0].toFixed(3)}, neutral ${priors[1].toFixed(3)}, long ${priors[2].toFixed(3)}; mean ${horizon}-bar return per class: ${payoffs.mean.map((m) => `${(m * 100).toFixed(2)}%`).join(' / ')}`);
  for (const c of chosen) {
    out.text(`validation ${c.rule} (${c.rule === 'ml-signal' ? 'threshold × prior' : 'hurdle'} → Sharpe, trades, return): ${c.validation.map((v) => `${grids[c.rule].label(v.value)}: ${Number.isFinite(v.sharpe) ? v.sharpe.toFixed(2) : '—'}/${v.trades}/${v.returnPct.toFixed(2)}%`).join('  ')}; ${c.distinctTradeSets} distinct trade set(s) among these ${c.validation.length} settings and standing aside`);
  }
  out.text(`chosen: ${chosen.map((c) => `${c.rule} ${grids[c.rule].label(c.value)}`).join(', ')} (${primary} is trading.ml_rule's rule, the other is shown for comparison); ${describeMlRule(main.params)}`);
  out.text(`Deflated Sharpe counts ${trials} trials, every one tried on run ${options.runId} (${join(runDir, TRIALS_FILE)}): here ${ruleTrials} distinct trade sets of the rule grids, ${searchEvaluations} search evaluations, ${ML_BASELINES.length} baselines`);
  out.text(formatSummary(reported));
  for (const line of asideWhy) out.text(`${frame.symbol}: ${line}`);
  out.text(
    beatBaselines
      ? `OUT OF SAMPLE: the ${primary} rule beat every baseline on Sharpe and return (Sharpe ${ml.sharpe.toFixed(2)} vs best baseline ${bestBaseline.result.strategy} ${bestBaseline.metrics.sharpe.toFixed(2)}; Deflated Sharpe ${ml.deflatedSharpe.toFixed(2)})`
      : `OUT OF SAMPLE: the ${primary} rule did NOT beat every baseline (Sharpe ${Number.isFinite(ml.sharpe) ? ml.sharpe.toFixed(2) : '—'}, return ${(ml.totalReturn * 100).toFixed(2)}% vs best baseline ${bestBaseline.result.strategy}: Sharpe ${bestBaseline.metrics.sharpe.toFixed(2)}, return ${(bestBaseline.metrics.totalReturn * 100).toFixed(2)}%)`,
  );
  out.text(`report: ${base}.html (and .json)`);
  const buyAndHold = test.find((e) => e.result.strategy === 'buy-and-hold');
  writeTradingResult(runDir, {
    runId: options.runId,
    evaluatedAt: new Date().toISOString(),
    symbol: frame.symbol,
    source: fresh ? 'after-training' : 'out-of-fold',
    testSpan: [formatUtc(testSpan[0]), formatUtc(testSpan[1])],
    rule: primary,
    threshold: main.value,
    trades: ml.trades,
    returnPct: ml.totalReturn * 100,
    sharpe: ml.sharpe,
    deflatedSharpe: ml.deflatedSharpe,
    trials,
    buyAndHoldReturnPct: (buyAndHold?.metrics.totalReturn ?? Number.NaN) * 100,
    beatBaselines,
  });
  const result = { report: `${base}.html`, rule: primary, threshold: mlSignalChoice.value, hurdle: costAwareChoice.value, validation: main.validation, test, beatBaselines, trials, span: { validation: [formatUtc(validationSpan[0]), formatUtc(validationSpan[1])] as [string, string], test: [formatUtc(testSpan[0]), formatUtc(testSpan[1])] as [string, string] } };
  out.result({ ...result, test: test.map((e) => ({ strategy: e.result.strategy, metrics: e.metrics })) });
  return result;
}
