/**
 * `oitrader train` with its default settings on the real SOLUSDT set, timed
 * per stage (issue 17's goal: < 3 minutes on this machine kind). It calls the
 * very function the CLI calls (trainModelRun) with the CLI's defaults — 3
 * expanding folds, first block 40 %, embargo 12, seed 0, no search, the
 * default GBDTs and LSTM — on the features `oitrader features build` makes of
 * the same data; the run is written to a throwaway models directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainModelRun } from '../packages/ml/src/index.ts';
import { asTrainingDataset, realSolusdt } from './real-solusdt.ts';

const GOAL_SECONDS = 180;

export async function trainTimeOnRealSet(): Promise<void> {
  const set = await realSolusdt();
  const dataset = asTrainingDataset(set);
  const modelsDir = mkdtempSync(join(tmpdir(), 'oitrader-bench-train-'));
  console.log(`\noitrader train, default settings, ${set.name} (load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores):`);
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  try {
    let last = 0;
    const run = await trainModelRun(dataset, { modelsDir, folds: 3, trainShare: 0.4, embargo: 12, seed: 0 }, (p) => {
      console.log(`  [${(p.elapsedMs / 1000).toFixed(1).padStart(6)} s] +${((p.elapsedMs - last) / 1000).toFixed(1).padStart(5)} s  ${p.stage}`);
      last = p.elapsedMs;
    });
    console.log('  time per stage:');
    const wall = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    for (const [stage, seconds] of Object.entries(run.stageSeconds)) console.log(`  ${stage.padEnd(44)} ${seconds.toFixed(1).padStart(6)} s   ${((100 * seconds) / wall).toFixed(0).padStart(3)} %`);
    console.log(`  ${'total'.padEnd(44)} ${wall.toFixed(1).padStart(6)} s   ${(wall / GOAL_SECONDS).toFixed(2)}x the goal (< ${GOAL_SECONDS} s); CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (all threads)`);
    console.log('  fit time per model, its folds + final model (the LSTM on its own thread):');
    for (const [model, seconds] of Object.entries(run.fitSeconds)) console.log(`  ${model.padEnd(44)} ${seconds.toFixed(1).padStart(6)} s`);
    const ensemble = run.table.find((r) => r.name.startsWith('stacked ensemble'));
    if (ensemble) console.log(`  ${ensemble.name}: out-of-sample log-loss ${ensemble.report.logLoss.toFixed(4)}; ${run.ensembleChoice}`);
  } finally {
    rmSync(modelsDir, { recursive: true, force: true });
  }
}
