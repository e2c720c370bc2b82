import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../bin/oitrader.mjs', import.meta.url));

/** A local port nothing listens on: every connection is refused, like an exchange that cannot be reached. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('reliability: collect with the exchange unreachable (issue 28 item 7)', () => {
  it('collect --for 3 on an empty store exits non-zero within its deadline and never says the store is up to date', async () => {
    const port = await refusedPort();
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-collect-unreachable-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'database:',
        "  url: ''",
        `  embedded_path: ${join(dir, 'db')}`,
        'binance:',
        `  rest_url: http://127.0.0.1:${port}`,
        `  ws_url: ws://127.0.0.1:${port}`,
        'data:',
        '  symbols: [SOLUSDT]',
        '  archive:',
        '    enabled: false',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [BIN, '--config', config, 'collect', '--for', '3'], { env: { ...process.env, DATABASE_URL: '' } });
    let output = '';
    let collectingAt: number | undefined;
    child.stdout.on('data', (d) => {
      output += d;
      if (collectingAt === undefined && output.includes('collecting SOLUSDT')) collectingAt = Date.now();
    });
    child.stderr.on('data', (d) => (output += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(killer);
    const ranMs = Date.now() - (collectingAt ?? Date.now());
    assert.ok(collectingAt !== undefined, `the collector never started:\n${output}`);
    assert.ok(ranMs < 3_000 + 12_000, `collect --for 3 ran ${(ranMs / 1000).toFixed(1)} s after opening the store against an unreachable exchange:\n${output}`);
    assert.notEqual(code, 0, `nothing was collected, yet collect exited 0:\n${output}`);
    assert.notEqual(code, null, `collect had to be killed:\n${output}`);
    assert.doesNotMatch(output, /up to date/, 'an empty store the exchange could not fill is not "up to date"');
    assert.match(output, /never answered/);
  });
});
