import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OitraderError, writeFileAtomic } from '@oitrader/core';
import { listRuns } from '@oitrader/ml';

/** The run the bot trades with (written by `oitrader models promote` too). */
export const ACTIVE_FILE = 'ACTIVE';
/** Every promotion and rollback, oldest first: the champion history `oitrader models rollback` walks back. */
export const PROMOTIONS_FILE = 'promotions.json';

export interface PromotionEntry {
  kind: 'promote' | 'rollback';
  runId: string;
  /** The champion it replaced (undefined for the first). */
  previous: string | undefined;
  atMs: number;
  reason: string;
}

export function activeRun(modelsDir: string): string | undefined {
  const file = join(modelsDir, ACTIVE_FILE);
  if (!existsSync(file)) return undefined;
  const id = readFileSync(file, 'utf8').trim();
  if (!id) return undefined;
  // The id becomes a path under modelsDir: "../../somewhere" would load a model from anywhere.
  if (!RUN_ID.test(id) || id.includes('..')) {
    throw new OitraderError(`${file} names "${id.slice(0, 80)}", which is not a model run id (letters, digits, . _ -, no "..")`, {
      hint: 'promote a run again: oitrader models promote <run-id> (oitrader models list shows them)',
      exitCode: 2,
    });
  }
  return id;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Changes whenever models/ACTIVE is rewritten (a promotion or rollback): cheap enough to check on every candle. */
export function activeStamp(modelsDir: string): string {
  try {
    const s = statSync(join(modelsDir, ACTIVE_FILE));
    return `${s.mtimeMs}:${s.size}:${activeRun(modelsDir)}`;
  } catch {
    return 'none';
  }
}

export function promotionHistory(modelsDir: string): PromotionEntry[] {
  const file = join(modelsDir, PROMOTIONS_FILE);
  if (!existsSync(file)) return [];
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PromotionEntry[];
  } catch (error) {
    throw new OitraderError(`cannot read ${file}: ${(error as Error).message}`, { hint: 'restore it from a backup or delete it (the ACTIVE file still names the champion)' });
  }
}

/** The champions in order, as the promotions and rollbacks leave them (the last is the current one). */
export function championStack(modelsDir: string): string[] {
  const stack: string[] = [];
  for (const e of promotionHistory(modelsDir)) {
    if (e.kind === 'promote') stack.push(e.runId);
    else stack.pop();
  }
  const active = activeRun(modelsDir);
  if (active !== undefined && stack[stack.length - 1] !== active) stack.push(active);
  return stack;
}

function record(modelsDir: string, entry: PromotionEntry): void {
  // History first, then ACTIVE: a crash between the two leaves the old champion active and the
  // history one step ahead, which championStack reconciles by trusting ACTIVE on top.
  writeFileAtomic(join(modelsDir, PROMOTIONS_FILE), `${JSON.stringify([...promotionHistory(modelsDir), entry], null, 2)}\n`);
  writeFileAtomic(join(modelsDir, ACTIVE_FILE), `${entry.runId}\n`);
}

export function promoteRun(modelsDir: string, runId: string, reason: string, nowMs = Date.now()): PromotionEntry {
  if (!listRuns(modelsDir).includes(runId)) throw new OitraderError(`no model run ${runId} in ${modelsDir}`, { hint: 'see oitrader models list', exitCode: 2 });
  const entry: PromotionEntry = { kind: 'promote', runId, previous: activeRun(modelsDir), atMs: nowMs, reason };
  record(modelsDir, entry);
  return entry;
}

/** Makes the champion before the current one active again (the rolled-back run stays on disk). */
export function rollbackChampion(modelsDir: string, nowMs = Date.now()): PromotionEntry {
  const stack = championStack(modelsDir);
  if (stack.length < 2) {
    throw new OitraderError(stack.length === 0 ? `no champion in ${modelsDir}: nothing to roll back` : `${stack[0]} is the first champion in ${modelsDir}: there is no earlier one to roll back to`, {
      hint: 'promote a run with oitrader models promote <run-id>',
      exitCode: 2,
    });
  }
  const entry: PromotionEntry = { kind: 'rollback', runId: stack[stack.length - 2], previous: stack[stack.length - 1], atMs: nowMs, reason: 'oitrader models rollback' };
  if (!listRuns(modelsDir).includes(entry.runId)) throw new OitraderError(`the earlier champion ${entry.runId} is no longer in ${modelsDir}`, { hint: 'promote another run with oitrader models promote <run-id>', exitCode: 2 });
  record(modelsDir, entry);
  return entry;
}
