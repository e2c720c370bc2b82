// The report's charts (inlined into the HTML next to the lightweight-charts standalone build; no build step,
// no network): reads the chart specs from #report-data and draws each into its div.
/* global document, window, LightweightCharts */
const LC = LightweightCharts;
const spec = JSON.parse(document.getElementById('report-data').textContent);
// More markers than this in view merge into a band: they are hidden until the user zooms in.
const MAX_MARKERS_IN_VIEW = spec.maxMarkersInView;
const charts = [];

const formatters = {
  usd: (v) => (Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : Number(v.toFixed(2)).toString()),
  percent: (v) => `${Number(v.toFixed(2))}%`,
  ratio: (v) => Number(v.toFixed(2)).toString(),
  price: (v) => Number(v.toPrecision(6)).toString(),
  count: (v) => Math.round(v).toLocaleString('en-US'),
};

function legend(box, chart, series) {
  const row = document.createElement('div');
  row.className = 'legend';
  for (const [k, s] of chart.series.entries()) {
    const item = document.createElement('button');
    item.type = 'button';
    item.className = 'legend-item';
    item.innerHTML = '<span class="swatch"></span>';
    item.querySelector('.swatch').style.background = s.color;
    item.append(document.createTextNode(s.label));
    item.addEventListener('click', () => {
      const visible = item.classList.toggle('off');
      series[k].applyOptions({ visible: !visible });
    });
    row.append(item);
  }
  box.before(row);
}

function draw(box, chart) {
  const api = LC.createChart(box, {
    autoSize: true,
    layout: { background: { color: '#ffffff' }, textColor: '#374151', fontSize: 11 },
    grid: { vertLines: { color: '#f1f5f9' }, horzLines: { color: '#f1f5f9' } },
    crosshair: { mode: LC.CrosshairMode.Normal },
    rightPriceScale: { borderColor: '#e5e7eb', scaleMargins: { top: 0.08, bottom: 0.08 } },
    timeScale: { borderColor: '#e5e7eb', minBarSpacing: 0.001, lockVisibleTimeRangeOnResize: true, timeVisible: chart.timeAxis !== false, secondsVisible: false, ...(chart.timeAxis === false && { tickMarkFormatter: (t) => formatters.count(t) }) },
    localization: { priceFormatter: formatters[chart.format] ?? formatters.price, ...(chart.timeAxis === false && { timeFormatter: (t) => `${formatters.count(t)} steps` }) },
    handleScroll: { vertTouchDrag: false },
  });
  const series = chart.series.map((s) => {
    const options = { color: s.color, lineWidth: s.width ?? 2, lineStyle: s.dashed ? LC.LineStyle.Dashed : LC.LineStyle.Solid, priceLineVisible: false, lastValueVisible: false, title: '' };
    const line = s.area
      ? api.addSeries(LC.AreaSeries, { ...options, lineColor: s.color, topColor: `${s.color}10`, bottomColor: `${s.color}66`, invertFilledArea: true })
      : api.addSeries(LC.LineSeries, options);
    line.setData(s.points.map(([time, value]) => (value === null ? { time } : { time, value })));
    return line;
  });
  legend(box, chart, series);
  // Markers (trades, risk halts) on the series that carries them; trades declutter when too many are in view.
  for (const [k, s] of chart.series.entries()) {
    if (!s.markers || s.markers.length === 0) continue;
    const plugin = LC.createSeriesMarkers(series[k], []);
    const note = document.createElement('div');
    note.className = 'marker-note';
    box.after(note);
    const always = s.markers.filter((m) => m.keep);
    const trades = s.markers.filter((m) => !m.keep);
    const update = () => {
      const range = api.timeScale().getVisibleRange();
      const inView = range ? trades.filter((m) => m.time >= range.from && m.time <= range.to) : trades;
      const shown = inView.length <= MAX_MARKERS_IN_VIEW ? inView : [];
      plugin.setMarkers([...shown, ...always].sort((a, b) => a.time - b.time));
      note.textContent = inView.length > MAX_MARKERS_IN_VIEW ? `${inView.length.toLocaleString('en-US')} fills in view: zoom in (wheel, pinch or drag the time axis) to see them as markers` : '';
    };
    api.timeScale().subscribeVisibleTimeRangeChange(update);
    update();
  }
  if (chart.logSwitch) {
    const bar = document.createElement('div');
    bar.className = 'scale-switch';
    for (const [label, mode] of [['linear', LC.PriceScaleMode.Normal], ['log', LC.PriceScaleMode.Logarithmic]]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label;
      b.dataset.mode = label;
      if (label === chart.defaultScale) b.classList.add('on');
      b.addEventListener('click', () => {
        api.priceScale('right').applyOptions({ mode });
        for (const other of bar.children) other.classList.toggle('on', other === b);
      });
      bar.append(b);
    }
    box.parentElement.querySelector('h2, h3')?.append(bar);
    if (chart.defaultScale === 'log') api.priceScale('right').applyOptions({ mode: LC.PriceScaleMode.Logarithmic });
  }
  charts.push({ api, group: chart.group });
}

for (const box of document.querySelectorAll('.lw-chart')) draw(box, spec.charts[Number(box.dataset.chart)]);

// Once laid out (autoSize measures the boxes on the next frames), every chart shows its whole span; then
// charts on the same time line zoom and scroll together.
function syncGroups() {
  let syncing = false;
  for (const a of charts) {
    if (!a.group) continue;
    a.api.timeScale().subscribeVisibleTimeRangeChange((range) => {
      if (syncing || !range) return;
      syncing = true;
      for (const b of charts) {
        if (b === a || b.group !== a.group) continue;
        try {
          b.api.timeScale().setVisibleRange(range);
        } catch {
          // a chart without data in the range keeps its own
        }
      }
      syncing = false;
    });
  }
}
const frame = () => new Promise((resolve) => window.requestAnimationFrame(resolve));
await frame();
await frame();
for (const c of charts) c.api.timeScale().fitContent();
await frame();
syncGroups();
document.body.dataset.chartsReady = String(charts.length);
