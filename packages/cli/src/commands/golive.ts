import { join } from 'node:path';
import type { Command } from 'commander';
import { checkAccountSetup, UsdmClient } from '@oitrader/binance';
import { leverageBySymbol, timeframeMs, tradedSymbols, type Config } from '@oitrader/core';
import { MarketDataLoader, openStore, storeTargetFromConfig } from '@oitrader/data';
import { activeRun, AGENT_STRATEGY, CHAMPION_STRATEGY, dashboardProbe, runGoLiveDrill, storedGoLiveEvidence, telegramProbe, type GoLiveItem } from '@oitrader/live';
import { bundledInstruments, riskLimitsFromConfig } from '@oitrader/trading';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';
import { tradingEndpoint, type ExchangeMode } from './bot-exchange.ts';
import { readTradingResult } from './trading-result.ts';

/** Exit code of a checklist with a failing item (like `exchange check`'s "needs changes"). */
export const EXIT_NOT_READY = 3;
/** The champion must beat chance after the number of configurations tried (Bailey & López de Prado). */
const MIN_DEFLATED_SHARPE = 0.95;
const EXCHANGE_DEADLINE_MS = 20_000;

export function registerGoLiveCommands(program: Command): void {
  const golive = program.command('golive').description("the guide's go-live checklist, proven from stored evidence");
  golive
    .command('check')
    .description('one line per checklist item with pass/fail and its evidence: 14 days of paper/demo trading without a crash, the halts and kill switch drilled, every position protected, the champion\'s out-of-sample result, Telegram, the dashboard, the exchange account; exit 0 only when all pass')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions>();
      const { config, out } = commandContext(flags);
      const items = await goLiveCheck(config);
      printChecklist(items, out);
      if (items.some((i) => !i.pass)) process.exitCode = EXIT_NOT_READY;
    });
  golive
    .command('drill')
    .description('replay the newest stored candles through the risk engine three times — a daily-loss halt, a drawdown halt, the kill switch — and store the result golive check reads')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<GlobalOptions>();
      const { config, out } = commandContext(flags);
      const { sql } = await openStore(storeTargetFromConfig(config));
      try {
        const t = config.trading;
        const items = await runGoLiveDrill({
          sql,
          loader: new MarketDataLoader(sql),
          symbols: tradedSymbols(t),
          timeframe: config.bot.timeframe,
          limits: riskLimitsFromConfig(t),
          stopLoss: t.stop_loss,
          execution: { initialBalanceUsd: t.initial_balance, leverage: t.leverage, leverageBySymbol: leverageBySymbol(t) },
          instrumentProvider: bundledInstruments(),
        });
        printChecklist(items, out);
        if (items.some((i) => !i.pass)) process.exitCode = EXIT_NOT_READY;
      } finally {
        await sql.close();
      }
    });
}

function printChecklist(items: GoLiveItem[], out: Output): void {
  for (const i of items) out.text(`${i.pass ? 'PASS' : 'FAIL'}  ${i.item}: ${i.evidence}`);
  const failed = items.filter((i) => !i.pass).length;
  out.text(failed === 0 ? `ready: all ${items.length} items pass` : `NOT READY: ${failed} of ${items.length} items fail`);
  out.result({ ready: failed === 0, items });
}

/** Every item of the checklist: the stored evidence, then the live probes (each with a deadline). */
export async function goLiveCheck(config: Config): Promise<GoLiveItem[]> {
  const { sql } = await openStore(storeTargetFromConfig(config));
  let stored: GoLiveItem[];
  try {
    stored = await storedGoLiveEvidence(sql, config.bot.name, timeframeMs(config.bot.timeframe));
  } finally {
    await sql.close();
  }
  const t = config.telegram;
  const [telegram, dashboard, exchange] = await Promise.all([
    telegramProbe({ enabled: t.enabled, token: t.token, chatId: t.chat_id, bot: config.bot.name }),
    dashboardProbe(config.dashboard),
    exchangeProbe(config),
  ]);
  return [...stored, championEvidence(config), telegram, dashboard, exchange];
}

function championEvidence(config: Config): GoLiveItem {
  const item = `the champion's out-of-sample Sharpe > 0 and deflated Sharpe ≥ ${MIN_DEFLATED_SHARPE}`;
  const strategy = config.bot.strategy;
  if (strategy === AGENT_STRATEGY) return { item, pass: false, evidence: `bot.strategy agent (${config.bot.agent}): agents are not yet judged by this check; go live with a promoted model run` };
  if (strategy !== CHAMPION_STRATEGY) return { item, pass: false, evidence: `bot.strategy is ${strategy}, a baseline: real money goes to a promoted model whose out-of-sample result beats flat` };
  const run = activeRun(config.models.dir);
  if (!run) return { item, pass: false, evidence: `no promoted model in ${config.models.dir} (oitrader models promote <run-id>)` };
  const result = readTradingResult(join(config.models.dir, run));
  if (!result) return { item, pass: false, evidence: `run ${run} has no out-of-sample trading result: oitrader backtest --strategy ml-signal --model ${run}` };
  const pass = result.trades > 0 && result.sharpe > 0 && result.deflatedSharpe >= MIN_DEFLATED_SHARPE;
  return {
    item,
    pass,
    evidence: `run ${run} (${result.symbol}, ${result.testSpan[0].slice(0, 10)} → ${result.testSpan[1].slice(0, 10)}, ${result.source}): ${result.trades} trades, return ${result.returnPct.toFixed(2)}% (buy-and-hold ${result.buyAndHoldReturnPct.toFixed(2)}%), Sharpe ${result.sharpe.toFixed(2)}, deflated Sharpe ${result.deflatedSharpe.toFixed(3)}`,
  };
}

async function exchangeProbe(config: Config): Promise<GoLiveItem> {
  const item = 'the exchange account is set up (exchange check)';
  const mode = config.trading.mode;
  if (mode === 'paper' || mode === 'sim') return { item, pass: false, evidence: `trading.mode is ${mode}: check the account the bot will trade (trading.mode demo or live, then oitrader exchange check)` };
  const endpoint = tradingEndpoint(mode as ExchangeMode, config.binance);
  if (endpoint.apiKey === '' || endpoint.secret === '') return { item, pass: false, evidence: 'no BINANCE_API_KEY / BINANCE_SECRET in the environment' };
  const client = new UsdmClient({ restUrl: endpoint.restUrl, apiKey: endpoint.apiKey, secret: endpoint.secret, recvWindowMs: config.binance.recv_window_ms });
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${EXCHANGE_DEADLINE_MS / 1000} s`)), EXCHANGE_DEADLINE_MS);
    });
    const report = await Promise.race([checkAccountSetup(client, tradedSymbols(config.trading), config.trading.leverage), deadline]);
    const pass = report.blockers.length === 0;
    return {
      item,
      pass,
      evidence: `${endpoint.restUrl} (${mode}): ${report.hedgeMode ? 'HEDGE mode' : 'one-way'}, ${report.symbols.map((s) => `${s.symbol} ${s.marginType} ${s.leverage}x`).join(', ')}${report.blockers.length > 0 ? `; BLOCKED: ${report.blockers.join('; ')}` : ''}${report.changes.length > 0 ? `; the bot's start-up changes: ${report.changes.join('; ')}` : ''}`,
    };
  } catch (error) {
    return { item, pass: false, evidence: `${endpoint.restUrl} (${mode}): ${(error as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}
