import { BinanceOrderError, type SymbolRules, type UsdmTradingApi } from '@oitrader/binance';
import { OitraderError, silentLogger, type Logger } from '@oitrader/core';
import { UnknownInstrumentError, type Instrument, type LeverageBracket, type RefreshingInstrumentProvider } from '@oitrader/trading';

/** Binance codes that mean our copy of a symbol's rules may be stale: filters (-4164 min notional, -1111 precision, -4003/-4005 quantity) or brackets (-2027 max position at leverage). */
const STALE_RULE_CODES = new Set([-4164, -1111, -4003, -4005, -2027]);

const DAY_MS = 86_400_000;

export interface BinanceInstrumentsOptions {
  client: UsdmTradingApi;
  /** The symbols the bot trades; each must be listed and TRADING on the exchange. */
  symbols: readonly string[];
  /** Re-read every this long (default one day). */
  refreshMs?: number;
  /** The exchange's clock. */
  clock?: () => number;
  log?: Logger;
}

/**
 * The exchange's own rules for the symbols the bot trades: exchangeInfo's
 * filters and the signed leverageBracket table (the account's, which Binance
 * may adjust per user). Loaded before the first decision, re-read once a day
 * and after an order refusal that says a rule changed, so sizing, rounding and
 * the liquidation-distance rule always use today's numbers. Lookups stay
 * synchronous (the risk engine's are): a refresh replaces the table between steps.
 */
export class BinanceInstrumentProvider implements RefreshingInstrumentProvider {
  readonly #o: BinanceInstrumentsOptions;
  readonly #log: Logger;
  #bySymbol = new Map<string, Instrument>();
  #loadedAtMs = 0;
  #stale: string | undefined;
  source = 'the exchange (not loaded yet)';

  private constructor(options: BinanceInstrumentsOptions) {
    this.#o = options;
    this.#log = options.log ?? silentLogger;
  }

  /** Reads every symbol's rules now; refuses (exit 2) a symbol the exchange does not list or does not trade. */
  static async load(options: BinanceInstrumentsOptions): Promise<BinanceInstrumentProvider> {
    const provider = new BinanceInstrumentProvider(options);
    await provider.refresh();
    return provider;
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

  /** A refusal the exchange gave: a code that may mean changed rules makes the next `refreshIfDue` re-read them. */
  noteRefusal(error: unknown): void {
    if (error instanceof BinanceOrderError && error.code !== undefined && STALE_RULE_CODES.has(error.code)) this.#stale = `${error.code} ${error.message}`;
  }

  /** Re-reads the rules when a day has passed or a refusal made them suspect; true when it did. */
  async refreshIfDue(nowMs = (this.#o.clock ?? Date.now)()): Promise<boolean> {
    const due = this.#stale !== undefined || nowMs - this.#loadedAtMs >= (this.#o.refreshMs ?? DAY_MS);
    if (!due) return false;
    if (this.#stale) this.#log.warn(`instrument rules suspect after "${this.#stale}": reading exchangeInfo and leverageBracket again`);
    await this.refresh();
    return true;
  }

  async refresh(): Promise<void> {
    const { client, symbols } = this.#o;
    const info = await client.exchangeInfo();
    const rules = new Map(info.symbols.map((s) => [s.symbol, s]));
    const next = new Map<string, Instrument>();
    for (const symbol of symbols) {
      const r = rules.get(symbol);
      if (!r) throw new OitraderError(`the exchange does not list ${symbol} (USDⓈ-M exchangeInfo)`, { hint: 'check trading.symbols against the exchange (e.g. SOLUSDT)', exitCode: 2 });
      if (r.status !== 'TRADING') throw new OitraderError(`${symbol} is ${r.status} on the exchange, not TRADING`, { hint: `remove ${symbol} from trading.symbols until it trades again`, exitCode: 2 });
      const brackets = (await client.leverageBrackets(symbol)).brackets.map(
        (b): LeverageBracket => ({ initialLeverage: b.initialLeverage, notionalFloorUsd: b.notionalFloorUsd, notionalCapUsd: b.notionalCapUsd, maintMarginRatio: b.maintMarginRatio, cumUsd: b.cumUsd }),
      );
      if (brackets.length === 0) throw new OitraderError(`the exchange sent no leverage brackets for ${symbol}`, { hint: 'try again later; the bot does not size without them', exitCode: 1 });
      next.set(symbol, instrumentOf(r, brackets));
    }
    const nowMs = (this.#o.clock ?? Date.now)();
    for (const [symbol, instrument] of next) {
      const before = this.#bySymbol.get(symbol);
      if (before && JSON.stringify(before) !== JSON.stringify(instrument)) this.#log.warn(`${symbol}: the exchange changed its rules (${describeChange(before, instrument)})`);
    }
    this.#bySymbol = next;
    this.#loadedAtMs = nowMs;
    this.#stale = undefined;
    this.source = `the exchange's exchangeInfo and leverageBracket at ${new Date(nowMs).toISOString()}`;
  }
}

/**
 * A symbol's order filters. Market orders obey MARKET_LOT_SIZE, limit and
 * stop orders LOT_SIZE: the instrument keeps the stricter of each (steps are
 * powers of ten, so a multiple of the larger step is one of the smaller).
 */
function instrumentOf(r: SymbolRules, brackets: LeverageBracket[]): Instrument {
  return {
    symbol: r.symbol,
    tickSize: r.tickSize,
    stepSize: Math.max(r.stepSize, r.marketStepSize),
    minQty: Math.max(r.minQtyBase, r.marketMinQtyBase),
    minNotionalUsd: r.minNotionalUsd,
    brackets,
  };
}

function describeChange(a: Instrument, b: Instrument): string {
  const parts: string[] = [];
  for (const k of ['tickSize', 'stepSize', 'minQty', 'minNotionalUsd'] as const) if (a[k] !== b[k]) parts.push(`${k} ${a[k]} → ${b[k]}`);
  if (JSON.stringify(a.brackets) !== JSON.stringify(b.brackets)) parts.push(`brackets: first ${a.brackets[0]?.initialLeverage}x → ${b.brackets[0]?.initialLeverage}x`);
  return parts.join(', ');
}
