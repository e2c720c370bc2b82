import { createHash } from 'node:crypto';
import { strFromU8, unzipSync } from 'fflate';
import { DataError } from '@oitrader/core';

/** The single CSV inside an archive zip, as text. */
export function unzipSingleCsv(bytes: Uint8Array, label: string): string {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (error) {
    throw new DataError(`${label}: not a readable zip file (${(error as Error).message})`, { hint: 'delete the file and download it again' });
  }
  const csvNames = Object.keys(entries).filter((n) => n.toLowerCase().endsWith('.csv'));
  if (csvNames.length !== 1) throw new DataError(`${label}: expected one CSV inside the zip, found ${csvNames.length}`);
  return strFromU8(entries[csvNames[0]]);
}

/** Checks a zip against its `.CHECKSUM` text ("<sha256 hex>  <name>"). */
export function verifyChecksum(bytes: Uint8Array, checksumText: string, label: string): void {
  const expected = checksumText.trim().split(/\s+/)[0]?.toLowerCase();
  if (!expected || !/^[0-9a-f]{64}$/.test(expected)) throw new DataError(`${label}.CHECKSUM: not a sha256 checksum file`);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== expected) {
    throw new DataError(`${label}: checksum mismatch (expected ${expected.slice(0, 12)}…, got ${actual.slice(0, 12)}…)`, {
      hint: 'the file is corrupt or truncated; delete it and download it again',
    });
  }
}

/** Rows of a CSV with or without a header line. Fields are not quoted in Binance's files. */
export function splitCsv(text: string): { header: string[] | undefined; rows: string[][]; firstDataLine: number } {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  const first = lines[0]?.split(',') ?? [];
  const hasHeader = first.length > 0 && first[0] !== '' && Number.isNaN(Number(first[0])) && !/^\d{4}-\d\d-\d\d/.test(first[0]);
  const header = hasHeader ? first.map((h) => h.trim().toLowerCase()) : undefined;
  const start = hasHeader ? 1 : 0;
  const rows = lines.slice(start).map((line) => line.split(','));
  return { header, rows, firstDataLine: start + 1 };
}
