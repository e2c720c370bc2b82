import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { openStore } from './open-store.ts';
import { ownerInfoPath } from './embedded-owner.ts';

const OPEN_STORE = fileURLToPath(new URL('./open-store.ts', import.meta.url));

/** Serves the database like a command that owns it: queries now and then; on SIGTERM closes it, as commands do. */
const OWNER = (dir: string, closeOnSigterm: boolean) => `
  import { openStore } from ${JSON.stringify(OPEN_STORE)};
  const { sql } = await openStore({ embeddedPath: ${JSON.stringify(dir)} }, { onNote: () => undefined });
  await sql.query('CREATE TABLE IF NOT EXISTS handover_rows (n int PRIMARY KEY, writer text NOT NULL)');
  ${closeOnSigterm ? "process.on('SIGTERM', async () => { clearInterval(timer); await sql.close(); process.exit(0); });" : ''}
  const timer = setInterval(() => void sql.query('SELECT count(*) FROM handover_rows').catch(() => undefined), 50);
  console.log('owner ready');
`;

/**
 * Writes numbered rows one after the other (every other one in a transaction) and prints each
 * acknowledged number; stops when its stdin closes. Any error ends it with exit code 1.
 */
const CLIENT = (dir: string) => `
  import { openStore } from ${JSON.stringify(OPEN_STORE)};
  const { sql } = await openStore({ embeddedPath: ${JSON.stringify(dir)} }, { onNote: (line) => console.log(new Date().toISOString() + ' note: ' + line) });
  let stop = false;
  process.stdin.on('end', () => (stop = true));
  process.stdin.resume();
  let n = 0;
  while (!stop) {
    if (n % 2 === 0) {
      await sql.query('INSERT INTO handover_rows VALUES ($1, $2) ON CONFLICT DO NOTHING', [n, 'client']);
    } else {
      await sql.transaction(async (tx) => {
        await tx.query('INSERT INTO handover_rows VALUES ($1, $2) ON CONFLICT DO NOTHING', [n, 'client']);
        await tx.query('SELECT count(*) FROM handover_rows');
      });
    }
    console.log('acked ' + n);
    n++;
    await new Promise((r) => setTimeout(r, 10));
  }
  await sql.close();
  console.log('done ' + n);
`;

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(script: string): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { child, output: () => output, exited };
}

async function until(what: string, condition: () => boolean, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs / 1000} s:\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function lastAcked(output: string): number {
  const acks = [...output.matchAll(/^acked (\d+)$/gm)];
  return acks.length === 0 ? -1 : Number(acks[acks.length - 1][1]);
}

const ENDINGS = [
  { name: 'SIGTERM to an owner that closes the database on SIGTERM', signal: 'SIGTERM', closeOnSigterm: true },
  { name: 'SIGTERM to an owner without a handler', signal: 'SIGTERM', closeOnSigterm: false },
  { name: 'SIGKILL', signal: 'SIGKILL', closeOnSigterm: false },
] as const;

describe('reliability: the embedded database outlives its owner (issue 28 item 6)', () => {
  for (const ending of ENDINGS) {
    it(`a client writing through the owner goes on after ${ending.name}, and every acknowledged row is stored`, async () => {
      const dir = join(mkdtempSync(join(tmpdir(), 'oitrader-handover-')), 'db');
      const owner = run(OWNER(dir, ending.closeOnSigterm));
      let client: Running = { child: owner.child, output: () => '', exited: owner.exited };
      const both = () => `owner:\n${owner.output()}\nclient:\n${client.output()}`;
      try {
        await until('the owner serves the database', () => owner.output().includes('owner ready'), 90_000, both);
        client = run(CLIENT(dir));
        assert.equal((JSON.parse(readFileSync(ownerInfoPath(dir), 'utf8')) as { pid: number }).pid, owner.child.pid, 'the first process must own the database');
        await until('the client writes through the owner', () => lastAcked(client.output()) >= 20, 60_000, both);

        owner.child.kill(ending.signal);
        const ownerCode = await owner.exited;
        const ackedAtExit = lastAcked(client.output());
        await until('the client writes again after the owner left', () => lastAcked(client.output()) >= ackedAtExit + 20, 60_000, both);
        assert.equal(client.child.exitCode, null, `the client must keep running after the owner's ${ending.signal}: ${both()}`);
        if (ending.closeOnSigterm) assert.equal(ownerCode, 0, `the owner must close cleanly on SIGTERM: ${both()}`);

        client.child.stdin?.end();
        const clientCode = await client.exited;
        assert.equal(clientCode, 0, `the client must end normally, never on an unexpected error: ${both()}`);
        const written = Number(/^done (\d+)$/m.exec(client.output())?.[1] ?? -1);
        assert.ok(written > ackedAtExit + 20, both());

        const { sql } = await openStore({ embeddedPath: dir }, { onNote: () => undefined });
        try {
          const rows = await sql.query<{ n: number }>('SELECT n FROM handover_rows ORDER BY n');
          const stored = new Set(rows.map((r) => r.n));
          const lost = Array.from({ length: written }, (_, n) => n).filter((n) => !stored.has(n));
          assert.deepEqual(lost, [], `rows acknowledged to the client were lost when the owner ended by ${ending.signal}`);
        } finally {
          await sql.close();
        }
      } finally {
        owner.child.kill('SIGKILL');
        client.child.kill('SIGKILL');
      }
    });
  }
});
