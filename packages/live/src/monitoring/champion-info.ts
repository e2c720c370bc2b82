import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { activeRun } from '../retrain/champion-registry.ts';
import type { ChampionInfo } from './dashboard-state.ts';

/** The champion as the dashboard shows it: the ACTIVE run and its ensemble's out-of-sample metrics from the manifest. */
export function championInfo(modelsDir: string): ChampionInfo | undefined {
  const runId = activeRun(modelsDir);
  if (!runId) return undefined;
  const file = join(modelsDir, runId, 'manifest.json');
  if (!existsSync(file)) return { modelRun: `${runId} (manifest missing)` };
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as { metrics?: Record<string, unknown> };
  const ensemble = manifest.metrics?.ensemble as Record<string, unknown> | undefined;
  const metrics: Record<string, number> = {};
  for (const key of ['logLoss', 'accuracy', 'balancedAccuracy', 'macroF1', 'directionalAccuracy', 'rows']) {
    const v = ensemble?.[key];
    if (typeof v === 'number' && Number.isFinite(v)) metrics[`oos ${key}`] = v;
  }
  return { modelRun: runId, metrics };
}
