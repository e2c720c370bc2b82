import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'reports/**', 'models/**', '**/*.mjs', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Named exports only (STYLE.md).' }],
    },
  },
  {
    files: ['packages/core/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@oitrader/*'] }] },
  },
  {
    files: ['packages/binance/**/*.ts', 'packages/data/**/*.ts', 'packages/backtest/**/*.ts', 'packages/features/**/*.ts', 'packages/ml/**/*.ts', 'packages/rl/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@oitrader/cli', '@oitrader/live'] }] },
  },
);
