import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../main.ts';

function setup(): { models: string; config: string } {
  const root = mkdtempSync(join(tmpdir(), 'oitrader-rollback-'));
  const models = join(root, 'models');
  for (const id of ['r1', 'r2']) {
    mkdirSync(join(models, id), { recursive: true });
    writeFileSync(join(models, id, 'manifest.json'), JSON.stringify({ runId: id, metrics: {} }));
  }
  const config = join(root, 'config.yaml');
  writeFileSync(config, `models:\n  dir: ${models}\n`);
  return { models, config };
}

describe('oitrader models rollback', () => {
  it('puts the previous champion back after two promotions, and refuses to roll back past the first', async () => {
    const { models, config } = setup();
    const run = (...args: string[]) => main(['node', 'oitrader', '--config', config, '--quiet', 'models', ...args]);
    assert.equal(await run('promote', 'r1'), 0);
    assert.equal(await run('promote', 'r2'), 0);
    assert.equal(await run('rollback'), 0);
    assert.equal(readFileSync(join(models, 'ACTIVE'), 'utf8').trim(), 'r1', 'rollback must make the earlier champion active');
    assert.equal(await run('rollback'), 2, 'rolling back past the first champion is a usage error');
    assert.equal(readFileSync(join(models, 'ACTIVE'), 'utf8').trim(), 'r1', 'a refused rollback changed the champion');
    process.exitCode = 0;
  });

  it('with no champion at all says there is nothing to roll back (exit 2)', async () => {
    const { config } = setup();
    assert.equal(await main(['node', 'oitrader', '--config', config, '--quiet', 'models', 'rollback']), 2);
    process.exitCode = 0;
  });
});

describe('oitrader dashboard', () => {
  it('rejects a port that is not a port with a usage error', async () => {
    const { config } = setup();
    assert.equal(await main(['node', 'oitrader', '--config', config, '--quiet', 'dashboard', '--port', 'eighty']), 2);
    process.exitCode = 0;
  });
});
