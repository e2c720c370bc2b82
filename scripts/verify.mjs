#!/usr/bin/env node
// `npm run verify`: type-check, lint, then every test — stopping at the first that fails — and the wall
// time of each step and of the whole (docs/benchmarks.md keeps the latest).
import { spawnSync } from 'node:child_process';

const steps = [
  ['typecheck', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']],
  ['lint', ['node_modules/eslint/bin/eslint.js', '.']],
  ['tests', ['scripts/run-tests.mjs']],
];
const started = performance.now();
const took = [];
for (const [name, args] of steps) {
  const t = performance.now();
  const run = spawnSync(process.execPath, args, { stdio: 'inherit' });
  took.push(`${name} ${((performance.now() - t) / 1000).toFixed(0)} s`);
  if (run.status !== 0) {
    console.error(`verify: ${name} failed (exit ${run.status ?? run.signal})`);
    process.exit(run.status ?? 1);
  }
}
const wall = (performance.now() - started) / 1000;
console.log(`verify: ${Math.floor(wall / 60)} min ${Math.round(wall % 60)} s wall (${took.join(', ')})`);
