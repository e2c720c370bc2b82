import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from './main.ts';

/** `oitrader golive check` through the CLI: every item printed with its evidence, exit 3 while any fails. */
describe('oitrader golive check', () => {
  let dir: string;
  let config: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'oitrader-golive-'));
    config = join(dir, 'config.yaml');
    // dashboard.port 1: nothing listens there, so the probe fails at once instead of finding another test's bot.
    writeFileSync(config, `database:\n  embedded_path: ${join(dir, 'db')}\nbot:\n  name: golv\ndashboard:\n  port: 1\nmodels:\n  dir: ${join(dir, 'models')}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('on a database without a paper bot or a drill: one FAIL line per item, each naming what is missing, exit 3', async () => {
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((c: string | Uint8Array) => (chunks.push(String(c)), true)) as typeof process.stdout.write;
    let status: number;
    try {
      status = await main(['node', 'oitrader', '--config', config, 'golive', 'check']);
    } finally {
      process.stdout.write = write;
      process.exitCode = undefined;
    }
    const out = chunks.join('');
    assert.equal(status, 3, out);
    const lines = out.match(/(?:PASS|FAIL) {2}[^\n]*/g) ?? [];
    assert.equal(lines.length, 9, `nine checklist items expected:\n${out}`);
    assert.ok(lines.every((l) => l.startsWith('FAIL')), out);
    for (const expected of [/no bot named "golv"/, /oitrader golive drill/, /bot\.strategy is sma-trend, a baseline/, /telegram\.enabled is false/, /127\.0\.0\.1:1\/api\/state did not answer/, /trading\.mode is paper/]) assert.match(out, expected);
    assert.match(out, /NOT READY: 9 of 9 items fail/);
  });
});
