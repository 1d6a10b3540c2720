// The dashboard page's own script and style, served as /static/dashboard.js
// and /static/dashboard.css (no bundler, no CDN). The script subscribes to
// the server's Server-Sent Events and redraws from each JSON snapshot. Every
// string from the store goes in with textContent; only the SVG charts (built
// and escaped on the server by src/report/charts.ts) use innerHTML.

export const DASHBOARD_CSS = `body{font-family:sans-serif;max-width:1280px;margin:20px auto;padding:0 16px;color:#222}
h1{font-size:22px;word-break:break-all}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}code{font-size:12px;word-break:break-all}.charts{display:flex;flex-wrap:wrap;gap:16px}
.muted{color:#888;font-size:12px}#live.on{color:#2ca02c}#live.off{color:#d62728}
.state-complete{color:#2ca02c}.state-failed{color:#d62728}.state-pruned{color:#8c564b}.state-running{color:#1f77b4}
.counts span{margin-right:14px}.num{text-align:right}`;

export const DASHBOARD_JS = `'use strict';
(function () {
  var STATES = ['pending', 'running', 'complete', 'failed', 'pruned'];
  function el(tag, text, cls) {
    var e = document.createElement(tag);
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
    var e = document.getElementById(id);
    if (e) e.textContent = text;
  }
  function live(on) {
    var e = document.getElementById('live');
    if (!e) return;
    e.textContent = on ? 'live' : 'reconnecting...';
    e.className = on ? 'on' : 'off';
  }
  function subscribe(url, handlers) {
    var source = new EventSource(url);
    source.onopen = function () { live(true); };
    source.onerror = function () { live(false); };
    Object.keys(handlers).forEach(function (name) {
      source.addEventListener(name, function (ev) {
        live(true);
        handlers[name](JSON.parse(ev.data));
      });
    });
  }

  function renderIndex(data) {
    var body = document.getElementById('experiments-body');
    body.replaceChildren();
    data.experiments.forEach(function (x) {
      var tr = el('tr');
      tr.dataset.name = x.name;
      var link = el('a', x.name);
      link.href = '/experiments/' + encodeURIComponent(x.name);
      var nameCell = el('td');
      nameCell.appendChild(link);
      tr.appendChild(nameCell);
      tr.appendChild(el('td', x.status, 'status'));
      tr.appendChild(el('td', x.total, 'num total'));
      STATES.forEach(function (s) { tr.appendChild(el('td', x.counts[s], 'num count-' + s)); });
      tr.appendChild(el('td', x.best === null ? '-' : x.objective + ' ' + fmt(x.best), 'best'));
      tr.appendChild(el('td', x.createdAt));
      body.appendChild(tr);
    });
    setText('experiments-empty', data.experiments.length === 0 ? 'No experiments in this store yet.' : '');
  }

  function renderExperiment(s) {
    setText('status', s.experiment.status);
    setText('total', s.total);
    STATES.forEach(function (st) { setText('count-' + st, s.counts[st]); });
    setText('objectives', s.objectives.map(function (o) { return o.name + ' (' + o.direction + ')'; }).join(', '));
    var primary = s.objectives[0].name;
    if (s.best) {
      setText('best-number', '#' + s.best.number);
      setText('best-value', primary + ' ' + fmt(s.best.metrics[primary]));
      setText('best-arch', s.best.arch);
      setText('best-metrics', Object.keys(s.best.metrics).map(function (m) { return m + ' ' + fmt(s.best.metrics[m]); }).join(', '));
    } else {
      setText('best-number', '-');
      setText('best-value', 'no complete trial yet');
      setText('best-arch', '');
      setText('best-metrics', '');
    }
    ['bestSoFar', 'pareto', 'curves'].forEach(function (k) {
      var box = document.getElementById('chart-' + k);
      // Trusted SVG: rendered and escaped by the server's chart code.
      box.innerHTML = s.charts[k] || '';
      box.hidden = !s.charts[k];
    });
    var ws = document.getElementById('weight-sharing');
    if (ws) {
      ws.hidden = !s.weightSharing;
      if (s.weightSharing) {
        setText('ws-status', s.weightSharing.method + ': ' + s.weightSharing.phase + ', ' + s.weightSharing.epochsDone + '/' + s.weightSharing.epochs + ' supernet epochs');
        // Trusted HTML: the report's sections, rendered and escaped by the server.
        document.getElementById('ws-sections').innerHTML = s.weightSharing.html;
      }
    }
    var metricNames = [];
    s.trials.forEach(function (t) {
      Object.keys(t.metrics).forEach(function (m) { if (metricNames.indexOf(m) < 0) metricNames.push(m); });
    });
    var head = document.getElementById('trials-head');
    head.replaceChildren();
    ['#', 'state'].concat(metricNames, ['duration', 'architecture']).forEach(function (h) { head.appendChild(el('th', h)); });
    var body = document.getElementById('trials-body');
    body.replaceChildren();
    s.trials.forEach(function (t) {
      var tr = el('tr');
      tr.dataset.number = t.number;
      tr.appendChild(el('td', t.number, 'num'));
      tr.appendChild(el('td', t.state, 'state-' + t.state));
      metricNames.forEach(function (m) { tr.appendChild(el('td', fmt(t.metrics[m]), 'num')); });
      tr.appendChild(el('td', duration(t.durationMs), 'num'));
      var arch = el('td');
      arch.appendChild(el('code', t.arch));
      if (t.error) arch.appendChild(el('div', t.error, 'muted'));
      tr.appendChild(arch);
      body.appendChild(tr);
    });
    setText('trials-note', s.trials.length < s.total ? 'the ' + s.trials.length + ' most recent of ' + s.total + ' trials' : '');
    setText('updated', 'updated ' + new Date().toLocaleTimeString());
  }

  var page = document.body.dataset.page;
  if (page === 'index') {
    subscribe('/api/events', { experiments: renderIndex });
  } else if (page === 'experiment') {
    var name = document.body.dataset.name;
    subscribe('/api/experiments/' + encodeURIComponent(name) + '/events', {
      snapshot: renderExperiment,
      missing: function () { setText('status', 'deleted from the store'); },
    });
  }
})();
`;
