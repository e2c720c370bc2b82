import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BinanceOrderError, UsdmClient, makeClientId, prepareAccount } from '@oitrader/binance';
import { SimClock } from '../sim-clock.ts';
import { SimServer } from '../sim-server.ts';
import { FIVE_MIN_MS, handMadeDataset } from './testing.ts';

const T0 = Date.UTC(2026, 0, 5);
const KEY = 'walletKeyAAAA1111';
const SECRET = 'walletSecretBBBB2222';
const flat = (price: number) => Array.from({ length: 20 }, () => [price, price, price, price] as [number, number, number, number]);
const id = (symbol: string, attempt = 0) => makeClientId({ prefix: 'ow', intent: 'entry', symbol, candleTimeMs: T0, attempt });

describe('the simulator keeps one wallet across symbols, as Binance does', () => {
  let sim: SimServer;
  let client: UsdmClient;
  before(async () => {
    sim = await SimServer.start({ datasets: [handMadeDataset(T0, flat(100), 'SOLUSDT'), handMadeDataset(T0, flat(60_000), 'BTCUSDT')], clock: new SimClock(T0 + 5 * FIVE_MIN_MS + 1000), trading: { apiKey: KEY, secret: SECRET } });
    client = new UsdmClient({ restUrl: sim.restUrl, apiKey: KEY, secret: SECRET, clock: sim.clock });
    await prepareAccount(client, ['SOLUSDT', 'BTCUSDT'], 5);
  });
  after(async () => sim.close());

  it('margin one symbol holds is not available to another: the second order answers -2019 Margin is insufficient', async () => {
    // 8,000 USDT of SOL at 5x locks 1,600 of the 2,000 wallet.
    const sol = await client.placeOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', qtyBase: 80, clientOrderId: id('SOLUSDT') });
    assert.equal(sol.status, 'FILLED');
    const account = await client.account();
    assert.ok(account.availableBalanceUsd < 400 && account.availableBalanceUsd > 390, `available ${account.availableBalanceUsd}: the SOL margin comes out of the one wallet`);
    // 3,000 USDT of BTC needs 600: alone on the wallet it would fit, beside the SOL position it does not.
    await assert.rejects(
      client.placeOrder({ symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyBase: 0.05, clientOrderId: id('BTCUSDT') }),
      (e: unknown) => e instanceof BinanceOrderError && e.code === -2019,
      'an order needing margin another position holds must be refused with -2019',
    );
    const btc = await client.placeOrder({ symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyBase: 0.02, clientOrderId: id('BTCUSDT', 1) });
    assert.equal(btc.status, 'FILLED', 'what the remaining margin covers is accepted');
    const after = await client.account();
    const positions = await client.positions();
    assert.deepEqual(positions.filter((p) => p.qtyBase !== 0).map((p) => [p.symbol, p.qtyBase]).sort(), [['BTCUSDT', 0.02], ['SOLUSDT', 80]]);
    assert.ok(Math.abs(after.totalWalletBalanceUsd - (2000 - 8000 * 0.0005 * (1 + 1e-4) - 1200 * 0.0005 * (1 + 1e-4))) < 0.05, `one wallet paid both fees: ${after.totalWalletBalanceUsd}`);
  });
});
