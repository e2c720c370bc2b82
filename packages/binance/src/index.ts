export * from './archive/layout.ts';
export * from './archive/source.ts';
export * from './archive/zip-csv.ts';
export * from './archive/parse.ts';
