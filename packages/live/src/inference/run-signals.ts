import { labelPayoffs, mlRuleParams, PROBABILITY_COLUMNS, type MlRuleParams, type MlSignalParams, type RunLabelFacts } from '@oitrader/backtest';
import { formatUtc, OitraderError, parseUtcTimeMs, silentLogger, timeframeMs, type Config, type Frame, type Logger, type Timeframe } from '@oitrader/core';
import type { MarketDataLoader } from '@oitrader/data';
import { ALL_FEATURES, FEATURE_SET_VERSION, FeatureEngineer, TargetEngineer } from '@oitrader/features';
import { finalKnownUntilMs, loadRun, matrix, type RunManifest, type StackedEnsemble } from '@oitrader/ml';
import { appendFrame } from '../bot/trading-bot.ts';

export type Probabilities = Record<(typeof PROBABILITY_COLUMNS)[number], number>;

export interface RunSignalsOptions {
  /** models/<run-id>/ */
  runDir: string;
  symbol: string;
  timeframe: Timeframe;
  /** bot.history_bars: the trailing window of candles computeLatest gets for each candle; at least the run's longest feature warm-up. */
  historyBars: number;
  /** The bot's loader: candles before the session start, and the run's training span for its class priors. */
  loader: MarketDataLoader;
  /** trading.ml_rule: which rule trades the probabilities and its settings; absent = the ML-signal rule (as before the cost-aware rule). */
  mlRule?: Config['trading']['ml_rule'];
  /** Which of the run's models answers: 'ensemble' (default) or a member by name (an agent trained with rl train --ml-model). */
  model?: string;
  log?: Logger;
}

/** Why a candle got no probabilities; each kind is logged once. */
export type NoSignalKind = 'in-sample' | 'history' | 'gap' | 'features';

const NO_SIGNAL: Probabilities = { p_short: Number.NaN, p_neutral: Number.NaN, p_long: Number.NaN };
/** The ML-signal parameters a run may carry in manifest.metrics.mlSignal (chosen for it); the rest come from DEFAULT_ML_SIGNAL. */
const CHOSEN_KEYS = ['threshold', 'stopAtr', 'takeProfitAtr', 'maxBars', 'atrPeriod'] as const;

/**
 * One model run predicting the candle that just closed: the run's features
 * for that candle by `FeatureEngineer.computeLatest` on the trailing window,
 * then `ensemble.predictSignalProba` → p_short / p_neutral / p_long. Only rows
 * up to the candle are read. A candle whose features cannot be computed (a gap
 * in the candles, a missing or NaN feature, not enough stored history) gets NaN
 * probabilities — the ML-signal strategy then holds — and so does a candle the
 * run was trained on (its labels are in the model: trading it would be look-ahead).
 */
export class RunSignals {
  readonly manifest: RunManifest;
  /** The ML rule's parameters for this run: priors and class payoffs from its training labels. */
  readonly params: MlRuleParams;
  /** The last candle the run's final models knew (training rows plus their label horizon). */
  readonly knownUntilMs: number;
  readonly #o: RunSignalsOptions;
  readonly #ensemble: StackedEnsemble;
  readonly #engineer: FeatureEngineer;
  readonly #barMs: number;
  readonly #log: Logger;
  /** Feature rows by candle open time, as computed when that candle closed (the LSTM reads the last historyRows + 1). */
  readonly #rows = new Map<number, Float64Array>();
  readonly #logged = new Set<NoSignalKind>();
  /** Candles stored before the session frame's first candle, loaded once per session frame. */
  #prefix: { beforeMs: number; frame: Frame | undefined } | undefined;

  private constructor(o: RunSignalsOptions, manifest: RunManifest, ensemble: StackedEnsemble, engineer: FeatureEngineer, params: MlRuleParams) {
    this.#o = o;
    this.manifest = manifest;
    this.#ensemble = ensemble;
    this.#engineer = engineer;
    this.params = params;
    this.#barMs = timeframeMs(o.timeframe);
    this.#log = o.log ?? silentLogger;
    this.knownUntilMs = finalKnownUntilMs(manifest);
  }

  /** Loads a run and checks it can drive this bot (symbol, timeframe, history_bars, stored training span). */
  static async open(o: RunSignalsOptions): Promise<RunSignals> {
    let loaded: Awaited<ReturnType<typeof loadRun>>;
    try {
      loaded = await loadRun(o.runDir, { featureSetVersion: FEATURE_SET_VERSION, features: ALL_FEATURES.map((s) => s.name) });
    } catch (error) {
      if (error instanceof OitraderError) throw error;
      throw new OitraderError(`model run ${o.runDir} cannot be loaded: ${(error as Error).message}`, {
        hint: 'its files are damaged: train again, or promote another run (oitrader models promote <run-id>)',
        exitCode: 2,
      });
    }
    const { manifest, ensemble } = loaded;
    try {
      if (manifest.symbol !== o.symbol || manifest.timeframe !== o.timeframe) {
        throw new OitraderError(`model run ${manifest.runId} was trained on ${manifest.symbol} ${manifest.timeframe}, the bot trades ${o.symbol} ${o.timeframe}`, {
          hint: `promote a run trained on ${o.symbol} ${o.timeframe}, or set trading.symbol / bot.timeframe to the run's`,
          exitCode: 2,
        });
      }
      if (o.model !== undefined && o.model !== 'ensemble' && !ensemble.baseNames.includes(o.model)) {
        throw new OitraderError(`model run ${manifest.runId} has no model "${o.model}" (it has ensemble, ${ensemble.baseNames.join(', ')})`, { hint: 'train the agent again on this run (oitrader rl train --ml-model <one of them>)', exitCode: 2 });
      }
      const engineer = new FeatureEngineer({ features: manifest.features });
      const needed = engineer.requiredHistory({ timeframe: o.timeframe });
      if (o.historyBars < needed) {
        throw new OitraderError(`bot.history_bars is ${o.historyBars}, but model run ${manifest.runId}'s features need ${needed} candles of history (their longest warm-up)`, {
          hint: `set bot.history_bars: ${needed} or more in config.yaml`,
          exitCode: 2,
        });
      }
      const facts = await trainingLabelFacts(o, manifest);
      const params = mlRuleParams(o.mlRule, facts, undefined, chosenParams(manifest));
      return new RunSignals(o, manifest, ensemble, engineer, params);
    } catch (error) {
      ensemble.dispose();
      throw error;
    }
  }

  get runId(): string {
    return this.manifest.runId;
  }

  /** Candles one prediction reads: history_bars for the candle's features, plus the LSTM's earlier rows. */
  get spanBars(): number {
    return this.#o.historyBars + this.#ensemble.historyRows;
  }

  /** Probabilities for row `index` of `frame` (the candle just closed); rows after `index` are never read. */
  async predict(frame: Frame, index: number): Promise<{ values: Probabilities; problem?: string }> {
    const t = frame.time[index];
    if (t <= this.knownUntilMs) return this.#none('in-sample', `model run ${this.runId} was trained on candles up to ${formatUtc(this.knownUntilMs)} (labels included); it does not trade them (${formatUtc(t)})`);
    const span = this.spanBars;
    const window = await this.#window(frame, index, span);
    if (window.length < span) return this.#none('history', `${formatUtc(t)}: ${window.length} candles stored up to it, the prediction needs ${span} (bot.history_bars + the LSTM's lookback)`);
    if (window.time[0] !== t - (span - 1) * this.#barMs) return this.#none('gap', `${formatUtc(t)}: a candle is missing in the ${span} candles before it (gap from ${formatUtc(firstGap(window, this.#barMs))})`);
    const h = this.#o.historyBars;
    const lookback = span - h + 1;
    const features = this.manifest.features;
    const data = new Float32Array(lookback * features.length);
    for (let m = 0; m < lookback; m++) {
      const row = this.#featureRow(window, h - 1 + m);
      const bad = features.filter((_, f) => !Number.isFinite(row[f]));
      if (bad.length > 0) return this.#none('features', `${formatUtc(window.time[h - 1 + m])}: features ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', …' : ''} cannot be computed (a source gap or missing data)`);
      data.set(row, m * features.length);
    }
    for (const time of this.#rows.keys()) if (time < window.time[h - 1]) this.#rows.delete(time);
    const proba = await this.#ensemble.predictObserved(this.#o.model ?? 'ensemble', matrix(data, lookback, features.length));
    const last = (lookback - 1) * 3;
    return { values: { p_short: proba[last], p_neutral: proba[last + 1], p_long: proba[last + 2] } };
  }

  dispose(): void {
    this.#ensemble.dispose();
  }

  /** computeLatest on the `history_bars` candles ending at row k of the window; computed once per candle. */
  #featureRow(window: Frame, k: number): Float64Array {
    const time = window.time[k];
    let row = this.#rows.get(time);
    if (!row) {
      const latest = this.#engineer.computeLatest(window.slice(k - this.#o.historyBars + 1, k + 1));
      row = Float64Array.from(this.manifest.features, (name) => latest[name] ?? Number.NaN);
      this.#rows.set(time, row);
    }
    return row;
  }

  /** The `span` candles ending at `index` (fewer if not stored): the session frame, preceded by stored candles when the session is younger. */
  async #window(frame: Frame, index: number, span: number): Promise<Frame> {
    if (index + 1 >= span) return frame.slice(index + 1 - span, index + 1);
    const first = frame.time[0];
    if (this.#prefix?.beforeMs !== first) {
      // The loader's value for a candle does not depend on the span loaded, so the prefix joins the session frame seamlessly.
      const before = await this.#o.loader.loadAllData(this.#o.symbol, this.#o.timeframe, first - span * this.#barMs, first).catch(() => undefined);
      this.#prefix = { beforeMs: first, frame: before };
    }
    const session = frame.slice(0, index + 1);
    const joined = this.#prefix.frame ? appendFrame(this.#prefix.frame, session) : session;
    return joined.length > span ? joined.slice(joined.length - span) : joined;
  }

  #none(kind: NoSignalKind, message: string): { values: Probabilities; problem: string } {
    if (!this.#logged.has(kind)) {
      this.#logged.add(kind);
      this.#log.warn(`no model signal: ${message}; the strategy holds (logged once per kind)`);
    }
    return { values: { ...NO_SIGNAL }, problem: message };
  }
}

/** Class priors and class payoffs of the labels the run trained on, computed from the stored candles of its training span. */
async function trainingLabelFacts(o: RunSignalsOptions, manifest: RunManifest): Promise<RunLabelFacts> {
  const fromMs = parseUtcTimeMs(manifest.dataSpan.from);
  const knownUntil = finalKnownUntilMs(manifest);
  let frame: Frame;
  try {
    frame = await o.loader.loadAllData(o.symbol, o.timeframe, fromMs, knownUntil + timeframeMs(o.timeframe));
  } catch (error) {
    throw new OitraderError(`model run ${manifest.runId}: its training candles ${manifest.dataSpan.from} .. ${manifest.dataSpan.to} are not in the database, so its class priors cannot be computed (${(error as Error).message})`, {
      hint: 'import that span (oitrader data import), or promote a run trained on stored data',
      exitCode: 2,
    });
  }
  return { horizonBars: manifest.labels.horizon, priors: new TargetEngineer().classPriors(frame, manifest.labels, knownUntil + 1), payoffs: labelPayoffs(frame, manifest.labels, knownUntil + 1) };
}

/** ML-signal parameters chosen for the run (manifest.metrics.mlSignal), each checked. */
function chosenParams(manifest: RunManifest): Partial<MlSignalParams> {
  const chosen = manifest.metrics.mlSignal;
  if (chosen === undefined) return {};
  const out: Partial<Record<(typeof CHOSEN_KEYS)[number], number>> = {};
  for (const key of CHOSEN_KEYS) {
    const value = (chosen as Record<string, unknown> | null)?.[key];
    if (value === undefined) continue;
    const whole = key === 'maxBars' || key === 'atrPeriod';
    if (typeof value !== 'number' || !(key === 'takeProfitAtr' ? value >= 0 : value > 0) || (whole && !Number.isInteger(value))) {
      throw new OitraderError(`model run ${manifest.runId}: metrics.mlSignal.${key} is ${JSON.stringify(value)}, expected a ${whole ? 'whole ' : ''}number ${key === 'takeProfitAtr' ? '>= 0' : '> 0'}`, {
        hint: 'fix or remove it in the run\'s manifest.json (DEFAULT_ML_SIGNAL applies without it)',
        exitCode: 2,
      });
    }
    out[key] = value;
  }
  return out;
}

function firstGap(window: Frame, barMs: number): number {
  for (let i = 1; i < window.length; i++) if (window.time[i] - window.time[i - 1] !== barMs) return window.time[i - 1];
  return window.time[0];
}
