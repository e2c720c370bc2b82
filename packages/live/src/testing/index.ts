/** Test support other packages' tests use (`@oitrader/live/testing`): fresh databases on both engines. */
export { botTestEngines, dropPostgres, freshPostgresUrl, type BotTestEngine } from './engines.ts';
export { importSample, SAMPLE_ARCHIVE, SAMPLE_SYMBOL, sampleSpan } from './sample-store.ts';
export { TINY_FEATURES, TINY_LABELS, trainTinyRun } from './tiny-run.ts';
