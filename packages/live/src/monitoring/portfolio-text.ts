import { formatPrice } from '@oitrader/trading';
import type { PnlSummary, PortfolioView } from '../state/bot-read-model.ts';
import { describeHolder } from '../state/bot-lease.ts';

/** The read model as text: `bot status` prints it and Telegram's /status sends it, so both say the same. */

const iso = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? 'none' : new Date(ms).toISOString().replace('.000Z', 'Z'));
export const usd = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
export const signedUsd = (x: number) => `${x >= 0 ? '+' : '-'}${usd(Math.abs(x))}`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function pnlLine(p: PnlSummary): string {
  return `${p.trades} trades, ${p.wins} won, net ${signedUsd(p.netPnlUsd)} USDT (gross ${signedUsd(p.grossPnlUsd)}, fees ${usd(p.feesUsd)}, funding ${signedUsd(p.fundingUsd)})`;
}

export function positionLines(v: PortfolioView): string[] {
  return v.symbols.map((symbol) => {
    const p = v.positions.find((x) => x.symbol === symbol);
    if (!p) return `${symbol}: flat`;
    const px = (x: number | undefined) => formatPrice(symbol, x);
    return (
      `${symbol}: ${p.side.toUpperCase()} ${Math.abs(p.qtyBase)} @ ${px(p.entryPriceUsd)}, mark ${px(p.markPriceUsd)}, unrealised ${signedUsd(p.unrealizedPnlUsd)} USDT, ` +
      `stop ${p.protected ? px(p.stopUsd) : 'NONE'}, liquidation ${px(p.liquidationPriceUsd)}`
    );
  });
}

export function exposureLine(v: PortfolioView): string {
  const e = v.exposure;
  const l = e.limits;
  const of = (limit: number | undefined, fmt: (x: number) => string) => (limit === undefined ? '' : ` (≤ ${fmt(limit)})`);
  const budget = l.maxTotalRisk ? `, ${Math.round((e.riskFraction / l.maxTotalRisk) * 100)}% of the risk budget` : '';
  return `exposure: ${e.openPositions} open${of(l.maxOpenPositions, String)}, gross ${e.grossMultiple.toFixed(2)}× equity${of(l.maxGrossExposure, (x) => `${x}×`)}, risk at stops ${pct(e.riskFraction)} of equity${of(l.maxTotalRisk, pct)}${budget}`;
}

export function portfolioLines(v: PortfolioView): string[] {
  const c = v.control;
  const eq = v.equity;
  const latest = (rows: ReadonlyArray<{ period: string } & PnlSummary>) => (rows.length > 0 ? `${rows[rows.length - 1].period} ${signedUsd(rows[rows.length - 1].netPnlUsd)}` : 'none');
  return [
    `bot ${v.bot}: ${v.mode} ${v.symbols.join(',')}, session from ${iso(v.sessionStartMs)}, last candle ${iso(v.lastCandleMs)}`,
    `running: ${v.running ? describeHolder(v.running, v.running.heartbeatAgeMs) : 'no (no run holds its lease)'}`,
    `kill switch: ${c.killed ? `ENGAGED (${c.killReason ?? ''})` : 'off'}${c.flattenRequested ? ', flatten requested' : ''}`,
    `entries: ${c.entriesStopped ? `STOPPED (${c.entriesStoppedReason ?? ''}): open positions keep their stops` : 'allowed'}`,
    eq
      ? `equity ${usd(eq.equityUsd)} USDT (wallet ${usd(eq.walletUsd)}, available ${usd(eq.availableUsd)}) at ${iso(eq.timeMs)}; drawdown ${pct(v.drawdown)} from the peak ${usd(v.peakEquityUsd)}`
      : 'equity: none recorded yet',
    exposureLine(v),
    ...positionLines(v),
    `closed trades (net = price − fees + funding): ${pnlLine(v.pnl.total)}`,
    ...v.pnl.bySymbol.filter((s) => s.trades > 0).map((s) => `  ${s.symbol}: ${pnlLine(s)}`),
    `latest day ${latest(v.pnl.byDay)}, week ${latest(v.pnl.byWeek)}, month ${latest(v.pnl.byMonth)} USDT`,
  ];
}
