import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { strToU8, zipSync } from 'fflate';

const BIN = fileURLToPath(new URL('../../bin/oitrader.mjs', import.meta.url));
const OPEN_STORE = fileURLToPath(new URL('../../../data/src/store/open-store.ts', import.meta.url));
const START_MS = Date.UTC(2025, 9, 1);
const DAYS = 30;

/** Daily 5m klines files in Binance's archive layout (format fixture, not market data). */
function writeKlinesMirror(): string {
  const root = mkdtempSync(join(tmpdir(), 'oitrader-deleted-mirror-'));
  for (let d = 0; d < DAYS; d++) {
    const day = new Date(START_MS + d * 86_400_000).toISOString().slice(0, 10);
    const name = `GONEUSDT-5m-${day}.zip`;
    const lines: string[] = [];
    for (let k = 0; k < 288; k++) {
      const t = START_MS + (d * 288 + k) * 300_000;
      const open = 100 + (k % 13) / 10;
      lines.push(`${t},${open},${open + 1},${open - 1},${open + 0.5},1000,${t + 299_999},100000,10,500,50000,0`);
    }
    const path = join(root, 'futures/um/daily/klines/GONEUSDT/5m', name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, zipSync({ [name.replace('.zip', '.csv')]: strToU8(`${lines.join('\n')}\n`) }));
  }
  return root;
}

function start(args: string[], script?: string) {
  const child = script
    ? spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])
    : spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: '' } });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function until(what: string, condition: () => boolean, context: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `${what}:\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('reliability: the database directory deleted mid-import fails the import (issue 28 item 7)', () => {
  for (const role of ['owns the database', 'is a client of another process that owns it'] as const) {
    it(`an import that ${role} exits non-zero naming the deleted directory, and no empty database replaces it`, async () => {
      const mirror = writeKlinesMirror();
      const dir = mkdtempSync(join(tmpdir(), 'oitrader-deleted-import-'));
      const db = join(dir, 'db');
      const config = join(dir, 'config.yaml');
      writeFileSync(config, `database:\n  url: ''\n  embedded_path: ${db}\n`);
      const owner =
        role === 'owns the database'
          ? undefined
          : start([], `
              import { openStore } from ${JSON.stringify(OPEN_STORE)};
              await openStore({ embeddedPath: ${JSON.stringify(db)} }, { onNote: () => undefined });
              console.log('owner ready');
              setInterval(() => undefined, 1000);
            `);
      try {
        if (owner) await until('the owner never opened the database', () => owner.output().includes('owner ready'), owner.output);
        const importer = start(['--config', config, 'data', 'import', mirror]);
        await until('the import never started', () => importer.output().includes('importing from') && existsSync(join(db, 'PG_VERSION')), importer.output);
        // Gone from its path at once (a rename is atomic; an rm -rf of a directory the owner still writes into can
        // meet ENOTEMPTY again and again): the process sees exactly what a deletion shows it. Its files go at the end.
        renameSync(db, `${db}.deleted`);
        const killer = setTimeout(() => importer.child.kill('SIGKILL'), 90_000);
        const code = await importer.exited;
        clearTimeout(killer);
        assert.notEqual(code, 0, `an import whose database was deleted must fail, not report rows stored:\n${importer.output()}`);
        assert.notEqual(code, null, `the import hung and was killed:\n${importer.output()}`);
        assert.match(importer.output(), /database directory .*db was deleted while in use/);
        assert.ok(!existsSync(join(db, 'PG_VERSION')), 'a new, empty database was created in place of the deleted one');
      } finally {
        owner?.child.kill('SIGKILL');
        await owner?.exited;
        rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
      }
    });
  }
});
