import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes a file so readers see the old content or the new, never half of it (temp file + rename). */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(temporary, content);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Writes a whole directory so it appears complete or not at all: the files go
 * into a hidden staging directory beside it, which is renamed into place.
 * Refuses to replace an existing directory.
 */
export function writeDirectoryAtomic(path: string, files: Record<string, string | Uint8Array>): void {
  if (existsSync(path)) throw new Error(`${path} already exists`);
  const staging = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(staging, name), content);
    renameSync(staging, path);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
