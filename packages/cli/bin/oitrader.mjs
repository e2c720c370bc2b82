#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step to forget.
import { register } from 'tsx/esm/api';

register();
// `oitrader … | head`: the reader left, so stop quietly (as other Unix tools do) instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv);
// The command is done and has closed what it opened. A request still retrying against an unreachable host, or
// a socket a library keeps, must not keep the process alive: it ends within seconds, whatever lingers.
setTimeout(() => process.exit(), 3000).unref();
