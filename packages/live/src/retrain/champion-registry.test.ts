import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OitraderError } from '@oitrader/core';
import { activeRun } from './champion-registry.ts';

describe('models/ACTIVE', () => {
  it('names a run id; a path in it ("../..") is refused with exit 2, never followed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-active-'));
    const active = (text: string) => (writeFileSync(join(dir, 'ACTIVE'), text), () => activeRun(dir));
    assert.equal(active('run-2026.02_07\n')(), 'run-2026.02_07');
    assert.equal(active('  \n')(), undefined, 'an empty ACTIVE is no champion');
    for (const bad of ['../../etc', '/etc/passwd', 'a/b', 'run..x', '.hidden', 'run id']) {
      assert.throws(active(bad), (e: unknown) => e instanceof OitraderError && e.exitCode === 2 && /not a model run id/.test(e.message), bad);
    }
  });
});
