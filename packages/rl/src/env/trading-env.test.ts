import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBacktest } from '@oitrader/backtest';
import { DEFAULT_RISK_LIMITS } from '@oitrader/trading';
import { EXIT, HOLD, LONG, SCALE_IN, SCALE_OUT, SHORT } from './actions.ts';
import { controllerStrategy } from './controller-strategy.ts';
import { alignOutOfSample, sliceMarket, sliceSignal } from './ml-signal.ts';
import { OBSERVATION_SIZE, OBSERVATION_SPEC } from './observation.ts';
import { syntheticMarket } from './synthetic.ts';
import { FuturesTradingEnv } from './trading-env.ts';

const { frame, predictions } = syntheticMarket({ bars: 1500, seed: 3 });
const WARMUP = 300;

describe('FuturesTradingEnv', () => {
  it('env given in-sample predictions fails', () => {
    const inSample = { ...predictions, folds: [{ ...predictions.folds[0], knownUntilMs: frame.time[frame.length - 1] }] };
    assert.throws(() => alignOutOfSample(inSample, frame), /in sample/, 'predictions from a model trained on these bars were accepted');
    assert.doesNotThrow(() => alignOutOfSample(predictions, frame));
  });

  it('observes at least the guide\'s 20 values, each named in the spec', () => {
    assert.ok(OBSERVATION_SIZE >= 20, `only ${OBSERVATION_SIZE} observation values`);
    assert.equal(new Set(OBSERVATION_SPEC.map((e) => e.name)).size, OBSERVATION_SIZE, 'observation names must be unique');
    const env = new FuturesTradingEnv(frame, alignOutOfSample(predictions, frame), { startIndex: WARMUP });
    const obs = env.reset(1);
    assert.equal(obs.length, OBSERVATION_SIZE);
    assert.ok(obs.every(Number.isFinite), 'observation has a non-finite value');
  });

  it('the observation at step t is the same whether the frame ends at t or later (causal)', () => {
    const actions = [LONG, HOLD, HOLD, SCALE_IN, HOLD, SCALE_OUT, HOLD, EXIT, SHORT, HOLD, HOLD, EXIT, HOLD];
    const run = (end: number) => {
      const f = frame.slice(0, end);
      const env = new FuturesTradingEnv(f, alignOutOfSample(predictions, f), { startIndex: WARMUP });
      const seen = [Array.from(env.reset(undefined, WARMUP))];
      for (const a of actions) {
        if (env.index >= end - 1) break;
        seen.push(Array.from(env.step(env.actionMask()[a] ? a : HOLD).obs));
      }
      return seen;
    };
    const full = run(frame.length);
    const cut = run(WARMUP + actions.length + 1);
    assert.equal(cut.length, actions.length + 1);
    for (let t = 0; t < cut.length; t++) assert.deepEqual(cut[t], full[t], `observation at step ${t} depends on bars after it`);
  });

  it('masks entries while in a position and exits while flat', () => {
    const env = new FuturesTradingEnv(frame, alignOutOfSample(predictions, frame), { startIndex: WARMUP });
    env.reset(undefined, WARMUP);
    assert.deepEqual(Array.from(env.actionMask()), [1, 1, 1, 0, 0, 0], 'flat: HOLD, LONG, SHORT only');
    env.step(LONG);
    const mask = env.actionMask();
    assert.equal(mask[LONG], 0, 'LONG must be masked while long');
    assert.equal(mask[SHORT], 0, 'SHORT must be masked while long (EXIT first)');
    assert.equal(mask[EXIT], 1, 'EXIT must be allowed while long');
    const r = env.step(SHORT);
    assert.equal(r.info.valid, false, 'a masked action must be reported invalid');
    assert.ok(env.exchange.market(frame.symbol).position.qtyBase > 0, 'a masked SHORT must not touch the long');
  });

  it('every entry rests a stop on the exchange, sized by risk_per_trade', () => {
    const env = new FuturesTradingEnv(frame, alignOutOfSample(predictions, frame), { startIndex: WARMUP });
    env.reset(undefined, WARMUP);
    env.step(LONG);
    const a = env.exchange.market(frame.symbol).position;
    const stops = env.exchange.market(frame.symbol).pendingOrders.filter((o) => o.type === 'stop');
    assert.equal(stops.length, 1, 'a long without an exchange-side stop');
    assert.equal(stops[0].side, 'sell');
    assert.equal(stops[0].qtyBase, a.qtyBase, 'the stop must cover the whole position');
    const lossAtStop = a.qtyBase * (a.entryPriceUsd - stops[0].triggerUsd!);
    assert.ok(lossAtStop <= 2000 * 0.02 * 1.05 && lossAtStop > 2000 * 0.02 * 0.5, `loss at the stop ${lossAtStop.toFixed(2)} USDT, risk_per_trade allows 40`);
  });

  it('a daily loss at the limit flattens the position and blocks entries for the rest of the UTC day', () => {
    const env = new FuturesTradingEnv(frame, alignOutOfSample(predictions, frame), { startIndex: WARMUP, risk: { ...DEFAULT_RISK_LIMITS, maxDailyLoss: 0.0005, maxDrawdown: 0.5, minLiquidationDistance: 1, staleAfterMs: 600_000, circuitBreakerCooldownMs: 1 } });
    env.reset(undefined, WARMUP);
    let halted = false;
    for (let k = 0; k < 200 && !halted; k++) {
      const mask = env.actionMask();
      env.step(mask[LONG] ? LONG : HOLD);
      halted = env.engine.events.some((e) => e.kind === 'daily_loss');
    }
    assert.ok(halted, 'a 0.05 % daily limit never fired');
    env.step(HOLD);
    assert.equal(env.exchange.market(frame.symbol).position.qtyBase, 0, 'the halt must flatten the position');
    assert.deepEqual(Array.from(env.actionMask()), [1, 0, 0, 0, 0, 0], 'only HOLD while halted');
  });

  it('a trade decided by the agent in the env costs exactly what the backtester charges for the same orders', () => {
    const ml = alignOutOfSample(predictions, frame);
    const env = new FuturesTradingEnv(frame, ml, { startIndex: WARMUP });
    const plan = [LONG, HOLD, HOLD, SCALE_IN, HOLD, HOLD, SCALE_OUT, HOLD, EXIT, HOLD, SHORT, HOLD, HOLD, HOLD, EXIT, HOLD, LONG];
    env.reset(undefined, WARMUP);
    const taken: number[] = [];
    for (const a of plan) {
      const action = env.actionMask()[a] ? a : HOLD;
      taken.push(action);
      env.step(action);
    }
    const end = WARMUP + plan.length + 1;
    const strategy = controllerStrategy({ name: 'replay', market: sliceMarket(env.market, WARMUP, end), ml: sliceSignal(ml, WARMUP, end), maxDailyLoss: env.risk.maxDailyLoss, choose: (_o, _m, i) => taken[i] ?? HOLD });
    const bt = runBacktest(frame.slice(WARMUP, end), strategy, { closeAtEnd: false, risk: { limits: env.risk, stopLoss: 0.02 } });
    assert.deepEqual([...strategy.actionHistogram], taken.reduce((h, x) => (h[x]++, h), [0, 0, 0, 0, 0, 0]), 'the backtest took other actions than the env (the masks differ)');
    const p = env.exchange.portfolio;
    const a = { fills: p.fills, trades: p.trades, feesPaidUsd: p.feesPaidUsd, fundingPaidUsd: p.fundingPaidUsd, equityUsd: () => p.equityUsd() };
    assert.ok(a.fills.length >= 6, `the plan should trade, got ${a.fills.length} fills`);
    assert.deepEqual(bt.fills, a.fills, 'env and backtester filled different orders');
    assert.deepEqual(bt.trades, a.trades, 'env and backtester booked different trades');
    assert.equal(bt.feesUsd, a.feesPaidUsd, 'fees differ');
    assert.equal(bt.fundingUsd, a.fundingPaidUsd, 'funding differs');
    assert.equal(bt.equity[bt.equity.length - 1], a.equityUsd(), 'final equity differs');
  });
});
