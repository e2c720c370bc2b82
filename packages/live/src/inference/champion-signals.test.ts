import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DirectorySource } from '@oitrader/binance';
import { labelPayoffs, mlRuleStrategy, runBacktest } from '@oitrader/backtest';
import { DEFAULT_RISK_LIMITS } from '@oitrader/trading';
import { configSchema, createLogger, Frame, OitraderError, parseUtcTimeMs, silentLogger } from '@oitrader/core';
import { importArchive, MarketDataLoader, migrate, PgliteExecutor, type SqlExecutor } from '@oitrader/data';
import { FEATURE_SET_VERSION, FeatureEngineer } from '@oitrader/features';
import { loadRun, matrixFromColumns } from '@oitrader/ml';
import { TradingBot, type BotSignals, type CandleSignals } from '../bot/trading-bot.ts';
import { promoteRun } from '../retrain/champion-registry.ts';
import { BotStore } from '../state/bot-store.ts';
import { SAMPLE_ARCHIVE, SAMPLE_SYMBOL } from '../testing/sample-store.ts';
import { TINY_FEATURES, trainTinyRun } from '../testing/tiny-run.ts';
import { buildBotStrategy } from './bot-strategy.ts';
import { ChampionSignals, type ChampionSource } from './champion-signals.ts';
import { RunSignals } from './run-signals.ts';

const BAR = 300_000;
const DAY = 86_400_000;
const START = Date.UTC(2025, 11, 1);
/** The runs train on the first 8 days; the bot trades days 10 and 11, after every label they saw. */
const SESSION = { fromMs: START + 9 * DAY, toMs: START + 11 * DAY - BAR };
const HISTORY = 60;
const RISK = { ...DEFAULT_RISK_LIMITS, maxDailyLoss: 0.05, maxDrawdown: 0.5 };
const EXECUTION = { initialBalanceUsd: 2000, leverage: 5 };

const fillKey = (f: { timeMs: number; side: string; qtyBase: number; priceUsd: number }) => `${new Date(f.timeMs).toISOString()} ${f.side} ${f.qtyBase} @ ${f.priceUsd.toFixed(8)}`;

describe('bot.strategy champion: the promoted model drives the bot (real SOLUSDT sample with open interest)', () => {
  let sql: SqlExecutor;
  let loader: MarketDataLoader;
  let modelsDir: string;
  let trainingLabels: ArrayLike<number>;
  before(async () => {
    sql = await PgliteExecutor.open(undefined);
    await migrate(sql);
    await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE), { symbols: [SAMPLE_SYMBOL], timeframes: ['5m'], datasets: ['klines', 'metrics', 'fundingRate'], startMs: START, endMs: START + 12 * DAY });
    loader = new MarketDataLoader(sql, silentLogger);
    modelsDir = mkdtempSync(join(tmpdir(), 'oitrader-champion-'));
    // Run a: GBDTs + a small LSTM (8-candle sequences); run b: GBDTs only, trained on fewer days.
    ({ labels: trainingLabels } = await trainTinyRun(await loader.loadAllData(SAMPLE_SYMBOL, '5m', START, START + 8 * DAY), modelsDir, 'run-a'));
    await trainTinyRun(await loader.loadAllData(SAMPLE_SYMBOL, '5m', START, START + 7 * DAY), modelsDir, 'run-b', { lstm: false, trees: 10 });
    // A run carries its chosen ML-signal threshold. A tiny run's calibrated probabilities barely leave the prior
    // (its members have no edge out of fold), so run a trades at 1.0 × the prior: the parity needs trades, not an edge.
    const manifestFile = join(modelsDir, 'run-a', 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, metrics: { ...manifest.metrics, mlSignal: { ...manifest.metrics.mlSignal, threshold: 1 } } }, null, 2));
    promoteRun(modelsDir, 'run-a', 'test');
  });
  after(async () => sql?.close());

  const openSignals = (log = silentLogger) => ChampionSignals.open({ modelsDir, symbol: SAMPLE_SYMBOL, timeframe: '5m', historyBars: HISTORY, loader, log });
  const makeBot = (name: string, signals: BotSignals & { strategy: ChampionSignals['strategy'] }) =>
    new TradingBot({ bot: name, instruments: [{ symbol: SAMPLE_SYMBOL, strategy: signals.strategy, signals }], timeframe: '5m', mode: 'paper', risk: RISK, stopLoss: 0.01, execution: EXECUTION, store: new BotStore(sql), loader });
  const decisions = async (bot: string) =>
    (await sql.query<{ t: number; detail: { nowMs: number; signals?: CandleSignals } }>(`SELECT (extract(epoch FROM candle_time) * 1000)::float8 AS t, detail FROM bot_decisions WHERE bot = $1 ORDER BY candle_time`, [bot])).map((r) => ({
      t: Number(r.t),
      ...(typeof r.detail === 'string' ? (JSON.parse(r.detail) as typeof r.detail) : r.detail),
    }));
  /** The run's final ensemble over the whole stored history in one batch: what `predict` / the backtester compute. */
  const batchProbabilities = async (runId: string, frame: Frame) => {
    const { manifest, ensemble } = await loadRun(join(modelsDir, runId), { featureSetVersion: FEATURE_SET_VERSION, features: TINY_FEATURES });
    try {
      const table = new FeatureEngineer({ features: manifest.features }).engineerAllFeatures(frame);
      const p = await ensemble.predictSignalProba(matrixFromColumns(table.columns, manifest.features));
      const pick = (c: number) => Float64Array.from(frame.time, (_, i) => p[i * 3 + c]);
      return { p_short: pick(0), p_neutral: pick(1), p_long: pick(2) };
    } finally {
      ensemble.dispose();
    }
  };

  it('parity: the bot with the champion makes the decisions and fills of the backtester running ml-signal on batch probabilities over the same candles', async () => {
    const signals = await openSignals();
    assert.ok(signals.model.spanBars > HISTORY, 'run a should have an LSTM member that reads earlier candles');
    const bot = makeBot('mla', signals);
    await bot.start(SESSION.fromMs);
    // Candles arrive in uneven batches, as a loop that wakes late sees them.
    for (let t = SESSION.fromMs + 5 * BAR, k = 1; t < SESSION.toMs; t = Math.min(SESSION.toMs, t + ((k++ % 7) * 3 + 1) * BAR)) await bot.stepThrough(t);
    await bot.stepThrough(SESSION.toMs);

    const history = await loader.loadAllData(SAMPLE_SYMBOL, '5m', START, SESSION.toMs + BAR);
    const session = history.withColumns(await batchProbabilities('run-a', history)).slice(history.indexAtOrAfter(SESSION.fromMs));
    const stored = await decisions('mla');
    assert.equal(stored.length, session.length, 'one decision per candle of the session');
    for (let i = 0; i < session.length; i++) {
      const s = stored[i].signals!;
      assert.equal(stored[i].t, session.time[i]);
      assert.equal((s.source as unknown as ChampionSource).run, 'run-a', 'the decision must name the run that made it');
      for (const c of ['p_short', 'p_neutral', 'p_long'] as const) {
        assert.ok(Number.isFinite(session.column(c)[i]), `batch has no ${c} at ${new Date(session.time[i]).toISOString()}: the span is not a clean comparison`);
        assert.ok(Math.abs(s.values[c] - session.column(c)[i]) < 1e-6, `${c} at ${new Date(session.time[i]).toISOString()}: bot ${s.values[c]} vs batch ${session.column(c)[i]}`);
      }
    }
    const params = signals.model.params;
    assert.ok(params.rule === 'ml-signal', 'without trading.ml_rule a run trades the ML-signal rule, as before');
    const backtest = runBacktest(session, mlRuleStrategy(params), { ...EXECUTION, closeAtEnd: false, risk: { limits: RISK, stopLoss: 0.01 } });
    const fills = await new BotStore(sql).fills('mla');
    assert.ok(backtest.fills.length >= 4, `the ML-signal strategy should trade on two real days, the backtest made ${backtest.fills.length} fills`);
    assert.deepEqual(fills.map(fillKey), backtest.fills.map(fillKey), 'the bot traded differently from the backtester on the same candles and probabilities');
    // The priors are the class shares of the labels run a trained on.
    const counts = [0, 0, 0];
    for (let i = 0; i < trainingLabels.length; i++) counts[trainingLabels[i]]++;
    const total = counts[0] + counts[1] + counts[2];
    params.priors.forEach((p, k) => assert.ok(Math.abs(p - counts[k] / total) < 1e-12, `prior ${k} ${p} is not the training labels' share ${counts[k] / total}`));
    signals.dispose();
  });

  it('parity with trading.ml_rule cost-aware: the bot trades the one cost-aware rule the backtester runs, with payoffs from the run\'s training labels', async () => {
    // Costs 0 and hurdle 0: a tiny run's probabilities barely lean, and the parity needs trades, not an edge.
    const mlRule = { ...configSchema.parse({}).trading.ml_rule, hurdle: 0, taker_fee: 0, slippage_bps: 0 };
    const signals = await ChampionSignals.open({ modelsDir, symbol: SAMPLE_SYMBOL, timeframe: '5m', historyBars: HISTORY, loader, mlRule });
    const params = signals.model.params;
    assert.ok(params.rule === 'cost-aware', 'trading.ml_rule cost-aware must reach the champion');
    const history = await loader.loadAllData(SAMPLE_SYMBOL, '5m', START, SESSION.toMs + BAR);
    const training = await loader.loadAllData(SAMPLE_SYMBOL, '5m', parseUtcTimeMs(signals.model.manifest.dataSpan.from), signals.model.knownUntilMs + BAR);
    assert.deepEqual(params.payoffs, labelPayoffs(training, { horizon: params.horizonBars, threshold: signals.model.manifest.labels.threshold }, signals.model.knownUntilMs + 1), 'the payoffs are the mean forward returns of the labels run a trained on');
    const bot = makeBot('mlc', signals);
    await bot.start(SESSION.fromMs);
    await bot.stepThrough(SESSION.toMs);
    const session = history.withColumns(await batchProbabilities('run-a', history)).slice(history.indexAtOrAfter(SESSION.fromMs));
    const backtest = runBacktest(session, mlRuleStrategy(params), { ...EXECUTION, closeAtEnd: false, risk: { limits: RISK, stopLoss: 0.01 } });
    const fills = await new BotStore(sql).fills('mlc');
    assert.ok(backtest.fills.length >= 2, `the cost-aware rule should trade on two real days at zero cost, the backtest made ${backtest.fills.length} fills`);
    assert.deepEqual(fills.map(fillKey), backtest.fills.map(fillKey), 'the bot traded the cost-aware rule differently from the backtester on the same candles and probabilities');
    signals.dispose();
  });

  it('a killed and restarted bot replays with the stored probabilities — no inference, even after a promotion — and ends with 0 differences', async () => {
    const mid = SESSION.fromMs + 200 * BAR;
    const first = await openSignals();
    const killed = makeBot('mlr', first);
    await killed.start(SESSION.fromMs);
    await killed.stepThrough(mid);
    first.dispose();
    // While the process is gone, another run is promoted: the replay must still rebuild what run a did.
    promoteRun(modelsDir, 'run-b', 'test: promoted while the bot was down');
    try {
      const second = await openSignals();
      let fresh = 0;
      const counting: BotSignals & { strategy: ChampionSignals['strategy'] } = {
        columns: second.columns,
        strategy: second.strategy,
        prepare: (frame, index, stored) => ((fresh += stored ? 0 : 1), second.prepare(frame, index, stored)),
      };
      const restarted = makeBot('mlr', counting);
      const report = await restarted.start(SESSION.fromMs);
      assert.equal(report.replayedBars, (mid - SESSION.fromMs) / BAR + 1);
      assert.equal(fresh, 0, 'the replay predicted candles again instead of reusing the stored probabilities');
      assert.deepEqual(report.differences, [], 'the replay must rebuild exactly what was stored');
      assert.equal(second.strategy.runId, 'run-a', 'after the replay the strategy that ran (run a) must be in place');
      const reference = (await new BotStore(sql).fills('mla')).filter((f) => f.timeMs <= mid + BAR).map(fillKey);
      assert.deepEqual((await new BotStore(sql).fills('mlr')).filter((f) => f.timeMs <= mid + BAR).map(fillKey), reference, 'the restarted bot traded differently up to the crash');
      await restarted.stepThrough(mid + BAR);
      assert.equal(fresh, 1);
      const last = (await decisions('mlr')).at(-1)!;
      assert.equal((last.signals!.source as unknown as ChampionSource).run, 'run-b', 'the first live candle after the restart is decided by the champion promoted meanwhile');
      second.dispose();
    } finally {
      promoteRun(modelsDir, 'run-a', 'test: back to a');
    }
  });

  it('a promotion between two candles swaps probabilities and strategy together at the next candle, and each decision names its run', async () => {
    const lines: string[] = [];
    const signals = await openSignals(createLogger('bot', { write: (l) => lines.push(l) }));
    const bot = makeBot('mls', signals);
    const t1 = SESSION.fromMs + 40 * BAR;
    await bot.start(SESSION.fromMs);
    await bot.stepThrough(t1);
    promoteRun(modelsDir, 'run-b', 'test: retrain promoted b');
    try {
      await bot.stepThrough(t1 + 3 * BAR);
      const stored = await decisions('mls');
      const runOf = (t: number) => (stored.find((d) => d.t === t)!.signals!.source as unknown as ChampionSource).run;
      assert.equal(runOf(t1), 'run-a', 'the candle before the promotion is run a\'s');
      for (const k of [1, 2, 3]) assert.equal(runOf(t1 + k * BAR), 'run-b', `candle +${k} after the promotion must be run b's`);
      const b = await RunSignals.open({ runDir: join(modelsDir, 'run-b'), symbol: SAMPLE_SYMBOL, timeframe: '5m', historyBars: HISTORY, loader });
      const next = stored.find((d) => d.t === t1 + BAR)!.signals!;
      assert.deepEqual((next.source as unknown as ChampionSource).params, b.params, 'the strategy parameters recorded with the first b candle must be run b\'s');
      const frame = await loader.loadAllData(SAMPLE_SYMBOL, '5m', SESSION.fromMs, t1 + 2 * BAR);
      const own = await b.predict(frame, frame.length - 1);
      assert.deepEqual(next.values, own.values, 'the first candle after the promotion must carry run b\'s probabilities');
      b.dispose();
      assert.equal(signals.strategy.runId, 'run-b', 'the strategy must have swapped to run b');
      assert.ok(lines.some((l) => l.includes(`model swapped from run-a: run-b decides from the candle at ${new Date(t1 + BAR).toISOString()}`)), `the swap must be logged at the first candle after the promotion: ${lines.join(' | ')}`);
    } finally {
      promoteRun(modelsDir, 'run-a', 'test: back to a');
      signals.dispose();
    }
  });

  it('refuses to start without a champion, with a too-short bot.history_bars, or with damaged model files — each with the fix', async () => {
    const config = (dir: string, historyBars = HISTORY) => configSchema.parse({ models: { dir }, bot: { strategy: 'champion', history_bars: historyBars } });
    const empty = mkdtempSync(join(tmpdir(), 'oitrader-nochamp-'));
    await assert.rejects(buildBotStrategy(config(empty), { loader }), (e: OitraderError) => {
      assert.match(e.message, /bot\.strategy is champion but .* has no champion/);
      assert.match(e.hint ?? '', /oitrader models promote <run-id>/);
      assert.equal(e.exitCode, 2);
      return true;
    });
    // The tiny run needs ~50 candles (config allows no less), so the refusal is shown on the source itself.
    await assert.rejects(ChampionSignals.open({ modelsDir, symbol: SAMPLE_SYMBOL, timeframe: '5m', historyBars: 30, loader }), (e: OitraderError) => {
      assert.match(e.message, /bot\.history_bars is 30, but model run run-a's features need \d+ candles/);
      assert.match(e.hint ?? '', /set bot\.history_bars: \d+ or more/);
      return true;
    });
    const damaged = mkdtempSync(join(tmpdir(), 'oitrader-damaged-'));
    cpSync(join(modelsDir, 'run-a'), join(damaged, 'run-a'), { recursive: true });
    writeFileSync(join(damaged, 'run-a', 'ensemble.json'), '{"format":"oitrader-stacked-ensemble","vers');
    promoteRun(damaged, 'run-a', 'test');
    await assert.rejects(buildBotStrategy(config(damaged), { loader }), /cannot read .*ensemble\.json/);
    const baseline = await buildBotStrategy(configSchema.parse({ bot: { strategy: 'sma-trend' } }), { loader });
    assert.equal(baseline.signals, undefined, 'a baseline has no model signals');
  });

  it('a decision only reads candles up to the one just closed; a candle with a gap in its window gets no probabilities (the strategy holds), logged once', async () => {
    const signals = await openSignals();
    const seen: Array<{ candle: number; last: number }> = [];
    const spy: BotSignals & { strategy: ChampionSignals['strategy'] } = {
      columns: signals.columns,
      strategy: signals.strategy,
      prepare: (frame, index, stored) => (seen.push({ candle: frame.time[index], last: frame.time[frame.length - 1] }), signals.prepare(frame, index, stored)),
    };
    const bot = makeBot('mle', spy);
    await bot.start(SESSION.fromMs);
    await bot.stepThrough(SESSION.fromMs + 30 * BAR);
    const stored = await decisions('mle');
    assert.deepEqual(seen.map((s) => s.candle), stored.map((d) => d.t), 'each decision must predict the candle it decides on');
    for (const d of stored) assert.ok(d.nowMs >= d.t + BAR, `the decision at ${new Date(d.t).toISOString()} was made before its candle closed`);
    assert.ok(seen.some((s) => s.last > s.candle), 'the batch should contain candles after the one being decided (the look-ahead risk this test guards)');
    signals.dispose();

    // Later candles in the frame are poisoned: the prediction must not change.
    const lines: string[] = [];
    const run = await RunSignals.open({ runDir: join(modelsDir, 'run-a'), symbol: SAMPLE_SYMBOL, timeframe: '5m', historyBars: HISTORY, loader, log: createLogger('bot', { write: (l) => lines.push(l) }) });
    const frame = await loader.loadAllData(SAMPLE_SYMBOL, '5m', SESSION.fromMs - 100 * BAR, SESSION.fromMs + 20 * BAR);
    const index = 100;
    const poisoned = new Frame(frame.symbol, frame.timeframe, frame.time, Object.fromEntries(frame.names.map((n) => [n, frame.column(n).map((v, i) => (i > index ? v * 3 : v))])));
    const clean = await (await RunSignals.open({ runDir: join(modelsDir, 'run-a'), symbol: SAMPLE_SYMBOL, timeframe: '5m', historyBars: HISTORY, loader })).predict(frame.slice(0, index + 1), index);
    assert.deepEqual((await run.predict(poisoned, index)).values, clean.values, 'later candles changed the prediction of an earlier one: look-ahead');
    assert.ok(Number.isFinite(clean.values.p_long));

    // A candle missing 10 candles before: no probabilities, the ML-signal strategy holds.
    const gap = frame.slice(0, index - 10).time.length;
    const holed = new Frame(frame.symbol, frame.timeframe, Float64Array.from([...frame.time.subarray(0, gap), ...frame.time.subarray(gap + 1)]), Object.fromEntries(frame.names.map((n) => [n, Float64Array.from([...frame.column(n).subarray(0, gap), ...frame.column(n).subarray(gap + 1)])])));
    const none = await run.predict(holed, index - 1);
    assert.ok(Number.isNaN(none.values.p_long) && Number.isNaN(none.values.p_short), 'a gap must give no prediction, not a guess');
    assert.match(none.problem ?? '', /candle is missing/);
    await run.predict(holed, index);
    assert.equal(lines.filter((l) => l.includes('candle is missing')).length, 1, 'the gap must be logged once, not per candle');
    run.dispose();
  });
});
