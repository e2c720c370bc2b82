import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BinancePayloadError } from '../rest/errors.ts';
import { toAccount, toAlgoOrder, toBrackets, toCommissionRate, toOrder, toPositions, toUserEvent } from './mapper.ts';

const docs = JSON.parse(readFileSync(new URL('./fixtures/documented.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('mapper on Binance-documented responses', () => {
  it('reads a regular order (POST /fapi/v1/order) with its client id, status and quantities', () => {
    const o = toOrder(docs['POST /fapi/v1/order']);
    assert.equal(o.clientOrderId, 'testOrder', 'the client id is how an unknown outcome is looked up');
    assert.equal(o.orderId, 22542179);
    assert.equal(o.status, 'NEW');
    assert.equal(o.origQtyBase, 10);
    assert.equal(o.executedQtyBase, 0);
    assert.equal(toOrder(docs['GET /fapi/v1/order']).origQtyBase, 0.4);
  });

  it('reads an algo order with its trigger price and no actual order before it triggers', () => {
    const a = toAlgoOrder(docs['POST /fapi/v1/algoOrder']);
    assert.equal(a.algoId, 2146760);
    assert.equal(a.clientAlgoId, '6B2I9XVcJpCjqPAJ4YoFX7');
    assert.equal(a.triggerPriceUsd, 750);
    assert.equal(a.algoStatus, 'NEW');
    assert.equal(a.actualOrderId, undefined, 'an untriggered algo order has no regular order yet');
  });

  it('joins positionRisk v3 with symbolConfig for leverage and margin type', () => {
    const [p] = toPositions(docs['GET /fapi/v3/positionRisk'], docs['GET /fapi/v1/symbolConfig']);
    assert.equal(p.qtyBase, 30);
    assert.equal(p.entryPriceUsd, 0.385);
    assert.equal(p.leverage, 21, 'v3 positionRisk has no leverage: it must come from symbolConfig');
    assert.equal(p.marginType, 'CROSSED');
  });

  it('refuses a hedge-mode position row instead of netting LONG and SHORT silently', () => {
    const row = { ...(docs['GET /fapi/v3/positionRisk'] as object[])[0], positionSide: 'LONG' };
    assert.throws(() => toPositions([row], []), /hedge mode/);
  });

  it('reads account v3, brackets and commission', () => {
    const a = toAccount(docs['GET /fapi/v3/account']);
    assert.equal(a.availableBalanceUsd, 103.12345678);
    assert.equal(a.assets[0].asset, 'USDT');
    const b = toBrackets(docs['GET /fapi/v1/leverageBracket'], 'ETHUSDT');
    assert.deepEqual(b.brackets[0], { bracket: 1, initialLeverage: 75, notionalFloorUsd: 0, notionalCapUsd: 10000, maintMarginRatio: 0.0065, cumUsd: 0 });
    assert.equal(toCommissionRate(docs['GET /fapi/v1/commissionRate']).takerRate, 0.0004);
  });

  it('reads every documented user-data event', () => {
    const order = toUserEvent(docs.ORDER_TRADE_UPDATE);
    assert.equal(order?.kind, 'order');
    assert.equal(order?.kind === 'order' && order.clientOrderId, 'TEST');
    const account = toUserEvent(docs.ACCOUNT_UPDATE);
    assert.equal(account?.kind === 'account' && account.positions[1].isolatedWalletUsd, 13200.70726908);
    const algo = toUserEvent(docs.ALGO_UPDATE);
    assert.equal(algo?.kind === 'algo' && algo.algo.algoStatus, 'CANCELED');
    assert.equal(algo?.kind === 'algo' && algo.failReason, 'Reduce Only reject');
    const call = toUserEvent(docs.MARGIN_CALL);
    assert.equal(call?.kind === 'margin-call' && call.positions[0].maintenanceMarginUsd, 1.614445);
    assert.equal(toUserEvent(docs.listenKeyExpired)?.kind, 'listen-key-expired', 'E arrives as a string in the documented example');
  });

  it('links a triggered algo order to its actual order id', () => {
    const triggered = { ...(docs.ALGO_UPDATE as { o: object }), o: { ...(docs.ALGO_UPDATE as { o: object }).o, X: 'TRIGGERED', ai: '8886775' } };
    const event = toUserEvent(triggered);
    assert.equal(event?.kind === 'algo' && event.algo.actualOrderId, 8886775, 'the stop fill must be attributable through ALGO_UPDATE ai');
  });

  it('names the field of a malformed answer', () => {
    assert.throws(() => toOrder({ ...(docs['GET /fapi/v1/order'] as object), executedQty: 'abc' }), (e: unknown) => e instanceof BinancePayloadError && /executedQty/.test(e.message));
    assert.throws(() => toOrder({ ...(docs['GET /fapi/v1/order'] as object), status: 'WEIRD' }), /status/);
  });
});
