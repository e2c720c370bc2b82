import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Matrix } from './matrix.ts';

/** Debian's python3-xgboost is installed for the system interpreter. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const BRIDGE = fileURLToPath(new URL('../../scripts/xgboost_bridge.py', import.meta.url));

/** Why the real XGBoost cannot be used here, or undefined when it can. */
export function xgboostUnavailable(): string | undefined {
  const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import xgboost; print(xgboost.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) return `XGBoost for ${SYSTEM_PYTHON} is not installed (apt-get install python3-xgboost)`;
  return undefined;
}

function run(args: string[]): void {
  const result = spawnSync(SYSTEM_PYTHON, [BRIDGE, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`xgboost bridge failed: ${result.stderr}`);
}

function writeMatrix(dir: string, x: Matrix): string {
  const path = join(dir, 'x.f32');
  writeFileSync(path, new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength));
  return path;
}

const readF64 = (path: string) => {
  const bytes = readFileSync(path);
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

/** XGBoost's own predictions for a JSON model text (probabilities for classifiers). */
export function xgboostPredict(modelJsonText: string, x: Matrix): Float64Array {
  const dir = mkdtempSync(join(tmpdir(), 'oitrader-xgb-'));
  writeFileSync(join(dir, 'model.json'), modelJsonText);
  run(['predict', join(dir, 'model.json'), writeMatrix(dir, x), String(x.rows), String(x.cols), join(dir, 'out.f64')]);
  return readF64(join(dir, 'out.f64'));
}

/** Trains with the real XGBoost (hist, 2 threads); returns its JSON model and its predictions on the training rows. */
export function xgboostTrain(x: Matrix, y: Float64Array, objective: string, numClass: number, rounds: number, depth: number): { model: unknown; predictions: Float64Array } {
  const dir = mkdtempSync(join(tmpdir(), 'oitrader-xgb-'));
  const ypath = join(dir, 'y.f64');
  writeFileSync(ypath, new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
  run(['train', writeMatrix(dir, x), ypath, String(x.rows), String(x.cols), objective, String(numClass), String(rounds), String(depth), join(dir, 'model.json'), join(dir, 'out.f64')]);
  return { model: JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')), predictions: readF64(join(dir, 'out.f64')) };
}
