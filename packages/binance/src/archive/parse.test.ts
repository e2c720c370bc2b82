import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { archivePath, parseArchivePath } from './layout.ts';
import { parseArchiveCsv } from './parse.ts';

describe('archive layout', () => {
  it('round-trips daily, monthly and kline paths', () => {
    const daily = { period: 'daily' as const, dataset: 'metrics' as const, symbol: 'SOLUSDT', date: '2024-01-02' };
    const monthly = { period: 'monthly' as const, dataset: 'klines' as const, symbol: 'SOLUSDT', interval: '5m', date: '2024-01' };
    for (const file of [daily, monthly]) assert.deepEqual(parseArchivePath(`/mirror/${archivePath(file)}`), { ...file, path: archivePath(file) });
    assert.equal(archivePath(monthly), 'futures/um/monthly/klines/SOLUSDT/5m/SOLUSDT-5m-2024-01.zip');
  });

  it('ignores files that are not archive data (checksums, spot, unknown datasets)', () => {
    assert.equal(parseArchivePath('futures/um/daily/metrics/SOLUSDT/SOLUSDT-metrics-2024-01-02.zip.CHECKSUM'), undefined);
    assert.equal(parseArchivePath('spot/daily/klines/SOLUSDT/5m/SOLUSDT-5m-2024-01-02.zip'), undefined);
    assert.equal(parseArchivePath('futures/um/daily/trades/SOLUSDT/SOLUSDT-trades-2024-01-02.zip'), undefined);
    assert.equal(parseArchivePath('futures/um/monthly/metrics/SOLUSDT/SOLUSDT-metrics-2024-01-02.zip'), undefined, 'a monthly path needs a month');
  });
});

describe('archive CSV parsing', () => {
  const file = { period: 'daily' as const, dataset: 'klines' as const, symbol: 'SOLUSDT', interval: '5m', date: '2025-01-01', path: 'k.zip' };

  it('reads kline open times given in microseconds as milliseconds', () => {
    const parsed = parseArchiveCsv(file, '1735689600000000,1,2,0.5,1.5,10,1735689899999999,15,3,4,6,0\n');
    assert.equal(parsed.rows[0].time[0], 1735689600000);
    assert.equal(parsed.rows[0].values.trades[0], 3);
  });

  it('finds columns by header name even when the order differs', () => {
    const csv = 'open_time,close,open,high,low,volume\n1735689600000,1.5,1,2,0.5,10\n';
    const parsed = parseArchiveCsv(file, csv);
    assert.deepEqual([parsed.rows[0].values.open[0], parsed.rows[0].values.close[0]], [1, 1.5]);
    assert.ok(Number.isNaN(parsed.rows[0].values.quote_volume[0] as number), 'absent columns are NaN, not 0');
  });

  it('folds bookDepth percentage rows into one order-book snapshot with band imbalances', () => {
    const book = { ...file, dataset: 'bookDepth' as const, interval: undefined };
    const rows = ['-5,500', '-2,200', '-1,100', '1,60', '2,200', '5,700'].map((r) => `2025-01-01 00:00:08,${r},0`);
    const parsed = parseArchiveCsv(book, `timestamp,percentage,depth,notional\n${rows.join('\n')}\n`);
    const values = parsed.rows[0].values;
    assert.equal(parsed.rows[0].time[0], Date.UTC(2025, 0, 1, 0, 0, 8));
    assert.equal(values.imbalance_1pct[0], (100 - 60) / 160);
    assert.equal(values.imbalance_2pct[0], 0);
    assert.equal(values.imbalance_5pct[0], (500 - 700) / 1200);
  });
});
