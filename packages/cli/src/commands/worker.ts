import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { OitraderError, type Config } from '@oitrader/core';
import { FEATURES_FILE, MANIFEST_FILE, readFeatureDataset } from '@oitrader/features';
import { bullmqFitRunner, bullmqTrialRunner, datasetCache, redisLabel, startFitWorker, startTrialWorker, type ModelFitRunner, type QueueConnection, type TrialRunner, type TrialScope } from '@oitrader/ml';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';
import { startResearchWorker } from '../research/research-runners.ts';

interface WorkerFlags extends GlobalOptions {
  for?: number;
}

export function queueConnection(config: Config): QueueConnection | undefined {
  if (config.queue.redis_url === '') return undefined;
  redisLabel(config.queue.redis_url);
  return { redisUrl: config.queue.redis_url, prefix: config.queue.prefix };
}

/**
 * Where `train` sends its search trials and model fits when `queue.redis_url` is set
 * (undefined: in-process). Jobs name the features file by absolute path: workers must
 * see the shared disk at the same path.
 */
export function queuedRunners(config: Config, featuresDir: string, out: Output): { trials?: (scope: TrialScope) => TrialRunner; fits?: (scope: TrialScope) => ModelFitRunner; close(): Promise<void> } {
  const connection = queueConnection(config);
  const runners: Array<{ close(): Promise<void> }> = [];
  if (!connection) return { close: async () => undefined };
  out.text(`search trials and model fits go to \`oitrader worker\` processes through Redis at ${redisLabel(connection.redisUrl)} (prefix ${connection.prefix})`);
  const ref = (scope: TrialScope) => ({ ...scope, parquetPath: resolve(featuresDir, FEATURES_FILE), manifestPath: resolve(featuresDir, MANIFEST_FILE) });
  const notice = { onNotice: (line: string) => out.text(line) };
  const kept = <T extends { close(): Promise<void> }>(runner: T) => (runners.push(runner), runner);
  return {
    trials: (scope) => kept(bullmqTrialRunner(connection, ref(scope), notice)),
    fits: (scope) => kept(bullmqFitRunner(connection, ref(scope), notice)),
    close: async () => {
      await Promise.all(runners.map((r) => r.close()));
    },
  };
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run jobs queued by `train` (hyperparameter-search trials, model fits) and `research` (grid configurations) on any machine that reaches the same Redis (queue.redis_url) and the shared features/models disk')
    .addOption(new Option('--for <seconds>', 'stop after this many seconds (default: until SIGINT or SIGTERM)').argParser(Number))
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<WorkerFlags>();
      const { config, out } = commandContext(flags);
      const connection = queueConnection(config);
      if (!connection) {
        throw new OitraderError('queue.redis_url is empty: a worker needs the Redis that `train` queues its jobs on', { hint: 'set REDIS_URL=redis://host:6379 (or queue.redis_url in config.yaml) on this machine and on the one that runs `train`', exitCode: 2 });
      }
      const workerOptions = {
        loadDataset: readFeatureDataset,
        lockMs: config.queue.lock_seconds * 1000,
        onEvent: (line: string) => out.text(`  ${new Date().toISOString().slice(11, 19)} ${line}`),
      };
      // One features file in memory for both kinds of job.
      const load = datasetCache(workerOptions);
      const workers = [startTrialWorker(connection, workerOptions, load), startFitWorker(connection, workerOptions, load), startResearchWorker(connection, workerOptions)];
      const signals = ['SIGINT', 'SIGTERM'] as const;
      let wake = () => {};
      const stopped = new Promise<void>((done) => {
        wake = done;
        for (const signal of signals) process.once(signal, done);
        if (flags.for !== undefined) setTimeout(done, flags.for * 1000).unref();
      });
      try {
        await Promise.all(workers.map((w) => w.ready()));
        out.text(`worker connected to Redis at ${redisLabel(connection.redisUrl)} (prefix ${connection.prefix}); waiting for jobs (Ctrl-C stops after the current job)`);
        await stopped;
      } finally {
        for (const signal of signals) process.removeListener(signal, wake);
        await Promise.all(workers.map((w) => w.close()));
      }
    });
}
