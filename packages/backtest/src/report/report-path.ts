import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** 20260207T1530Z: the minute a report was written, UTC, safe in a file name. */
export function reportStamp(timeMs: number): string {
  const iso = new Date(timeMs).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
}

const safe = (part: string) => part.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');

/**
 * A report's path without extension: `<dir>/<kind>-<parts…>-<UTC minute>`, e.g.
 * `reports/backtest-sma-trend-SOLUSDT-5m-20260207T1530Z`. Never an existing report's: a second report in the
 * same minute gets `-2`, `-3`, … so no run overwrites another's HTML or JSON.
 */
export function reportBasePath(dir: string, parts: readonly string[], timeMs = Date.now()): string {
  const stem = [...parts.map(safe).filter((p) => p.length > 0), reportStamp(timeMs)].join('-');
  const taken = (base: string) => existsSync(`${base}.html`) || existsSync(`${base}.json`);
  let base = join(dir, stem);
  for (let n = 2; taken(base); n++) base = join(dir, `${stem}-${n}`);
  return base;
}
