import type { Command } from 'commander';
import { formatUtc, numberFlag, parseUtcTimeMs } from '@oitrader/core';
import { datasetSpan, loadReplayDataset, SimClock, SimServer, SIM_API_KEY } from '@oitrader/sim';
import { createOutput } from '../output.ts';
import type { GlobalOptions } from '../context.ts';
import { SAMPLE_ARCHIVE } from './demo.ts';

interface SimFlags extends GlobalOptions {
  archive: string;
  symbol: string;
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
    .option('--symbol <symbol>', 'symbol to replay', 'SOLUSDT')
    .option('--port <port>', 'TCP port on 127.0.0.1 (0 = any free port)', numberFlag('--port', 'port'), 8090)
    .option('--speed <n>', 'market seconds per real second; 0 = stepped through POST /sim/clock', numberFlag('--speed', 'speed'), 1)
    .option('--start <time>', 'market time to start at, UTC (default: one day after the first candle)')
    .option('--for <seconds>', 'stop after this many seconds (default: until Ctrl-C)', numberFlag('--for', 'positiveSeconds'))
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<SimFlags>();
      const out = createOutput(flags);
      const dataset = await loadReplayDataset(flags.archive, flags.symbol);
      const span = datasetSpan(dataset);
      const start = flags.start ? parseUtcTimeMs(flags.start) : span.start + 86_400_000;
      const { speed, port } = flags;
      // A market minute's request weight per real minute would starve a bot replayed at N×: the budget scales with the speed (published in exchangeInfo).
      const weightPerMinute = 2400 * Math.max(1, speed);
      const sim = await SimServer.start({ datasets: [dataset], clock: new SimClock(start, speed), port, archiveDir: flags.archive, weightPerMinute });
      out.text(`simulator replaying ${flags.symbol} from ${dataset.provenance}: ${formatUtc(span.start)} … ${formatUtc(span.end)} (${span.interval})`);
      out.text(`market time ${formatUtc(start)} at ${speed === 0 ? 'stepped (POST /sim/clock {"advanceMs": 300000})' : `${speed}×`}`);
      out.text(`REST ${sim.restUrl}   streams ${sim.wsUrl}/market/stream?streams=… and ${sim.wsUrl}/public/… (the legacy /stream root is silent, as on Binance)   archive ${sim.restUrl}/data/futures/um/…`);
      out.text(`trading: signed REST with the key ${SIM_API_KEY} and the test secret of docs/phase-5-exchange.md, user data at ${sim.wsUrl}/private/ws?listenKey=…`);
      out.text(`point the collector at it:  binance: { rest_url: "${sim.restUrl}", ws_url: "${sim.wsUrl}" }  data: { symbols: [${flags.symbol}] }`);
      out.text('faults: POST /sim/faults {"rest": {"tooManyRequests": 3}} or {"trading": {"timeoutAfterAccept": 1}}, POST /sim/drop-streams, /sim/drop-user-streams, /sim/expire-listen-keys; state: GET /sim/state');
      out.result({ restUrl: sim.restUrl, wsUrl: sim.wsUrl, start, speed });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (flags.for !== undefined) setTimeout(resolve, flags.for * 1000).unref();
      });
      await sim.close();
    });
}
