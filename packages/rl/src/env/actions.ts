/**
 * The six actions (docs/phase-4-rl.md defines each exactly). One-way mode:
 * a position is long, short or flat, never both.
 *
 * - HOLD: no order. Always allowed.
 * - LONG / SHORT: from flat only, open a position sized by the risk manager
 *   (`decideEntry`: a fill at the stop loses `riskPerTrade` of equity), with
 *   an exchange-side stop `stopAtr` ATRs away. Masked while in a position
 *   (to reverse, EXIT first), and while the risk manager refuses entries.
 * - EXIT: close the whole position at the next open. Masked when flat.
 * - SCALE_IN: add a unit sized for `scaleInRisk` × riskPerTrade with its own
 *   stop, in the position's direction; masked when flat, at `maxUnits`, or when
 *   the risk manager refuses.
 * - SCALE_OUT: close half the position; masked when flat or when half is
 *   under the exchange's minimum order.
 * Masked actions are removed from the policy's choice (MaskablePPO); calling
 * `step` with one anyway does nothing (as HOLD) and counts in `info.invalid`.
 */
export const ACTIONS = ['HOLD', 'LONG', 'SHORT', 'EXIT', 'SCALE_IN', 'SCALE_OUT'] as const;
export type ActionName = (typeof ACTIONS)[number];
export const HOLD = 0;
export const LONG = 1;
export const SHORT = 2;
export const EXIT = 3;
export const SCALE_IN = 4;
export const SCALE_OUT = 5;
export const ACTION_COUNT = ACTIONS.length;
