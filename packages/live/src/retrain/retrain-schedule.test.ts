import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '@oitrader/core';
import { RetrainSchedule } from './retrain-schedule.ts';

const config = configSchema.parse({});
const iso = (d: Date | undefined) => d?.toISOString();

/** Every time `job` fires from `fromMs` to `toMs`, stepping the clock from one run to the next (no sleeping). */
function firings(schedule: RetrainSchedule, job: 'model' | 'agent', fromMs: number, toMs: number): string[] {
  const out: string[] = [];
  for (let at = schedule.nextRun(job, new Date(fromMs)); at && at.getTime() <= toMs; at = schedule.nextRun(job, at)) out.push(at.toISOString());
  return out;
}

describe('retrain schedule: the model daily at models.retrain_at, the RL agent weekly', () => {
  it('with the default config, over two stepped weeks: the model retrains every day at 00:30 UTC, the agent on Sundays at 01:00 UTC', async () => {
    assert.equal(config.models.rl_retrain_cron, '0 1 * * 0', 'the RL retrain defaults to Sundays 01:00 UTC');
    const schedule = new RetrainSchedule({ retrainAt: config.models.retrain_at, rlRetrainCron: config.models.rl_retrain_cron, retrainModel: async () => undefined, retrainAgent: async () => undefined });
    // Wednesday 2025-12-03 12:00 UTC → Wednesday 2025-12-17 12:00 UTC.
    const from = Date.UTC(2025, 11, 3, 12);
    const to = Date.UTC(2025, 11, 17, 12);
    const model = firings(schedule, 'model', from, to);
    assert.equal(model.length, 14, `14 days, 14 model retrains: ${model.join(', ')}`);
    assert.ok(model.every((t) => t.endsWith('T00:30:00.000Z')), `every model retrain at 00:30 UTC: ${model.join(', ')}`);
    assert.deepEqual(firings(schedule, 'agent', from, to), ['2025-12-07T01:00:00.000Z', '2025-12-14T01:00:00.000Z'], 'the agent retrains once a week, on Sunday at 01:00 UTC');
    // On a Sunday the model retrain comes first, so the agent trains on the champion it leaves.
    assert.ok(iso(schedule.nextRun('model', new Date(Date.UTC(2025, 11, 7)))) === '2025-12-07T00:30:00.000Z');
    await schedule.stop();
  });

  it('follows the configured times, in UTC whatever the machine\'s time zone', async () => {
    const schedule = new RetrainSchedule({ retrainAt: '23:05', rlRetrainCron: '15 3 * * 3', retrainModel: async () => undefined, retrainAgent: async () => undefined });
    const at = new Date(Date.UTC(2025, 11, 3, 23, 5));
    assert.equal(iso(schedule.nextRun('model', at)), '2025-12-04T23:05:00.000Z', 'the next run after one is the next day');
    assert.equal(iso(schedule.nextRun('agent', new Date(Date.UTC(2025, 11, 3, 3, 14)))), '2025-12-03T03:15:00.000Z');
    assert.equal(schedule.nextRun('agent', undefined) !== undefined, true);
    await schedule.stop();
  });

  it('runs the jobs one at a time: an agent retrain due during the model retrain waits for it; a failure is logged and the schedule goes on', async () => {
    const order: string[] = [];
    const errors: string[] = [];
    let release!: () => void;
    const modelGate = new Promise<void>((r) => (release = r));
    let failNext = true;
    const schedule = new RetrainSchedule({
      retrainAt: '00:30',
      rlRetrainCron: '0 1 * * 0',
      retrainModel: async () => {
        order.push('model start');
        await modelGate;
        order.push('model end');
      },
      retrainAgent: async () => {
        order.push('agent');
        if (failNext) {
          failNext = false;
          throw new Error('no champion');
        }
      },
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m) => errors.push(m) },
    });
    const model = schedule.runNow('model');
    const agent = schedule.runNow('agent');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['model start'], 'the agent retrain started while the model retrain was running');
    release();
    await Promise.all([model, agent]);
    assert.deepEqual(order, ['model start', 'model end', 'agent']);
    assert.match(errors.join('\n'), /agent retrain failed: no champion/);
    await schedule.runNow('agent');
    assert.deepEqual(order.slice(-1), ['agent'], 'a failed run must not stop the next one');
    assert.deepEqual(schedule.started.map((s) => s.job), ['model', 'agent', 'agent']);
    await schedule.stop();
  });

  it('a bad pattern is a config error with a fix', () => {
    assert.throws(() => new RetrainSchedule({ retrainAt: '00:30', rlRetrainCron: 'weekly', retrainModel: async () => undefined, retrainAgent: async () => undefined }), /rl_retrain_cron "weekly" is not a cron pattern/);
    assert.throws(() => new RetrainSchedule({ retrainAt: '7:30', retrainModel: async () => undefined }), /HH:MM/);
  });
});
