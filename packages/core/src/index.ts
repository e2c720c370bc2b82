export * from './errors.ts';
export * from './timeframe.ts';
export * from './time.ts';
export * from './frame.ts';
export * from './log.ts';
export * from './config/schema.ts';
export * from './config/load.ts';
export * from './atomic-write.ts';
