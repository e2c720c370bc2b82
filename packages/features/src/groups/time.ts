import { timeframeMs } from '@oitrader/core';
import { map } from '../indicators/kernels.ts';
import type { FeatureInputs, FeatureSpec } from '../registry.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const FUNDING = 8 * HOUR;
const TAU = 2 * Math.PI;
const spec = (name: string, description: string, compute: (timeMs: number) => number): FeatureSpec => ({
  name,
  group: 'time',
  description,
  warmup: 0,
  sources: [],
  // Time features describe the bar's close (open time + bar length): the moment the decision is made.
  compute: (x: FeatureInputs) => {
    const bar = timeframeMs(x.frame.timeframe);
    return map(x.frame.time, (t) => compute(t + bar));
  },
});

const hourOfDay = (t: number) => (t % DAY) / HOUR;
const dayOfWeek = (t: number) => (Math.floor(t / DAY) + 3) % 7; // 1970-01-01 was a Thursday; 0 = Monday

export const TIME_FEATURES: FeatureSpec[] = [
  spec('hour_sin', 'sin(2π · UTC hour of the bar close / 24)', (t) => Math.sin((TAU * hourOfDay(t)) / 24)),
  spec('hour_cos', 'cos(2π · UTC hour of the bar close / 24)', (t) => Math.cos((TAU * hourOfDay(t)) / 24)),
  spec('weekday_sin', 'sin(2π · weekday / 7), Monday = 0', (t) => Math.sin((TAU * (dayOfWeek(t) + hourOfDay(t) / 24)) / 7)),
  spec('weekday_cos', 'cos(2π · weekday / 7), Monday = 0', (t) => Math.cos((TAU * (dayOfWeek(t) + hourOfDay(t) / 24)) / 7)),
  spec('minute_sin', 'sin(2π · minute of the hour / 60)', (t) => Math.sin((TAU * ((t % HOUR) / 60_000)) / 60)),
  spec('minute_cos', 'cos(2π · minute of the hour / 60)', (t) => Math.cos((TAU * ((t % HOUR) / 60_000)) / 60)),
  spec('funding_cycle', 'position in the 8-hour funding cycle, 0 right after a settlement, → 1 before the next', (t) => (t % FUNDING) / FUNDING),
  spec('funding_cycle_sin', 'sin(2π · funding-cycle position)', (t) => Math.sin((TAU * (t % FUNDING)) / FUNDING)),
  spec('funding_cycle_cos', 'cos(2π · funding-cycle position)', (t) => Math.cos((TAU * (t % FUNDING)) / FUNDING)),
  spec('session_asia', '1 during 00:00–08:00 UTC (Asia), else 0', (t) => (hourOfDay(t) < 8 ? 1 : 0)),
  spec('session_europe', '1 during 07:00–16:00 UTC (Europe), else 0', (t) => (hourOfDay(t) >= 7 && hourOfDay(t) < 16 ? 1 : 0)),
  spec('session_us', '1 during 13:00–21:00 UTC (US), else 0', (t) => (hourOfDay(t) >= 13 && hourOfDay(t) < 21 ? 1 : 0)),
  spec('weekend', '1 on Saturday and Sunday UTC, else 0', (t) => (dayOfWeek(t) >= 5 ? 1 : 0)),
];
