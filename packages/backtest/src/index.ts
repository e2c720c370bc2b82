export * from './engine/backtester.ts';
export * from './strategies/baselines.ts';
export * from './strategies/strategy-source.ts';
export * from './metrics/normal.ts';
export * from './metrics/metrics.ts';
export * from './report/html-report.ts';
export * from './strategies/ml-signal.ts';
export * from './strategies/cost-aware-rule.ts';
