#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv);
// The command is done and has closed what it opened. A request still retrying against an unreachable host, or
// a socket a library keeps, must not keep the process alive: it ends within seconds, whatever lingers.
setTimeout(() => process.exit(), 3000).unref();
