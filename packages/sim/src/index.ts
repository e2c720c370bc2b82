export * from './sim-clock.ts';
export * from './faults.ts';
export * from './replay-dataset.ts';
export * from './rest-routes.ts';
export * from './stream-hub.ts';
export * from './sim-server.ts';
export * from './synthetic-book.ts';
