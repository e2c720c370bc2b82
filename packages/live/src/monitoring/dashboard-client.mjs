// The dashboard page's script (served as-is, no build step): draws /api/state and redraws on every SSE 'state'.
/* global window, document, fetch, EventSource, LightweightCharts, confirm, URLSearchParams */
const cfg = window.OITRADER;
// The symbol whose candles, position and markers are drawn: ?symbol= in the address, else the bot's first.
let symbol = new URLSearchParams(window.location.search).get('symbol') || cfg.symbol;
const LC = LightweightCharts;
const sec = (ms) => Math.floor(ms / 1000);
const usd = (x) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : '–');
let ticks = {};
/** A price on its symbol's tick (87123.4 BTCUSDT, 0.12345 DOGEUSDT); 6 significant digits when the tick is unknown. */
const decimalsOf = (tick) => Math.max(0, -Math.floor(Math.log10(tick) + 1e-9));
const px = (sym, x) => {
  if (!Number.isFinite(x)) return '–';
  const tick = ticks[sym];
  if (!tick) return Number(x.toPrecision(6)).toLocaleString('en-US', { maximumFractionDigits: 8 });
  const d = decimalsOf(tick);
  return (Math.round(x / tick) * tick).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
};
const num = (x, d = 4) => (Number.isFinite(x) ? Number(x.toFixed(d)).toString() : '–');
const iso = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '–');
const theme = { layout: { background: { color: '#161b22' }, textColor: '#8b949e' }, grid: { vertLines: { color: '#21262d' }, horzLines: { color: '#21262d' } }, timeScale: { timeVisible: true } };

const price = LC.createChart(document.getElementById('price'), { ...theme, autoSize: true });
const candles = price.addSeries(LC.CandlestickSeries, { upColor: '#3fb950', downColor: '#f85149', borderVisible: false, wickUpColor: '#3fb950', wickDownColor: '#f85149' });
const markers = LC.createSeriesMarkers(candles, []);
const equityChart = LC.createChart(document.getElementById('equity'), { ...theme, autoSize: true });
const equity = equityChart.addSeries(LC.LineSeries, { color: '#58a6ff', lineWidth: 2 });
const ddChart = LC.createChart(document.getElementById('drawdown'), { ...theme, autoSize: true });
const drawdown = ddChart.addSeries(LC.AreaSeries, { lineColor: '#f85149', topColor: 'rgba(248,81,73,0.05)', bottomColor: 'rgba(248,81,73,0.4)', priceFormat: { type: 'percent' } });
let priceLines = [];
let fitted = false;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function kv(id, pairs) {
  const box = document.getElementById(id);
  box.replaceChildren(...pairs.flatMap(([k, v, cls]) => [el('span', k), el('span', v, cls)]));
}
function table(id, head, rows) {
  const t = document.getElementById(id);
  const tr = (cells, tag) => {
    const r = el('tr');
    for (const c of cells) r.append(Array.isArray(c) ? el(tag, c[0], c[1]) : el(tag, c));
    return r;
  };
  t.replaceChildren(tr(head, 'th'), ...(rows.length ? rows.map((r) => tr(r, 'td')) : [tr(['none'], 'td')]));
}

function render(s) {
  window.OITRADER_STATE = s;
  ticks = s.tickSizes ?? {};
  const tick = ticks[s.symbol];
  if (tick) candles.applyOptions({ priceFormat: { type: 'price', precision: decimalsOf(tick), minMove: tick } });
  document.getElementById('bot-name').textContent = s.bot;
  const trading = [s.strategy && `strategy ${s.strategy}`, s.champion?.modelRun && `model ${s.champion.modelRun}`, s.champion?.agentRun && `agent ${s.champion.agentRun}`].filter(Boolean).join(' · ');
  document.getElementById('mode').textContent = s.control ? `${s.control.mode} · ${s.symbols.join(', ')} ${s.timeframe}${trading ? ` · ${trading}` : ''} · last candle ${iso(s.control.lastCandleMs)}` : 'no bot session in the database yet';
  const run = document.getElementById('run-badge');
  const h = s.heartbeat;
  run.textContent = h.running ? `running (pid ${h.pid} on ${h.host}, heartbeat ${Math.round(h.ageMs / 1000)} s ago)` : `STOPPED${h.lastStepMs ? ` since its last step ${iso(h.lastStepMs)}` : ''}`;
  run.className = `badge ${h.running ? (h.ageMs > 60_000 ? 'warn' : '') : 'bad'}`;
  const picker = document.getElementById('symbol');
  if (picker.options.length !== s.symbols.length) picker.replaceChildren(...s.symbols.map((x) => Object.assign(el('option', x), { value: x })));
  picker.value = s.symbol;
  document.getElementById('position-symbol').textContent = s.symbol;
  for (const x of document.querySelectorAll('.chosen-symbol')) x.textContent = s.symbol;
  renderPortfolio(s);
  const kill = document.getElementById('kill-badge');
  kill.textContent = s.risk.killed ? `KILLED: ${s.control?.killReason ?? ''}` : s.control?.flattenRequested ? 'flatten requested' : s.risk.entriesStopped ? 'ENTRIES STOPPED' : 'trading';
  kill.className = `badge ${s.risk.killed ? 'bad' : s.control?.flattenRequested || s.risk.entriesStopped ? 'warn' : ''}`;
  document.getElementById('updated').textContent = `updated ${iso(s.generatedAtMs)} UTC`;

  candles.setData(s.candles.map((c) => ({ time: sec(c.timeMs), open: c.open, high: c.high, low: c.low, close: c.close })));
  const bar = cfg.barMs;
  markers.setMarkers(
    s.fills.filter((f) => f.symbol === s.symbol).map((f) => {
      const stop = f.reason === 'stop' || f.reason === 'liquidation';
      return {
        time: sec(Math.floor(f.timeMs / bar) * bar),
        position: f.side === 'buy' ? 'belowBar' : 'aboveBar',
        color: stop ? '#f0883e' : f.side === 'buy' ? '#3fb950' : '#f85149',
        shape: stop ? 'circle' : f.side === 'buy' ? 'arrowUp' : 'arrowDown',
        text: stop ? `✕ ${f.reason}` : `${f.side} ${num(f.qtyBase, 3)}`,
      };
    }),
  );
  for (const l of priceLines) candles.removePriceLine(l);
  priceLines = [];
  const p = s.position;
  if (p && p.qtyBase !== 0) {
    priceLines.push(candles.createPriceLine({ price: p.entryPriceUsd, color: '#58a6ff', title: 'entry', lineStyle: 2 }));
    if (Number.isFinite(p.stopUsd)) priceLines.push(candles.createPriceLine({ price: p.stopUsd, color: '#f0883e', title: 'stop', lineStyle: 2 }));
    if (Number.isFinite(p.liquidationPriceUsd) && p.liquidationPriceUsd > 0) priceLines.push(candles.createPriceLine({ price: p.liquidationPriceUsd, color: '#da3633', title: 'liquidation', lineStyle: 1 }));
  }
  equity.setData(s.equity.map((e) => ({ time: sec(e.timeMs), value: e.equityUsd })));
  let peak = -Infinity;
  drawdown.setData(s.equity.map((e) => {
    peak = Math.max(peak, e.equityUsd);
    return { time: sec(e.timeMs), value: peak > 0 ? ((e.equityUsd - peak) / peak) * 100 : 0 };
  }));
  if (!fitted && s.candles.length) {
    for (const c of [price, equityChart, ddChart]) c.timeScale().fitContent();
    fitted = true;
  }

  const last = s.equity[s.equity.length - 1];
  kv('position', p && p.qtyBase !== 0
    ? [['side', p.qtyBase > 0 ? 'LONG' : 'SHORT', p.qtyBase > 0 ? 'pos' : 'neg'], ['size', `${num(p.qtyBase, 4)} ${s.symbol}`], ['entry', px(s.symbol, p.entryPriceUsd)], ['stop', px(s.symbol, p.stopUsd)], ['liquidation', px(s.symbol, p.liquidationPriceUsd)], ['equity', usd(last?.equityUsd)]]
    : [['side', 'flat'], ['equity', usd(last?.equityUsd)], ['available', usd(last?.availableUsd)]]);
  const r = s.risk;
  kv('risk', [
    ["today's PnL", `${usd(r.dayPnlUsd)} USDT`, r.dayPnlUsd >= 0 ? 'pos' : 'neg'],
    ["today's loss", `${(r.dayLossFraction * 100).toFixed(2)}% of ${r.maxDailyLoss === undefined ? '?' : `${(r.maxDailyLoss * 100).toFixed(1)}% limit`}`, r.maxDailyLoss !== undefined && r.dayLossFraction >= r.maxDailyLoss ? 'neg' : ''],
    ['kill switch', r.killed ? 'ENGAGED' : 'off', r.killed ? 'neg' : 'pos'],
    ['entries', r.entriesStopped ? `STOPPED (${s.control?.entriesStoppedReason ?? ''}): the open position keeps its stop` : r.halt ? `HALTED: ${r.halt}` : 'allowed', r.entriesStopped || r.halt ? 'neg' : 'pos'],
    ['funding (session)', `${usd(s.fundingIncomeUsd)} USDT`, s.fundingIncomeUsd >= 0 ? 'pos' : 'neg'],
  ]);
  const d = s.latestDecision;
  const probs = d?.detail && typeof d.detail === 'object' ? Object.entries(d.detail).filter(([k]) => k !== 'nowMs') : [];
  kv('decision', d
    ? [['candle', iso(d.candleTimeMs)], ['action', d.action], ['risk manager', d.allowed ? 'allowed' : 'refused', d.allowed ? 'pos' : 'neg'], ['why', d.reason], ['qty', num(d.qtyBase)], ['price', px(d.symbol, d.priceUsd)], ['stop', px(d.symbol, d.stopUsd)], ...probs.map(([k, v]) => [k, typeof v === 'number' ? num(v) : JSON.stringify(v)])]
    : [['decision', 'none yet']]);
  table('orders', ['symbol', 'intent', 'side', 'type', 'qty', 'price/trigger', 'status'], s.openOrders.map((o) => [o.symbol, o.intent, o.side, o.type, num(o.qtyBase), px(o.symbol, o.triggerUsd ?? o.priceUsd), o.status]));
  table('streams', ['stream', 'last message', 'lag', 'reconnects'], s.streams.map((h) => {
    const age = (s.generatedAtMs - h.lastMessageAtMs) / 1000;
    return [h.stream, iso(h.lastMessageAtMs), [`${age.toFixed(0)} s`, age > 120 ? 'neg' : 'pos'], h.reconnects];
  }));
  const c = s.champion;
  kv('champion', c ? [['model run', c.modelRun ?? 'none (baseline strategy)'], ['agent', c.agentRun ?? 'none'], ...Object.entries(c.metrics ?? {}).map(([k, v]) => [k, num(v)])] : [['model', 'none (baseline strategy)']]);
  const pnl = (x) => [usd(x), x >= 0 ? 'pos' : 'neg'];
  table('round-trips', ['exit', 'symbol', 'side', 'qty', 'entry → exit', 'gross', 'fees', 'funding', 'net', 'reason'], s.trades.slice().reverse().map((t) => [iso(t.exitTimeMs), t.symbol, t.side, num(t.qtyBase), `${px(t.symbol, t.entryPriceUsd)} → ${px(t.symbol, t.exitPriceUsd)}`, pnl(t.grossPnlUsd), usd(t.feesUsd), pnl(t.fundingIncomeUsd), pnl(t.netPnlUsd), t.exitReason]));
  table('trades', ['time', 'symbol', 'side', 'qty', 'price', 'fee', 'reason', 'liquidity'], s.fills.slice(-30).reverse().map((f) => [iso(f.timeMs), f.symbol, [f.side, f.side === 'buy' ? 'pos' : 'neg'], num(f.qtyBase), px(f.symbol, f.priceUsd), usd(f.feeUsd), f.reason, f.liquidity]));
  table('risk-events', ['time', 'kind', 'message'], s.riskEvents.slice(-15).reverse().map((e) => [iso(e.timeMs), e.kind, e.message]));
}

/** Every symbol at once: exposure against the limits, open positions marked at the last close, P&L per symbol and period. */
function renderPortfolio(s) {
  const v = s.portfolio;
  const pnl = (x) => [usd(x), x >= 0 ? 'pos' : 'neg'];
  if (!v) {
    kv('exposure', [['portfolio', 'no bot session yet']]);
    for (const id of ['positions', 'pnl-symbols', 'pnl-periods']) table(id, [''], []);
    return;
  }
  const e = v.exposure;
  const l = e.limits;
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  kv('exposure', [
    ['equity', `${usd(v.equity?.equityUsd)} USDT, drawdown ${pct(v.drawdown)} from ${usd(v.peakEquityUsd)}`, v.drawdown > 0.1 ? 'neg' : ''],
    ['open positions', `${e.openPositions}${l.maxOpenPositions === undefined ? '' : ` of ≤ ${l.maxOpenPositions}`}`],
    ['gross exposure', `${e.grossMultiple.toFixed(2)}× equity (${usd(e.grossNotionalUsd)} USDT)${l.maxGrossExposure === undefined ? '' : `, ≤ ${l.maxGrossExposure}×`}`],
    ['risk at stops', `${pct(e.riskFraction)} of equity${l.maxTotalRisk ? ` · ${Math.round((e.riskFraction / l.maxTotalRisk) * 100)}% of the ${pct(l.maxTotalRisk)} budget` : ''}`, l.maxTotalRisk && e.riskFraction > l.maxTotalRisk ? 'neg' : ''],
    ['unprotected', String(v.positions.filter((p) => !p.protected).length), v.positions.some((p) => !p.protected) ? 'neg' : 'pos'],
  ]);
  table('positions', ['symbol', 'side', 'qty', 'entry', 'mark', 'unrealised', 'stop', 'liquidation', 'risk at stop'], v.positions.map((p) => [
    p.symbol, [p.side.toUpperCase(), p.side === 'long' ? 'pos' : 'neg'], num(Math.abs(p.qtyBase)), px(p.symbol, p.entryPriceUsd), px(p.symbol, p.markPriceUsd), pnl(p.unrealizedPnlUsd),
    p.protected ? px(p.symbol, p.stopUsd) : ['NONE', 'neg'], px(p.symbol, p.liquidationPriceUsd), usd(p.riskAtStopUsd),
  ]));
  const row = (name, x) => [name, x.trades, x.wins, pnl(x.grossPnlUsd), usd(x.feesUsd), pnl(x.fundingUsd), pnl(x.netPnlUsd)];
  table('pnl-symbols', ['symbol', 'trades', 'won', 'gross', 'fees', 'funding', 'net'], [...v.pnl.bySymbol.map((x) => row(x.symbol, x)), row('total', v.pnl.total)]);
  table('pnl-periods', ['period', 'trades', 'won', 'gross', 'fees', 'funding', 'net'], [...v.pnl.byMonth.slice(-3), ...v.pnl.byWeek.slice(-4), ...v.pnl.byDay.slice(-7)].map((x) => row(x.period, x)));
}

for (const b of document.querySelectorAll('button[data-action]')) {
  b.addEventListener('click', async () => {
    const action = b.dataset.action;
    // The force buttons act on the symbol shown only; Flatten all closes every position.
    const only = b.dataset.symbol ? symbol : undefined;
    const out = document.getElementById('control-result');
    if (!cfg.controls) {
      out.textContent = 'controls are disabled: the dashboard was started without OITRADER_DASHBOARD_TOKEN';
      return;
    }
    const what = action === 'flatten' ? 'force exit' : action === 'force-long' ? 'force a long entry of' : action === 'force-short' ? 'force a short entry of' : action;
    if (!confirm(only ? `${what} ${only} (bot ${cfg.bot})?` : `${action} bot ${cfg.bot}?`)) return;
    const res = await fetch(`/api/control/${action}${only ? `?symbol=${encodeURIComponent(only)}` : ''}`, { method: 'POST', headers: { authorization: `Bearer ${document.getElementById('token').value}` } });
    const body = await res.json();
    out.textContent = res.ok ? `${action} sent: ${body.note}` : `refused: ${body.error}`;
    out.dataset.status = String(res.status);
  });
}

const live = document.getElementById('live');
let source;
/** Draws `symbol` now and follows it live (one event stream per page, for the symbol shown). */
async function follow() {
  source?.close();
  const query = `?symbol=${encodeURIComponent(symbol)}`;
  render(await (await fetch(`/api/state${query}`)).json());
  source = new EventSource(`/api/events${query}`);
  source.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'badge';
  });
  source.addEventListener('error', () => {
    live.textContent = 'reconnecting';
    live.className = 'badge warn';
  });
  source.addEventListener('state', (e) => render(JSON.parse(e.data)));
}
document.getElementById('symbol').addEventListener('change', (e) => {
  symbol = e.target.value;
  window.history.replaceState(null, '', `?symbol=${encodeURIComponent(symbol)}`);
  fitted = false;
  void follow();
});
await follow();
