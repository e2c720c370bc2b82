import type { SqlExecutor } from '@oitrader/data';
import { BotStore, type StoredRiskEvent } from '../state/bot-store.ts';

/**
 * The guide's go-live checklist, each item proven from stored evidence: one
 * line per item with pass/fail and what it rests on. These are the items the
 * database can prove; `oitrader golive check` adds those only a live probe
 * can (Telegram, the dashboard, the exchange account, the champion's result).
 */
export interface GoLiveItem {
  item: string;
  pass: boolean;
  evidence: string;
}

export const MIN_PAPER_DAYS = 14;
/** The bots `oitrader golive drill` runs (bot names are at most 8 letters or digits). */
export const DRILL_BOTS = { dailyLoss: 'drillday', drawdown: 'drilldd', kill: 'drillkil' } as const;
/** A run that took over the lease of a process that was gone records this risk event: the previous run ended without its clean shutdown. */
export const UNCLEAN_EXIT = 'unclean_exit';

const DAY_MS = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** ≥ 14 days of paper, sim or demo trading by this bot, with no unclean exit. */
export async function paperTradingEvidence(store: BotStore, bot: string): Promise<GoLiveItem[]> {
  const item = `≥ ${MIN_PAPER_DAYS} days of paper/demo trading without an unhandled crash`;
  const control = await store.control(bot);
  if (!control) return [{ item, pass: false, evidence: `no bot named "${bot}" in this database: run it in paper or demo mode first` }];
  if (control.mode === 'live') return [{ item, pass: false, evidence: `bot "${bot}" is a live bot: the checklist is proven by a paper or demo bot of the same name before it goes live` }];
  const [span] = await store.sql.query<{ first: number | null; last: number | null; candles: number }>(
    'SELECT (extract(epoch FROM min(candle_time)) * 1000)::float8 AS first, (extract(epoch FROM max(candle_time)) * 1000)::float8 AS last, count(DISTINCT candle_time)::int AS candles FROM bot_decisions WHERE bot = $1',
    [bot],
  );
  const days = span.first === null || span.last === null ? 0 : (span.last - span.first) / DAY_MS;
  const crashes = (await store.riskEvents(bot)).filter((e) => e.kind === UNCLEAN_EXIT);
  const long = days >= MIN_PAPER_DAYS;
  return [
    {
      item,
      pass: long && crashes.length === 0,
      evidence:
        `${control.mode} bot "${bot}": ${days.toFixed(1)} days of decisions${span.first === null ? '' : ` (${iso(span.first)} → ${iso(span.last!)} UTC, ${span.candles} candles)`}` +
        `${long ? '' : `, ${MIN_PAPER_DAYS} needed`}; ${crashes.length} unclean exits${crashes.length > 0 ? ` (the last ${iso(crashes[crashes.length - 1].timeMs)}: ${crashes[crashes.length - 1].message})` : ''}`,
    },
  ];
}

/** Every filled entry of the bot got its exchange-side stop at its candle or the next (a resting entry's stop goes on at its fill). */
export async function protectionEvidence(store: BotStore, bot: string, barMs: number): Promise<GoLiveItem> {
  const item = 'every position protected by a stop at every stored candle';
  const orders = await store.orders(bot);
  const entries = orders.filter((o) => o.intent === 'entry' && (o.status === 'FILLED' || o.status === 'PARTIALLY_FILLED'));
  const stops = orders.filter((o) => o.intent === 'stop' && o.status !== 'REJECTED');
  const bare = entries.filter((e) => !stops.some((s) => s.symbol === e.symbol && s.candleTimeMs >= e.candleTimeMs && s.candleTimeMs <= e.candleTimeMs + barMs));
  const positions = await Promise.all((await store.control(bot))?.symbols.map((s) => store.position(bot, s)) ?? []);
  const open = positions.filter((p) => p && p.qtyBase !== 0);
  const unstopped = open.filter((p) => p!.stopUsd === undefined || !Number.isFinite(p!.stopUsd));
  if (entries.length === 0) return { item, pass: false, evidence: `bot "${bot}" has filled no entry yet: nothing proves its stops` };
  return {
    item,
    pass: bare.length === 0 && unstopped.length === 0,
    evidence:
      `${entries.length} filled entries, ${entries.length - bare.length} with their stop placed by the next candle` +
      `${bare.length > 0 ? `; WITHOUT: ${bare.slice(0, 3).map((e) => `${e.symbol} ${iso(e.candleTimeMs)}`).join(', ')}` : ''}; ${open.length} open positions, ${unstopped.length} without a stop`,
  };
}

/** The halts fired and the kill switch drilled by `oitrader golive drill` (its bots' stored risk events and fills). */
export async function drillEvidence(store: BotStore): Promise<GoLiveItem[]> {
  const events = async (bot: string) => store.riskEvents(bot);
  const entriesAfter = async (bot: string, fromMs: number, untilMs = Number.POSITIVE_INFINITY) => {
    const [orders, fills] = await Promise.all([store.orders(bot), store.fills(bot)]);
    const entryIds = new Set(orders.filter((o) => o.intent === 'entry').map((o) => o.clientOrderId));
    return fills.filter((f) => f.clientOrderId !== undefined && entryIds.has(f.clientOrderId) && f.timeMs > fromMs && f.timeMs < untilMs).length;
  };
  const first = (list: StoredRiskEvent[], kind: string) => list.find((e) => e.kind === kind);
  const none = (what: string) => `no ${what} drill recorded: run oitrader golive drill`;
  const items: GoLiveItem[] = [];

  const day = await events(DRILL_BOTS.dailyLoss);
  const halt = first(day, 'daily_loss');
  if (!halt) items.push({ item: 'the daily-loss halt fires (replay drill)', pass: false, evidence: none('daily-loss') });
  else {
    const nextDay = (Math.floor(halt.timeMs / DAY_MS) + 1) * DAY_MS;
    // The entry fill of the order decided at the halt's own candle lands one candle later: entries after that until the next UTC day break the halt.
    const leaks = await entriesAfter(DRILL_BOTS.dailyLoss, halt.timeMs + 5 * 60_000, nextDay);
    items.push({ item: 'the daily-loss halt fires (replay drill)', pass: leaks === 0, evidence: `fired ${iso(halt.timeMs)} UTC ("${halt.message}"); ${leaks} entries after it that day` });
  }

  const dd = await events(DRILL_BOTS.drawdown);
  const ddHalt = first(dd, 'drawdown');
  if (!ddHalt) items.push({ item: 'the max-drawdown halt fires (replay drill)', pass: false, evidence: none('drawdown') });
  else {
    const leaks = await entriesAfter(DRILL_BOTS.drawdown, ddHalt.timeMs + 5 * 60_000);
    items.push({ item: 'the max-drawdown halt fires (replay drill)', pass: leaks === 0, evidence: `fired ${iso(ddHalt.timeMs)} UTC ("${ddHalt.message}"); ${leaks} entries after it` });
  }

  const kill = first(await events(DRILL_BOTS.kill), 'kill');
  if (!kill) items.push({ item: 'the kill switch flattens and stops trading (drill)', pass: false, evidence: none('kill-switch') });
  else {
    const control = await store.control(DRILL_BOTS.kill);
    const positions = await Promise.all(control?.symbols.map((s) => store.position(DRILL_BOTS.kill, s)) ?? []);
    const open = positions.filter((p) => p && p.qtyBase !== 0).map((p) => `${p!.qtyBase} ${p!.symbol}`);
    const leaks = await entriesAfter(DRILL_BOTS.kill, kill.timeMs + 5 * 60_000);
    items.push({
      item: 'the kill switch flattens and stops trading (drill)',
      pass: open.length === 0 && leaks === 0,
      evidence: `engaged ${iso(kill.timeMs)} UTC; positions after: ${open.length === 0 ? 'flat' : open.join(', ')}; ${leaks} entries after it`,
    });
  }
  return items;
}

export async function storedGoLiveEvidence(sql: SqlExecutor, bot: string, barMs: number): Promise<GoLiveItem[]> {
  const store = new BotStore(sql);
  return [...(await paperTradingEvidence(store, bot)), await protectionEvidence(store, bot, barMs), ...(await drillEvidence(store))];
}
