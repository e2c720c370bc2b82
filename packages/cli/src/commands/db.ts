import type { Command } from 'commander';
import { describeTarget, openStore, storeTargetFromConfig } from '@oitrader/data';
import { commandContext, type GlobalOptions } from '../context.ts';

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('manage the market-data database');
  db.command('migrate')
    .description('create or upgrade the database schema (safe to run repeatedly)')
    .action(async (_options, command: Command) => {
      const { config, out } = commandContext(command.optsWithGlobals<GlobalOptions>());
      const target = storeTargetFromConfig(config);
      const { sql, migration } = await openStore(target);
      await sql.close();
      out.text(`${describeTarget(target)}: ${migration.applied.length === 0 ? 'schema up to date' : `applied migrations ${migration.applied.join(', ')}`}`);
      out.text(`TimescaleDB: ${migration.timescale ? 'enabled (hypertables, compression, continuous aggregate)' : 'not available; plain PostgreSQL tables'}`);
      out.result({ target: describeTarget(target), ...migration });
    });
}
