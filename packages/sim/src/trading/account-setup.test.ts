import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AccountSetupError, UsdmClient, prepareAccount } from '@oitrader/binance';
import { SimClock } from '../sim-clock.ts';
import { SimServer, SIM_API_KEY, SIM_SECRET } from '../sim-server.ts';
import { FIVE_MIN_MS, handMadeDataset } from './testing.ts';

const T0 = Date.UTC(2026, 2, 2);

describe('bot start-up checks against the simulator', () => {
  let sim: SimServer;
  let client: UsdmClient;
  before(async () => {
    sim = await SimServer.start({ datasets: [handMadeDataset(T0, Array.from({ length: 20 }, () => [20, 20.1, 19.9, 20]))], clock: new SimClock(T0 + 3 * FIVE_MIN_MS) });
    client = new UsdmClient({ restUrl: sim.restUrl, apiKey: SIM_API_KEY, secret: SIM_SECRET, clock: sim.clock });
  });
  after(() => sim.close());

  it('refuses to trade in hedge mode or Multi-Assets mode, changing nothing', async () => {
    for (const mode of ['hedgeMode', 'multiAssetsMode'] as const) {
      sim.trading.engine[mode] = true;
      await assert.rejects(prepareAccount(client, ['SOLUSDT'], 5), (e: unknown) => e instanceof AccountSetupError && e.exitCode === 2, `${mode} must block the bot`);
      sim.trading.engine[mode] = false;
    }
    assert.deepEqual(sim.trading.engine.symbolConfig('SOLUSDT').map((c) => [c.marginType, c.leverage]), [['CROSSED', 20]], 'a refused start-up must not change the account');
  });

  it('sets ISOLATED and the configured leverage, and a second start finds nothing to change', async () => {
    const report = await prepareAccount(client, ['SOLUSDT'], 5);
    assert.deepEqual(report.symbols.map((s) => [s.marginType, s.leverage]), [['ISOLATED', 5]]);
    const again = await prepareAccount(client, ['SOLUSDT'], 5);
    assert.deepEqual(again.changes, []);
  });

  it('refuses a symbol the exchange does not list', async () => {
    await assert.rejects(prepareAccount(client, ['NOPEUSDT'], 5), /NOPEUSDT is not a USDⓈ-M symbol/);
  });
});
