/**
 * The debug page: one self-contained HTML document (inline CSS and JavaScript, no CDN, no
 * framework). It connects to `./events` (server-sent events), keeps the samples, and draws per
 * alias an SVG chart of open / leased / idle / waiting connections over time (all threads), a table
 * of the latest figures per thread with a sparkline each, the leaks with their stacks, the pool
 * waits, and the recent requests with their queries. Every figure carries `data-*` attributes so
 * that tests (and scripts) can read them.
 * @internal
 */

const CSS = `
:root { --fg:#1d232b; --muted:#5f6b7a; --line:#d9dee5; --bg:#f7f8fa; --open:#3b6fd8; --leased:#d8453b; --idle:#2f9e62; --waiting:#c98a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1rem; align-items: baseline; padding: .8rem 1.2rem; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.1rem; margin: 0; }
#status { font-size: .85rem; color: var(--muted); }
#status[data-state="live"]::before { content: "●"; color: var(--idle); margin-right: .3rem; }
#status[data-state="down"]::before { content: "●"; color: var(--leased); margin-right: .3rem; }
main { padding: 1rem 1.2rem; display: grid; gap: 1rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; }
h2 { font-size: 1rem; margin: 0 0 .6rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: .25rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { font-weight: 600; color: var(--muted); font-size: .8rem; }
tr[data-thread="total"] td { font-weight: 600; }
svg.chart { width: 100%; height: 170px; display: block; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart text { fill: var(--muted); font-size: 10px; }
svg polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
.s-open { stroke: var(--open); } .s-leased { stroke: var(--leased); } .s-idle { stroke: var(--idle); } .s-waiting { stroke: var(--waiting); stroke-dasharray: 4 3; }
.legend { display: flex; gap: 1rem; font-size: .8rem; color: var(--muted); margin: .2rem 0 .4rem; }
.legend span::before { content: ""; display: inline-block; width: 14px; height: 3px; margin-right: .3rem; vertical-align: middle; background: currentColor; }
.legend .open { color: var(--open); } .legend .leased { color: var(--leased); } .legend .idle { color: var(--idle); } .legend .waiting { color: var(--waiting); }
svg.spark { width: 90px; height: 18px; vertical-align: middle; }
pre { margin: .3rem 0 0; padding: .5rem; background: var(--bg); border-radius: 4px; overflow-x: auto; font-size: .78rem; }
details { border-bottom: 1px solid var(--line); padding: .3rem 0; }
summary { cursor: pointer; font-variant-numeric: tabular-nums; }
summary .status-5, summary .status-4, summary .gone { color: var(--leased); }
.sql { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .8rem; white-space: pre-wrap; text-align: left; }
.empty { color: var(--muted); font-style: italic; }
`;

// The script runs in the browser: plain ES2017, no imports. It is written as a string on purpose:
// the page must work with nothing but this response.
const SCRIPT = `
(function () {
  'use strict';
  var FIGURES = ['open', 'leased', 'idle', 'opening', 'waiting', 'max', 'waits', 'timeouts', 'leaks', 'queries', 'errors'];
  var SERIES = ['open', 'leased', 'idle', 'waiting'];
  var state = { samples: [], requests: [], leaks: [], waits: [], maxSamples: 300 };
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) if (attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function aliasesOf(sample) {
    var names = {};
    sample.threads.forEach(function (t) { Object.keys(t.aliases).forEach(function (a) { names[a] = true; }); });
    return Object.keys(names).sort();
  }
  function total(sample, alias, figure) {
    return sample.threads.reduce(function (n, t) { return n + (t.aliases[alias] ? t.aliases[alias][figure] : 0); }, 0);
  }
  function threadName(t) { return t.isMainThread ? 'main (' + t.threadId + ')' : 'worker ' + t.threadId; }

  function chart(alias) {
    var W = 600, H = 150, PAD = 24;
    var samples = state.samples;
    var max = 1;
    samples.forEach(function (s) { SERIES.forEach(function (f) { max = Math.max(max, total(s, alias, f)); }); });
    var root = svg('svg', { 'class': 'chart', viewBox: '0 0 ' + W + ' ' + (H + PAD), preserveAspectRatio: 'none', 'data-alias': alias, 'data-points': String(samples.length) });
    for (var g = 0; g <= 4; g++) {
      var y = PAD / 2 + (H * g) / 4;
      root.appendChild(svg('line', { 'class': 'grid', x1: 30, x2: W, y1: y, y2: y }));
      var label = svg('text', { x: 0, y: y + 3 });
      label.textContent = String(Math.round(max - (max * g) / 4));
      root.appendChild(label);
    }
    var n = Math.max(samples.length - 1, 1);
    SERIES.forEach(function (f) {
      var pts = samples.map(function (s, i) {
        var x = 30 + ((W - 30) * i) / n;
        var y = PAD / 2 + H - (H * total(s, alias, f)) / max;
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      root.appendChild(svg('polyline', { 'class': 's-' + f, points: pts.join(' '), 'data-series': f }));
    });
    return root;
  }
  function spark(threadId, alias) {
    var values = state.samples.map(function (s) {
      var t = s.threads.filter(function (x) { return x.threadId === threadId; })[0];
      return t && t.aliases[alias] ? t.aliases[alias].open : 0;
    });
    var max = Math.max.apply(null, values.concat([1]));
    var n = Math.max(values.length - 1, 1);
    var root = svg('svg', { 'class': 'spark', viewBox: '0 0 90 18', preserveAspectRatio: 'none' });
    root.appendChild(svg('polyline', { 'class': 's-open', points: values.map(function (v, i) { return ((90 * i) / n).toFixed(1) + ',' + (17 - (16 * v) / max).toFixed(1); }).join(' ') }));
    return root;
  }
  function row(threadKey, label, figures, extra) {
    var tr = el('tr', { 'data-thread': threadKey }, [el('td', {}, [label])]);
    FIGURES.forEach(function (f) { tr.appendChild(el('td', { 'data-field': f }, [String(figures[f])])); });
    tr.appendChild(el('td', {}, extra ? [extra] : []));
    return tr;
  }
  // Drawn from scratch when the aliases or threads change; otherwise updated in place every
  // sample (figures, chart, sparklines), so that a reader's selection or a script's handle on a
  // row survives the next sample.
  var shape = '';
  function shapeOf(sample) {
    return aliasesOf(sample).map(function (alias) {
      return alias + ':' + sample.threads.filter(function (t) { return t.aliases[alias]; }).map(function (t) { return t.threadId; }).join(',');
    }).join(';');
  }
  function updateConnections(latest) {
    aliasesOf(latest).forEach(function (alias) {
      var section = $('connections').querySelector('section[data-alias="' + CSS.escape(alias) + '"]');
      var old = section.querySelector('svg.chart');
      section.replaceChild(chart(alias), old);
      var body = section.querySelector('tbody');
      function fill(tr, figures) {
        FIGURES.forEach(function (f) {
          var td = tr.querySelector('td[data-field="' + f + '"]');
          var text = String(figures[f]);
          if (td.textContent !== text) td.textContent = text;
        });
      }
      latest.threads.forEach(function (t) {
        if (!t.aliases[alias]) return;
        var tr = body.querySelector('tr[data-thread="' + t.threadId + '"]');
        fill(tr, t.aliases[alias]);
        var cell = tr.lastChild;
        cell.replaceChild(spark(t.threadId, alias), cell.firstChild);
      });
      var sums = {};
      FIGURES.forEach(function (f) { sums[f] = total(latest, alias, f); });
      fill(body.querySelector('tr[data-thread="total"]'), sums);
    });
  }
  function renderConnections() {
    var root = $('connections');
    var latest = state.samples[state.samples.length - 1];
    if (latest) {
      $('sampled').textContent = 'sample #' + latest.seq + ' at ' + new Date(latest.at).toLocaleTimeString();
      $('sampled').setAttribute('data-seq', String(latest.seq));
      var next = shapeOf(latest);
      if (next === shape && next !== '') { updateConnections(latest); return; }
      shape = next;
    } else shape = '';
    root.textContent = '';
    if (!latest) { root.appendChild(el('p', { 'class': 'empty' }, ['Waiting for the first sample…'])); return; }
    var aliases = aliasesOf(latest);
    if (aliases.length === 0) root.appendChild(el('p', { 'class': 'empty' }, ['No connection used yet.']));
    aliases.forEach(function (alias) {
      var section = el('section', { 'data-alias': alias }, [el('h2', {}, ["'" + alias + "'"])]);
      var legend = el('div', { 'class': 'legend' }, SERIES.map(function (f) { return el('span', { 'class': f }, [f + (f === 'waiting' ? ' (scopes)' : '')]); }));
      section.appendChild(legend);
      section.appendChild(chart(alias));
      var head = el('tr', {}, [el('th', {}, ['thread'])].concat(FIGURES.map(function (f) { return el('th', {}, [f]); })).concat([el('th', {}, ['open over time'])]));
      var table = el('table', { 'data-alias': alias }, [el('thead', {}, [head])]);
      var body = el('tbody');
      latest.threads.forEach(function (t) {
        if (t.aliases[alias]) body.appendChild(row(String(t.threadId), threadName(t), t.aliases[alias], spark(t.threadId, alias)));
      });
      var sums = {};
      FIGURES.forEach(function (f) { sums[f] = total(latest, alias, f); });
      body.appendChild(row('total', 'all threads', sums));
      table.appendChild(body);
      section.appendChild(table);
      root.appendChild(section);
    });
  }
  // Leaks, waits and requests arrive one by one, dozens a second under load: each new one is
  // added at the top and the oldest dropped, so what is on screen stays put (a <details> the
  // reader opened stays open, and a burst costs one element per event, not a redraw of all 50).
  function leakItem(l) {
    return el('details', { 'data-leak-scope': String(l.scopeId) }, [
      el('summary', {}, [new Date(l.at).toLocaleTimeString() + " — scope #" + l.scopeId + (l.scopeName ? " '" + l.scopeName + "'" : '') + " held '" + l.alias + "' for " + l.heldMs + ' ms (connection ' + l.connectionId + ')']),
      el('pre', {}, [l.stack || '(no stack: captureStacks is off)']),
    ]);
  }
  function waitItem(w) {
    return el('tr', {}, [el('td', {}, [new Date(w.at).toLocaleTimeString()]), el('td', {}, ["'" + w.alias + "'"]), el('td', {}, ['scope #' + w.scopeId]), el('td', { 'data-field': 'waitedMs' }, [w.waitedMs + ' ms'])]);
  }
  function requestItem(r) {
    var queries = el('table', {}, [el('thead', {}, [el('tr', {}, ['SQL', 'ms', 'alias', 'connection', 'server id'].map(function (h) { return el('th', {}, [h]); }))])]);
    var body = el('tbody');
    r.queries.forEach(function (q) {
      body.appendChild(el('tr', { 'data-query': '' }, [
        el('td', { 'class': 'sql' }, [q.sql + (q.error ? '\\n  → ' + q.error : '')]),
        el('td', {}, [q.durationMs.toFixed(2)]),
        el('td', {}, [q.alias]),
        el('td', {}, [String(q.connectionId)]),
        el('td', {}, [String(q.serverId)]),
      ]));
    });
    queries.appendChild(body);
    var status = r.clientGone ? el('span', { 'class': 'gone' }, ['client gone']) : el('span', { 'class': 'status-' + String(r.status).charAt(0) }, [String(r.status)]);
    return el('details', { 'data-request': String(r.id), 'data-scope': String(r.scopeId) }, [
      el('summary', {}, [r.method + ' ' + r.url + ' — ', status, ' — ' + r.durationMs + ' ms — ' + r.queries.length + (r.droppedQueries ? '+' + r.droppedQueries : '') + ' queries' + (r.error ? ' — ' + r.error : '')]),
      queries,
    ]);
  }
  function waitsTable() {
    return el('table', {}, [el('thead', {}, [el('tr', {}, [el('th', {}, ['when']), el('th', {}, ['alias']), el('th', {}, ['scope']), el('th', {}, ['waited'])])]), el('tbody')]);
  }
  // A list drawn from scratch (the first snapshot, or a reconnect's).
  function renderList(root, items, item, empty, container) {
    root.textContent = '';
    if (items.length === 0) { root.appendChild(el('p', { 'class': 'empty' }, [empty])); return; }
    var parent = root;
    if (container) { root.appendChild(container()); parent = root.querySelector('tbody'); }
    items.slice().reverse().forEach(function (x) { parent.appendChild(item(x)); });
  }
  // One more item at the top of a list already drawn; the oldest beyond max leaves.
  function addToList(root, x, item, max, container) {
    if (root.querySelector('p.empty')) root.textContent = '';
    var parent = root;
    if (container) {
      parent = root.querySelector('tbody');
      if (!parent) { root.appendChild(container()); parent = root.querySelector('tbody'); }
    }
    parent.insertBefore(item(x), parent.firstChild);
    while (parent.children.length > max) parent.removeChild(parent.lastChild);
  }
  function renderLeaks() { renderList($('leaks'), state.leaks, leakItem, 'No leak reported.'); }
  function renderWaits() { renderList($('waits'), state.waits, waitItem, 'No scope had to wait for a connection.', waitsTable); }
  function renderRequests() { renderList($('requests'), state.requests, requestItem, 'No request yet.'); }
  function renderAll() { renderConnections(); renderLeaks(); renderWaits(); renderRequests(); }
  function push(list, item, max) { list.push(item); if (list.length > max) list.splice(0, list.length - max); }

  var source = new EventSource('events');
  source.addEventListener('open', function () { $('status').setAttribute('data-state', 'live'); $('status').textContent = 'live'; });
  source.addEventListener('error', function () { $('status').setAttribute('data-state', 'down'); $('status').textContent = 'disconnected, retrying…'; });
  source.addEventListener('snapshot', function (e) {
    var s = JSON.parse(e.data);
    state.samples = s.samples; state.requests = s.requests; state.leaks = s.leaks; state.waits = s.waits;
    renderAll();
  });
  source.addEventListener('sample', function (e) { push(state.samples, JSON.parse(e.data), state.maxSamples); renderConnections(); });
  source.addEventListener('request', function (e) { var r = JSON.parse(e.data); push(state.requests, r, 50); addToList($('requests'), r, requestItem, 50); });
  source.addEventListener('leak', function (e) { var l = JSON.parse(e.data); push(state.leaks, l, 50); addToList($('leaks'), l, leakItem, 50); });
  source.addEventListener('wait', function (e) { var w = JSON.parse(e.data); push(state.waits, w, 50); addToList($('waits'), w, waitItem, 50, waitsTable); });
})();
`;

/** The page's HTML. */
export function debugPageHtml(title = 'Spool: connections'): string {
  const safeTitle = title.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${safeTitle}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${safeTitle}</h1><span id="status">connecting…</span><span id="sampled"></span></header>
<main>
<div id="connections"></div>
<section><h2>Leaks</h2><div id="leaks"></div></section>
<section><h2>Pool waits</h2><div id="waits"></div></section>
<section><h2>Recent requests</h2><div id="requests"></div></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
