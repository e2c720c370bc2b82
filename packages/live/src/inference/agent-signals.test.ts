import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DirectorySource } from '@oitrader/binance';
import { runBacktest } from '@oitrader/backtest';
import { riskLimitsFromConfig } from '@oitrader/trading';
import { configSchema, Frame, silentLogger, type Config, type OitraderError } from '@oitrader/core';
import { importArchive, MarketDataLoader, migrate, PgliteExecutor, type SqlExecutor } from '@oitrader/data';
import { FEATURE_SET_VERSION, FeatureEngineer } from '@oitrader/features';
import { loadRun, matrixFromColumns } from '@oitrader/ml';
import { controllerStrategy, EXIT, HOLD, LONG, MARKET_FEATURES, marketColumns, SCALE_IN, SCALE_OUT, SHORT, saveAgent, sliceMarket, syntheticMarket, trainAgentWalkForward, type ActionChooser } from '@oitrader/rl';
import { TradingBot, type BotSignals, type CandleSignals } from '../bot/trading-bot.ts';
import { promoteRun } from '../retrain/champion-registry.ts';
import { BotStore } from '../state/bot-store.ts';
import { SAMPLE_ARCHIVE, SAMPLE_SYMBOL } from '../testing/sample-store.ts';
import { TINY_FEATURES, trainTinyRun } from '../testing/tiny-run.ts';
import { AGENT_MARKET_COLUMNS, agentChooser, AgentSignals, type AgentSource } from './agent-signals.ts';
import { buildBotStrategy } from './bot-strategy.ts';

const BAR = 300_000;
const DAY = 86_400_000;
const START = Date.UTC(2025, 11, 1);
/** The run trains on the first 8 days; the bot trades days 10 and 11, after every label it saw. */
const SESSION = { fromMs: START + 9 * DAY, toMs: START + 11 * DAY - BAR };
const HISTORY = 60;
const EXECUTION = { initialBalanceUsd: 2000, leverage: 5 };

const fillKey = (f: { timeMs: number; side: string; qtyBase: number; priceUsd: number }) => `${new Date(f.timeMs).toISOString()} ${f.side} ${f.qtyBase} @ ${f.priceUsd.toFixed(8)}`;

describe('bot.strategy agent: a trained RL agent drives the bot (real SOLUSDT sample with open interest)', () => {
  let sql: SqlExecutor;
  let loader: MarketDataLoader;
  let modelsDir: string;
  let agentsDir: string;
  before(async () => {
    sql = await PgliteExecutor.open(undefined);
    await migrate(sql);
    await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE), { symbols: [SAMPLE_SYMBOL], timeframes: ['5m'], datasets: ['klines', 'metrics', 'fundingRate'], startMs: START, endMs: START + 12 * DAY });
    loader = new MarketDataLoader(sql, silentLogger);
    modelsDir = mkdtempSync(join(tmpdir(), 'oitrader-agent-models-'));
    agentsDir = mkdtempSync(join(tmpdir(), 'oitrader-agents-'));
    await trainTinyRun(await loader.loadAllData(SAMPLE_SYMBOL, '5m', START, START + 8 * DAY), modelsDir, 'run-a', { lstm: false });
    promoteRun(modelsDir, 'run-a', 'test');
    // A tiny agent trained as packages/rl's tests train one (synthetic SOLUSDT 5m), naming run a as the model run it observes.
    const { frame, predictions } = syntheticMarket({ bars: 2000, seed: 5, driftPerBar: 0.0004 });
    const trained = await trainAgentWalkForward({
      runId: 'ag-1',
      frame,
      predictions,
      modelRun: { runId: 'run-a', featureSetVersion: FEATURE_SET_VERSION },
      algorithm: 'ppo',
      windows: 2,
      timestepsPerWindow: 512,
      nEnvs: 2,
      seed: 3,
      training: { nSteps: 128, batchSize: 128, nEpochs: 1 },
      env: { episodeBars: 128 },
      codeVersion: 'test',
    });
    saveAgent(agentsDir, trained.manifest, trained.nets, trained.logs);
  });
  after(async () => {
    await sql?.close();
    rmSync(modelsDir, { recursive: true, force: true });
    rmSync(agentsDir, { recursive: true, force: true });
  });

  const config = (over: { agent?: string; agentsDir?: string; modelsDir?: string; symbol?: string; timeframe?: string } = {}): Config =>
    configSchema.parse({
      models: { dir: over.modelsDir ?? modelsDir, agents_dir: over.agentsDir ?? agentsDir },
      bot: { strategy: 'agent', agent: over.agent ?? 'ag-1', history_bars: HISTORY, timeframe: over.timeframe ?? '5m' },
      trading: { symbol: over.symbol ?? SAMPLE_SYMBOL, max_daily_loss: 0.05, max_drawdown: 0.5 },
    });
  const open = async () => {
    const built = await buildBotStrategy(config(), { loader });
    return { ...built, signals: built.signals as AgentSignals };
  };
  const makeBot = (name: string, signals: BotSignals & { strategy: AgentSignals['strategy'] }) => {
    const t = config().trading;
    return new TradingBot({ bot: name, instruments: [{ symbol: SAMPLE_SYMBOL, strategy: signals.strategy, signals }], timeframe: '5m', mode: 'paper', risk: riskLimitsFromConfig(t), stopLoss: t.stop_loss, execution: EXECUTION, store: new BotStore(sql), loader });
  };
  const decisions = async (bot: string) =>
    (await sql.query<{ t: number; detail: { signals?: CandleSignals } | string }>(`SELECT (extract(epoch FROM candle_time) * 1000)::float8 AS t, detail FROM bot_decisions WHERE bot = $1 ORDER BY candle_time`, [bot])).map((r) => ({
      t: Number(r.t),
      ...(typeof r.detail === 'string' ? (JSON.parse(r.detail) as { signals?: CandleSignals }) : r.detail),
    }));

  it('parity: the bot with the agent makes the orders and fills of controllerStrategy run by the backtester on batch inputs over the same candles — all six actions, one risk engine', async () => {
    const built = await open();
    assert.match(built.description, /^agent ag-1 \(ppo, window 2 of 2\) on model run run-a \(the champion\)/);
    const bot = makeBot('aga', built.signals);
    await bot.start(SESSION.fromMs);
    // Candles arrive in uneven batches; the frame grows with each.
    for (let t = SESSION.fromMs + 5 * BAR, k = 1; t < SESSION.toMs; t = Math.min(SESSION.toMs, t + ((k++ % 7) * 3 + 1) * BAR)) await bot.stepThrough(t);
    await bot.stepThrough(SESSION.toMs);

    // The reference: every input computed in one batch over all stored candles, aligned with the frame.
    const history = await loader.loadAllData(SAMPLE_SYMBOL, '5m', START, SESSION.toMs + BAR);
    const { manifest, ensemble } = await loadRun(join(modelsDir, 'run-a'), { featureSetVersion: FEATURE_SET_VERSION, features: TINY_FEATURES });
    const table = new FeatureEngineer({ features: manifest.features }).engineerAllFeatures(history);
    const p = await ensemble.predictSignalProba(matrixFromColumns(table.columns, manifest.features));
    ensemble.dispose();
    const pick = (c: number) => Float64Array.from(history.time, (_, i) => p[i * 3 + c]);
    const ml = { pShort: pick(0), pNeutral: pick(1), pLong: pick(2) };
    const market = marketColumns(history);
    const s = history.indexAtOrAfter(SESSION.fromMs);
    const session = history.slice(s);

    const stored = await decisions('aga');
    assert.equal(stored.length, session.length, 'one decision per candle of the session');
    for (let i = 0; i < session.length; i++) {
      const at = new Date(session.time[i]).toISOString();
      const v = stored[i].signals!.values;
      assert.equal(stored[i].t, session.time[i]);
      assert.deepEqual(stored[i].signals!.source as unknown as AgentSource, { agent: 'ag-1', run: 'run-a', window: 2 });
      assert.ok(Math.abs(v.p_long - ml.pLong[s + i]) < 1e-6 && Math.abs(v.p_short - ml.pShort[s + i]) < 1e-6, `probabilities at ${at}: bot ${v.p_long} vs batch ${ml.pLong[s + i]}`);
      AGENT_MARKET_COLUMNS.forEach((c, f) => {
        const batch = market.columns[f][s + i];
        assert.ok(Number.isFinite(batch), `batch ${market.names[f]} is NaN at ${at}: not a clean comparison`);
        assert.ok(Math.abs(v[c] - batch) <= 1e-6 * Math.max(1, Math.abs(batch)), `${market.names[f]} at ${at}: bot ${v[c]} vs batch ${batch}`);
      });
    }
    const t = config().trading;
    const reference = controllerStrategy({
      name: 'reference',
      market: sliceMarket(market, s, history.length),
      ml: { pShort: ml.pShort.subarray(s), pNeutral: ml.pNeutral.subarray(s), pLong: ml.pLong.subarray(s) },
      choose: agentChooser(built.signals.agent),
      maxDailyLoss: t.max_daily_loss,
      actions: built.signals.agent.manifest.env.actions,
    });
    const backtest = runBacktest(session, reference, { ...EXECUTION, closeAtEnd: false, risk: { limits: riskLimitsFromConfig(t), stopLoss: t.stop_loss } });
    // The backtester decides every bar but the last (its orders would have no bar to fill in); the bot decided that one too.
    const live = [...built.signals.strategy.actionHistogram];
    live[built.signals.strategy.lastAction]--;
    assert.deepEqual(live, reference.actionHistogram, 'the agent chose other actions live than in the backtest');
    assert.ok(reference.actionHistogram[1] + reference.actionHistogram[2] >= 2, `the agent should enter on two real days: ${reference.actionHistogram}`);
    const fills = await new BotStore(sql).fills('aga');
    assert.ok(backtest.fills.length >= 4, `the agent should trade on two real days, the backtest made ${backtest.fills.length} fills`);
    assert.deepEqual(fills.map(fillKey), backtest.fills.map(fillKey), 'the bot traded differently from the backtester on the same candles and inputs');
    built.dispose();
  });

  it('parity with every action: a policy that scales in and out trades the same orders in the bot and in the backtest (the bot masks nothing the env allowed)', async () => {
    const built = await open();
    // Scripted: at each bar the first allowed action of a rotating preference, so SCALE_IN and SCALE_OUT are taken whenever the risk engine allows them.
    const preference = [SCALE_IN, SCALE_OUT, LONG, SHORT, SCALE_IN, HOLD, EXIT, HOLD];
    const scripted: ActionChooser = (_obs, mask, i) => [...preference.slice(i % preference.length), ...preference].find((a) => mask[a] === 1) ?? HOLD;
    const oneRow = () => new Float64Array(1);
    const market = { names: MARKET_FEATURES, columns: MARKET_FEATURES.map(oneRow), unavailable: [] };
    const ml = { pShort: oneRow(), pNeutral: oneRow(), pLong: oneRow() };
    const t = config().trading;
    const live = controllerStrategy({
      name: 'scripted',
      market,
      ml,
      choose: scripted,
      maxDailyLoss: t.max_daily_loss,
      row: (ctx) => {
        ml.pShort[0] = ctx.value('p_short');
        ml.pNeutral[0] = ctx.value('p_neutral');
        ml.pLong[0] = ctx.value('p_long');
        AGENT_MARKET_COLUMNS.forEach((c, f) => (market.columns[f][0] = ctx.value(c)));
        return 0;
      },
    });
    const bot = makeBot('agx', { columns: built.signals.columns, prepare: (f, i, s) => built.signals.prepare(f, i, s), strategy: live });
    await bot.start(SESSION.fromMs);
    await bot.stepThrough(SESSION.toMs);
    // The reference: the same policy over batch inputs in the backtester, through the same risk engine.
    const history = await loader.loadAllData(SAMPLE_SYMBOL, '5m', START, SESSION.toMs + BAR);
    const stored = await decisions('agx');
    const s = history.indexAtOrAfter(SESSION.fromMs);
    const session = history.slice(s);
    const pick = (k: string) => Float64Array.from(stored, (d) => d.signals!.values[k] ?? Number.NaN);
    const reference = controllerStrategy({
      name: 'scripted reference',
      market: { names: MARKET_FEATURES, columns: AGENT_MARKET_COLUMNS.map((c) => pick(c)), unavailable: [] },
      ml: { pShort: pick('p_short'), pNeutral: pick('p_neutral'), pLong: pick('p_long') },
      choose: scripted,
      maxDailyLoss: t.max_daily_loss,
    });
    const backtest = runBacktest(session, reference, { ...EXECUTION, closeAtEnd: false, risk: { limits: riskLimitsFromConfig(t), stopLoss: t.stop_loss } });
    const used = reference.actionHistogram;
    assert.ok(used[SCALE_IN] > 0 && used[SCALE_OUT] > 0, `the policy should scale in and out on two real days: ${used}`);
    const liveUsed = [...live.actionHistogram];
    liveUsed[live.lastAction]--;
    assert.deepEqual(liveUsed, used, 'the bot took other actions than the backtest: it masks or refuses what the backtest allowed');
    const fills = await new BotStore(sql).fills('agx');
    assert.deepEqual(fills.map(fillKey), backtest.fills.map(fillKey), 'the bot traded the scale actions differently from the backtester');
    const orders = (await new BotStore(sql).orders('agx')).filter((o) => o.intent === 'entry');
    assert.ok(orders.length > used[LONG] + used[SHORT], 'scale-ins must reach the venue as their own entry orders');
    built.dispose();
  });

  it('a killed and restarted bot replays with the stored inputs — no inference — and ends with 0 differences', async () => {
    const mid = SESSION.fromMs + 300 * BAR;
    const first = await open();
    const killed = makeBot('agr', first.signals);
    await killed.start(SESSION.fromMs);
    await killed.stepThrough(mid);
    first.dispose();
    const second = await open();
    // Counts the model inferences the restarted process makes.
    let fresh = 0;
    const run = second.signals.run;
    const predict = run.predict.bind(run);
    run.predict = (frame, index) => ((fresh += 1), predict(frame, index));
    const restarted = makeBot('agr', second.signals);
    const report = await restarted.start(SESSION.fromMs);
    assert.equal(report.replayedBars, (mid - SESSION.fromMs) / BAR + 1);
    assert.equal(fresh, 0, 'the replay computed inputs again instead of reusing the stored ones');
    assert.deepEqual(report.differences, [], 'the replay must rebuild exactly what was stored');
    const upToCrash = async (bot: string) => (await new BotStore(sql).fills(bot)).filter((f) => f.timeMs <= mid + BAR).map(fillKey);
    assert.ok((await upToCrash('agr')).length >= 2, 'the agent should have traded before the crash');
    assert.deepEqual(await upToCrash('agr'), await upToCrash('aga'), 'the restarted bot traded differently up to the crash');
    await restarted.stepThrough(mid + 20 * BAR);
    assert.equal(fresh, 20);
    assert.deepEqual((await new BotStore(sql).fills('agr')).filter((f) => f.timeMs <= mid + 21 * BAR).map(fillKey), (await new BotStore(sql).fills('aga')).filter((f) => f.timeMs <= mid + 21 * BAR).map(fillKey), 'after the restart the agent must go on as the uninterrupted bot did');
    second.dispose();
  });

  it('a candle\'s inputs read only candles up to it', async () => {
    const built = await open();
    const frame = await loader.loadAllData(SAMPLE_SYMBOL, '5m', SESSION.fromMs - 400 * BAR, SESSION.fromMs + 20 * BAR);
    const index = 405;
    const poisoned = new Frame(frame.symbol, frame.timeframe, frame.time, Object.fromEntries(frame.names.map((n) => [n, frame.column(n).map((v, i) => (i > index ? v * 3 : v))])));
    const clean = await built.signals.prepare(frame.slice(0, index + 1), index, undefined);
    assert.ok(Number.isFinite(clean.values.obs_natr_14) && Number.isFinite(clean.values.p_long));
    assert.deepEqual((await built.signals.prepare(poisoned, index, undefined)).values, clean.values, 'later candles changed an earlier candle\'s inputs: look-ahead');
    built.dispose();
  });

  it('an agent trained on a member\'s predictions (rl train --ml-model) is fed that member live, not the ensemble; an unknown model is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-agents-member-'));
    cpSync(join(agentsDir, 'ag-1'), join(dir, 'ag-1'), { recursive: true });
    const path = join(dir, 'ag-1', 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { modelRun: { model: string } };
    const { manifest: run, ensemble } = await loadRun(join(modelsDir, 'run-a'), { featureSetVersion: FEATURE_SET_VERSION, features: TINY_FEATURES });
    const member = ensemble.baseNames[0];
    writeFileSync(path, JSON.stringify({ ...manifest, modelRun: { ...manifest.modelRun, model: member } }));
    const built = await buildBotStrategy(config({ agentsDir: dir }), { loader });
    const frame = await loader.loadAllData(SAMPLE_SYMBOL, '5m', SESSION.fromMs - 400 * BAR, SESSION.fromMs + 20 * BAR);
    const index = 405;
    const fed = await built.signals!.prepare(frame.slice(0, index + 1), index, undefined);
    built.dispose();
    const table = new FeatureEngineer({ features: run.features }).engineerAllFeatures(frame);
    const all = await ensemble.predictAll(matrixFromColumns(table.columns, run.features));
    ensemble.dispose();
    const raw = all.members[0].raw;
    assert.ok(Math.abs(fed.values.p_long - raw[index * 3 + 2]) < 1e-6 && Math.abs(fed.values.p_short - raw[index * 3]) < 1e-6, `fed ${fed.values.p_long}, member ${raw[index * 3 + 2]}, ensemble ${all.ensemble[index * 3 + 2]}`);
    assert.ok(Math.abs(all.ensemble[index * 3 + 2] - raw[index * 3 + 2]) > 1e-9, 'the member and the ensemble differ here (else the test proves nothing)');
    writeFileSync(path, JSON.stringify({ ...manifest, modelRun: { ...manifest.modelRun, model: 'no-such-model' } }));
    await assert.rejects(buildBotStrategy(config({ agentsDir: dir }), { loader }), (e: OitraderError) => /model run run-a has no model "no-such-model"/.test(e.message) && /--ml-model/.test(e.hint ?? ''));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an agent it cannot feed — none named, missing, its model run absent, another symbol or timeframe, another observation — each with the fix', async () => {
    const refuses = async (cfg: Config, message: RegExp, hint: RegExp) =>
      assert.rejects(buildBotStrategy(cfg, { loader }), (e: OitraderError) => {
        assert.match(e.message, message);
        assert.match(e.hint ?? '', hint);
        return true;
      });
    await refuses(config({ agent: '' }), /bot\.strategy is agent but bot\.agent names no agent/, /set bot\.agent/);
    await refuses(config({ agent: 'ag-9' }), /there is no agent in .*ag-9/, /oitrader rl train/);
    const noRuns = mkdtempSync(join(tmpdir(), 'oitrader-noruns-'));
    await refuses(config({ modelsDir: noRuns }), /agent ag-1 observes the predictions of model run run-a, which is not in/, /restore models\/run-a/);
    await refuses(config({ symbol: 'BTCUSDT' }), /agent ag-1 was trained on SOLUSDT, not BTCUSDT/, /train an agent for BTCUSDT/);
    await refuses(config({ timeframe: '15m' }), /agent ag-1 was trained on SOLUSDT 5m, the bot trades SOLUSDT 15m/, /set bot\.timeframe: 5m/);
    const other = mkdtempSync(join(tmpdir(), 'oitrader-agents-other-'));
    cpSync(join(agentsDir, 'ag-1'), join(other, 'ag-1'), { recursive: true });
    const path = join(other, 'ag-1', 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { observation: unknown[] };
    writeFileSync(path, JSON.stringify({ ...manifest, observation: manifest.observation.slice(1) }));
    await refuses(config({ agentsDir: other }), /agent ag-1 observes \[\d+ values\] that differ from this build's observation/, /retrain/);
    rmSync(noRuns, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  });
});
