// The dashboard's Backtest tab (served as-is, no build step): runs `oitrader backtest` on stored data and lists the results.
/* global window, document, fetch, setTimeout */
const cfg = window.OITRADER;
const $ = (id) => document.getElementById(id);
const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '–');
const iso = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '–');

/** Shows the tab named in the address (#bot or #backtest). */
function showTab() {
  const backtest = window.location.hash === '#backtest';
  $('bot-tab').hidden = backtest;
  $('backtest-tab').hidden = !backtest;
  $('tab-bot').className = backtest ? '' : 'on';
  $('tab-backtest').className = backtest ? 'on' : '';
  if (backtest) void refresh();
}
window.addEventListener('hashchange', showTab);

function cell(text, cls) {
  const td = document.createElement('td');
  if (text instanceof window.Node) td.append(text);
  else td.textContent = String(text);
  if (cls) td.className = cls;
  return td;
}

function drawJobs(jobs) {
  const table = $('bt-jobs');
  table.replaceChildren();
  const head = document.createElement('tr');
  for (const h of ['started', 'strategy', 'symbols', 'span', 'state', 'strategy · return', 'Sharpe', 'max DD', 'trades', 'fees', 'buy-and-hold 1x', 'report']) head.append(Object.assign(document.createElement('th'), { textContent: h }));
  table.append(head);
  for (const j of jobs) {
    const tr = document.createElement('tr');
    const main = j.lines?.[0];
    const benchmark = j.lines?.find((l) => l.strategy === 'buy-and-hold 1x');
    const link = j.report ? Object.assign(document.createElement('a'), { href: `/reports/${encodeURIComponent(j.report)}`, target: '_blank', textContent: 'open', style: 'color:#58a6ff' }) : '–';
    const state = j.state === 'failed' ? `failed: ${j.error ?? ''}` : j.state === 'running' ? `running ${Math.round((Date.now() - j.startedAtMs) / 1000)} s` : `done in ${Math.round((j.finishedAtMs - j.startedAtMs) / 1000)} s`;
    tr.append(
      cell(iso(j.startedAtMs)),
      cell(j.request.strategy),
      cell(j.request.symbols.join(', ')),
      cell(`${j.request.start ?? 'all'} → ${j.request.end ?? 'now'}${j.request.risk === false ? ' (no risk engine)' : ''}`),
      cell(state, j.state === 'failed' ? 'neg' : ''),
      cell(main ? pct(main.totalReturn) : '–', main ? (main.totalReturn >= 0 ? 'pos' : 'neg') : ''),
      cell(main ? main.sharpe.toFixed(2) : '–'),
      cell(main ? pct(main.maxDrawdown) : '–'),
      cell(main ? main.trades : '–'),
      cell(main ? main.feesUsd.toFixed(2) : '–'),
      cell(benchmark ? pct(benchmark.totalReturn) : '–'),
      cell(link),
    );
    table.append(tr);
  }
}

let formReady = false;
let polling = false;
async function refresh() {
  const res = await fetch('/api/backtests');
  const body = await res.json();
  if (!res.ok) {
    $('bt-result').textContent = body.error;
    $('bt-form').hidden = true;
    return;
  }
  if (!formReady) {
    formReady = true;
    for (const s of body.strategies) $('bt-strategy').append(Object.assign(document.createElement('option'), { value: s, textContent: s }));
    for (const s of body.symbols) {
      const label = document.createElement('label');
      label.append(Object.assign(document.createElement('input'), { type: 'checkbox', value: s, checked: s === cfg.symbol, className: 'bt-symbol' }), ` ${s} `);
      $('bt-symbols').append(label);
    }
  }
  drawJobs(body.jobs);
  // While one runs, the list refreshes itself.
  if (body.jobs.some((j) => j.state === 'running') && !polling) {
    polling = true;
    setTimeout(() => {
      polling = false;
      void refresh();
    }, 1500);
  }
}

$('bt-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = $('bt-result');
  if (!cfg.controls) {
    out.textContent = 'backtests from the browser need the token: start the dashboard with OITRADER_DASHBOARD_TOKEN';
    return;
  }
  const token = $('bt-token').value || $('token').value;
  const request = {
    strategy: $('bt-strategy').value,
    symbols: [...document.querySelectorAll('.bt-symbol:checked')].map((x) => x.value),
    start: $('bt-start').value || undefined,
    end: $('bt-end').value || undefined,
    risk: $('bt-risk').checked,
  };
  const res = await fetch('/api/backtests', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(request) });
  const body = await res.json();
  out.textContent = res.ok ? `backtest ${body.id} started` : `refused: ${body.error}`;
  out.dataset.status = String(res.status);
  await refresh();
});

showTab();
