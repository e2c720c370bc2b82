import { enter, exit, scaleIn, scaleOut, type Intent, type StrategyContext } from '@oitrader/trading';
import { EXIT, HOLD, LONG, ACTION_COUNT, SCALE_IN, SCALE_OUT, SHORT } from './actions.ts';
import { MARKET_FEATURES, MARKET_OFFSET, OBSERVATION_SIZE, type MarketColumns } from './observation.ts';

/** Per-bar ML class probabilities aligned with the frame's rows (NaN where there is none). */
export interface MlSignal {
  pShort: Float64Array;
  pNeutral: Float64Array;
  pLong: Float64Array;
}

/** How actions become intents; recorded in the agent's manifest. */
export interface ActionConfig {
  /** Stop distance in ATR(14)s from the decision close. */
  stopAtr: number;
  /** A scale-in unit risks this fraction of riskPerTrade. */
  scaleInRisk: number;
  /** Most scale-in units on top of the first entry (the agent's own ceiling; trading.max_scale_ins is the risk engine's). */
  maxUnits: number;
}

export const DEFAULT_ACTION_CONFIG: ActionConfig = { stopAtr: 2, scaleInRisk: 0.5, maxUnits: 2 };

export interface ControllerSetup {
  initialBalanceUsd: number;
  leverage: number;
  /** trading.max_daily_loss: scales the observation's daily-PnL element. */
  maxDailyLoss: number;
  actions?: ActionConfig;
}

/** What the controller reads at a bar's close: the strategy context every runner builds (env, backtest, bot). */
export type ControllerView = Pick<StrategyContext, 'timeMs' | 'closeUsd' | 'qtyBase' | 'entryPriceUsd' | 'liquidationPriceUsd' | 'equityUsd' | 'risk' | 'check'>;

const NONE: readonly Intent[] = [];
const EXIT_INTENTS: readonly Intent[] = [exit()];
const HALF_OUT: readonly Intent[] = [scaleOut(0.5)];

/**
 * The RL agent's decision layer, shared by the env it trains in, the
 * backtest that scores it and the bot that trades it: it builds the
 * observation, asks the risk engine which actions it would take now (the
 * action mask is the engine's own verdict, `ctx.check`), and turns the chosen
 * action into an intent for that same engine. So the agent is trained,
 * tested and traded under one set of rules with the same six actions.
 */
export class TradingController {
  readonly setup: Required<ControllerSetup>;
  #view: ControllerView | undefined;
  #row = 0;
  #barsInTrade = 0;
  #stopLong = Number.NaN;
  #stopShort = Number.NaN;
  readonly #mask = new Uint8Array(ACTION_COUNT);
  readonly #atr: Float64Array;

  constructor(
    readonly market: MarketColumns,
    readonly ml: MlSignal,
    setup: ControllerSetup,
  ) {
    this.setup = { ...setup, actions: setup.actions ?? DEFAULT_ACTION_CONFIG };
    this.#atr = market.columns[MARKET_FEATURES.indexOf('natr_14')];
  }

  reset(): void {
    this.#view = undefined;
    this.#barsInTrade = 0;
  }

  /** Feeds the bar's close (row `row` of the market and ML columns); call once per bar before `observation`, `actionMask` and `intents`. */
  observe(view: ControllerView, row: number): void {
    this.#view = view;
    this.#row = row;
    this.#barsInTrade = view.qtyBase === 0 ? 0 : this.#barsInTrade + 1;
    const distance = this.setup.actions.stopAtr * this.#atr[row] * view.closeUsd;
    this.#stopLong = distance > 0 ? view.closeUsd - distance : Number.NaN;
    this.#stopShort = distance > 0 ? view.closeUsd + distance : Number.NaN;
    this.#fillMask(view);
  }

  #fillMask(v: ControllerView): void {
    const m = this.#mask;
    m.fill(0);
    m[HOLD] = 1;
    if (v.risk.flattening) return;
    if (v.qtyBase === 0) {
      if (v.check(this.#entry(LONG)[0]).allowed) m[LONG] = 1;
      if (v.check(this.#entry(SHORT)[0]).allowed) m[SHORT] = 1;
      return;
    }
    m[EXIT] = 1;
    if (v.risk.scaleIns < this.setup.actions.maxUnits && v.check(this.#scaleIn(v)[0]).allowed) m[SCALE_IN] = 1;
    if (v.check(HALF_OUT[0]).allowed) m[SCALE_OUT] = 1;
  }

  #entry(action: typeof LONG | typeof SHORT): Intent[] {
    return action === LONG ? [enter('long', { stopUsd: this.#stopLong })] : [enter('short', { stopUsd: this.#stopShort })];
  }

  #scaleIn(v: ControllerView): Intent[] {
    return [scaleIn(this.setup.actions.scaleInRisk, { stopUsd: v.qtyBase > 0 ? this.#stopLong : this.#stopShort })];
  }

  actionMask(): Uint8Array {
    return this.#mask;
  }

  #viewOrThrow(): ControllerView {
    if (!this.#view) throw new Error('TradingController.observe must be called before deciding');
    return this.#view;
  }

  /** The observation (OBSERVATION_SPEC order) for the last observed bar. */
  observation(out: Float32Array = new Float32Array(OBSERVATION_SIZE)): Float32Array {
    const v = this.#viewOrThrow();
    const i = this.#row;
    const side = Math.sign(v.qtyBase);
    const equity = v.equityUsd;
    const atrUsd = this.#atr[i] * v.closeUsd;
    const risk = v.risk;
    out[0] = side;
    out[1] = equity > 0 ? (v.qtyBase * v.closeUsd) / (equity * this.setup.leverage) : 0;
    out[2] = side !== 0 && equity > 0 ? (v.qtyBase * (v.closeUsd - v.entryPriceUsd)) / equity : 0;
    out[3] = this.#barsInTrade / 288;
    out[4] = side !== 0 && Number.isFinite(risk.stopUsd) && atrUsd > 0 ? (side * (v.closeUsd - risk.stopUsd)) / atrUsd : 0;
    out[5] = side !== 0 && Number.isFinite(v.liquidationPriceUsd) ? Math.abs(v.closeUsd - v.liquidationPriceUsd) / v.closeUsd : 0;
    out[6] = risk.scaleIns / this.setup.actions.maxUnits;
    out[7] = finiteOr(this.ml.pShort[i], 1 / 3);
    out[8] = finiteOr(this.ml.pNeutral[i], 1 / 3);
    out[9] = finiteOr(this.ml.pLong[i], 1 / 3);
    for (let f = 0; f < this.market.columns.length; f++) out[MARKET_OFFSET + f] = finiteOr(this.market.columns[f][i], 0);
    const a = MARKET_OFFSET + this.market.columns.length;
    out[a] = equity / this.setup.initialBalanceUsd - 1;
    out[a + 1] = risk.peakEquityUsd > 0 ? 1 - equity / risk.peakEquityUsd : 0;
    out[a + 2] = risk.dayStartEquityUsd > 0 ? (equity - risk.dayStartEquityUsd) / (this.setup.maxDailyLoss * risk.dayStartEquityUsd) : 0;
    out[a + 3] = risk.tradingState === 'ACTIVE' ? 0 : 1;
    return out;
  }

  /**
   * The intents for `action` at the last observed close. A masked action
   * gives none (`valid` false); a halt that demands a flat book is the risk
   * engine's to carry out whatever the action.
   */
  intents(action: number): { intents: readonly Intent[]; valid: boolean } {
    const v = this.#viewOrThrow();
    if (this.#mask[action] !== 1) return { intents: NONE, valid: false };
    switch (action) {
      case LONG:
      case SHORT:
        return { intents: this.#entry(action), valid: true };
      case SCALE_IN:
        return { intents: this.#scaleIn(v), valid: true };
      case EXIT:
        return { intents: EXIT_INTENTS, valid: true };
      case SCALE_OUT:
        return { intents: HALF_OUT, valid: true };
      default:
        return { intents: NONE, valid: true };
    }
  }
}

function finiteOr(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}
