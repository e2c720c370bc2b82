export * from './registry.ts';
export * from './indicators/kernels.ts';
export * from './feature-engineer.ts';
export * from './targets.ts';
export * from './selection.ts';
export * from './lookahead.ts';
export * from './parquet.ts';
export * from './catalogue.ts';
