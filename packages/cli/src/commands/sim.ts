import type { Command } from 'commander';
import { formatUtc, numberFlag, OitraderError, parseUtcTimeMs } from '@oitrader/core';
import { archiveSymbols, datasetSpan, loadReplayDataset, SimClock, SimServer, SIM_API_KEY } from '@oitrader/sim';
import { createOutput } from '../output.ts';
import type { GlobalOptions } from '../context.ts';
import { SAMPLE_ARCHIVE } from './demo.ts';

interface SimFlags extends GlobalOptions {
  archive: string;
  symbol?: string;
  symbols?: string;
  port: number;
  speed: number;
  start?: string;
  for?: number;
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run the local Binance-compatible simulator (REST, WebSocket streams, archive files) replaying stored real data')
    .option('--archive <dir>', 'directory in Binance archive layout to replay', SAMPLE_ARCHIVE)
    .option('--symbols <list>', 'comma-separated symbols to replay (default: every symbol the archive holds)')
    .option('--symbol <symbol>', 'replay this one symbol (same as --symbols SYMBOL)')
    .option('--port <port>', 'TCP port on 127.0.0.1 (0 = any free port)', numberFlag('--port', 'port'), 8090)
    .option('--speed <n>', 'market seconds per real second; 0 = stepped through POST /sim/clock', numberFlag('--speed', 'speed'), 1)
    .option('--start <time>', 'market time to start at, UTC (default: one day after the first candle)')
    .option('--for <seconds>', 'stop after this many seconds (default: until Ctrl-C)', numberFlag('--for', 'positiveSeconds'))
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<SimFlags>();
      const out = createOutput(flags);
      const symbols = await replayedSymbols(flags);
      const datasets = await Promise.all(symbols.map((symbol) => loadReplayDataset(flags.archive, symbol)));
      const spans = datasets.map(datasetSpan);
      // The market clock is one for every symbol: it runs over the span they all cover.
      const span = { start: Math.max(...spans.map((x) => x.start)), end: Math.min(...spans.map((x) => x.end)), interval: spans[0].interval };
      const start = flags.start ? parseUtcTimeMs(flags.start) : span.start + 86_400_000;
      const { speed, port } = flags;
      // A market minute's request weight per real minute would starve a bot replayed at N×: the budget scales with the speed (published in exchangeInfo).
      const weightPerMinute = 2400 * Math.max(1, speed);
      const sim = await SimServer.start({ datasets, clock: new SimClock(start, speed), port, archiveDir: flags.archive, weightPerMinute });
      out.text(`simulator replaying ${symbols.join(', ')} from ${datasets[0].provenance}: ${formatUtc(span.start)} … ${formatUtc(span.end)} (${span.interval}), one account for all`);
      out.text(`market time ${formatUtc(start)} at ${speed === 0 ? 'stepped (POST /sim/clock {"advanceMs": 300000})' : `${speed}×`}`);
      out.text(`REST ${sim.restUrl}   streams ${sim.wsUrl}/market/stream?streams=… and ${sim.wsUrl}/public/… (the legacy /stream root is silent, as on Binance)   archive ${sim.restUrl}/data/futures/um/…`);
      out.text(`trading: signed REST with the key ${SIM_API_KEY} and the test secret of docs/phase-5-exchange.md, user data at ${sim.wsUrl}/private/ws?listenKey=…`);
      out.text(`point the collector at it:  binance: { rest_url: "${sim.restUrl}", ws_url: "${sim.wsUrl}" }  data: { symbols: [${symbols.join(', ')}] }   trading: { symbols: [${symbols.join(', ')}] }`);
      out.text('faults: POST /sim/faults {"rest": {"tooManyRequests": 3}} or {"trading": {"timeoutAfterAccept": 1}}, POST /sim/drop-streams, /sim/drop-user-streams, /sim/expire-listen-keys; state: GET /sim/state');
      out.result({ restUrl: sim.restUrl, wsUrl: sim.wsUrl, symbols, start, speed });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (flags.for !== undefined) setTimeout(resolve, flags.for * 1000).unref();
      });
      await sim.close();
    });
}

/** `--symbol`, `--symbols`, or every symbol of the archive; a symbol the archive lacks is a usage error naming those it has. */
async function replayedSymbols(flags: SimFlags): Promise<string[]> {
  const available = await archiveSymbols(flags.archive);
  if (available.length === 0) throw new OitraderError(`no Binance archive files under ${flags.archive}`, { hint: 'point --archive at a directory in Binance\'s archive layout (data/sample/binance-archive is one)', exitCode: 2 });
  if (flags.symbol !== undefined && flags.symbols !== undefined) throw new OitraderError('give --symbol or --symbols, not both', { exitCode: 2 });
  const asked = (flags.symbols ?? flags.symbol)?.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s.length > 0);
  if (!asked) return available;
  const missing = asked.filter((s) => !available.includes(s));
  if (missing.length > 0) throw new OitraderError(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in ${flags.archive}`, { hint: `it holds ${available.join(', ')}`, exitCode: 2 });
  return asked;
}
