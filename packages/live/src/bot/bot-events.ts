import { EventEmitter } from 'node:events';
import type { EquitySnapshot, StoredDecision, StoredFill, StoredFunding, StoredOrder, StoredRiskEvent } from '../state/bot-store.ts';

/** What reconciliation found on start: every difference between the bot's record and the venue. */
export interface ReconcileReport {
  /** Candles replayed to rebuild the strategy and paper account. */
  replayedBars: number;
  /** Differences found at this start and never reported before. */
  differences: string[];
  /** Differences an earlier start already reported (and recorded as a reconcile_difference risk event): not repeated. */
  knownDifferences?: number;
}

/**
 * The bot's notifications, emitted only after the step that produced them has
 * committed, so a subscriber (dashboard, Telegram) never reports what a crash
 * then undid. Subscribe with `bot.events.on('fill', …)`.
 */
export interface BotEventMap {
  decision: [StoredDecision];
  order: [StoredOrder];
  fill: [StoredFill];
  /** A funding settlement, emitted before the same step's fills (it settles at the candle's open, before they fill). */
  funding: [StoredFunding];
  risk: [StoredRiskEvent];
  equity: [EquitySnapshot];
  reconciled: [ReconcileReport];
}

export class BotEvents extends EventEmitter<BotEventMap> {}
