import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OitraderError, parseTimeframe, parseUtcTimeMs, timeframeMs } from '@oitrader/core';
import { StackedEnsemble } from '../ensemble/stacked-ensemble.ts';

/** What a model run records: enough to reproduce it and to refuse features it was not trained on. */
export interface RunManifest {
  format: 'oitrader-model-run';
  version: 1;
  runId: string;
  createdAt: string;
  featureSetVersion: string;
  features: string[];
  /** One symbol, or a pooled run's symbols joined by commas (as its features manifest names them). */
  symbol: string;
  /** A pooled run: the symbols it was trained on together. */
  symbols?: string[];
  timeframe: string;
  dataSpan: { from: string; to: string; rows: number };
  labels: { horizon: number; threshold: number };
  validation: { folds: number; mode: string; trainSize: number; embargo: number };
  seed: number;
  codeVersion: string;
  metrics: Record<string, unknown>;
}

export interface LoadedRun {
  manifest: RunManifest;
  ensemble: StackedEnsemble;
}

/**
 * `models/<run-id>/` holds manifest.json, ensemble.json (which contains
 * every base model) and any extra files (the HTML report). A run is written into a temporary directory and renamed
 * into place, so a crash never leaves half a run.
 */
export function saveRun(modelsDir: string, manifest: RunManifest, ensemble: StackedEnsemble, extraFiles: Record<string, string | Uint8Array> = {}): string {
  if (!/^[A-Za-z0-9._-]+$/.test(manifest.runId)) throw new OitraderError(`run id "${manifest.runId}" may only hold letters, digits, . _ -`);
  const final = join(modelsDir, manifest.runId);
  if (existsSync(final)) throw new OitraderError(`model run ${manifest.runId} already exists in ${modelsDir}`, { hint: 'choose another run id' });
  const staging = join(modelsDir, `.${manifest.runId}.tmp-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    writeFileSync(join(staging, 'ensemble.json'), JSON.stringify(ensemble));
    for (const [name, content] of Object.entries(extraFiles)) writeFileSync(join(staging, name), content);
    writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    renameSync(staging, final);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return final;
}

export interface FeatureContract {
  featureSetVersion: string;
  features: string[];
}

function readRunFile(runDir: string, file: string): unknown {
  try {
    return JSON.parse(readFileSync(join(runDir, file), 'utf8')) as unknown;
  } catch (error) {
    throw new OitraderError(`cannot read ${join(runDir, file)}: ${(error as Error).message}`, { hint: 'the run is incomplete or not a model run; train again' });
  }
}

/**
 * A run's manifest, checked field by field: a truncated file, `metrics: null`
 * or a missing feature list is a one-line error naming the file, not a crash.
 */
/**
 * The last bar the run's final models knew: they trained on every row up to
 * dataSpan.to, whose labels looked `labels.horizon` bars further. Only bars
 * after it are out of sample for them.
 */
export function finalKnownUntilMs(manifest: Pick<RunManifest, 'dataSpan' | 'labels' | 'timeframe'>): number {
  return parseUtcTimeMs(manifest.dataSpan.to) + manifest.labels.horizon * timeframeMs(parseTimeframe(manifest.timeframe));
}

export function readManifest(runDir: string): RunManifest {
  const manifest = readRunFile(runDir, 'manifest.json') as Partial<RunManifest> | null;
  const file = join(runDir, 'manifest.json');
  if (manifest?.format !== 'oitrader-model-run' || manifest.version !== 1) throw new OitraderError(`${file} is not an oitrader model-run manifest (version 1)`, { hint: 'train again' });
  const problems = [
    typeof manifest.runId !== 'string' && 'runId',
    !(Array.isArray(manifest.features) && manifest.features.every((f) => typeof f === 'string')) && 'features',
    typeof manifest.featureSetVersion !== 'string' && 'featureSetVersion',
    typeof manifest.symbol !== 'string' && 'symbol',
    typeof manifest.timeframe !== 'string' && 'timeframe',
    !(manifest.dataSpan && typeof manifest.dataSpan.rows === 'number') && 'dataSpan',
    !(manifest.metrics && typeof manifest.metrics === 'object') && 'metrics',
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) throw new OitraderError(`${file} lacks valid ${problems.join(', ')}`, { hint: 'the run is incomplete; train again' });
  return manifest as RunManifest;
}

export interface RunStatus {
  runId: string;
  manifest?: RunManifest;
  /** Why the run cannot be used; the others are still listed. */
  problem?: string;
}

/** Every run directory with its manifest, or what is wrong with it: one broken run never hides the rest. */
export function inspectRuns(modelsDir: string): RunStatus[] {
  return listRuns(modelsDir).map((runId) => {
    try {
      return { runId, manifest: readManifest(join(modelsDir, runId)) };
    } catch (error) {
      return { runId, problem: (error as Error).message };
    }
  });
}

/** Loads a run and refuses it when it was trained on a different feature set than the caller computes now. */
export async function loadRun(runDir: string, current: FeatureContract): Promise<LoadedRun> {
  const read = (file: string) => readRunFile(runDir, file);
  const manifest = readManifest(runDir);
  if (manifest.featureSetVersion !== current.featureSetVersion) {
    throw new OitraderError(`model run ${manifest.runId} was trained on feature set ${manifest.featureSetVersion}, this build computes ${current.featureSetVersion}`, {
      hint: 'retrain on features built by this version (oitrader features build, then train)',
    });
  }
  const missing = manifest.features.filter((f) => !current.features.includes(f));
  if (missing.length > 0) {
    throw new OitraderError(`model run ${manifest.runId} needs ${missing.length} features the current data does not provide: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`, {
      hint: 'load data with the same sources it was trained on (e.g. open interest), or retrain',
    });
  }
  const ensemble = await StackedEnsemble.fromJSON(read('ensemble.json') as ReturnType<StackedEnsemble['toJSON']>);
  if (ensemble.bases.some((b) => b.numFeatures !== manifest.features.length)) throw new OitraderError(`model run ${manifest.runId}: its models expect a different number of features than its manifest lists`);
  return { manifest, ensemble };
}

/** Run ids in a models directory, oldest first (ids sort by creation time when they start with one). */
export function listRuns(modelsDir: string): string[] {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.') && existsSync(join(modelsDir, d.name, 'manifest.json')))
    .map((d) => d.name)
    .sort();
}
