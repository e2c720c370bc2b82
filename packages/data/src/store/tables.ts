/**
 * The market-data tables as data: one descriptor per table drives the bulk
 * upsert, the loader and the data-quality report, so a column is declared once.
 * `time` is always a timestamptz holding the value's timestamp (see
 * docs/phase-1-data.md for which instant each source's timestamp means).
 */
export type ColumnType = 'float8' | 'int8' | 'text';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** Values that must be present on every row. */
  required?: boolean;
}

export interface TableSpec {
  name: MarketTable;
  /** Key columns other than `time` that are fixed for one batch (symbol, timeframe, ...). */
  keys: string[];
  values: ColumnSpec[];
}

export type MarketTable =
  | 'ohlcv'
  | 'open_interest'
  | 'funding_rate'
  | 'long_short_ratio'
  | 'taker_volume'
  | 'liquidations'
  | 'order_book';

const f = (name: string, required = false): ColumnSpec => ({ name, type: 'float8', required });

export const TABLES: Record<MarketTable, TableSpec> = {
  ohlcv: {
    name: 'ohlcv',
    keys: ['symbol', 'timeframe'],
    values: [
      f('open', true),
      f('high', true),
      f('low', true),
      f('close', true),
      f('volume', true),
      f('quote_volume'),
      { name: 'trades', type: 'int8' },
      f('taker_buy_volume'),
      f('taker_buy_quote_volume'),
    ],
  },
  open_interest: { name: 'open_interest', keys: ['symbol', 'period'], values: [f('open_interest', true), f('open_interest_value')] },
  funding_rate: { name: 'funding_rate', keys: ['symbol'], values: [f('funding_rate', true), f('mark_price')] },
  long_short_ratio: {
    name: 'long_short_ratio',
    keys: ['symbol', 'period', 'kind'],
    values: [f('ratio', true), f('long_share'), f('short_share')],
  },
  taker_volume: { name: 'taker_volume', keys: ['symbol', 'period'], values: [f('buy_sell_ratio', true), f('buy_vol'), f('sell_vol')] },
  liquidations: {
    name: 'liquidations',
    // side is per row, so it is a value column; rows are keyed by (symbol, time, side, price, qty).
    keys: ['symbol'],
    values: [{ name: 'side', type: 'text', required: true }, f('price', true), f('qty', true), f('avg_price'), { name: 'status', type: 'text' }],
  },
  order_book: {
    name: 'order_book',
    keys: ['symbol'],
    values: [
      f('best_bid'),
      f('best_ask'),
      f('spread_bps'),
      f('bid_depth_1pct'),
      f('ask_depth_1pct'),
      f('bid_depth_2pct'),
      f('ask_depth_2pct'),
      f('bid_depth_5pct'),
      f('ask_depth_5pct'),
      f('imbalance_1pct'),
      f('imbalance_2pct'),
      f('imbalance_5pct'),
    ],
  },
};

/** Conflict target of each table: the primary key. */
export const PRIMARY_KEYS: Record<MarketTable, string[]> = {
  ohlcv: ['symbol', 'timeframe', 'time'],
  open_interest: ['symbol', 'period', 'time'],
  funding_rate: ['symbol', 'time'],
  long_short_ratio: ['symbol', 'period', 'kind', 'time'],
  taker_volume: ['symbol', 'period', 'time'],
  liquidations: ['symbol', 'time', 'side', 'price', 'qty'],
  order_book: ['symbol', 'time'],
};

export const LONG_SHORT_KINDS = ['global_account', 'top_account', 'top_position'] as const;
export type LongShortKind = (typeof LONG_SHORT_KINDS)[number];
