import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DataError } from '@oitrader/core';

/**
 * Where archive files come from: a local mirror directory or an HTTP base URL
 * (Binance's own host by default). `read` returns undefined for a file that
 * does not exist (a missing day is normal; the importer logs it as a gap).
 */
export interface ArchiveSource {
  readonly description: string;
  read(path: string): Promise<Uint8Array | undefined>;
  /** Every zip file under the root, when the source can be listed (directories can, URLs cannot). */
  list?(): Promise<string[]>;
}

export class DirectorySource implements ArchiveSource {
  readonly description: string;
  readonly #root: string;

  constructor(root: string) {
    if (!existsSync(root) || !statSync(root).isDirectory()) {
      throw new DataError(`archive directory ${root} does not exist`, { hint: 'pass a directory holding futures/um/... or a URL', exitCode: 2 });
    }
    this.#root = root;
    this.description = `directory ${root}`;
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    const full = join(this.#root, path);
    return existsSync(full) ? new Uint8Array(readFileSync(full)) : undefined;
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir).sort()) {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (name.endsWith('.zip')) out.push(relative(this.#root, full).replaceAll('\\', '/'));
      }
    };
    walk(this.#root);
    return out;
  }
}

export class HttpSource implements ArchiveSource {
  readonly description: string;
  readonly #base: string;
  readonly #fetch: typeof fetch;

  constructor(baseUrl: string, fetchImpl: typeof fetch = fetch) {
    this.#base = baseUrl.replace(/\/+$/, '');
    this.#fetch = fetchImpl;
    this.description = `archive ${this.#base}`;
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    const url = `${this.#base}/data/${path}`;
    let response: Response;
    try {
      response = await this.#fetch(url);
    } catch (error) {
      throw new DataError(`cannot reach ${url}: ${(error as Error).message}`, { hint: 'check the network, or import from a local mirror directory' });
    }
    if (response.status === 404) return undefined;
    if (!response.ok) throw new DataError(`${url} answered HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
}

export function openArchiveSource(location: string): ArchiveSource {
  return /^https?:\/\//.test(location) ? new HttpSource(location) : new DirectorySource(location);
}
