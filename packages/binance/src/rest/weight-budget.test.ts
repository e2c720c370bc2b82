import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '@oitrader/core';
import { FakeClock } from '../testing/fake-clock.ts';
import { WeightBudget } from './weight-budget.ts';

describe('WeightBudget', () => {
  it('spends up to its headroom in a window, then waits for the next window', async () => {
    const clock = new FakeClock(Date.UTC(2024, 0, 1, 0, 0, 30));
    const budget = new WeightBudget(100, 60_000, clock);
    for (let i = 0; i < 9; i++) await budget.acquire(10);
    assert.deepEqual(clock.sleeps, [], '90 of 100 (0.9 headroom) fit in the window');
    await budget.acquire(10);
    assert.deepEqual(clock.sleeps, [30_001], 'the 10th request waits for the next minute');
    assert.equal(budget.used, 10);
    assert.equal(budget.waitedMs, 30_001);
  });

  it('a stop ends a wait at once: acquire throws, nothing is spent, and only the time really waited is counted', async () => {
    const budget = new WeightBudget(100, 60_000, systemClock);
    budget.pauseUntil(Date.now() + 60_000);
    const stopping = new AbortController();
    setTimeout(() => stopping.abort(new Error('stopping')), 20);
    const started = Date.now();
    await assert.rejects(budget.acquire(10, stopping.signal), /stopping/);
    assert.ok(Date.now() - started < 5_000, 'the 60 s pause held the stop');
    assert.ok(budget.waitedMs < 5_000, `counted ${budget.waitedMs} ms of a wait the stop ended after ~20 ms`);
    assert.equal(budget.used, 0);
  });
});
