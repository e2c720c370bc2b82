import type { Command } from 'commander';
import { checkAccountSetup, tradingUrls, UsdmClient } from '@oitrader/binance';
import { OitraderError } from '@oitrader/core';
import { commandContext, type GlobalOptions } from '../context.ts';

/** Exit code when the account needs changes before the bot may trade (like `data health`'s 3). */
export const EXIT_NEEDS_CHANGES = 3;

interface CheckFlags extends GlobalOptions {
  symbols?: string;
}

export function registerExchangeCommands(program: Command): void {
  const exchange = program.command('exchange').description('the trading account on Binance, demo trading or the simulator (keys from BINANCE_API_KEY / BINANCE_SECRET)');
  exchange
    .command('check')
    .description('read position mode, Multi-Assets mode, margin type, leverage and brackets for the configured symbols and print what the bot would need changed; changes nothing')
    .option('--symbols <list>', 'comma-separated symbols (default: data.symbols from the config)')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<CheckFlags>();
      const { config, out } = commandContext(flags);
      const b = config.binance;
      if (b.api_key === '' || b.secret === '') {
        throw new OitraderError('no Binance API key/secret', { hint: 'export BINANCE_API_KEY and BINANCE_SECRET (demo-trading keys while binance.testnet is true)', exitCode: 2 });
      }
      const symbols = flags.symbols ? flags.symbols.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean) : config.data.symbols;
      const urls = tradingUrls(b);
      const client = new UsdmClient({ restUrl: urls.restUrl, apiKey: b.api_key, secret: b.secret, recvWindowMs: b.recv_window_ms });
      const report = await checkAccountSetup(client, symbols, config.trading.leverage);
      out.text(`exchange ${urls.restUrl} (${urls.venue}), ${client.signatureKind} key, clock offset ${client.offsetMs} ms`);
      out.text(`position mode: ${report.hedgeMode ? 'HEDGE (refused)' : 'one-way'}   Multi-Assets: ${report.multiAssetsMode ? 'ON (refused)' : 'off'}   wallet ${report.walletUsd.toFixed(2)} USDT, available ${report.availableUsd.toFixed(2)}`);
      for (const s of report.symbols) {
        out.text(`${s.symbol}: ${s.status}, margin ${s.marginType}, leverage ${s.leverage}x (want ${s.wantedLeverage}x, max ${s.maxLeverage}x), position ${s.positionQtyBase}, open orders ${s.openOrders}, open algo orders ${s.openAlgoOrders}`);
      }
      for (const line of report.blockers) out.text(`BLOCKED  ${line}`);
      for (const line of report.changes) out.text(`CHANGE   ${line} (the bot's start-up does this)`);
      if (report.blockers.length === 0 && report.changes.length === 0) out.text('ready: nothing to change');
      out.result({ restUrl: urls.restUrl, venue: urls.venue, ...report });
      if (report.blockers.length > 0 || report.changes.length > 0) process.exitCode = EXIT_NEEDS_CHANGES;
    });
}
