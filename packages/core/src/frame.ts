import { OitraderError } from './errors.ts';
import type { Timeframe } from './timeframe.ts';

/**
 * A time-aligned table of named `Float64Array` columns. `time` holds each bar's
 * open time in epoch milliseconds (UTC). Missing values are NaN, never 0.
 */
export class Frame {
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly time: Float64Array;
  readonly columns: Readonly<Record<string, Float64Array>>;

  constructor(symbol: string, timeframe: Timeframe, time: Float64Array, columns: Record<string, Float64Array>) {
    for (const [name, column] of Object.entries(columns)) {
      if (column.length !== time.length) {
        throw new OitraderError(`frame column "${name}" has ${column.length} rows, time has ${time.length}`);
      }
    }
    this.symbol = symbol;
    this.timeframe = timeframe;
    this.time = time;
    this.columns = columns;
  }

  get length(): number {
    return this.time.length;
  }

  get names(): string[] {
    return Object.keys(this.columns);
  }

  has(name: string): boolean {
    return name in this.columns;
  }

  column(name: string): Float64Array {
    const column = this.columns[name];
    if (column === undefined) {
      throw new OitraderError(`frame has no column "${name}"`, { hint: `known columns: ${this.names.join(', ')}` });
    }
    return column;
  }

  /** Rows [start, end) as a new frame sharing no memory with this one. */
  slice(start: number, end: number = this.length): Frame {
    const columns: Record<string, Float64Array> = {};
    for (const [name, column] of Object.entries(this.columns)) columns[name] = column.slice(start, end);
    return new Frame(this.symbol, this.timeframe, this.time.slice(start, end), columns);
  }

  /** Index of the first row whose time is >= `timeMs` (binary search). */
  indexAtOrAfter(timeMs: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.time[mid] < timeMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  withColumns(extra: Record<string, Float64Array>): Frame {
    return new Frame(this.symbol, this.timeframe, this.time, { ...this.columns, ...extra });
  }
}

export function nanColumn(length: number): Float64Array {
  return new Float64Array(length).fill(Number.NaN);
}
