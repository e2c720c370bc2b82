import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderFeatureCatalogue } from './catalogue.ts';

describe('docs/features.md', () => {
  it('matches the feature registry (run `npm run docs:features` after changing a feature)', () => {
    const onDisk = readFileSync(new URL('../../../docs/features.md', import.meta.url), 'utf8');
    assert.equal(onDisk, `${renderFeatureCatalogue()}\n`);
  });
});
