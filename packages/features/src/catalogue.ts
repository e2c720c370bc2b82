import { ALL_FEATURES, FEATURE_SET_VERSION } from './feature-engineer.ts';
import { FEATURE_GROUPS, warmupBars } from './registry.ts';

/** docs/features.md, generated from the registry so the catalogue cannot drift from the code. */
export function renderFeatureCatalogue(): string {
  const lines = [
    '# Feature catalogue',
    '',
    `Generated from \`packages/features\` (feature set ${FEATURE_SET_VERSION}) by \`npm run docs:features\`; do not edit by hand.`,
    `${ALL_FEATURES.length} features. Warm-up is in bars on 5-minute data, counted from when the feature's sources start.`,
    'Every value at bar t uses only bars up to t (checked by `oitrader features check-lookahead`).',
    '',
  ];
  for (const group of FEATURE_GROUPS) {
    const specs = ALL_FEATURES.filter((s) => s.group === group);
    lines.push(`## ${group.replace('_', ' ')} (${specs.length})`, '', '| feature | definition | sources | warm-up |', '|---|---|---|---|');
    for (const s of specs) lines.push(`| \`${s.name}\` | ${s.description.replaceAll('|', '\\|')} | ${s.sources.join(', ') || 'bar time'} | ${warmupBars(s, 300_000)} |`);
    lines.push('');
  }
  return lines.join('\n');
}
