#!/usr/bin/env node
// Runs every *.test.ts under packages/ with node:test + tsx. Node 20's --test
// does not expand globs, so the file list is collected here. Ends with the
// wall time and the 10 slowest top-level tests (suites), read from the spec
// reporter's own lines as they pass through.
// Usage: node scripts/run-tests.mjs [path-filter ...]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, tmpdir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect('packages', []).sort().filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const started = performance.now();
// One test file more than the machine has cores (OITRADER_TEST_CONCURRENCY overrides), as `make -j` is often run:
// files share no port, database, Redis prefix or directory, and many spend much of their time waiting on child
// processes, simulators and databases, so a core would otherwise idle. On 2 cores (docs/benchmarks.md): 14 min 37 s
// one file at a time, 7 min 55 s – 8 min 23 s two at a time, 6 min 35 s – 7 min 58 s three at a time.
const concurrency = Number(process.env.OITRADER_TEST_CONCURRENCY ?? availableParallelism() + 1);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`OITRADER_TEST_CONCURRENCY must be a whole number of 1 or more, got "${process.env.OITRADER_TEST_CONCURRENCY}"`);
  process.exit(2);
}
// Every new embedded database would run PGlite's initdb (~2 s of CPU; dozens of tests make one): one made per
// machine and PGlite version is copied instead (packages/data/src/store/sql-executor.ts, OITRADER_TEST_PGLITE_TEMPLATE).
const pgliteVersion = JSON.parse(readFileSync('node_modules/@electric-sql/pglite/package.json', 'utf8')).version;
const template = join(tmpdir(), `oitrader-test-pglite-${pgliteVersion}`);
if (!existsSync(join(template, 'global', 'pg_control'))) {
  const made = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `await (await import(${JSON.stringify(join(process.cwd(), 'packages/data/src/store/sql-executor.ts'))})).ensureInitialized(${JSON.stringify(template)})`], { stdio: 'inherit', env: { ...process.env, OITRADER_TEST_PGLITE_TEMPLATE: '' } });
  if (made.status !== 0) console.error(`note: could not make the PGlite template at ${template}; every embedded test database runs initdb`);
}
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], { stdio: ['inherit', 'pipe', 'inherit'], env: { ...process.env, OITRADER_TEST_PGLITE_TEMPLATE: template } });
// By name: a failing test is listed again in the failure summary at the end.
const timings = new Map();
const lines = createInterface({ input: child.stdout });
lines.on('line', (line) => {
  process.stdout.write(`${line}\n`);
  // A top-level test or suite: "✔ name (1234.5ms)" at column 0 (ANSI colours stripped).
  const m = /^[✔✖] (.*) \((\d+(?:\.\d+)?)ms\)$/u.exec(line.replace(/\x1b\[[0-9;]*m/g, ''));
  if (m) timings.set(m[1], Math.max(timings.get(m[1]) ?? 0, Number(m[2])));
});
const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
const wall = (performance.now() - started) / 1000;
const slowest = [...timings].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms).slice(0, 10);
console.log(`\ntests: ${files.length} files in ${Math.floor(wall / 60)} min ${Math.round(wall % 60)} s wall; the 10 slowest:`);
for (const t of slowest) console.log(`  ${(t.ms / 1000).toFixed(1).padStart(7)} s  ${t.name}`);
process.exit(code ?? 1);
