import {
  decideEntry,
  DEFAULT_RISK_LIMITS,
  entryBlock,
  initialRiskState,
  observeEquity,
  type LeverageBracket,
  type OrderRequest,
  type RiskDecision,
  type RiskEvent,
  type RiskLimits,
  type RiskState,
  type SymbolFilters,
} from '@oitrader/backtest';
import { applyFilters } from '@oitrader/backtest';
import { EXIT, HOLD, LONG, ACTION_COUNT, SCALE_IN, SCALE_OUT, SHORT } from './actions.ts';
import { MARKET_FEATURES, MARKET_OFFSET, OBSERVATION_SIZE, type MarketColumns } from './observation.ts';

/** Per-bar ML class probabilities aligned with the frame's rows (NaN where there is none). */
export interface MlSignal {
  pShort: Float64Array;
  pNeutral: Float64Array;
  pLong: Float64Array;
}

/** How actions become orders; recorded in the agent's manifest. */
export interface ActionConfig {
  /** Stop distance in ATR(14)s from the decision close. */
  stopAtr: number;
  /** A scale-in unit risks this fraction of riskPerTrade. */
  scaleInRisk: number;
  /** Most scale-in units on top of the first entry. */
  maxUnits: number;
}

export const DEFAULT_ACTION_CONFIG: ActionConfig = { stopAtr: 2, scaleInRisk: 0.5, maxUnits: 2 };

/** What the decision sees of the account at a bar's close (from the env's exchange or a backtest's StrategyContext). */
export interface AccountSnapshot {
  index: number;
  /** Open time of the bar (ms); the decision happens at its close. */
  timeMs: number;
  closeUsd: number;
  qtyBase: number;
  entryPriceUsd: number;
  liquidationPriceUsd: number;
  equityUsd: number;
  availableUsd: number;
}

export interface ControllerSetup {
  initialBalanceUsd: number;
  leverage: number;
  barMs: number;
  takerFeeRate: number;
  filters: SymbolFilters;
  brackets: LeverageBracket[];
  risk?: RiskLimits;
  actions?: ActionConfig;
}

const NONE: OrderRequest[] = [];

/**
 * The decision layer shared by the RL environment and the backtest/live
 * strategy: it keeps the state a decision needs (risk state, bars in trade,
 * stop, scale-in units), builds the observation and the action mask, and
 * turns an action into exchange orders under the risk manager's rules — a
 * stop with every entry, `riskPerTrade` sizing, the leverage cap, the daily
 * loss and drawdown halts (which also force an exit). Because the env and
 * the strategy run this same code on the same snapshots, the agent learns
 * under the rules it trades under.
 */
export class TradingController {
  readonly setup: Required<ControllerSetup>;
  riskState: RiskState;
  readonly riskEvents: RiskEvent[] = [];
  #snap: AccountSnapshot | undefined;
  #barsInTrade = 0;
  #stopUsd = Number.NaN;
  #units = 0;
  #flatten = false;
  #entryDecision: RiskDecision | undefined;
  #scaleDecision: RiskDecision | undefined;
  readonly #mask = new Uint8Array(ACTION_COUNT);
  readonly #atr: Float64Array;

  constructor(
    readonly market: MarketColumns,
    readonly ml: MlSignal,
    setup: ControllerSetup,
  ) {
    const risk = { ...(setup.risk ?? DEFAULT_RISK_LIMITS) };
    risk.leverage = Math.min(risk.leverage, setup.leverage);
    this.setup = { ...setup, risk, actions: setup.actions ?? DEFAULT_ACTION_CONFIG };
    this.#atr = market.columns[MARKET_FEATURES.indexOf('natr_14')];
    this.riskState = initialRiskState(setup.initialBalanceUsd, 0);
  }

  reset(equityUsd: number, timeMs: number): void {
    this.riskState = initialRiskState(equityUsd, timeMs + this.setup.barMs);
    this.riskEvents.length = 0;
    this.#snap = undefined;
    this.#barsInTrade = 0;
    this.#stopUsd = Number.NaN;
    this.#units = 0;
  }

  /** Feeds the account state at a bar's close; call once per bar before `observation`, `actionMask` and `orders`. */
  observe(snap: AccountSnapshot): void {
    this.#snap = { ...snap };
    const nowMs = snap.timeMs + this.setup.barMs;
    const update = observeEquity(this.riskState, this.setup.risk, nowMs, snap.equityUsd);
    this.riskState = update.state;
    for (const e of update.events) this.riskEvents.push(e);
    this.#flatten = update.flatten;
    if (snap.qtyBase === 0) {
      this.#barsInTrade = 0;
      this.#units = 0;
      this.#stopUsd = Number.NaN;
    } else {
      this.#barsInTrade++;
    }
    this.#entryDecision = undefined;
    this.#scaleDecision = undefined;
    this.#fillMask();
  }

  get entriesBlocked(): boolean {
    const s = this.#snapshot();
    return entryBlock(this.riskState, this.setup.risk, s.timeMs + this.setup.barMs, s.timeMs + this.setup.barMs) !== undefined;
  }

  #snapshot(): AccountSnapshot {
    if (!this.#snap) throw new Error('TradingController.observe must be called before deciding');
    return this.#snap;
  }

  #stopFor(side: 'long' | 'short'): number {
    const s = this.#snapshot();
    const distance = this.setup.actions.stopAtr * this.#atr[s.index] * s.closeUsd;
    if (!(distance > 0)) return Number.NaN;
    return side === 'long' ? s.closeUsd - distance : s.closeUsd + distance;
  }

  #decide(side: 'long' | 'short', riskScale: number): RiskDecision {
    const s = this.#snapshot();
    const stop = this.#stopFor(side);
    const nowMs = s.timeMs + this.setup.barMs;
    const limits = riskScale === 1 ? this.setup.risk : { ...this.setup.risk, riskPerTrade: this.setup.risk.riskPerTrade * riskScale };
    return decideEntry(this.riskState, limits, {
      side,
      entryPriceUsd: s.closeUsd,
      stopPriceUsd: stop,
      equityUsd: s.equityUsd,
      availableUsd: s.availableUsd,
      lastCandleCloseMs: nowMs,
      nowMs,
      filters: this.setup.filters,
      brackets: this.setup.brackets,
      feeRate: this.setup.takerFeeRate,
    });
  }

  #fillMask(): void {
    const s = this.#snapshot();
    const m = this.#mask;
    m.fill(0);
    m[HOLD] = 1;
    if (this.#flatten) return;
    if (s.qtyBase === 0) {
      // Long and short sizes differ only by the stop's side, so one refusal covers both.
      this.#entryDecision = this.#decide('long', 1);
      if (this.#entryDecision.allowed) {
        m[LONG] = 1;
        m[SHORT] = 1;
      }
      return;
    }
    m[EXIT] = 1;
    if (this.#units < this.setup.actions.maxUnits) {
      this.#scaleDecision = this.#decide(s.qtyBase > 0 ? 'long' : 'short', this.setup.actions.scaleInRisk);
      if (this.#scaleDecision.allowed) m[SCALE_IN] = 1;
    }
    const half = applyFilters(this.setup.filters, s.qtyBase > 0 ? 'sell' : 'buy', Math.abs(s.qtyBase) / 2, s.closeUsd, true);
    if (half.ok && half.qtyBase > 0 && half.qtyBase < Math.abs(s.qtyBase)) m[SCALE_OUT] = 1;
  }

  actionMask(): Uint8Array {
    return this.#mask;
  }

  /** The observation (OBSERVATION_SPEC order) for the last observed bar. */
  observation(out: Float32Array = new Float32Array(OBSERVATION_SIZE)): Float32Array {
    const s = this.#snapshot();
    const i = s.index;
    const side = Math.sign(s.qtyBase);
    const equity = s.equityUsd;
    const atrUsd = this.#atr[i] * s.closeUsd;
    out[0] = side;
    out[1] = equity > 0 ? (s.qtyBase * s.closeUsd) / (equity * this.setup.leverage) : 0;
    out[2] = side !== 0 && equity > 0 ? (s.qtyBase * (s.closeUsd - s.entryPriceUsd)) / equity : 0;
    out[3] = this.#barsInTrade / 288;
    out[4] = side !== 0 && Number.isFinite(this.#stopUsd) && atrUsd > 0 ? (side * (s.closeUsd - this.#stopUsd)) / atrUsd : 0;
    out[5] = side !== 0 && Number.isFinite(s.liquidationPriceUsd) ? Math.abs(s.closeUsd - s.liquidationPriceUsd) / s.closeUsd : 0;
    out[6] = this.#units / this.setup.actions.maxUnits;
    out[7] = finiteOr(this.ml.pShort[i], 1 / 3);
    out[8] = finiteOr(this.ml.pNeutral[i], 1 / 3);
    out[9] = finiteOr(this.ml.pLong[i], 1 / 3);
    for (let f = 0; f < this.market.columns.length; f++) out[MARKET_OFFSET + f] = finiteOr(this.market.columns[f][i], 0);
    const a = MARKET_OFFSET + this.market.columns.length;
    const rs = this.riskState;
    out[a] = equity / this.setup.initialBalanceUsd - 1;
    out[a + 1] = rs.peakEquityUsd > 0 ? 1 - equity / rs.peakEquityUsd : 0;
    out[a + 2] = rs.dayStartEquityUsd > 0 ? (equity - rs.dayStartEquityUsd) / (this.setup.risk.maxDailyLoss * rs.dayStartEquityUsd) : 0;
    out[a + 3] = this.entriesBlocked ? 1 : 0;
    return out;
  }

  /**
   * The orders for `action` at the last observed close (executing from the
   * next bar's open). A masked action gives no orders; a risk halt that
   * demands a flat book closes the position whatever the action.
   */
  orders(action: number): { orders: OrderRequest[]; valid: boolean } {
    const s = this.#snapshot();
    const closing: OrderRequest[] = s.qtyBase === 0 ? NONE : [{ type: 'market', side: s.qtyBase > 0 ? 'sell' : 'buy', qtyBase: Math.abs(s.qtyBase), reduceOnly: true }];
    if (this.#flatten) return { orders: closing, valid: action === HOLD };
    if (this.#mask[action] !== 1) return { orders: NONE, valid: false };
    switch (action) {
      case LONG:
      case SHORT: {
        const side = action === LONG ? 'long' : 'short';
        const decision = this.#entryDecision!;
        this.#stopUsd = this.#stopFor(side);
        this.#units = 0;
        return { orders: entryWithStop(side, decision.qtyBase, this.#stopUsd), valid: true };
      }
      case SCALE_IN: {
        const side = s.qtyBase > 0 ? 'long' : 'short';
        this.#stopUsd = this.#stopFor(side);
        this.#units++;
        return { orders: entryWithStop(side, this.#scaleDecision!.qtyBase, this.#stopUsd), valid: true };
      }
      case EXIT:
        return { orders: closing, valid: true };
      case SCALE_OUT:
        return { orders: [{ ...closing[0], qtyBase: Math.abs(s.qtyBase) / 2 }], valid: true };
      default:
        return { orders: NONE, valid: true };
    }
  }
}

function entryWithStop(side: 'long' | 'short', qtyBase: number, stopUsd: number): OrderRequest[] {
  const open = side === 'long' ? 'buy' : 'sell';
  const close = side === 'long' ? 'sell' : 'buy';
  return [
    { type: 'market', side: open, qtyBase },
    // The exchange-side stop goes in with the entry; it rests from the fill on (SimulatedExchange walks it inside the same bar).
    { type: 'stop', side: close, qtyBase, triggerUsd: stopUsd, reduceOnly: true },
  ];
}

function finiteOr(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}
