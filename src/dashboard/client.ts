// The dashboard page's own script and style, served as /static/dashboard.js
// (an ES module) and /static/dashboard.css (no bundler, no CDN). The script
// subscribes to the server's Server-Sent Events: a `snapshot` event gives
// the whole experiment view (data.ts ExperimentView), each `update` the
// trials and epochs that are new or changed and the other fields that
// changed; the script merges them into the view it holds and draws the
// charts from it with src/report/charts.ts (served as
// /static/report/charts.js). Every string from the store goes in with
// textContent or through the charts' escaping; innerHTML takes only SVG from
// the charts module or the server's cell drawings (src/viz, escaped there).

export const DASHBOARD_CSS = `body{font-family:sans-serif;max-width:1280px;margin:20px auto;padding:0 16px;color:#222}
h1{font-size:22px;word-break:break-all}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}code{font-size:12px;word-break:break-all}.charts{display:flex;flex-wrap:wrap;gap:16px}
.muted{color:#888;font-size:12px}#live.on{color:#2ca02c}#live.off{color:#d62728}
.state-complete{color:#2ca02c}.state-failed{color:#d62728}.state-pruned{color:#8c564b}.state-running{color:#1f77b4}
.counts span{margin-right:14px}.num{text-align:right}
.warnings{color:#d62728;font-size:13px}.compare{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;padding:8px;font-size:12px;max-width:420px}.card svg{max-width:400px;height:auto}
#chart-parallel{max-width:100%;overflow-x:auto}.cell{display:inline-block;text-align:center;font-size:12px}.cell svg{max-width:520px;height:auto}`;

export const DASHBOARD_JS = `import { bestSoFar, heatmap, lineChart, parallelCoordinates, scatterChart, spreadChart } from '/static/report/charts.js';

const STATES = ['pending', 'running', 'complete', 'failed', 'pruned'];
/** Trials in the table (newest first) and dimensions in the per-choice chart (largest spread of means first). */
const TABLE_ROWS = 200;
const IMPORTANCE_DIMENSIONS = 12;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function fmt(v) {
  if (v === null || v === undefined) return '-';
  if (typeof v !== 'number') return String(v);
  return Math.abs(v) >= 1e4 ? v.toExponential(3) : String(Number(v.toPrecision(5)));
}
function duration(ms) {
  if (ms === null || ms === undefined) return '-';
  return ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s';
}
function setText(id, text) {
  const e = document.getElementById(id);
  if (e) e.textContent = text;
}
/** Trusted SVG (from the charts module or the server's drawings) into a box, hidden when there is none. */
function setSvg(id, svg) {
  const box = document.getElementById(id);
  if (!box) return;
  box.innerHTML = svg || '';
  box.hidden = !svg;
}
function live(on) {
  const e = document.getElementById('live');
  if (!e) return;
  e.textContent = on ? 'live' : 'reconnecting...';
  e.className = on ? 'on' : 'off';
}
function subscribe(url, handlers) {
  const source = new EventSource(url);
  source.onopen = () => live(true);
  source.onerror = () => live(false);
  for (const name of Object.keys(handlers)) {
    source.addEventListener(name, (ev) => {
      live(true);
      handlers[name](JSON.parse(ev.data));
    });
  }
}

function renderIndex(data) {
  const body = document.getElementById('experiments-body');
  body.replaceChildren();
  for (const x of data.experiments) {
    const tr = el('tr');
    tr.dataset.name = x.name;
    const link = el('a', x.name);
    link.href = '/experiments/' + encodeURIComponent(x.name);
    const nameCell = el('td');
    nameCell.appendChild(link);
    tr.appendChild(nameCell);
    tr.appendChild(el('td', x.status, 'status'));
    tr.appendChild(el('td', x.total, 'num total'));
    for (const s of STATES) tr.appendChild(el('td', x.counts[s], 'num count-' + s));
    tr.appendChild(el('td', x.best === null ? '-' : x.objective + ' ' + fmt(x.best), 'best'));
    tr.appendChild(el('td', x.createdAt));
    body.appendChild(tr);
  }
  setText('experiments-empty', data.experiments.length === 0 ? 'No experiments in this store yet.' : '');
}

// ---- one experiment: the view held, merged from snapshot and update events ----

let view = null;
let epochIndex = new Map();
const selected = [];
const details = new Map();

function onSnapshot(v) {
  view = v;
  epochIndex = new Map(v.epochs.map((e, i) => [e.key, i]));
  renderExperiment();
}
function onUpdate(delta) {
  if (!view) return;
  for (const key of Object.keys(delta)) {
    if (key === 'trials') {
      // Numbers are 0, 1, 2, ... without gaps: the index is the number.
      for (const t of delta.trials) view.trials[t.number] = t;
    } else if (key === 'epochs') {
      for (const e of delta.epochs) {
        if (epochIndex.has(e.key)) view.epochs[epochIndex.get(e.key)] = e;
        else {
          epochIndex.set(e.key, view.epochs.length);
          view.epochs.push(e);
        }
      }
    } else view[key] = delta[key];
  }
  renderExperiment();
}

function primaryOf(s) {
  return s.objectives[0];
}
function completeWith(s, metrics) {
  return s.trials.filter((t) => t && t.state === 'complete' && metrics.every((m) => Number.isFinite(t.metrics[m])));
}

function renderHeader(s) {
  setText('status', s.experiment.status);
  setText('total', s.total);
  for (const st of STATES) setText('count-' + st, s.counts[st]);
  setText('objectives', s.objectives.map((o) => o.name + ' (' + o.direction + ')').join(', '));
  const primary = primaryOf(s).name;
  const best = s.best === null ? null : s.trials[s.best];
  if (best) {
    setText('best-number', '#' + best.number);
    setText('best-value', primary + ' ' + fmt(best.metrics[primary]));
    setText('best-arch', best.arch);
    setText('best-metrics', Object.keys(best.metrics).map((m) => m + ' ' + fmt(best.metrics[m])).join(', '));
  } else {
    setText('best-number', '-');
    setText('best-value', 'no complete trial yet');
    setText('best-arch', '');
    setText('best-metrics', '');
  }
}

function renderWeightSharing(s) {
  const box = document.getElementById('weight-sharing');
  const w = s.weightSharing;
  box.hidden = !w;
  if (!w) return;
  setText('ws-status', w.method + ': ' + w.phase + ', ' + w.epochsDone + '/' + w.epochs + ' supernet epochs');
  const warnings = document.getElementById('ws-warnings');
  warnings.replaceChildren(...w.collapse.map((c) => el('li', 'collapse warning at epoch ' + c.epoch + ': ' + c.reason)));
  const records = s.epochs.map((e) => e.record);
  const marks = w.collapse.map((c) => ({ x: c.epoch, label: 'warning: ' + c.reason }));
  const series = (key, name) => {
    const points = records.filter((r) => typeof r[key] === 'number').map((r) => [r.epoch, r[key]]);
    return points.length > 0 ? { name, points } : null;
  };
  const chart = (id, title, yLabel, list, withMarks) => {
    const present = list.filter((x) => x !== null);
    setSvg(id, present.length > 0 ? lineChart(present, { title, xLabel: 'epoch', yLabel, marks: withMarks ? marks : [] }) : null);
  };
  chart('ws-accuracy', 'supernet accuracy', 'accuracy', [series('trainAccuracy', 'train'), series('validAccuracy', 'valid')], false);
  chart('ws-loss', 'supernet loss', 'loss', [series('trainLoss', 'train'), series('validLoss', 'valid')], false);
  chart('ws-eigenvalue', 'dominant Hessian eigenvalue (validation loss w.r.t. α)', 'λmax', [series('hessianEigenvalue', 'λmax')], true);
  chart('ws-skip', 'derived cell: skip share', 'share', [series('skipFraction', 'skip'), series('noneFraction', 'none'), series('parameterFreeFraction', 'parameter-free')], true);
  const cell = document.getElementById('ws-cell');
  cell.replaceChildren();
  if (w.derivedArch !== null) {
    const holder = el('div', null, 'cell');
    // Trusted SVG: drawn by the server through the space's kit (src/viz escapes every label).
    holder.innerHTML = w.derivedCell || '';
    holder.appendChild(el('div', 'current derived cell'));
    holder.appendChild(el('code', w.derivedArch));
    cell.appendChild(holder);
  }
  cell.hidden = w.derivedArch === null;
  const maps = [];
  for (const label of Object.keys(w.operations)) {
    const withWeights = records.filter((r) => r.weights && Array.isArray(r.weights[label]));
    if (withWeights.length === 0) continue;
    maps.push(heatmap(w.operations[label], withWeights.map((r) => r.epoch), withWeights.map((r) => r.weights[label]), { title: 'α of ' + label + ' (softmax)', xLabel: 'epoch' }));
  }
  document.getElementById('ws-alpha').innerHTML = maps.join('');
}

function renderCells(s) {
  const box = document.getElementById('cells');
  box.replaceChildren();
  const primary = primaryOf(s).name;
  for (const c of s.cells) {
    const t = s.trials[c.number];
    const holder = el('div', null, 'cell');
    holder.dataset.number = c.number;
    holder.innerHTML = c.svg;
    holder.appendChild(el('div', '#' + c.number + ': ' + primary + ' ' + fmt(t && t.metrics[primary])));
    box.appendChild(holder);
  }
  document.getElementById('cells-box').hidden = s.cells.length === 0;
}

function renderCharts(s) {
  const primary = primaryOf(s);
  const complete = completeWith(s, [primary.name]);
  setSvg('chart-bestSoFar', complete.length === 0 ? null : lineChart([{ name: 'best ' + primary.name, points: bestSoFar(complete.map((t) => [t.number + 1, t.metrics[primary.name]]), primary.direction === 'max'), step: true }], {
    title: 'best ' + primary.name + ' so far', xLabel: 'trial', yLabel: primary.name,
  }));
  let pareto = null;
  if (s.front) {
    const [a, b] = s.front.objectives;
    const point = (t) => ({ x: t.metrics[b.name], y: t.metrics[a.name], label: '#' + t.number + ' ' + t.arch });
    const points = completeWith(s, [a.name, b.name]).map(point);
    const front = s.front.numbers.map((n) => point(s.trials[n]));
    if (points.length > 0) pareto = scatterChart(points, front, { title: a.name + ' against ' + b.name + ' (Pareto front in red)', xLabel: b.name, yLabel: a.name, logX: b.name === 'params' || b.name === 'flops' });
  }
  setSvg('chart-pareto', pareto);
  setSvg('chart-curves', s.curves && s.curves.trials.length > 0
    ? lineChart(s.curves.trials.map((t) => ({ name: '#' + t.number, points: t.points })), { title: 'learning curves of recent trials (' + s.curves.metric + ')', xLabel: 'step (epoch)', yLabel: s.curves.metric })
    : null);
}

function renderSpace(s) {
  const primary = primaryOf(s);
  const complete = completeWith(s, [primary.name]);
  const dims = (s.dimensions || []).map((d, k) => ({ d, k })).filter((x) => x.d.values.length > 1);
  const box = document.getElementById('space-box');
  box.hidden = dims.length === 0 || complete.length === 0;
  if (box.hidden) return;
  const values = complete.map((t) => t.metrics[primary.name]);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const axes = dims.map((x) => ({ name: x.d.label, categories: x.d.values.map(String) })).concat([{ name: primary.name }]);
  // A small fixed offset per trial spreads lines that share a choice, so that the number through each value shows.
  const jitter = (n) => (((n * 2654435761) % 1000) / 1000 - 0.5) * 0.3;
  const lines = complete.map((t) => ({
    values: dims.map((x) => (t.choices && t.choices[x.k] !== null ? t.choices[x.k] + jitter(t.number) : null)).concat([t.metrics[primary.name]]),
    colour: hi > lo ? (t.metrics[primary.name] - lo) / (hi - lo) : 0.5,
    label: '#' + t.number + ' ' + primary.name + ' ' + fmt(t.metrics[primary.name]),
  }));
  setSvg('chart-parallel', parallelCoordinates(axes, lines, { title: 'trials over the space (' + complete.length + ' complete)', colourLabel: primary.name, colourRange: [lo, hi] }));
  const groups = new Map();
  for (const c of s.importance || []) {
    if (!groups.has(c.label)) groups.set(c.label, []);
    groups.get(c.label).push({ label: String(c.value), mean: c.mean, spread: c.sd, note: 'n=' + c.n });
  }
  const range = (rows) => Math.max(...rows.map((r) => r.mean)) - Math.min(...rows.map((r) => r.mean));
  const ranked = [...groups.entries()].map(([name, rows]) => ({ name, rows })).sort((a, b) => range(b.rows) - range(a.rows)).slice(0, IMPORTANCE_DIMENSIONS);
  setSvg('chart-importance', ranked.length === 0 ? null : spreadChart(ranked, {
    title: 'mean ' + primary.name + ' per choice (± sd)' + (groups.size > ranked.length ? ', ' + ranked.length + ' of ' + groups.size + ' dimensions' : ''),
    xLabel: primary.name,
  }));
}

function toggle(number, on) {
  const at = selected.indexOf(number);
  if (on && at < 0) selected.push(number);
  if (!on && at >= 0) selected.splice(at, 1);
  renderCompare();
  for (const n of selected) {
    if (details.has(n)) continue;
    details.set(n, null);
    fetch('/api/experiments/' + encodeURIComponent(document.body.dataset.name) + '/trials/' + n)
      .then((r) => (r.ok ? r.json() : null))
      .then((d) => {
        details.set(n, d);
        renderCompare();
      })
      .catch(() => details.delete(n));
  }
}

function renderCompare() {
  const box = document.getElementById('compare');
  box.replaceChildren();
  document.getElementById('compare-box').hidden = selected.length === 0;
  for (const n of selected) {
    const d = details.get(n);
    // The held row is newer than a fetched one for a trial still running.
    const t = (view && view.trials[n]) || (d && d.trial);
    const card = el('div', null, 'card');
    card.dataset.number = n;
    card.appendChild(el('b', '#' + n + (t ? ' (' + t.state + ')' : '')));
    if (t) {
      card.appendChild(el('div', Object.keys(t.metrics).map((m) => m + ' ' + fmt(t.metrics[m])).join(', ')));
      card.appendChild(el('code', t.arch));
    }
    if (d && d.svg) {
      const drawing = el('div');
      drawing.innerHTML = d.svg;
      card.appendChild(drawing);
    }
    box.appendChild(card);
  }
}

function renderTable(s) {
  const recent = [];
  for (let i = s.trials.length - 1; i >= 0 && recent.length < TABLE_ROWS; i--) if (s.trials[i]) recent.push(s.trials[i]);
  const metricNames = [];
  for (const t of recent) for (const m of Object.keys(t.metrics)) if (metricNames.indexOf(m) < 0) metricNames.push(m);
  const head = document.getElementById('trials-head');
  head.replaceChildren();
  for (const h of ['compare', '#', 'state'].concat(metricNames, ['duration', 'architecture'])) head.appendChild(el('th', h));
  const body = document.getElementById('trials-body');
  body.replaceChildren();
  for (const t of recent) {
    const tr = el('tr');
    tr.dataset.number = t.number;
    const box = el('input');
    box.type = 'checkbox';
    box.className = 'compare-tick';
    box.checked = selected.indexOf(t.number) >= 0;
    box.addEventListener('change', () => toggle(t.number, box.checked));
    const tick = el('td');
    tick.appendChild(box);
    tr.appendChild(tick);
    tr.appendChild(el('td', t.number, 'num'));
    tr.appendChild(el('td', t.state, 'state-' + t.state));
    for (const m of metricNames) tr.appendChild(el('td', fmt(t.metrics[m]), 'num'));
    tr.appendChild(el('td', duration(t.durationMs), 'num'));
    const arch = el('td');
    arch.appendChild(el('code', t.arch));
    if (t.error) arch.appendChild(el('div', t.error, 'muted'));
    tr.appendChild(arch);
    body.appendChild(tr);
  }
  setText('trials-note', recent.length < s.total ? 'the table shows the ' + recent.length + ' most recent of ' + s.total + ' trials' : '');
}

function renderExperiment() {
  const s = view;
  renderHeader(s);
  renderWeightSharing(s);
  renderCells(s);
  renderCharts(s);
  renderSpace(s);
  renderTable(s);
  if (selected.length > 0) renderCompare();
  setText('updated', 'updated ' + new Date().toLocaleTimeString());
}

const page = document.body.dataset.page;
if (page === 'index') {
  subscribe('/api/events', { experiments: renderIndex });
} else if (page === 'experiment') {
  const name = document.body.dataset.name;
  document.getElementById('compare-clear').addEventListener('click', () => {
    selected.splice(0, selected.length);
    if (view) renderTable(view);
    renderCompare();
  });
  document.getElementById('compare-add').addEventListener('change', (ev) => {
    const n = Number(ev.target.value);
    if (Number.isInteger(n) && n >= 0) toggle(n, true);
    ev.target.value = '';
    if (view) renderTable(view);
  });
  subscribe('/api/experiments/' + encodeURIComponent(name) + '/events', {
    snapshot: onSnapshot,
    update: onUpdate,
    missing: () => setText('status', 'deleted from the store'),
  });
}
`;
