import type { Command } from 'commander';

/**
 * One or two examples for every command's `--help`, in one table so they are
 * written (and tested: help-examples.test.ts parses each one against the
 * command's own options) in one voice. Keyed by the command path; `backtest`, `paper`,
 * `new-strategy` and `rl backtest` carry longer examples of their own.
 */
export const EXAMPLES: Record<string, string[]> = {
  'db migrate': ['oitrader db migrate                                   # create or update the tables (every command does this on its own)'],
  'data import': [
    'oitrader data import https://data.binance.vision --symbol SOLUSDT BTCUSDT --start 2025-12-01 --end 2026-02-28',
    'oitrader data import ./data/sample/binance-archive --symbol SOLUSDT --timeframe 5m 1h',
  ],
  'data check': ['oitrader data check --symbol SOLUSDT --start 2025-12-01   # gaps, duplicates and outliers of the stored candles'],
  'data health': ['oitrader data health --max-age 120                     # exit 1 when a collector stream is silent for 2 minutes'],
  'data show': ['oitrader data show --symbol BTCUSDT --timeframe 1h --start 2026-02-01 --end 2026-02-02'],
  collect: ['oitrader collect                                      # 24/7: catch up, then live candles, open interest, funding', 'oitrader collect --for 600 --no-archive'],
  sim: ['oitrader sim --speed 60                               # every sample symbol, a 5-minute candle every 5 s', 'oitrader sim --symbols SOLUSDT,BTCUSDT --start 2026-02-01T00:00:00Z --for 300'],
  'features build': ['oitrader features build --symbol SOLUSDT --start 2025-12-01', 'oitrader features build --demo-db --symbols SOLUSDT,BTCUSDT --symbol-id   # one pooled file'],
  'features list': ['oitrader features list --group open_interest'],
  'features check-lookahead': ['oitrader features check-lookahead --demo-db --points 50   # every feature recomputed on truncated data'],
  'features check-recursive': ['oitrader features check-recursive --demo-db'],
  train: ['oitrader train --features data/features', 'oitrader train --folds 5 --search-trials 20 --run-id sol-2026-02'],
  'models list': ['oitrader models list', 'oitrader models list --models-dir /srv/oitrader/models'],
  'models show': ['oitrader models show 20260207-1530'],
  'models promote': ['oitrader models promote 20260207-1530            # refused when its out-of-sample trading lost to flat', 'oitrader models promote 20260207-1530 --force'],
  'models rollback': ['oitrader models rollback                             # the previous champion becomes active again'],
  predict: ['oitrader predict --model 20260207-1530 --out predictions.csv'],
  'bot run': ['oitrader bot run                                      # paper by default; trading.symbols on one wallet', 'oitrader bot run --replay --from 2026-02-01   # step stored candles, no waiting'],
  'bot status': ['oitrader bot status', 'oitrader --json bot status                            # the whole read model for scripts'],
  'bot kill': ['oitrader bot kill --reason "exchange incident"          # flatten and stop until oitrader bot resume'],
  'bot stop-entries': ['oitrader bot stop-entries --reason "CPI at 14:30"'],
  'bot resume': ['oitrader bot resume'],
  'bot force-entry': ['oitrader bot force-entry --symbol BTCUSDT --side long   # through the risk limits at the next step'],
  'bot flatten': ['oitrader bot flatten                                  # every position', 'oitrader bot flatten --symbol BTCUSDT               # a forced exit of one symbol'],
  'rl train': ['oitrader rl train --demo-db --windows 1 --timesteps 20000   # a quick agent on the sample', 'oitrader rl train --algo a2c --seed 7'],
  'rl list': ['oitrader rl list'],
  demo: ['oitrader demo                                         # the whole pipeline on the bundled sample, offline', 'oitrader demo --fresh --dashboard'],
  'exchange check': ['oitrader exchange check --symbols SOLUSDT,BTCUSDT     # keys, margin type, leverage, position mode'],
  dashboard: ['OITRADER_DASHBOARD_TOKEN=$(openssl rand -hex 16) oitrader dashboard', 'oitrader dashboard --port 0 --for 600 --telegram'],
  retrain: ['oitrader retrain --schedule                           # daily at retrain time; promotes only a better model', 'oitrader retrain --days 60 --run-id manual-2026-02-07'],
  'golive check': ['oitrader golive check                                 # exit 0 only when every item of the checklist passes', 'oitrader --json golive check'],
  'golive drill': ['oitrader golive drill                                 # then golive check reads its result'],
  worker: ['REDIS_URL=redis://127.0.0.1:6379 oitrader worker      # run the training trials train queues'],
};

function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds each command's examples to the end of its `--help`. */
export function addHelpExamples(program: Command): void {
  const visit = (command: Command) => {
    const examples = EXAMPLES[pathOf(command)];
    if (examples && command.commands.length === 0) command.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
}
