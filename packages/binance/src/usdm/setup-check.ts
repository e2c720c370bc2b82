import { OitraderError } from '@oitrader/core';
import type { UsdmTradingApi } from './types.ts';

export interface SymbolSetup {
  symbol: string;
  status: string;
  marginType: 'ISOLATED' | 'CROSSED';
  leverage: number;
  wantedLeverage: number;
  /** Leverage the first bracket allows (the bot's sizes are far below its cap). */
  maxLeverage: number;
  positionQtyBase: number;
  openOrders: number;
  openAlgoOrders: number;
}

export interface SetupReport {
  hedgeMode: boolean;
  multiAssetsMode: boolean;
  walletUsd: number;
  availableUsd: number;
  symbols: SymbolSetup[];
  /** Conditions under which the bot refuses to trade; a human must change them on Binance. */
  blockers: string[];
  /** What the bot's start-up would change itself (margin type, leverage). */
  changes: string[];
}

/**
 * The read-only half of the bot's start-up checks (freqtrade-style: refuse
 * rather than trade wrongly). Reads position mode, Multi-Assets mode, account,
 * margin type, leverage, brackets and open orders per symbol; changes nothing.
 */
export async function checkAccountSetup(client: UsdmTradingApi, symbols: string[], leverage: number): Promise<SetupReport> {
  await client.syncTime();
  const [hedgeMode, multiAssetsMode, account, info] = await Promise.all([client.hedgeMode(), client.multiAssetsMode(), client.account(), client.exchangeInfo()]);
  const blockers: string[] = [];
  const changes: string[] = [];
  if (hedgeMode) blockers.push('the account is in hedge mode (dualSidePosition): switch it to one-way mode in Binance Futures preferences');
  if (multiAssetsMode) blockers.push('the account is in Multi-Assets mode (forces cross margin): switch to single-asset mode');
  const rows: SymbolSetup[] = [];
  for (const symbol of symbols) {
    const rules = info.symbols.find((s) => s.symbol === symbol);
    if (!rules) {
      blockers.push(`${symbol} is not a USDⓈ-M symbol of this exchange`);
      continue;
    }
    const [[position], brackets, orders, algos] = await Promise.all([client.positions(symbol), client.leverageBrackets(symbol), client.openOrders(symbol), client.openAlgoOrders(symbol)]);
    const row: SymbolSetup = {
      symbol,
      status: rules.status,
      marginType: position.marginType,
      leverage: position.leverage,
      wantedLeverage: leverage,
      maxLeverage: brackets.brackets[0]?.initialLeverage ?? 0,
      positionQtyBase: position.qtyBase,
      openOrders: orders.length,
      openAlgoOrders: algos.length,
    };
    rows.push(row);
    if (rules.status !== 'TRADING') blockers.push(`${symbol} status is ${rules.status}, not TRADING`);
    if (leverage > row.maxLeverage) blockers.push(`${symbol}: leverage ${leverage}x exceeds the symbol's maximum ${row.maxLeverage}x`);
    if (row.marginType !== 'ISOLATED') {
      const busy = row.positionQtyBase !== 0 || row.openOrders > 0;
      (busy ? blockers : changes).push(`${symbol}: margin type ${row.marginType} → ISOLATED${busy ? ' (Binance refuses the change while a position or open order exists: close them first)' : ''}`);
    }
    if (row.leverage !== leverage) changes.push(`${symbol}: leverage ${row.leverage}x → ${leverage}x`);
  }
  return { hedgeMode, multiAssetsMode, walletUsd: account.totalWalletBalanceUsd, availableUsd: account.availableBalanceUsd, symbols: rows, blockers, changes };
}

/** The bot refuses to start: hedge mode, Multi-Assets mode, or a symbol it cannot trade. */
export class AccountSetupError extends OitraderError {
  readonly blockers: string[];

  constructor(blockers: string[]) {
    super(`the account is not ready to trade: ${blockers.join('; ')}`, { hint: 'fix these on Binance (Futures → preferences), then start again; `oitrader exchange check` shows the state', exitCode: 2 });
    this.blockers = blockers;
  }
}

/**
 * The bot's start-up: refuse on any blocker, else set ISOLATED margin and the
 * configured leverage per symbol (-4046 "already isolated" is fine) and return
 * the state after the changes.
 */
export async function prepareAccount(client: UsdmTradingApi, symbols: string[], leverage: number): Promise<SetupReport> {
  const before = await checkAccountSetup(client, symbols, leverage);
  if (before.blockers.length > 0) throw new AccountSetupError(before.blockers);
  for (const s of before.symbols) {
    if (s.marginType !== 'ISOLATED') await client.setMarginType(s.symbol, 'ISOLATED');
    if (s.leverage !== leverage) await client.setLeverage(s.symbol, leverage);
  }
  const after = await checkAccountSetup(client, symbols, leverage);
  if (after.blockers.length > 0 || after.changes.length > 0) throw new AccountSetupError([...after.blockers, ...after.changes.map((c) => `still needed after the start-up changes: ${c}`)]);
  return after;
}
