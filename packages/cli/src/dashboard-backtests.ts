import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BASELINES } from '@oitrader/backtest';
import { tradedSymbols, type Config } from '@oitrader/core';
import { processBacktests, type DashboardBacktests } from '@oitrader/live';

const BIN = fileURLToPath(new URL('../bin/oitrader.mjs', import.meta.url));

/** The strategies the Backtest tab offers: the built-ins and the user's ./strategies/*.ts files (oitrader new-strategy). */
export function backtestableStrategies(dir = 'strategies'): string[] {
  const own = existsSync(dir) ? readdirSync(dir).filter((f) => /^[\w.-]+\.(ts|mjs|js)$/.test(f)).map((f) => `./${dir}/${f}`) : [];
  return [...Object.keys(BASELINES), ...own.sort()];
}

/**
 * The dashboard's Backtest tab for this process's configuration: `oitrader backtest`
 * as a child with the same config file and database, reports under reports/dashboard.
 */
export function dashboardBacktests(config: Config, configFile: string | undefined): DashboardBacktests {
  const db = config.database.url ? [] : ['--db', config.database.embedded_path];
  return processBacktests({
    command: [process.execPath, BIN, ...(configFile ? ['--config', configFile] : [])],
    storeArgs: db,
    reportsDir: 'reports/dashboard',
    strategies: backtestableStrategies(),
    symbols: tradedSymbols(config.trading),
    // A URL from config.yaml reaches the child through its --config; one from the environment through DATABASE_URL, inherited.
    env: process.env,
  });
}
