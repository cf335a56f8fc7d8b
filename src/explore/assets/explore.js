// recurrent explore — the page's script: five views over the server's JSON endpoints (docs/explore.md).
// No library: the curves are SVG drawn here. The page marks what it has drawn in data attributes of
// <body> (data-runs, data-cells, ...) for the browser tests (tests/explore/e2e_browser.py).
'use strict';
const $ = (id) => document.getElementById(id);
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
const state = { runs: [], metrics: {}, selected: new Set(), cells: null, view: '' };

function status(msg) { $('status').textContent = msg || ''; }
async function api(path, body) {
  return answerOf(fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
}
async function answerOf(reply) {  // a fetch's JSON, or its one-line error thrown
  const r = await reply;
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
  return j;
}
function el(tag, attrs, text) {
  const e = document.createElementNS(tag === 'svg' || attrs && attrs.svg ? 'http://www.w3.org/2000/svg' : 'http://www.w3.org/1999/xhtml', tag);
  for (const [k, v] of Object.entries(attrs || {})) if (k !== 'svg') e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmt(v) {
  if (v === null || v === undefined) return '';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(+v.toPrecision(5));
}

// ---- a line chart: series [{name, colour, points: [[x, y], ...], dash}] ----------------------------
function lineChart(title, series, opt) {
  const W = opt.width || 460, H = opt.height || 220, L = 52, R = 8, T = 8, B = 22;
  const logY = !!opt.logY;
  const pts = series.flatMap((s) => s.points).filter((p) => p[1] !== null && isFinite(p[1]) && (!logY || p[1] > 0));
  const box = el('div', { class: 'chart' });
  box.appendChild(el('h4', {}, title));
  const svg = el('svg', { width: W, height: H, svg: 1 });
  box.appendChild(svg);
  if (!pts.length) return box;
  const fy = (y) => (logY ? Math.log10(y) : y);
  let x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
  let y0 = Math.min(...pts.map((p) => fy(p[1]))), y1 = Math.max(...pts.map((p) => fy(p[1])));
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => T + (1 - (fy(y) - y0) / (y1 - y0)) * (H - T - B);
  svg.appendChild(el('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: 'none', stroke: '#ccc', svg: 1 }));
  for (let i = 0; i <= 4; ++i) {
    const yv = y0 + ((y1 - y0) * i) / 4, yy = T + (1 - i / 4) * (H - T - B);
    svg.appendChild(el('text', { x: 2, y: yy + 3, svg: 1 }, fmt(logY ? Math.pow(10, yv) : yv)));
    const xv = x0 + ((x1 - x0) * i) / 4;
    svg.appendChild(el('text', { x: sx(xv) - 10, y: H - 6, svg: 1 }, fmt(xv)));
  }
  series.forEach((s) => {
    const p = s.points.filter((q) => q[1] !== null && isFinite(q[1]) && (!logY || q[1] > 0));
    if (!p.length) return;
    const d = p.map((q, i) => (i ? 'L' : 'M') + sx(q[0]).toFixed(1) + ',' + sy(q[1]).toFixed(1)).join('');
    svg.appendChild(el('path', { d, fill: 'none', stroke: s.colour, 'stroke-width': 1.5, 'stroke-dasharray': s.dash || '',
                                 'data-series': s.name, 'data-points': p.length, svg: 1 }));
    if (p.length === 1) svg.appendChild(el('circle', { cx: sx(p[0][0]), cy: sy(p[0][1]), r: 2.5, fill: s.colour, svg: 1 }));
  });
  const legend = el('div');
  series.forEach((s) => {
    const item = el('span', { style: 'margin-right:1em' });
    item.appendChild(el('span', { class: 'swatch', style: 'background:' + s.colour }));
    item.appendChild(document.createTextNode(s.name));
    legend.appendChild(item);
  });
  box.appendChild(legend);
  svg.addEventListener('mousemove', (ev) => {  // the nearest point of any series
    const r = svg.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
    let best = null, bd = 1e9;
    series.forEach((s) => s.points.forEach((q) => {
      if (q[1] === null || !isFinite(q[1]) || (logY && q[1] <= 0)) return;
      const d = Math.hypot(sx(q[0]) - mx, sy(q[1]) - my);
      if (d < bd) { bd = d; best = [s, q]; }
    }));
    const tip = $('tooltip');
    if (!best || bd > 30) { tip.style.display = 'none'; return; }
    tip.textContent = best[0].name + ': ' + (opt.xName || 'x') + ' ' + fmt(best[1][0]) + ', ' + fmt(best[1][1]);
    tip.style.left = ev.clientX + 12 + 'px'; tip.style.top = ev.clientY + 12 + 'px'; tip.style.display = 'block';
  });
  svg.addEventListener('mouseleave', () => { $('tooltip').style.display = 'none'; });
  return box;
}

// ---- Runs: every metrics.csv, overlaid, polled every second ---------------------------------------
async function refreshRuns() {
  const j = await api('/api/runs');
  state.runs = j.runs;
  const list = $('run-list');
  const known = new Set([...list.querySelectorAll('input')].map((i) => i.value));
  j.runs.filter((r) => r.metrics).forEach((r) => {
    if (known.has(r.name)) return;
    const lab = el('label');
    const box = el('input', { type: 'checkbox', value: r.name });
    box.checked = true;
    state.selected.add(r.name);
    box.addEventListener('change', () => { box.checked ? state.selected.add(r.name) : state.selected.delete(r.name); drawRuns(); });
    lab.appendChild(box);
    lab.appendChild(document.createTextNode(' ' + r.name));
    list.appendChild(lab);
  });
  for (const id of ['grad-run', 'cells-run', 'samples-run', 'attention-run']) {
    const sel = $(id), want = id === 'grad-run' ? (r) => r.diagnostics : (r) => r.model;
    const have = new Set([...sel.options].map((o) => o.value));
    j.runs.filter(want).forEach((r) => { if (!have.has(r.name)) sel.appendChild(el('option', { value: r.name }, r.name)); });
    const asked = new URLSearchParams(location.search).get('run');  // ?run=NAME: that run first
    if (!have.size && asked && [...sel.options].some((o) => o.value === asked)) sel.value = asked;
  }
}

async function pollMetrics() {
  let changed = false;
  for (const r of state.runs.filter((x) => x.metrics)) {
    const m = state.metrics[r.name] || (state.metrics[r.name] = { columns: [], rows: [] });
    try {
      const j = await api('/api/runs/' + encodeURIComponent(r.name) + '/metrics?from=' + m.rows.length);
      if (j.total < m.rows.length) { m.rows = []; changed = true; continue; }  // the run was restarted
      if (j.rows.length || m.columns.length !== j.columns.length) changed = true;
      m.columns = j.columns;
      m.rows.push(...j.rows);
    } catch (e) { status(e.message); }
  }
  if (changed) drawRuns();
}

function drawRuns() {
  const runs = state.runs.filter((r) => r.metrics && state.selected.has(r.name));
  const cols = [];
  runs.forEach((r) => (state.metrics[r.name] || { columns: [] }).columns.forEach((c) => {
    if (!['step', 'epoch', 'elapsed_s'].includes(c) && !cols.includes(c)) cols.push(c);
  }));
  const charts = $('charts');
  charts.textContent = '';
  const logY = $('log-y').checked;
  let total = 0;
  cols.forEach((c) => {
    const series = [];
    runs.forEach((r, i) => {
      const m = state.metrics[r.name];
      const xi = m.columns.indexOf('step'), yi = m.columns.indexOf(c);
      if (yi < 0) return;
      series.push({ name: r.name, colour: COLOURS[i % COLOURS.length], points: m.rows.map((row) => [xi >= 0 ? row[xi] : 0, row[yi]]) });
    });
    charts.appendChild(lineChart(c, series, { logY: logY && c !== 'epoch', xName: 'step' }));
  });
  const table = $('run-table');
  table.textContent = '';
  const head = el('tr');
  ['run', 'rows', 'step', 'train_loss', 'valid_loss'].forEach((h) => head.appendChild(el('th', {}, h)));
  table.appendChild(head);
  runs.forEach((r) => {
    const m = state.metrics[r.name], last = m.rows[m.rows.length - 1] || [];
    total += m.rows.length;
    const tr = el('tr', { 'data-run': r.name, 'data-rows': m.rows.length });
    tr.appendChild(el('td', {}, r.name));
    tr.appendChild(el('td', { class: 'rows' }, String(m.rows.length)));
    ['step', 'train_loss', 'valid_loss'].forEach((c) => tr.appendChild(el('td', { class: c }, fmt(last[m.columns.indexOf(c)]))));
    table.appendChild(tr);
  });
  document.body.dataset.runs = runs.length;
  document.body.dataset.rows = total;
}

// ---- Gradient flow ------------------------------------------------------------------------------------
async function loadGrad() {
  const name = $('grad-run').value;
  if (!name) return;
  const j = await api('/api/runs/' + encodeURIComponent(name) + '/diagnostics');
  state.grad = j.steps;
  const s = $('grad-step');
  const atEnd = +s.value === +s.max;
  s.max = Math.max(0, j.steps.length - 1);
  if (atEnd) s.value = s.max;
  drawGrad();
}
function drawGrad() {
  const steps = state.grad || [], k = +$('grad-step').value, st = steps[k];
  const box = $('grad-chart');
  box.textContent = '';
  if (!st) { $('grad-label').textContent = 'no probed step yet'; return; }
  $('grad-label').textContent = 'step ' + st.step + ' (' + (k + 1) + ' of ' + steps.length + ')' +
    (st.loss === null ? '' : ', loss ' + fmt(st.loss) + ', gradient norm ' + fmt(st.grad_norm));
  const series = [];
  st.layers.forEach((l, i) => {
    const name = l.name || 'layer ' + l.layer + (l.dir ? ' reverse' : '');  // name: the gradient lab's series
    series.push({ name: name + ' ‖∂L/∂h_t‖', colour: COLOURS[i % 10], points: l.dh.map((v, t) => [t, v]) });
    if (l.dc) series.push({ name: name + ' ‖∂L/∂c_t‖', colour: COLOURS[i % 10], dash: '4 3', points: l.dc.map((v, t) => [t, v]) });
  });
  box.appendChild(lineChart('gradient norm against time step t (log scale)', series, { logY: true, width: 760, height: 360, xName: 't' }));
  document.body.dataset.gradSteps = steps.length;
}

// ---- Cells --------------------------------------------------------------------------------------------
// Colours by class, not inline style (10k style attributes cost the browser more than 62 class names):
// b0..b40 blue (−1) … white (b20) … red (+1) in steps of 0.05; g0..g20 green of alpha 0 … 1.
(function cellStyles() {
  const rules = [];
  for (let k = 0; k <= 40; ++k) {
    const a = (k - 20) / 20;
    rules.push(`#cells-view .b${k}{background:${a >= 0 ? `rgba(220,40,40,${a.toFixed(2)})` : `rgba(40,90,220,${(-a).toFixed(2)})`}}`);
  }
  for (let k = 0; k <= 20; ++k) rules.push(`#cells-view .g${k}{background:rgba(40,160,60,${(k / 20).toFixed(2)})}`);
  document.head.appendChild(el('style', {}, rules.join('\n')));
})();
function bucket(v, scale) { return 'b' + Math.round(20 + 20 * Math.max(-1, Math.min(1, v / scale))); }
// The states (Karpathy et al. read the LSTM's c); ?pattern=line|brackets picks another first pattern.
function firstSearch() { return { pattern: new URLSearchParams(location.search).get('pattern') || 'quotes', kinds: ['c', 'h'] }; }
// Reads the text of the box (or takes up the page's first reading, index.html's firstCells: the explorer's
// --text), its first search answered in the same reply.
async function readCells(first) {
  const t0 = performance.now();
  status('reading…');
  const body = first ? first.search : firstSearch();
  const c = await (first ? answerOf(first.reply)
                         : api('/api/cells', { run: $('cells-run').value, text: $('cells-text').value, search: body }));
  performance.mark('cells-reply');
  state.cells = c;
  const layer = $('cells-layer');
  layer.textContent = '';
  c.layers.forEach((l, i) => layer.appendChild(el('option', { value: i }, i + ' (' + l.cell + ', ' + l.size + ')')));
  fillKinds();
  $('cells-info').textContent = c.chars.length + ' characters, activations in ' + c.seconds.toFixed(3) +
    ' s on the server; gates checked against h to ' + c.gate_check.toExponential(1);
  status('');
  await showUnits(c.search, body);
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));  // the coloured text laid out and painted
  performance.mark('painted');
  document.body.dataset.cellsMs = (performance.now() - t0).toFixed(1);  // this reading
  document.body.dataset.loadedMs = performance.now().toFixed(1);        // since the navigation began
}
function fillKinds() {
  const l = state.cells.layers[+$('cells-layer').value || 0], kind = $('cells-kind'), was = kind.value;
  kind.textContent = '';
  l.kinds.forEach((k) => kind.appendChild(el('option', { value: k }, k)));
  if (l.kinds.includes(was)) kind.value = was;
  $('cells-unit').max = l.size - 1;
}
async function colourCells(known) {  // known: the unit's values when the server sent them already
  const c = state.cells;
  if (!c) return;
  const how = $('cells-colour').value, n = c.chars.length, cls = new Array(n);
  let label, tip;
  if (how === 'unit') {
    const q = 'layer=' + $('cells-layer').value + '&index=' + $('cells-unit').value + '&kind=' + $('cells-kind').value;
    const values = Array.isArray(known) ? known : (await api('/api/cells/' + c.id + '/unit?' + q)).values;
    // Red above the unit's mean over the text, blue below, full colour at the largest deviation.
    let mean = 0, scale = 1e-6;
    for (const v of values) mean += v / n;
    for (const v of values) scale = Math.max(scale, Math.abs(v - mean));
    label = 'layer ' + $('cells-layer').value + ' ' + $('cells-kind').value + '[' + $('cells-unit').value + ']';
    for (let k = 0; k < n; ++k) cls[k] = bucket(values[k] - mean, scale);
    tip = (k) => label + ' = ' + fmt(values[k]);
  } else {
    for (let k = 0; k < n; ++k) {
      const p = c.prob[k];
      cls[k] = how === 'prob' ? 'g' + Math.round(20 * (1 - p)) : bucket(-Math.log2(Math.max(p, 1e-9)) / 8, 1);
    }
    label = how;
    tip = (k) => 'P = ' + fmt(c.prob[k]) + ', ' + fmt(-Math.log2(Math.max(c.prob[k], 1e-9))) + ' bits';
  }
  // One string for the whole text: a span per character with its colour class, a block per line (the
  // browser lays out and paints only the lines in view: content-visibility in explore.css).
  const esc = { '&': '&amp;', '<': '&lt;', '>': '&gt;' }, parts = ['<div class="ln">'];
  for (let k = 0; k < n; ++k) {
    const ch = c.chars[k];
    parts.push('<span class="' + cls[k] + '">' + (esc[ch] || ch) + '</span>');
    if (ch === '\n' && k + 1 < n) parts.push('</div><div class="ln">');
  }
  parts.push('</div>');
  $('cells-view').innerHTML = parts.join('');
  performance.mark('coloured');
  state.cellTip = tip;
  document.body.dataset.cells = n;
  document.body.dataset.colouredBy = label;
}
function cellsTooltip(ev) {  // the value under the pointer (one listener for the whole text)
  const view = $('cells-view'), tipEl = $('tooltip');
  if (ev.target.tagName !== 'SPAN' || !state.cellTip) { tipEl.style.display = 'none'; return; }
  const k = Array.prototype.indexOf.call(view.querySelectorAll('span'), ev.target);
  tipEl.textContent = JSON.stringify(state.cells.chars[k]) + ' (' + k + '): ' + state.cellTip(k);
  tipEl.style.left = ev.clientX + 12 + 'px'; tipEl.style.top = ev.clientY + 12 + 'px'; tipEl.style.display = 'block';
}
async function search(body) {
  await showUnits(await api('/api/cells/' + state.cells.id + '/search', body), body);
}
async function showUnits(j, body) {  // a search's answer: the ranked units, the text coloured by the first
  const t = $('cells-units');
  t.textContent = '';
  const head = el('tr');
  ['layer', 'kind', 'unit', 'r'].forEach((h) => head.appendChild(el('th', {}, h)));
  t.appendChild(head);
  j.units.forEach((u) => {
    const tr = el('tr', { 'data-r': u.r });
    [u.layer, u.kind, u.index, u.r.toFixed(3)].forEach((v) => tr.appendChild(el('td', {}, String(v))));
    tr.addEventListener('click', () => pickUnit(u, tr));
    t.appendChild(tr);
  });
  if (j.units.length) await pickUnit(j.units[0], t.querySelector('tr[data-r]'), j.best_values);
  document.body.dataset.pattern = body.pattern || 'selection';
  document.body.dataset.bestR = j.units.length ? j.units[0].r.toFixed(4) : '';
}
async function pickUnit(u, tr, values) {
  [...$('cells-units').querySelectorAll('tr')].forEach((r) => r.classList.remove('sel'));
  tr.classList.add('sel');
  $('cells-layer').value = u.layer;
  fillKinds();
  $('cells-kind').value = u.kind;
  $('cells-unit').value = u.index;
  $('cells-colour').value = 'unit';
  await colourCells(values);
}
function selectionSpans() {  // the marked characters as [begin, end) ranges
  const sel = window.getSelection();
  if (!sel.rangeCount) return [];
  const spans = [...$('cells-view').querySelectorAll('span')].flatMap((s, k) => (sel.containsNode(s, true) ? [k] : []));
  return spans.length ? [[Math.min(...spans), Math.max(...spans) + 1]] : [];
}

// ---- Samples ------------------------------------------------------------------------------------------
async function generate() {
  const j = await api('/api/sample', {
    run: $('samples-run').value, prime: $('samples-prime').value, length: +$('samples-length').value,
    temperature: +$('samples-temperature').value, top_k: +$('samples-topk').value, top_p: +$('samples-topp').value,
    seed: +$('samples-seed').value,
  });
  const view = $('samples-view');
  view.textContent = '';
  j.tokens.forEach((t) => {
    const s = el('span', { title: 'P = ' + fmt(t.prob), 'data-prob': t.prob }, t.token);
    s.style.background = `rgba(230,120,20,${(1 - t.prob).toFixed(3)})`;
    if (t.prime) s.style.fontWeight = 'bold';
    view.appendChild(s);
  });
  document.body.dataset.samples = j.tokens.length;
}

// ---- Attention: a heat map per decoding (greedy, beam); a transformer's maps per layer and head ---------
function heatCanvas(m, head) {  // one head's weights [rows][cols] as coloured cells, labels when they fit
  const P = m.heads[head], rows = m.rows.length, cols = m.cols.length;
  const cell = Math.max(3, Math.min(22, Math.floor(320 / Math.max(rows, cols)))), lab = cell >= 8 ? 48 : 0;
  const c = el('canvas', { width: lab + cols * cell, height: lab + rows * cell, class: 'amap', 'data-what': m.what,
                           'data-layer': m.layer, 'data-head': head, 'data-rows': rows, 'data-cols': cols,
                           'data-row-sums': P.map((r) => r.reduce((a, b) => a + b, 0).toFixed(3)).join(',') });
  const g = c.getContext('2d');
  for (let i = 0; i < rows; ++i)
    for (let j = 0; j < cols; ++j) {
      g.fillStyle = `rgba(30,60,160,${P[i][j]})`;
      g.fillRect(lab + j * cell, lab + i * cell, cell, cell);
    }
  if (lab) {
    g.fillStyle = '#333';
    g.font = Math.min(cell - 1, 11) + 'px sans-serif';
    g.textAlign = 'right';
    m.rows.forEach((t, i) => g.fillText(t.slice(0, 7), lab - 2, lab + i * cell + cell * 0.75));
    m.cols.forEach((t, j) => {
      g.save(); g.translate(lab + j * cell + cell * 0.75, lab - 2); g.rotate(-Math.PI / 2);
      g.textAlign = 'left'; g.fillText(t.slice(0, 7), 0, 0); g.restore();
    });
  }
  c.addEventListener('mousemove', (ev) => {
    const r = c.getBoundingClientRect(), j = Math.floor((ev.clientX - r.left - lab) / cell), i = Math.floor((ev.clientY - r.top - lab) / cell);
    const tip = $('tooltip');
    if (i < 0 || j < 0 || i >= rows || j >= cols) { tip.style.display = 'none'; return; }
    tip.textContent = JSON.stringify(m.rows[i]) + ' → ' + JSON.stringify(m.cols[j]) + ': ' + P[i][j].toFixed(3);
    tip.style.left = ev.clientX + 12 + 'px'; tip.style.top = ev.clientY + 12 + 'px'; tip.style.display = 'block';
  });
  c.addEventListener('mouseleave', () => { $('tooltip').style.display = 'none'; });
  return c;
}
function drawMaps(view, maps) {  // a row of heads per (layer, kind)
  maps.forEach((m) => {
    const box = el('div', { class: 'maps' });
    box.appendChild(el('h5', {}, 'layer ' + m.layer + ', ' + m.what + '-attention (' + m.name + ')'));
    m.heads.forEach((_, h) => {
      const fig = el('figure');
      fig.appendChild(heatCanvas(m, h));
      fig.appendChild(el('figcaption', {}, 'head ' + h));
      box.appendChild(fig);
    });
    view.appendChild(box);
  });
  return maps.length;
}
function heatTable(source, r) {  // an RNN decoder's one alignment: a row per output word
  const t = el('table', { class: 'heat', 'data-beam': r.beam }), head = el('tr');
  head.appendChild(el('th'));
  source.forEach((w) => head.appendChild(el('th', {}, w)));
  const thead = el('thead');
  thead.appendChild(head);
  t.appendChild(thead);
  r.attention.forEach((row, i) => {
    const tr = el('tr');
    tr.appendChild(el('th', {}, r.target[i] || '<eos>'));
    row.forEach((a) => {
      const td = el('td', { title: a.toFixed(3), 'data-a': a });
      td.style.background = `rgba(30,60,160,${a.toFixed(3)})`;
      tr.appendChild(td);
    });
    t.appendChild(tr);
  });
  return t;
}
async function attend() {
  const j = await api('/api/attention', { run: $('attention-run').value, text: $('attention-text').value,
                                          beam: +$('attention-beam').value });
  const view = $('attention-view');
  view.textContent = '';
  let maps = 0;
  if (j.maps) maps += drawMaps(view, j.maps);  // a transformer language model
  (j.results || []).forEach((r) => {
    view.appendChild(el('h4', {}, (r.beam === 1 ? 'greedy' : 'beam ' + r.beam) + ': ' + r.translation +
                                  ' (log p ' + r.log_prob.toFixed(3) + (r.ended ? '' : ', cut at the length limit') + ')'));
    if (r.maps) maps += drawMaps(view, r.maps);
    else view.appendChild(heatTable(j.source, r));
  });
  document.body.dataset.attentionMaps = maps;
  document.body.dataset.attention = (j.results || []).length;
}

// ---- views and wiring --------------------------------------------------------------------------------
function show(view) {
  state.view = view;
  document.querySelectorAll('.view').forEach((v) => v.classList.toggle('active', v.id === 'view-' + view));
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.dataset.view === view));
  if (view === 'grad') loadGrad().catch((e) => status(e.message));
}
function guard(f) { return (...a) => f(...a).catch((e) => status(e.message)); }

async function start() {
  window.addEventListener('hashchange', () => show(location.hash.slice(1) || 'runs'));
  $('log-y').addEventListener('change', drawRuns);
  $('grad-run').addEventListener('change', guard(loadGrad));
  $('grad-step').addEventListener('input', drawGrad);
  $('cells-go').addEventListener('click', guard(() => readCells()));
  $('cells-view').addEventListener('mouseover', cellsTooltip);
  $('cells-view').addEventListener('mouseleave', () => { $('tooltip').style.display = 'none'; });
  $('cells-layer').addEventListener('change', () => { fillKinds(); guard(colourCells)(); });
  for (const id of ['cells-kind', 'cells-unit', 'cells-colour']) $(id).addEventListener('change', guard(colourCells));
  document.querySelectorAll('[data-pattern]').forEach((b) => b.addEventListener('click', guard(() => search({ pattern: b.dataset.pattern }))));
  $('cells-selection').addEventListener('click', guard(async () => {
    const spans = selectionSpans();
    if (!spans.length) throw new Error('mark some characters of the text first');
    await search({ spans });
  }));
  $('samples-go').addEventListener('click', guard(generate));
  $('attention-go').addEventListener('click', guard(attend));
  const [, text] = await Promise.all([refreshRuns(), api('/api/text')]);  // both at once
  $('cells-text').value = text.text;
  show(location.hash.slice(1) || 'runs');
  if (window.firstCells) await readCells(window.firstCells);  // started by the page (index.html)
  else if (state.view === 'cells' && $('cells-text').value && $('cells-run').value) await readCells();
  await pollMetrics();
  document.body.dataset.ready = '1';
  let ticks = 0;
  const tick = async () => {  // every second: new runs, new metrics rows; the gradient view every 3 s
    try {
      await refreshRuns();
      await pollMetrics();
      if (state.view === 'grad' && ++ticks % 3 === 0) await loadGrad();
    } catch (e) { status(e.message); }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
}
start().catch((e) => status(e.message));
