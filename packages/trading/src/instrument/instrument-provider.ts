import { OitraderError } from '@oitrader/core';
import type { Instrument } from './instrument.ts';

/**
 * Where instruments come from. A venue adapter supplies its own (Binance:
 * exchangeInfo + leverageBracket, refreshed); backtests, the RL env and the
 * simulator use the bundled snapshot. Lookups are synchronous: a provider
 * that reads the exchange loads before trading starts.
 */
export interface InstrumentProvider {
  /** The rules of `symbol`; throws UnknownInstrumentError (exit 2, naming the known symbols) when absent. */
  instrument(symbol: string): Instrument;
  has(symbol: string): boolean;
  symbols(): readonly string[];
  /** Where the rules came from, for banners and reports ("bundled snapshot", "fapi.binance.com at …"). */
  readonly source: string;
}

export class UnknownInstrumentError extends OitraderError {
  constructor(symbol: string, known: readonly string[], source: string) {
    super(`no instrument ${symbol} in ${source}`, { hint: `known: ${known.join(', ') || '(none)'}; check the symbol's spelling (e.g. SOLUSDT)`, exitCode: 2 });
  }
}

/** A fixed set of instruments (the bundled snapshot, or a table a test builds). */
export class StaticInstrumentProvider implements InstrumentProvider {
  readonly source: string;
  readonly #bySymbol: Map<string, Instrument>;

  constructor(instruments: Iterable<Instrument>, source: string) {
    this.#bySymbol = new Map([...instruments].map((i) => [i.symbol, i]));
    this.source = source;
  }

  instrument(symbol: string): Instrument {
    const found = this.#bySymbol.get(symbol);
    if (!found) throw new UnknownInstrumentError(symbol, this.symbols(), this.source);
    return found;
  }

  has(symbol: string): boolean {
    return this.#bySymbol.has(symbol);
  }

  symbols(): string[] {
    return [...this.#bySymbol.keys()];
  }

  /** A copy with `instrument` replacing the one of the same symbol (tests of a changed bracket or filter). */
  with(instrument: Instrument): StaticInstrumentProvider {
    return new StaticInstrumentProvider([...this.#bySymbol.values()].filter((i) => i.symbol !== instrument.symbol).concat(instrument), this.source);
  }
}

/** A provider whose rules come from a venue and are re-read (daily, or when a refusal says they changed). */
export interface RefreshingInstrumentProvider extends InstrumentProvider {
  /** Re-reads the rules when they are due; true when it did. */
  refreshIfDue(nowMs: number): Promise<boolean>;
}

export const isRefreshing = (p: InstrumentProvider): p is RefreshingInstrumentProvider => typeof (p as Partial<RefreshingInstrumentProvider>).refreshIfDue === 'function';
