import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { OitraderError, writeFileAtomic } from '@oitrader/core';
import type { GlobalOptions } from '../context.ts';
import { createOutput } from '../output.ts';

/** The file `new-strategy` copies: a real module of this package, type-checked and tested with it. */
const TEMPLATE = fileURLToPath(new URL('../templates/strategy-template.ts', import.meta.url));

interface NewStrategyFlags extends GlobalOptions {
  dir: string;
  force?: boolean;
}

export function registerNewStrategyCommand(program: Command): void {
  program
    .command('new-strategy <name>')
    .description('write a strategy file to start from (a commented open-interest breakout) that backtest, paper and bot run load')
    .option('--dir <dir>', 'where to write it', 'strategies')
    .option('--force', 'overwrite a file of that name')
    .addHelpText(
      'after',
      `
Examples:
  oitrader new-strategy my-breakout
  oitrader backtest --strategy ./strategies/my-breakout.ts --symbols SOLUSDT,BTCUSDT`,
    )
    .action((name: string, _flags, command: Command) => {
      const flags = command.optsWithGlobals<NewStrategyFlags>();
      const out = createOutput(flags);
      const file = writeStrategyFile(name, flags.dir, flags.force === true);
      const shown = `./${relative(process.cwd(), file)}`;
      out.text(`wrote ${shown}: edit onBar, then`);
      out.text(`  oitrader backtest --strategy ${shown}`);
      out.text('  docs/write-a-strategy.md explains the contract (intents, the risk engine, what ctx can read)');
      out.result({ file });
    });
}

/** Writes the template as `<dir>/<name>.ts` (atomically); refuses a bad name or an existing file unless `force`. */
export function writeStrategyFile(name: string, dir: string, force: boolean): string {
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(name)) {
    throw new OitraderError(`strategy name "${name}" must be lowercase letters, digits and dashes, starting with a letter (at most 41)`, { hint: 'e.g. oitrader new-strategy oi-breakout', exitCode: 2 });
  }
  const file = join(dir, `${name}.ts`);
  if (existsSync(file) && !force) throw new OitraderError(`${file} exists`, { hint: 'pick another name, or pass --force to overwrite it', exitCode: 2 });
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(file, readFileSync(TEMPLATE, 'utf8').replaceAll('__NAME__', name));
  return file;
}
