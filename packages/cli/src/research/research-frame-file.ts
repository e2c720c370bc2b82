import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DataError, Frame, writeFileAtomic, type Timeframe } from '@oitrader/core';

const MAGIC = 'oitrader-frame-1';

/**
 * A frame as one file a research worker on another machine reads from the shared disk:
 * a JSON header line (symbol, timeframe, column names, rows) padded to 8 bytes, then
 * the time column and every other column as little-endian float64. Written by us
 * because a Frame is a handful of float64 columns: Parquet (what features use) would
 * need a schema per column set for no gain here, and JSON cannot carry NaN.
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const names = Object.keys(frame.columns);
  let header = `${JSON.stringify({ magic: MAGIC, symbol: frame.symbol, timeframe: frame.timeframe, names, rows: frame.length })}\n`;
  while (header.length % 8 !== 0) header += ' ';
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(head.length + (names.length + 1) * frame.length * 8);
  out.set(head, 0);
  const body = new Float64Array(out.buffer, head.length);
  body.set(frame.time, 0);
  names.forEach((name, c) => body.set(frame.columns[name], (c + 1) * frame.length));
  return out;
}

export function decodeFrame(bytes: Uint8Array, where: string): Frame {
  const newline = bytes.indexOf(10);
  let header: { magic?: string; symbol: string; timeframe: Timeframe; names: string[]; rows: number };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, newline)));
  } catch {
    header = { symbol: '', timeframe: '1h', names: [], rows: -1 };
  }
  let start = newline + 1;
  while (start % 8 !== 0) start++;
  const expected = start + (header.names.length + 1) * header.rows * 8;
  if (header.magic !== MAGIC || header.rows < 0 || bytes.length !== expected) {
    throw new DataError(`${where} is not a research frame file (or was cut short: ${bytes.length} bytes, expected ${expected})`, { hint: 'run oitrader research again: it rewrites the frame files it queues' });
  }
  const body = new Float64Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + expected));
  const n = header.rows;
  const columns = Object.fromEntries(header.names.map((name, c) => [name, body.subarray((c + 1) * n, (c + 2) * n)]));
  return new Frame(header.symbol, header.timeframe, body.subarray(0, n), columns);
}

/** Writes the frame under `dir` named by its content digest (an unchanged frame is not rewritten); returns path and digest. */
export function writeFrameFile(dir: string, frame: Frame): { path: string; digest: string } {
  const bytes = encodeFrame(frame);
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const path = `${dir}/${frame.symbol}-${frame.timeframe}-${digest}.frame`;
  writeFileAtomic(path, bytes);
  return { path, digest };
}

export function readFrameFile(path: string): Frame {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new DataError(`cannot read the research frame ${path}: ${(error as Error).message}`, { hint: 'workers must see the shared disk at the same path as the machine that runs oitrader research' });
  }
  return decodeFrame(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}
