import { alignOutOfSample, syntheticMarket, FuturesTradingEnv } from './index.ts';
const { frame, predictions } = syntheticMarket({ bars: 12_000, seed: 11, accuracy: 0.7, driftPerBar: 0.0006 });
const ml = alignOutOfSample(predictions, frame);
const env = new FuturesTradingEnv(frame, ml, { startIndex: 300, endIndex: 9000, episodeBars: 4000 });
env.reset(undefined, 300);
let s = 12345;
const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647);
const lines: string[] = [];
for (let k = 0; k < 3000; k++) {
  const mask = env.actionMask();
  const allowed = [0, 1, 2, 3, 4, 5].filter((a) => mask[a]);
  const pick = rnd() < 0.9 ? 0 : allowed[Math.floor(rnd() * allowed.length)];
  const r = env.step(pick);
  lines.push(`${k} mask ${Array.from(mask).join('')} a ${pick} eq ${r.info.equityUsd.toFixed(6)}`);
  if (r.terminated || r.truncated) break;
}
console.log(lines.join('\n'));
