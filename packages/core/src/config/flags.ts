import type { z } from 'zod';
import { OitraderError } from '../errors.ts';
import { toProblem } from './load.ts';
import { NUMBER_RULES, SYMBOL_RULE } from './schema.ts';

export type NumberRule = keyof typeof NUMBER_RULES;

/**
 * A numeric CLI flag checked by the same rule as config.yaml (NUMBER_RULES),
 * with the same one-line message and exit code 2: `--leverage: expected <= 20,
 * got number 21`. Text that is not a number at all ("abc", "", "5x") is refused
 * here rather than becoming NaN.
 */
export function parseNumberFlag(flag: string, raw: string, rule: NumberRule | z.ZodType<number>): number {
  const schema = typeof rule === 'string' ? NUMBER_RULES[rule] : rule;
  const trimmed = raw.trim();
  const value = trimmed === '' ? Number.NaN : Number(trimmed);
  if (Number.isNaN(value)) throw flagError(flag, 'a number', `"${raw}"`);
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) {
    const problem = toProblem(result.error.issues[0], flag);
    throw flagError(flag, problem.expected, problem.got);
  }
  return result.data;
}

/** A commander argParser for `parseNumberFlag`. */
export function numberFlag(flag: string, rule: NumberRule | z.ZodType<number>): (raw: string) => number {
  return (raw) => parseNumberFlag(flag, raw, rule);
}

/** A symbol flag, case-normalised (`xrpusdt` → `XRPUSDT`) and checked by config's symbol rule. */
export function parseSymbolFlag(flag: string, raw: string): string {
  const value = raw.trim().toUpperCase();
  const result = SYMBOL_RULE.safeParse(value, { reportInput: true });
  if (!result.success) throw flagError(flag, toProblem(result.error.issues[0], flag).expected, `"${raw}"`);
  return value;
}

/** A commander argParser for one symbol, or for a variadic list (`--symbol A B`). */
export function symbolFlag(flag: string): (raw: string, previous?: string[] | string) => string {
  return (raw) => parseSymbolFlag(flag, raw);
}

export function symbolListFlag(flag: string): (raw: string, previous?: string[]) => string[] {
  return (raw, previous) => [...(previous ?? []), parseSymbolFlag(flag, raw)];
}

/** Refuses a window whose end is not after its start (`--end` before `--start`). */
export function checkWindow(startMs: number | undefined, endMs: number | undefined): void {
  if (startMs !== undefined && endMs !== undefined && !(endMs > startMs)) {
    throw new OitraderError(`--end (${new Date(endMs).toISOString()}) is not after --start (${new Date(startMs).toISOString()})`, {
      hint: '--end is exclusive: pass an end date after the start date',
      exitCode: 2,
    });
  }
}

function flagError(flag: string, expected: string, got: string): OitraderError {
  return new OitraderError(`${flag}: expected ${expected}, got ${got}`, { hint: 'see the command\'s --help for the accepted values', exitCode: 2 });
}
