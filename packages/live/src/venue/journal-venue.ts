import { OitraderError } from '@oitrader/core';
import type { Bar } from '@oitrader/trading';
import type { StoredOrder } from '../state/bot-store.ts';
import type { OrderState, Venue, VenueAccount, VenueOrder } from './venue.ts';

/**
 * The bot's own record played back, for rebuilding an exchange bot's
 * strategies and risk state on restart: each step's account is the one its
 * decisions saw (stored with them), orders are answered with their stored
 * status, and nothing reaches the exchange. What happened on the exchange
 * since is settled afterwards by `Venue.resume`.
 */
export class JournalVenue implements Venue {
  readonly kind = 'exchange' as const;
  readonly #accounts: Map<number, VenueAccount>;
  readonly #orders: Map<string, StoredOrder>;
  #candleMs = Number.NaN;
  #changed: OrderState[] = [];

  constructor(accounts: Map<number, VenueAccount>, orders: StoredOrder[]) {
    this.#accounts = accounts;
    this.#orders = new Map(orders.map((o) => [o.clientOrderId, o]));
  }

  async onClosedBar(_symbol: string, bar: Bar): Promise<[]> {
    this.#candleMs = bar.timeMs;
    return [];
  }

  async account(): Promise<VenueAccount> {
    const account = this.#accounts.get(this.#candleMs);
    if (!account) {
      throw new OitraderError(`the bot's record has no account for the candle at ${new Date(this.#candleMs).toISOString()}: the session cannot be rebuilt`, {
        hint: 'start a new session under another bot.name (the exchange position is reconciled on start)',
        exitCode: 2,
      });
    }
    return account;
  }

  async submit(_symbol: string, orders: VenueOrder[]): Promise<OrderState[]> {
    const states = orders.map((o) => ({ clientOrderId: o.clientOrderId, status: this.#orders.get(o.clientOrderId)?.status ?? 'NEW' }));
    this.#changed.push(...states);
    return states;
  }

  async cancel(): Promise<number> {
    return 0;
  }

  changedOrders(): OrderState[] {
    const out = this.#changed;
    this.#changed = [];
    return out;
  }

  async findOrder(_symbol: string, clientOrderId: string): Promise<OrderState | undefined> {
    const o = this.#orders.get(clientOrderId);
    return o && { clientOrderId, status: o.status };
  }

  async openStops(): Promise<[]> {
    return [];
  }
}
