import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { loadReplayDataset, SimClock, SimServer, SIM_API_KEY, SIM_SECRET } from '@oitrader/sim';
import { EXIT_NEEDS_CHANGES } from './exchange.ts';

/** The XRPUSDT week fixture (data/fixtures/xrpusdt-2021-week): real candles, so the simulator has prices. */
const FIXTURE_ARCHIVE = fileURLToPath(new URL('../../../../data/fixtures/xrpusdt-2021-week/binance-archive', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/oitrader.mjs', import.meta.url));

/** Runs the CLI in a child process (the simulator keeps serving in this one); keys come only from the config file. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.BINANCE_API_KEY;
  delete env.BINANCE_SECRET;
  const child = spawn(process.execPath, [BIN, ...args], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('oitrader exchange check against the simulator', () => {
  let sim: SimServer;
  let config: string;

  before(async () => {
    const ds = await loadReplayDataset(FIXTURE_ARCHIVE, 'XRPUSDT');
    sim = await SimServer.start({ datasets: [ds], clock: new SimClock(ds.klines.get('5m')![0].openTime + 86_400_000) });
    config = join(mkdtempSync(join(tmpdir(), 'oitrader-exchange-')), 'config.yaml');
    writeFileSync(config, ['binance:', `  rest_url: ${sim.restUrl}`, `  ws_url: ${sim.wsUrl}`, `  api_key: ${SIM_API_KEY}`, `  secret: ${SIM_SECRET}`, 'trading:', '  leverage: 5', 'data:', '  symbols: [XRPUSDT]', ''].join('\n'));
  });
  after(() => sim.close());

  it('prints what the bot would change (cross → ISOLATED, 20x → 5x), changes nothing, and exits 3', async () => {
    const { code, stdout } = await run(['--config', config, 'exchange', 'check']);
    assert.equal(code, EXIT_NEEDS_CHANGES, stdout);
    assert.ok(!stdout.includes(SIM_SECRET), 'the secret is printed');
    assert.match(stdout, /position mode: one-way/);
    assert.match(stdout, /CHANGE {3}XRPUSDT: margin type CROSSED → ISOLATED/);
    assert.match(stdout, /CHANGE {3}XRPUSDT: leverage 20x → 5x/);
    const [config0] = sim.trading.engine.symbolConfig('XRPUSDT');
    assert.deepEqual([config0.marginType, config0.leverage], ['CROSSED', 20], 'a check must not change the account');
  });

  it('refuses a hedge-mode account as a blocker, and says ready once everything is set', async () => {
    sim.trading.engine.hedgeMode = true;
    let { stdout } = await run(['--config', config, 'exchange', 'check']);
    assert.match(stdout, /BLOCKED {2}the account is in hedge mode/);
    sim.trading.engine.hedgeMode = false;
    sim.trading.engine.setMarginType('XRPUSDT', 'ISOLATED');
    sim.trading.engine.setLeverage('XRPUSDT', 5);
    const ready = await run(['--config', config, 'exchange', 'check']);
    stdout = ready.stdout;
    assert.equal(ready.code, 0, stdout);
    assert.match(stdout, /ready: nothing to change/);
  });

  it('without keys it exits 2 with the fix', async () => {
    const bare = join(mkdtempSync(join(tmpdir(), 'oitrader-exchange-')), 'config.yaml');
    writeFileSync(bare, ['binance:', `  rest_url: ${sim.restUrl}`, ''].join('\n'));
    const { code, stderr } = await run(['--config', bare, 'exchange', 'check']);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /fix: export BINANCE_API_KEY and BINANCE_SECRET/);
  });
});
