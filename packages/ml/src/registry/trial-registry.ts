import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { OitraderError, writeFileAtomic } from '@oitrader/core';

export const TRIALS_FILE = 'trials.json';

export interface RegisteredTrial {
  /** What makes it one trial: a setting's distinct trade set, a search evaluation, a baseline, a window agent. */
  key: string;
  /** The command that tried it first. */
  source: string;
  addedAt: string;
}

interface TrialsJson {
  format: 'oitrader-trials';
  version: 1;
  runId: string;
  trials: RegisteredTrial[];
}

/**
 * Every strategy tried on one model run — the hyperparameter search's
 * evaluations, each distinct trade set of the rule grids, the baselines, every
 * RL window agent trained on its predictions — kept in the run's directory
 * (`trials.json`). Each command that reports a deflated Sharpe registers what
 * it tried and deflates by the registry's count, so the same result gets the
 * same deflation whichever command shows it, and trying more lowers it for all.
 * Registering is idempotent by key; concurrent commands take a file lock.
 */
export async function registerTrials(runDir: string, runId: string, keys: readonly string[], source: string): Promise<number> {
  if (!existsSync(runDir)) throw new OitraderError(`no model run directory ${runDir}`, { exitCode: 2 });
  const file = join(runDir, TRIALS_FILE);
  const release = await lockfile.lock(runDir, { lockfilePath: `${file}.lock`, retries: { retries: 50, minTimeout: 20, maxTimeout: 200 }, stale: 30_000 });
  try {
    const registry = readTrials(runDir, runId);
    const known = new Set(registry.trials.map((t) => t.key));
    const addedAt = new Date().toISOString();
    for (const key of new Set(keys)) if (!known.has(key)) registry.trials.push({ key, source, addedAt });
    writeFileAtomic(file, `${JSON.stringify(registry, null, 2)}\n`);
    return registry.trials.length;
  } finally {
    await release();
  }
}

/** The run's registry (empty when nothing was registered yet); a damaged file is refused, not silently restarted. */
export function readTrials(runDir: string, runId: string): TrialsJson {
  const file = join(runDir, TRIALS_FILE);
  if (!existsSync(file)) return { format: 'oitrader-trials', version: 1, runId, trials: [] };
  let parsed: TrialsJson;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as TrialsJson;
  } catch (e) {
    throw new OitraderError(`${file} is not valid JSON: ${(e as Error).message}`, { hint: 'restore it from a backup, or delete it to restart the count (the deflated Sharpe then counts fewer trials than were tried)', exitCode: 2 });
  }
  if (parsed.format !== 'oitrader-trials' || !Array.isArray(parsed.trials) || parsed.runId !== runId) {
    throw new OitraderError(`${file} is not the trial registry of run ${runId}`, { hint: 'it was copied from another run or edited: restore it, or delete it to restart the count', exitCode: 2 });
  }
  return parsed;
}
