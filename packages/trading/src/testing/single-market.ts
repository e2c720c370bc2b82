import type { InstrumentProvider } from '../instrument/instrument-provider.ts';
import { SimulatedExchange, type ExecutionConfig, type InstrumentMarket } from '../execution/simulated-exchange.ts';

/** One instrument's market with its account read as one (position + the wallet): the shape the execution-model tests read. */
export interface SingleMarket extends Pick<InstrumentMarket, 'submit' | 'processBar' | 'settleFunding' | 'cancel' | 'cancelAll' | 'pendingOrders'> {
  readonly exchange: SimulatedExchange;
  readonly market: InstrumentMarket;
  readonly rejections: SimulatedExchange['rejections'];
  readonly account: {
    readonly qtyBase: number;
    readonly entryPriceUsd: number;
    readonly marginUsd: number;
    readonly liquidationPriceUsd: number;
    readonly walletUsd: number;
    readonly feesPaidUsd: number;
    readonly fundingPaidUsd: number;
    readonly liquidations: number;
    readonly turnoverUsd: number;
    readonly trades: SimulatedExchange['portfolio']['trades'];
    readonly fills: SimulatedExchange['portfolio']['fills'];
    equityUsd(markPriceUsd: number): number;
    availableUsd(): number;
  };
}

/** A simulated exchange trading one instrument (tests). */
export function singleMarket(config: Partial<ExecutionConfig> & { symbol?: string } = {}, instruments?: InstrumentProvider): SingleMarket {
  const { symbol = 'SOLUSDT', ...execution } = config;
  const exchange = new SimulatedExchange(execution, instruments);
  const market = exchange.market(symbol);
  const p = market.position;
  const pf = exchange.portfolio;
  return {
    exchange,
    market,
    rejections: exchange.rejections,
    submit: (timeMs, order, ref) => market.submit(timeMs, order, ref),
    processBar: (bar) => market.processBar(bar),
    settleFunding: (rate, mark) => market.settleFunding(rate, mark),
    cancel: (tag) => market.cancel(tag),
    cancelAll: () => market.cancelAll(),
    get pendingOrders() {
      return market.pendingOrders;
    },
    account: {
      get qtyBase() {
        return p.qtyBase;
      },
      get entryPriceUsd() {
        return p.entryPriceUsd;
      },
      get marginUsd() {
        return p.marginUsd;
      },
      get liquidationPriceUsd() {
        return p.liquidationPriceUsd;
      },
      get walletUsd() {
        return pf.walletUsd;
      },
      get feesPaidUsd() {
        return pf.feesPaidUsd;
      },
      get fundingPaidUsd() {
        return pf.fundingPaidUsd;
      },
      get liquidations() {
        return pf.liquidations;
      },
      get turnoverUsd() {
        return pf.turnoverUsd;
      },
      trades: pf.trades,
      fills: pf.fills,
      equityUsd: (mark) => pf.walletUsd + (p.qtyBase === 0 ? 0 : p.unrealisedPnlUsd(mark)),
      availableUsd: () => pf.availableUsd(),
    },
  };
}
