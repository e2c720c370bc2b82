/**
 * bench/features: time to build every feature (165, all groups) over 100,000
 * five-minute bars, and our kernels vs @ixjb94/indicators (the fastest batch
 * indicator library measured for this project) on the same core indicators.
 * Bars: the real XRPUSDT sample, copies alternately forwards and mirrored
 * backwards; OI/ratio/book/liquidation inputs are the synthetic test series
 * (no real ones exist here) so that every feature runs. Goal: < 1 s on one core.
 *   npm run bench:features
 */
import { IndicatorsSync } from '@ixjb94/indicators';
import { Frame } from '../packages/core/src/index.ts';
import { atr, ema, FeatureEngineer, rollingStd, rsi, sma } from '../packages/features/src/index.ts';
import { sampleWithSyntheticSources } from '../packages/features/src/testing/frames.ts';
import { bestSeconds } from './timing.ts';

const BARS = 100_000;
const sample = sampleWithSyntheticSources();
const time = new Float64Array(BARS);
const columns: Record<string, Float64Array> = Object.fromEntries(sample.names.map((n) => [n, new Float64Array(BARS)]));
for (let k = 0; k < BARS; k++) {
  const copy = Math.floor(k / sample.length);
  const i = k % sample.length;
  const src = copy % 2 === 0 ? i : sample.length - 1 - i;
  time[k] = sample.time[0] + k * 300_000;
  for (const name of sample.names) columns[name][k] = sample.column(name)[src];
  if (copy % 2 === 1) [columns.open[k], columns.close[k]] = [sample.column('close')[src], sample.column('open')[src]];
}
const frame = new Frame('XRPUSDT', '5m', time, columns);


const engineer = new FeatureEngineer();
let features = 0;
const all = bestSeconds(3, () => (features = engineer.engineerAllFeatures(frame).names.length));

const c = frame.column('close');
const h = frame.column('high');
const l = frame.column('low');
const ours = bestSeconds(5, () => {
  for (const p of [12, 24, 48, 96, 288]) sma(c, p);
  for (const p of [12, 26, 50]) ema(c, p);
  for (const p of [6, 14, 28]) rsi(c, p);
  for (const p of [14, 48]) atr(h, l, c, p);
  for (const p of [20, 48]) rollingStd(c, p);
});
const ta = new IndicatorsSync();
const ca = Array.from(c);
const ha = Array.from(h);
const la = Array.from(l);
const reference = bestSeconds(5, () => {
  for (const p of [12, 24, 48, 96, 288]) ta.sma(ca, p);
  for (const p of [12, 26, 50]) ta.ema(ca, p);
  for (const p of [6, 14, 28]) ta.rsi(ca, p);
  for (const p of [14, 48]) ta.atr(ha, la, ca, p);
  for (const p of [20, 48]) ta.stddev(ca, p);
});

console.log(`bench/features: ${BARS.toLocaleString('en-US')} bars, node ${process.version}`);
console.log(`all ${features} features:                  ${(all * 1000).toFixed(0).padStart(6)} ms   goal < 1000 ms: ${all < 1 ? 'met' : 'NOT met'}`);
console.log(`15 core indicators, our kernels:        ${(ours * 1000).toFixed(1).padStart(6)} ms`);
console.log(`15 core indicators, @ixjb94/indicators: ${(reference * 1000).toFixed(1).padStart(6)} ms   ratio ours/reference: ${(ours / reference).toFixed(2)}`);
