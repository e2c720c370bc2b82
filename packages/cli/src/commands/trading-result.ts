import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OitraderError, writeFileAtomic } from '@oitrader/core';

/**
 * A model run's out-of-sample trading result, written into the run by `oitrader backtest --strategy ml-signal
 * --model <run>` (the ML rule, trading.ml_rule, through the risk engine on bars the run never trained on, after fees,
 * funding and slippage). `models promote` and `models list` read it.
 */
export interface RunTradingResult {
  runId: string;
  evaluatedAt: string;
  symbol: string;
  /** What was traded: the out-of-fold test windows, or bars after the run's training span. */
  source: 'out-of-fold' | 'after-training';
  testSpan: [string, string];
  /** The ML rule traded (absent in results written before the cost-aware rule: ml-signal). */
  rule?: 'ml-signal' | 'cost-aware';
  /** The setting chosen on validation: ML-signal's threshold × prior, or the cost-aware rule's hurdle (fraction). */
  threshold: number;
  trades: number;
  returnPct: number;
  sharpe: number;
  deflatedSharpe: number;
  /** The run's trial registry count the deflated Sharpe was computed with (absent in older results). */
  trials?: number;
  buyAndHoldReturnPct: number;
  beatBaselines: boolean;
}

export const TRADING_RESULT_FILE = 'trading-result.json';

export function writeTradingResult(runDir: string, result: RunTradingResult): void {
  writeFileAtomic(join(runDir, TRADING_RESULT_FILE), `${JSON.stringify(result, null, 2)}\n`);
}

/** The recorded result, undefined when the run was never backtested; a damaged file is an error naming it. */
export function readTradingResult(runDir: string): RunTradingResult | undefined {
  const file = join(runDir, TRADING_RESULT_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as RunTradingResult;
    if (typeof r.returnPct !== 'number' || typeof r.trades !== 'number') throw new Error('returnPct and trades must be numbers');
    return r;
  } catch (error) {
    throw new OitraderError(`cannot read ${file}: ${(error as Error).message}`, { hint: 'backtest the run again: oitrader backtest --strategy ml-signal --model <run-id>', exitCode: 1 });
  }
}

/** Why a run may not become the champion without --force, or undefined when its result allows it. */
export function promotionRefusal(runId: string, result: RunTradingResult | undefined): string | undefined {
  if (!result) return `run ${runId} has no out-of-sample trading result (oitrader backtest --strategy ml-signal --model ${runId} records one)`;
  if (result.trades === 0) return `run ${runId} made 0 trades out of sample (${result.testSpan.join(' .. ')}): the bot would stand aside`;
  if (result.returnPct < 0) return `run ${runId} lost ${(-result.returnPct).toFixed(2)}% out of sample (${result.trades} trades, ${result.testSpan.join(' .. ')}): below flat`;
  return undefined;
}

/** One line for `models list`. */
/** `trialsNow`: the run's registry count today; when it grew since, the recorded deflated Sharpe is marked as counting fewer trials. */
export function tradingResultLine(result: RunTradingResult | undefined, trialsNow?: number): string {
  if (!result) return 'not backtested';
  const sign = result.returnPct >= 0 ? '+' : '';
  const dsr = Number.isFinite(result.deflatedSharpe) ? `, deflated Sharpe ${result.deflatedSharpe.toFixed(2)}${result.trials === undefined ? '' : ` after ${result.trials} trials`}${trialsNow !== undefined && result.trials !== undefined && trialsNow > result.trials ? ` (${trialsNow} tried on the run since: backtest it again)` : ''}` : '';
  return `${result.rule ?? 'ml-signal'}: ${sign}${result.returnPct.toFixed(2)}% in ${result.trades} trades, Sharpe ${Number.isFinite(result.sharpe) ? result.sharpe.toFixed(2) : '—'}${dsr} (${result.source}${result.beatBaselines ? ', beat the baselines' : ''})`;
}
