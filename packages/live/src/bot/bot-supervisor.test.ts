import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnknownOutcomeError } from '@oitrader/binance';
import { OitraderError } from '@oitrader/core';
import type { BotStore } from '../state/bot-store.ts';
import { readyCandle } from './bot-loop.ts';
import { rebuildDelayMs, superviseBot } from './bot-supervisor.ts';
import type { TradingBot } from './trading-bot.ts';

const BAR = 300_000;
const T0 = Date.UTC(2026, 0, 5);

/** A bot that steps candles until `failAt` (then throws `error` once per build listed), counting builds. */
function fakeBots(lastStored: number, failures: Array<{ at: number; error: Error }>) {
  const built: Array<{ stepped: number[] }> = [];
  const build = async () => {
    const mine = { stepped: [] as number[] };
    built.push(mine);
    let last = Number.NaN;
    const failure = failures[built.length - 1];
    const bot = {
      start: async () => ({ differences: [] }),
      get lastCandleMs() {
        return last;
      },
      stepThrough: async (t: number) => {
        let n = 0;
        for (let c = Number.isNaN(last) ? T0 : last + BAR; c <= t; c += BAR) {
          if (failure && c === failure.at) throw failure.error;
          mine.stepped.push(c);
          last = c;
          n++;
        }
        return n;
      },
    };
    return bot as unknown as TradingBot;
  };
  const store = { latestClosedCandles: async () => new Map([['SOLUSDT', lastStored]]) } as unknown as BotStore;
  return { built, build, store };
}

describe('the bot supervisor', () => {
  it('a step that fails with an unknown outcome rebuilds the bot from its record and goes on; the waits back off', async () => {
    const last = T0 + 10 * BAR;
    const { built, build, store } = fakeBots(last, [
      { at: T0 + 3 * BAR, error: new UnknownOutcomeError('/fapi/v1/order', 'no answer in 10 s') },
      { at: T0 + 3 * BAR, error: new UnknownOutcomeError('/fapi/v1/order', 'still down') },
    ]);
    const waits: number[] = [];
    const run = await superviseBot({
      build,
      sessionStartMs: T0,
      loop: { store, symbols: ['SOLUSDT'], timeframe: '5m', pollMs: 1, untilCaughtUp: true },
      signal: new AbortController().signal,
      rebuildOnFailure: true,
      sleep: async (ms) => void waits.push(ms),
    });
    assert.equal(built.length, 3, 'two failures, two rebuilds');
    assert.equal(run.rebuilds, 2);
    assert.deepEqual(waits, [rebuildDelayMs(1, undefined), rebuildDelayMs(2, undefined)]);
    assert.ok(waits[1] > waits[0], 'consecutive failures wait longer');
    assert.equal(built[2].stepped.at(-1), last, 'the third bot caught up to the last stored candle');
  });

  it('a configuration error (exit code 2) ends the run at once: no retry fixes it', async () => {
    const { built, build, store } = fakeBots(T0 + 5 * BAR, [{ at: T0 + BAR, error: new OitraderError('unknown symbol FOOUSDT', { exitCode: 2 }) }]);
    await assert.rejects(
      superviseBot({ build, sessionStartMs: T0, loop: { store, symbols: ['SOLUSDT'], timeframe: '5m', pollMs: 1, untilCaughtUp: true }, signal: new AbortController().signal, rebuildOnFailure: true, sleep: async () => undefined }),
      /unknown symbol FOOUSDT/,
    );
    assert.equal(built.length, 1);
  });

  it('paper mode (no rebuilds) ends on the first failure; an abort during the back-off ends the run without another build', async () => {
    const paper = fakeBots(T0 + 5 * BAR, [{ at: T0 + BAR, error: new UnknownOutcomeError('/fapi/v1/order', 'x') }]);
    await assert.rejects(superviseBot({ build: paper.build, sessionStartMs: T0, loop: { store: paper.store, symbols: ['SOLUSDT'], timeframe: '5m', pollMs: 1, untilCaughtUp: true }, signal: new AbortController().signal, rebuildOnFailure: false }), UnknownOutcomeError);
    const stop = new AbortController();
    const live = fakeBots(T0 + 5 * BAR, [{ at: T0 + BAR, error: new UnknownOutcomeError('/fapi/v1/order', 'x') }]);
    const run = await superviseBot({
      build: live.build,
      sessionStartMs: T0,
      loop: { store: live.store, symbols: ['SOLUSDT'], timeframe: '5m', pollMs: 1, untilCaughtUp: true },
      signal: stop.signal,
      rebuildOnFailure: true,
      sleep: async () => stop.abort(),
    });
    assert.equal(live.built.length, 1);
    assert.equal(run.rebuilds, 0);
  });
});

describe('which candle the portfolio loop steps to', () => {
  const symbols = ['SOLUSDT', 'BTCUSDT'];
  const newest = T0 + 10 * BAR;
  const closed = newest + BAR;

  it('waits for a symbol whose candle is one behind (its collector is still writing) up to waitForAllMs, then goes on without it', () => {
    const latest = new Map([['SOLUSDT', newest], ['BTCUSDT', newest - BAR]]);
    assert.equal(readyCandle(latest, { symbols, waitForAllMs: 30_000 }, BAR, closed + 5_000), newest - BAR, 'five seconds after the close: wait for BTC');
    assert.equal(readyCandle(latest, { symbols, waitForAllMs: 30_000 }, BAR, closed + 31_000), newest, 'past the wait: step SOL without BTC');
  });

  it('steps at once when every symbol has the candle, or when the late one is stale (more than a candle behind)', () => {
    assert.equal(readyCandle(new Map([['SOLUSDT', newest], ['BTCUSDT', newest]]), { symbols }, BAR, closed + 1), newest);
    assert.equal(readyCandle(new Map([['SOLUSDT', newest], ['BTCUSDT', newest - 5 * BAR]]), { symbols }, BAR, closed + 1), newest);
  });

  it('a replay steps whatever is stored; no candles, nothing to step', () => {
    assert.equal(readyCandle(new Map([['SOLUSDT', newest], ['BTCUSDT', newest - BAR]]), { symbols, untilCaughtUp: true }, BAR, closed), newest);
    assert.equal(readyCandle(new Map(), { symbols }, BAR, closed), undefined);
  });
});
