export interface DashboardPageOptions {
  bot: string;
  symbol: string;
  barMs: number;
  /** False when no token is configured: the control buttons say so instead of failing. */
  controls: boolean;
  /** Whether the Backtest tab runs backtests (oitrader dashboard, paper, bot run give it a runner). */
  backtests: boolean;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The dashboard's one page: layout and styles; the data arrive from /api/state and /api/events (dashboard-client.mjs). */
export function dashboardPage(o: DashboardPageOptions): string {
  const config = JSON.stringify({ bot: o.bot, symbol: o.symbol, barMs: o.barMs, controls: o.controls, backtests: o.backtests }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>oitrader ${escape(o.bot)} · ${escape(o.symbol)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{margin:0;font:13px/1.4 system-ui,sans-serif;background:#0f1419;color:#d8dee4}
header{display:flex;gap:16px;align-items:center;padding:8px 14px;background:#161b22;border-bottom:1px solid #30363d}
header h1{font-size:15px;margin:0}
.badge{padding:2px 8px;border-radius:10px;background:#238636;color:#fff;font-weight:600}
.badge.bad{background:#da3633}.badge.warn{background:#9e6a03}
main{display:grid;grid-template-columns:2fr 1fr;gap:10px;padding:10px}
section{background:#161b22;border:1px solid #30363d;border-radius:6px;padding:8px 10px;overflow:auto}
section h2{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#8b949e;margin:0 0 6px}
.wide{grid-column:1/3}
#price{height:360px}#equity{height:180px}#drawdown{height:110px}
table{border-collapse:collapse;width:100%}td,th{padding:2px 6px;text-align:right;border-bottom:1px solid #21262d;white-space:nowrap}
th{color:#8b949e;font-weight:500}td:first-child,th:first-child{text-align:left}
.kv{display:grid;grid-template-columns:auto 1fr;gap:2px 10px}.kv span:nth-child(odd){color:#8b949e}
.pos{color:#3fb950}.neg{color:#f85149}
button{background:#21262d;color:#d8dee4;border:1px solid #30363d;border-radius:4px;padding:4px 10px;cursor:pointer}
button.danger{border-color:#da3633}input{background:#0d1117;color:#d8dee4;border:1px solid #30363d;border-radius:4px;padding:4px}
#control-result{margin-top:6px;color:#8b949e}
select{background:#0d1117;color:#d8dee4;border:1px solid #30363d;border-radius:4px;padding:2px 4px}
nav{display:flex;gap:4px}nav a{color:#8b949e;text-decoration:none;padding:2px 8px;border-radius:4px}nav a.on{background:#21262d;color:#d8dee4}
main[hidden]{display:none}#bt-form{display:flex;gap:10px;flex-wrap:wrap;align-items:center}#bt-form label{color:#8b949e}
@media (max-width:760px){main{grid-template-columns:1fr;padding:6px}.wide{grid-column:1}header{flex-wrap:wrap;gap:6px}#price{height:260px}td,th{padding:2px 4px}}
</style></head>
<body>
<header><h1>oitrader · bot <span id="bot-name"></span></h1><nav><a href="#bot" id="tab-bot" class="on">Bot</a><a href="#backtest" id="tab-backtest">Backtest</a></nav><span id="run-badge" class="badge">…</span><span id="mode"></span><span id="kill-badge" class="badge">…</span>
<span id="updated" style="margin-left:auto;color:#8b949e"></span><span id="live" class="badge warn">connecting</span></header>
<main id="bot-tab">
<section class="wide"><h2>Portfolio · one wallet</h2><div id="exposure" class="kv"></div><table id="positions" style="margin-top:6px"></table><h2 style="margin-top:10px">P&amp;L by symbol (closed trades, net of fees and funding)</h2><table id="pnl-symbols"></table></section>
<section class="wide"><h2><select id="symbol" aria-label="symbol"></select> candles · entries ▲▼ · stops ✕</h2><div id="price"></div></section>
<section><h2>Equity (USDT)</h2><div id="equity"></div><h2>Drawdown</h2><div id="drawdown"></div></section>
<section><h2>Position <span id="position-symbol"></span></h2><div id="position" class="kv"></div><h2 style="margin-top:10px">Risk</h2><div id="risk" class="kv"></div></section>
<section><h2>Latest decision</h2><div id="decision" class="kv"></div></section>
<section><h2>Controls</h2>
<div>token <input id="token" type="password" autocomplete="off" size="18"></div>
<div style="margin-top:6px;display:flex;gap:6px;flex-wrap:wrap">
<button data-action="force-long" data-symbol="1">Force long <span class="chosen-symbol"></span></button><button data-action="force-short" data-symbol="1">Force short <span class="chosen-symbol"></span></button><button data-action="stop-entries">Stop entries</button><button data-action="resume">Resume</button><button data-action="flatten" data-symbol="1" class="danger">Force exit <span class="chosen-symbol"></span></button><button data-action="flatten" class="danger">Flatten all</button><button data-action="kill" class="danger">Kill</button>
</div><div id="control-result"></div></section>
<section><h2>Open orders</h2><table id="orders"></table></section>
<section><h2>Data health</h2><table id="streams"></table><h2 style="margin-top:10px">Champion model</h2><div id="champion" class="kv"></div></section>
<section class="wide"><h2>Closed trades (net = price PnL − fees + funding)</h2><table id="round-trips"></table><h2 style="margin-top:10px">P&amp;L by day · week · month</h2><table id="pnl-periods"></table></section>
<section class="wide"><h2>Recent fills (with fees)</h2><table id="trades"></table></section>
<section class="wide"><h2>Risk events</h2><table id="risk-events"></table></section>
</main>
<main id="backtest-tab" hidden>
<section class="wide"><h2>Backtest on stored data (fees, funding, slippage; through the bot's risk engine)</h2>
<form id="bt-form"><label>strategy <select id="bt-strategy"></select></label><span id="bt-symbols"></span>
<label>from <input id="bt-start" type="date"></label><label>to <input id="bt-end" type="date"></label>
<label><input id="bt-risk" type="checkbox" checked> risk engine</label><label>token <input id="bt-token" type="password" autocomplete="off" size="18"></label><button type="submit">Run backtest</button></form>
<div id="bt-result" style="margin-top:6px;color:#8b949e"></div></section>
<section class="wide"><h2>Backtests (newest first; the tested strategy, its baselines and buy-and-hold 1x)</h2><table id="bt-jobs"></table></section>
</main>
<script>window.OITRADER = ${config};</script>
<script src="/assets/lightweight-charts.js"></script>
<script type="module" src="/assets/dashboard-client.mjs"></script>
<script type="module" src="/assets/dashboard-backtest.mjs"></script>
</body></html>`;
}
