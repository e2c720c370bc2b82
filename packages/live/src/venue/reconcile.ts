import { roundToStep } from '@oitrader/trading';
import type { AlgoOrder, Order, UsdmTradingApi } from '@oitrader/binance';
import { OitraderError, silentLogger, type Logger } from '@oitrader/core';
import { parseClientId } from '@oitrader/binance';
import { clientOrderId } from '../bot/client-id.ts';
import type { StoredPosition } from '../state/bot-store.ts';

export interface ReconcileOptions {
  client: UsdmTradingApi;
  bot: string;
  symbol: string;
  /** What the bot's database says it holds (undefined: nothing stored). */
  stored: StoredPosition | undefined;
  /** bot.on_unknown_position: a position the bot did not record is adopted (and stopped) or closed. */
  onUnknownPosition: 'adopt' | 'close';
  /** bot.on_foreign_orders: another client's open orders on this symbol stop the start-up (refuse) or are only reported. */
  onForeignOrders?: 'refuse' | 'ignore';
  /** trading.stop_loss, for a stop re-placed where the stored one is unusable. */
  stopLoss: number;
  tickSize: number;
  /** Open time of the candle the start-up belongs to (client ids of the orders placed here). */
  candleTimeMs: number;
  log?: Logger;
}

export interface ExchangeReconcileReport {
  differences: string[];
  /** The stops protecting the position after reconciliation (adopted into the venue). */
  stops: AlgoOrder[];
  qtyBase: number;
  /** The market order that closed an unknown position (bot.on_unknown_position: close). */
  closedWith?: Order;
  walletUsd: number;
  availableUsd: number;
}

const closes = (algo: AlgoOrder, qty: number) => (qty > 0 ? algo.side === 'SELL' : algo.side === 'BUY') && (algo.closePosition || algo.qtyBase >= Math.abs(qty));

/**
 * Start-up reconciliation against the exchange, before any decision: reads
 * the position, the open regular and algo orders and the balance, logs every
 * difference from the bot's record, adopts or closes a position it did not
 * know, re-places a missing stop and cancels stops left on a flat book. A
 * closePosition stop reports quantity 0 on Binance: it still protects the
 * whole position and is kept.
 */
export async function reconcileWithExchange(o: ReconcileOptions): Promise<ExchangeReconcileReport> {
  const log = o.log ?? silentLogger;
  const { client, symbol } = o;
  const differences: string[] = [];
  const note = (d: string) => {
    differences.push(d);
    log.warn(`reconcile: ${d}`);
  };
  const [positions, algos, regular, account] = await Promise.all([client.positions(symbol), client.openAlgoOrders(symbol), client.openOrders(symbol), client.account()]);
  const position = positions.find((p) => p.symbol === symbol);
  let qty = position?.qtyBase ?? 0;
  let closedWith: Order | undefined;
  const storedQty = o.stored?.qtyBase ?? 0;
  if (Math.abs(qty - storedQty) > 1e-12) note(`the exchange holds ${qty} ${symbol}, the bot's record ${storedQty}`);
  const ours = (id: string) => parseClientId(id)?.prefix === o.bot;
  const foreign = [
    ...regular.filter((r) => !ours(r.clientOrderId)).map((r) => `${r.type} ${r.side} ${r.origQtyBase} ${symbol} (${r.clientOrderId})`),
    ...algos.filter((a) => !ours(a.clientAlgoId)).map((a) => `${a.orderType} ${a.side} ${a.closePosition ? 'closePosition' : a.qtyBase} ${symbol} at ${a.triggerPriceUsd} (${a.clientAlgoId})`),
  ];
  if (foreign.length > 0 && (o.onForeignOrders ?? 'refuse') === 'refuse') {
    throw new OitraderError(`bot "${o.bot}" refuses to trade beside ${foreign.length} open orders it did not place: ${foreign.join('; ')}`, {
      hint: `another bot or a person trades ${symbol} on this account: cancel those orders, trade ${symbol} from one bot only, or set bot.on_foreign_orders: ignore to trade beside them`,
      exitCode: 2,
    });
  }
  for (const f of foreign) note(`open order of another client on the exchange (bot.on_foreign_orders: ignore): ${f}`);
  for (const r of regular.filter((r) => ours(r.clientOrderId))) note(`open ${r.type} ${r.side} order ${r.clientOrderId} (${r.origQtyBase}) on the exchange`);
  if (qty !== 0 && storedQty === 0 && o.onUnknownPosition === 'close') {
    // Its own id per start-up (this machine's clock in the id's time field): an earlier start-up's close, found by
    // a shared id, would be taken for this one and the position assumed flat.
    const id = clientOrderId(o.bot, 'exit', symbol, Date.now(), 2);
    closedWith = await client.placeOrder({ symbol, side: qty > 0 ? 'SELL' : 'BUY', type: 'MARKET', qtyBase: Math.abs(qty), reduceOnly: true, clientOrderId: id });
    // Flat only when the exchange says so: the stops below are cancelled on that word alone.
    qty = (await client.positions(symbol)).find((p) => p.symbol === symbol)?.qtyBase ?? 0;
    note(`closed the unknown position (bot.on_unknown_position: close) with ${id}: ${symbol} position now ${qty}`);
  }
  // Another client's conditional orders are neither cancelled nor taken for this bot's protection.
  const own = algos.filter((a) => ours(a.clientAlgoId));
  let stops = own.filter((a) => a.orderType === 'STOP_MARKET' && (a.algoStatus === 'NEW' || a.algoStatus === 'TRIGGERING'));
  if (qty === 0 && own.length > 0) {
    if (own.length === algos.length) await client.cancelAllAlgoOrders(symbol);
    else for (const a of own) await client.cancelAlgoOrder({ clientAlgoId: a.clientAlgoId });
    note(`cancelled ${own.length} conditional orders left on a flat ${symbol} book`);
    stops = [];
  }
  if (qty !== 0 && !stops.some((s) => closes(s, qty))) {
    const entry = position!.entryPriceUsd;
    const storedStop = o.stored?.stopUsd;
    const usable = storedStop !== undefined && (qty > 0 ? storedStop < entry : storedStop > entry);
    const trigger = usable ? storedStop : roundToStep(entry * (1 - Math.sign(qty) * o.stopLoss), o.tickSize, 'nearest');
    const placed = await client.ensureAlgoOrder({
      symbol,
      side: qty > 0 ? 'SELL' : 'BUY',
      type: 'STOP_MARKET',
      triggerPriceUsd: trigger,
      closePosition: true,
      workingType: 'MARK_PRICE',
      priceProtect: true,
      clientAlgoId: clientOrderId(o.bot, 'stop', symbol, o.candleTimeMs, 2),
    });
    stops = [...stops, placed];
    note(`the ${qty} ${symbol} position had no stop: placed STOP_MARKET closePosition at ${trigger}`);
  }
  log.info(`reconcile: ${symbol} position ${qty}, ${stops.length} stops, wallet ${account.totalWalletBalanceUsd} USDT, available ${account.availableBalanceUsd} USDT`);
  return { differences, stops, qtyBase: qty, closedWith, walletUsd: account.totalWalletBalanceUsd, availableUsd: account.availableBalanceUsd };
}
