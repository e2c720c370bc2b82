// Regenerates docs/features.md from the feature registry: npm run docs:features
import { writeFileSync } from 'node:fs';
import { renderFeatureCatalogue } from '../packages/features/src/catalogue.ts';

writeFileSync('docs/features.md', `${renderFeatureCatalogue()}\n`);
console.log('wrote docs/features.md');
