import { BinancePayloadError } from './rest/errors.ts';

/**
 * Validation at the boundary: Binance sends decimals as strings and times as
 * epoch-ms numbers. Each reader names the field it rejects.
 */
export function decimal(value: unknown, where: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  if (!Number.isFinite(n)) throw new BinancePayloadError(`${where}: expected a decimal, got ${JSON.stringify(value)}`);
  return n;
}

export function positive(value: unknown, where: string): number {
  const n = decimal(value, where);
  if (n <= 0) throw new BinancePayloadError(`${where}: expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

export function nonNegative(value: unknown, where: string): number {
  const n = decimal(value, where);
  if (n < 0) throw new BinancePayloadError(`${where}: expected a number >= 0, got ${JSON.stringify(value)}`);
  return n;
}

export function timestamp(value: unknown, where: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) throw new BinancePayloadError(`${where}: expected an epoch-ms time, got ${JSON.stringify(value)}`);
  return n;
}

export function text(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new BinancePayloadError(`${where}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

export function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BinancePayloadError(`${where}: expected an object, got ${JSON.stringify(value)?.slice(0, 60)}`);
  return value as Record<string, unknown>;
}

export function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new BinancePayloadError(`${where}: expected an array, got ${JSON.stringify(value)?.slice(0, 60)}`);
  return value;
}

export interface Rejected {
  index: number;
  reason: string;
}

/** Parses each item; an item that fails is rejected with its reason, the rest are kept. */
export function parseEach<T>(items: unknown[], parse: (item: unknown, where: string) => T, where: string): { rows: T[]; rejected: Rejected[] } {
  const rows: T[] = [];
  const rejected: Rejected[] = [];
  items.forEach((item, index) => {
    try {
      rows.push(parse(item, `${where}[${index}]`));
    } catch (error) {
      if (!(error instanceof BinancePayloadError)) throw error;
      rejected.push({ index, reason: error.message });
    }
  });
  return { rows, rejected };
}
