import { roundToStep } from '../instrument/instrument.ts';
import type { InstrumentProvider } from '../instrument/instrument-provider.ts';
import type { OrderRequest } from '../execution/simulated-exchange.ts';
import type { InstrumentDecision, InstrumentStep, PortfolioSnapshot, Verdict } from '../risk/risk-engine.ts';
import type { Intent } from './intent.ts';
import type { IntentExecutor } from './intent-executor.ts';
import type { RiskView } from './strategy.ts';

/**
 * A strategy's intents without the risk engine (`oitrader backtest --no-risk`,
 * research on the raw signal): an entry moves the position to `exposure`
 * (default 1) × equity × leverage of notional in one market order — a flip
 * included — with no stop, no sizing rule and no halt. Never used to trade.
 */
export class ExposureExecution implements IntentExecutor {
  readonly #instruments: InstrumentProvider;
  readonly #leverage: number;

  constructor(instruments: InstrumentProvider, leverage: number) {
    this.#instruments = instruments;
    this.#leverage = leverage;
  }

  mark(): boolean {
    return false;
  }

  riskView(_symbol: string, _nowMs: number, equityUsd: number): RiskView {
    return { tradingState: 'ACTIVE', flattening: false, stopUsd: Number.NaN, scaleIns: 0, peakEquityUsd: equityUsd, dayStartEquityUsd: equityUsd };
  }

  check(_nowMs: number, portfolio: PortfolioSnapshot, step: Omit<InstrumentStep, 'intents'>, intent: Intent): Verdict {
    const orders = this.#orders(portfolio, step, intent);
    return { allowed: orders.length > 0, qtyBase: orders[0]?.qtyBase ?? 0 };
  }

  decide(_nowMs: number, portfolio: PortfolioSnapshot, steps: readonly InstrumentStep[]): InstrumentDecision[] {
    return steps.map((step) => {
      const intent = step.intents.find((i) => i.kind === 'exit') ?? step.intents[step.intents.length - 1];
      const orders = intent ? this.#orders(portfolio, step, intent) : [];
      const action = orders.length === 0 ? 'hold' : intent!.kind === 'exit' ? 'exit' : intent!.kind;
      return { symbol: step.symbol, timeMs: step.timeMs, action, side: intent?.kind === 'enter' ? intent.side : undefined, allowed: true, reason: 'unmanaged', qtyBase: orders[0]?.qtyBase ?? 0, priceUsd: step.closeUsd, stopUsd: Number.NaN, cancelTags: [], orders };
    });
  }

  #orders(portfolio: PortfolioSnapshot, step: Omit<InstrumentStep, 'intents'>, intent: Intent): OrderRequest[] {
    const q = portfolio.positions.find((p) => p.symbol === step.symbol)?.qtyBase ?? 0;
    switch (intent.kind) {
      case 'enter':
        return this.#toExposure(portfolio, step, q, (intent.side === 'long' ? 1 : -1) * (intent.exposure ?? 1));
      case 'exit':
        return this.#toExposure(portfolio, step, q, 0);
      case 'scale_in':
        return q === 0 ? [] : this.#toExposure(portfolio, step, q, Math.sign(q) * Math.min(1, (Math.abs(q) * step.closeUsd) / (portfolio.equityUsd * this.#leverage * 0.98) + intent.riskScale));
      case 'scale_out': {
        const qty = roundToStep(Math.abs(q) * intent.fraction, this.#instruments.instrument(step.symbol).stepSize, 'down');
        return q === 0 || qty <= 0 ? [] : [{ type: 'market', side: q > 0 ? 'sell' : 'buy', qtyBase: qty, reduceOnly: true }];
      }
    }
  }

  /**
   * Orders that move the position to `exposure` × equity × leverage of
   * notional (exposure in [-1, 1]; 0 = flat), sized in whole exchange steps;
   * changes under 5 % of the target (rebalancing noise only pays fees) and
   * orders the exchange would refuse as too small are not sent.
   */
  #toExposure(portfolio: PortfolioSnapshot, step: Omit<InstrumentStep, 'intents'>, q: number, exposure: number): OrderRequest[] {
    const instrument = this.#instruments.instrument(step.symbol);
    const targetQty = (exposure * portfolio.equityUsd * this.#leverage * 0.98) / step.closeUsd;
    const delta = Math.sign(targetQty - q) * roundToStep(Math.abs(targetQty - q), instrument.stepSize, 'down');
    if (exposure === 0 && q !== 0) return [{ type: 'market', side: q > 0 ? 'sell' : 'buy', qtyBase: Math.abs(q), reduceOnly: true }];
    if (Math.abs(delta) < Math.abs(targetQty) * 0.05 || Math.abs(delta) < instrument.minQty || Math.abs(delta) * step.closeUsd < instrument.minNotionalUsd) return [];
    return [{ type: 'market', side: delta > 0 ? 'buy' : 'sell', qtyBase: Math.abs(delta) }];
  }
}
