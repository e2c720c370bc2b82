import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OitraderError } from '@oitrader/core';
import type { Intent, Strategy, StrategyContext } from '@oitrader/trading';
import { BASELINES, baselineByName } from './baselines.ts';

/** Where a strategy comes from: a built-in baseline by name, or the user's own file. A strategy keeps per-symbol state, so each symbol gets its own. */
export interface StrategySource {
  /** The name reports and decisions carry: the baseline's, or the file's strategy name. */
  readonly name: string;
  /** The file it was loaded from (absent for a baseline). */
  readonly file?: string;
  create(symbol: string): Strategy;
}

/**
 * What a strategy file exports as `createStrategy`: a function that makes one
 * instance for one symbol (`oitrader new-strategy` writes one).
 */
export type StrategyFileFactory = (options: { symbol: string }) => Strategy;

/** A `--strategy` / `bot.strategy` value that names a file rather than a baseline: it has a path separator or a script extension. */
export function isStrategyFile(spec: string): boolean {
  return /[\\/]/.test(spec) || /\.(ts|mts|js|mjs)$/.test(spec);
}

const INTENT_KINDS = new Set(['enter', 'exit', 'scale_in', 'scale_out']);

/** A baseline by name, or a strategy file (resolved from `baseDir`), validated before anything trades on it. */
export async function loadStrategySource(spec: string, baseDir = process.cwd()): Promise<StrategySource> {
  if (!isStrategyFile(spec)) {
    baselineByName(spec);
    return { name: spec, create: () => baselineByName(spec) };
  }
  const file = resolve(baseDir, spec);
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new OitraderError(`strategy file ${spec} does not exist (looked at ${file})`, {
      hint: `write one with: oitrader new-strategy <name> (it goes to ./strategies/<name>.ts), or use a built-in strategy: ${Object.keys(BASELINES).join(', ')}`,
      exitCode: 2,
    });
  }
  let module: { createStrategy?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as { createStrategy?: unknown };
  } catch (error) {
    throw new OitraderError(`strategy file ${spec} failed to load: ${(error as Error).message}`, { hint: 'fix the error in the file (run npm run typecheck for type errors)', exitCode: 2 });
  }
  if (typeof module.createStrategy !== 'function') {
    throw new OitraderError(`strategy file ${spec} exports no createStrategy function`, {
      hint: 'export function createStrategy({ symbol }): Strategy { … } — see docs/write-a-strategy.md',
      exitCode: 2,
    });
  }
  const factory = module.createStrategy as StrategyFileFactory;
  const create = (symbol: string) => guarded(validStrategy(factory, symbol, spec), spec, symbol);
  // Made once now, so a broken factory fails before any data is loaded or any order is sent.
  const name = create('BTCUSDT').name;
  return { name, file, create };
}

function validStrategy(factory: StrategyFileFactory, symbol: string, spec: string): Strategy {
  let strategy: unknown;
  try {
    strategy = factory({ symbol });
  } catch (error) {
    throw new OitraderError(`strategy file ${spec}: its factory threw for ${symbol}: ${(error as Error).message}`, { exitCode: 2 });
  }
  const s = strategy as Partial<Strategy> | undefined;
  const missing = [typeof s?.name === 'string' && s.name.length > 0 ? undefined : 'a name (string)', typeof s?.onBar === 'function' ? undefined : 'an onBar(context) function'].filter((m) => m !== undefined);
  if (missing.length > 0) throw new OitraderError(`strategy file ${spec}: the strategy its factory returns has no ${missing.join(' and no ')}`, { hint: 'return { name, onBar(ctx) { … } } — see docs/write-a-strategy.md', exitCode: 2 });
  if (s!.reset !== undefined && typeof s!.reset !== 'function') throw new OitraderError(`strategy file ${spec}: reset must be a function when present`, { exitCode: 2 });
  return s as Strategy;
}

/** A user's strategy whose bar throws, or that returns something other than intents, stops the run with the file, symbol and bar named. */
function guarded(strategy: Strategy, spec: string, symbol: string): Strategy {
  const where = (ctx: StrategyContext) => `${symbol} at ${new Date(ctx.timeMs).toISOString()}`;
  return {
    name: strategy.name,
    reset: strategy.reset && ((frame) => strategy.reset!(frame)),
    onBar(ctx) {
      let intents: readonly Intent[] | undefined;
      try {
        intents = strategy.onBar(ctx);
      } catch (error) {
        if (error instanceof OitraderError) throw error;
        throw new OitraderError(`strategy ${strategy.name} (${spec}) threw on ${where(ctx)}: ${(error as Error).message}`, { exitCode: 1 });
      }
      if (intents === undefined) return undefined;
      if (!Array.isArray(intents) || intents.some((i) => typeof i !== 'object' || i === null || !INTENT_KINDS.has((i as Intent).kind))) {
        throw new OitraderError(`strategy ${strategy.name} (${spec}) returned ${JSON.stringify(intents)?.slice(0, 120)} on ${where(ctx)}`, {
          hint: 'onBar returns an array of intents made with enter(), exit(), scaleIn(), scaleOut() from @oitrader/trading, or nothing',
          exitCode: 1,
        });
      }
      return intents;
    },
  };
}
