// The Pulse dashboard: plain JavaScript drawing SVG, no library and no
// build step (see api/dashboard.go for why). It reads only the Metrics
// API: GET /v1/metrics for the catalog, /v1/metrics/{name} for series,
// /v1/status for the agents and mergers the API was told about.
//
// Every plotted point is a <circle> with data-series, data-t and data-v,
// and a row of the #points table: tests and curious people read the
// numbers from the DOM rather than from pixels. body[data-renders] counts
// completed renders, body[data-state] is loading, ready or error.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const SVGNS = 'http://www.w3.org/2000/svg';
  const COLORS = ['#4f8df5', '#e4572e', '#17a398', '#f3a712', '#8e44ad', '#2e4057', '#c5283d', '#76b041', '#0b7a75', '#7d5ba6'];
  const STEPS = { '1m': 60, '10m': 600, '1h': 3600 };
  const REFRESH_MS = 10000;

  const state = {
    metric: '', where: '', groupBy: '', groupByChosen: false,
    range: '1h', step: '1m', auto: true,
    token: sessionStorage.getItem('pulse-token') || '',
  };
  // The URL's fragment holds the view (#metric=..&step=..&range=..&where=
  // ..&group_by=..), so a view can be bookmarked or linked to.
  const fromHash = new URLSearchParams(location.hash.slice(1));
  for (const k of ['metric', 'step', 'range', 'where']) if (fromHash.get(k)) state[k] = fromHash.get(k);
  if (fromHash.has('group_by')) {
    state.groupBy = fromHash.get('group_by');
    state.groupByChosen = true;
  }
  if (!(state.step in { '1m': 1, '10m': 1, '1h': 1 })) state.step = '1m';

  function saveHash() {
    const p = new URLSearchParams({ metric: state.metric, step: state.step, range: state.range });
    if (state.where) p.set('where', state.where);
    if (state.groupByChosen) p.set('group_by', state.groupBy);
    history.replaceState(null, '', '#' + p);
  }

  let catalog = { metrics: [], max_points: 1440 };
  let generation = 0;
  let timer = null;

  // api fetches a path of the API as JSON; errors carry the API's reason
  // and the parameter it names.
  async function api(path) {
    const headers = {};
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    const r = await fetch(path, { headers });
    const body = await r.json().catch(() => ({ error: r.status + ' ' + r.statusText }));
    if (r.status === 401) $('token-form').hidden = false;
    if (!r.ok) {
      const e = new Error(body.error || r.statusText);
      e.param = body.param;
      throw e;
    }
    return body;
  }

  function showError(e) {
    const el = $('error');
    if (!e) { el.hidden = true; el.textContent = ''; return; }
    el.hidden = false;
    el.textContent = (e.param ? e.param + ': ' : '') + e.message;
  }

  function option(sel, value, label) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    sel.appendChild(o);
  }

  function metricsByName() {
    const names = new Map();
    for (const m of catalog.metrics) {
      if (!names.has(m.name)) names.set(m.name, []);
      names.get(m.name).push(m);
    }
    return names;
  }

  async function loadCatalog() {
    catalog = await api('v1/metrics');
    const sel = $('metric');
    const names = metricsByName();
    sel.textContent = '';
    for (const [name, ms] of names) {
      option(sel, name, name + ' (' + ms.map((m) => m.kind + (m.unit ? ', ' + m.unit : '')).join('; ') + ')');
    }
    if (!names.has(state.metric)) {
      // A measure first: it has the most to show.
      const pick = catalog.metrics.find((m) => m.kind === 'measure') || catalog.metrics[0];
      state.metric = pick ? pick.name : '';
      state.groupByChosen = false;
    }
    sel.value = state.metric;
    fillDims();
    fitStep();
  }

  // fillDims offers the selected metric's dimensions for where and group by.
  function fillDims() {
    const dims = {};
    for (const m of metricsByName().get(state.metric) || []) {
      for (const [d, vs] of Object.entries(m.dims || {})) dims[d] = [...new Set([...(dims[d] || []), ...vs])].sort();
    }
    const where = $('where');
    where.textContent = '';
    option(where, '', 'everything');
    for (const [d, vs] of Object.entries(dims)) for (const v of vs) option(where, d + ':' + v, d + ' = ' + v);
    if (![...where.options].some((o) => o.value === state.where)) state.where = '';
    where.value = state.where;
    const gb = $('group-by');
    gb.textContent = '';
    option(gb, '', 'nothing');
    for (const d of Object.keys(dims)) option(gb, d, d);
    if (!state.groupByChosen) {
      // Status classes if there are any, else the first small dimension.
      const small = Object.keys(dims).filter((d) => dims[d].length <= 12);
      state.groupBy = dims.status ? 'status' : (small[0] || '');
    }
    if (!(state.groupBy in dims)) state.groupBy = '';
    gb.value = state.groupBy;
  }

  // fitStep keeps the step within max_points for the range: finer steps
  // are disabled, and a step too fine moves to the finest allowed.
  function fitStep() {
    const secs = parseDuration(state.range);
    let finest = null;
    for (const b of $('steps').querySelectorAll('button')) {
      const ok = secs / STEPS[b.dataset.step] <= catalog.max_points;
      b.disabled = !ok;
      if (ok && finest === null) finest = b.dataset.step;
    }
    if (secs / STEPS[state.step] > catalog.max_points && finest) state.step = finest;
    for (const b of $('steps').querySelectorAll('button')) b.classList.toggle('on', b.dataset.step === state.step);
  }

  function parseDuration(s) {
    const m = /^(\d+)([mh])$/.exec(s);
    return m ? Number(m[1]) * (m[2] === 'h' ? 3600 : 60) : 3600;
  }

  function seriesURL(groupBy) {
    const p = new URLSearchParams({ from: '-' + state.range, to: 'now', step: state.step });
    if (state.where) p.append('where', state.where);
    if (groupBy) p.set('group_by', groupBy);
    return 'v1/metrics/' + encodeURIComponent(state.metric) + '?' + p;
  }

  async function refresh() {
    const gen = ++generation;
    if (state.metric) saveHash();
    document.body.dataset.state = 'loading';
    try {
      if (!state.metric) await loadCatalog();
      if (!state.metric) {
        render(null, null);
        return;
      }
      const [main, grouped] = await Promise.all([
        api(seriesURL('')),
        state.groupBy ? api(seriesURL(state.groupBy)) : Promise.resolve(null),
      ]);
      if (gen !== generation) return; // a newer refresh started
      showError(null);
      render(main, grouped);
    } catch (e) {
      if (gen !== generation) return;
      showError(e);
      document.body.dataset.state = 'error';
    }
    refreshStatus();
  }

  async function refreshStatus() {
    try {
      renderHealth(await api('v1/status'));
    } catch (e) {
      renderHealth({ targets: [], error: e.message });
    }
  }

  // line is one plotted series: a name, a color and [{t (ms), v}].
  function line(name, color, points, field) {
    const pts = [];
    for (const p of points) if (typeof p[field] === 'number') pts.push({ t: Date.parse(p.t), v: p[field] });
    return { name, color, points: pts };
  }

  const TITLES = {
    counter: ['Rate /s (increase per second)', 'rate'],
    measure: ['Rate /s (observations per second)', 'rate'],
    sample: ['Value (last in step)', 'last'],
    unique: ['Unique values per step', 'unique'],
  };

  function render(main, grouped) {
    const rows = [];
    const from = main ? Date.parse(main.from) : Date.now() - 3600e3;
    const to = main ? Date.parse(main.to) : Date.now();
    const stepMs = (main ? main.step_s : 60) * 1000;
    const series = main ? main.series : [];
    const kind = series.length ? series[0].kind : ((catalog.metrics.find((m) => m.name === state.metric) || {}).kind || 'measure');
    const [rateTitle, rateField] = TITLES[kind] || TITLES.measure;
    $('rate-title').textContent = state.metric + ': ' + rateTitle;
    const rateLines = series.map((s, i) => line(series.length > 1 ? s.kind + ' ' + s.unit : rateField, COLORS[i % COLORS.length], s.points, rateField));
    drawChart($('chart-rate'), 'rate', rateLines, from, to, stepMs, rows);

    const isMeasure = kind === 'measure';
    $('latency').hidden = !isMeasure;
    if (isMeasure) {
      const s = series.find((x) => x.kind === 'measure');
      const unit = s && s.unit ? ' (' + s.unit + ')' : '';
      $('latency-title').textContent = 'Latency percentiles' + unit;
      const lines = s ? ['p50', 'p90', 'p95', 'p99'].map((q, i) => line(q, COLORS[i], s.points, q)) : [];
      drawChart($('chart-latency'), 'latency', lines, from, to, stepMs, rows);
    }

    const countField = kind === 'counter' ? 'sum' : 'count';
    if (grouped) {
      $('groups-title').textContent = (kind === 'counter' ? 'Sum' : 'Count') + ' per step by ' + grouped.group_by;
      const lines = grouped.series.map((s, i) => line(s.group[grouped.group_by] || '(none)', COLORS[i % COLORS.length], s.points, countField));
      drawChart($('chart-groups'), 'groups', lines, from, to, stepMs, rows);
    } else {
      $('groups-title').textContent = (kind === 'counter' ? 'Sum' : 'Count') + ' per step';
      drawChart($('chart-groups'), 'groups', series.map((s, i) => line(countField, COLORS[i], s.points, countField)), from, to, stepMs, rows);
    }

    const tbody = $('points').tBodies[0];
    tbody.textContent = '';
    for (const r of rows) {
      const tr = tbody.insertRow();
      tr.dataset.chart = r.chart;
      tr.dataset.series = r.series;
      tr.dataset.t = r.t;
      tr.dataset.v = r.v;
      for (const c of [r.chart, r.series, r.t, r.v]) tr.insertCell().textContent = c;
    }
    $('meta').textContent = main
      ? main.windows + ' stored windows (' + (main.window_s.join(', ') || '-') + ' s) merged into ' + main.step +
        ' steps, ' + main.from + ' – ' + main.to + ' · updated ' + new Date().toLocaleTimeString()
      : 'no metrics stored yet';
    document.body.dataset.state = 'ready';
    document.body.dataset.renders = String(Number(document.body.dataset.renders) + 1);
  }

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVGNS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }

  function text(parent, x, y, s, anchor, cls) {
    const t = el('text', { x, y, 'text-anchor': anchor || 'start' }, parent);
    if (cls) t.setAttribute('class', cls);
    t.textContent = s;
    return t;
  }

  // niceTicks returns about n round values spanning [lo, hi].
  function niceTicks(lo, hi, n) {
    if (hi <= lo) hi = lo + 1;
    const raw = (hi - lo) / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const out = [];
    for (let v = Math.floor(lo / step) * step; v < hi + step * 0.999; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  function fmt(v) {
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toPrecision(3) + 'G';
    if (a >= 1e6) return (v / 1e6).toPrecision(3) + 'M';
    if (a >= 1e4) return (v / 1e3).toPrecision(3) + 'k';
    return String(Number(v.toPrecision(4)));
  }

  function timeLabel(ms, long) {
    const d = new Date(ms);
    const hm = String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
    return long ? (d.getMonth() + 1) + '-' + d.getDate() + ' ' + hm : hm;
  }

  // drawChart draws lines over [from, to) into svg, a point's circle for
  // each value (lines break over steps without data), and adds each point
  // to rows.
  function drawChart(svg, chart, lines, from, to, stepMs, rows) {
    svg.textContent = '';
    svg.dataset.points = '0';
    const W = 800, H = 240, L = 56, R = 110, T = 10, B = 24;
    const all = lines.flatMap((l) => l.points);
    if (!all.length) {
      text(svg, W / 2, H / 2, 'no data in this range', 'middle', 'empty');
      return;
    }
    const vmin = Math.min(0, ...all.map((p) => p.v));
    const ticks = niceTicks(vmin, Math.max(...all.map((p) => p.v)), 5);
    const lo = ticks[0], hi = ticks[ticks.length - 1];
    const x = (t) => L + ((t - from) / (to - from)) * (W - L - R);
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    for (const v of ticks) {
      el('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }, svg);
      text(svg, L - 4, y(v) + 4, fmt(v), 'end');
    }
    el('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }, svg);
    const long = to - from > 86400e3;
    for (let i = 0; i <= 4; i++) {
      const t = from + ((to - from) * i) / 4;
      text(svg, x(t), H - 6, timeLabel(t, long), i === 0 ? 'start' : i === 4 ? 'end' : 'middle');
    }
    let n = 0;
    lines.forEach((l, i) => {
      const g = el('g', { 'data-series': l.name }, svg);
      let seg = [];
      const flush = () => {
        if (seg.length > 1) el('polyline', { points: seg.join(' '), stroke: l.color }, g);
        seg = [];
      };
      let prev = null;
      for (const p of l.points) {
        if (prev !== null && p.t - prev > stepMs * 1.5) flush();
        seg.push(x(p.t).toFixed(1) + ',' + y(p.v).toFixed(1));
        prev = p.t;
      }
      flush();
      for (const p of l.points) {
        const iso = new Date(p.t).toISOString();
        const c = el('circle', { cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r: 2.2, fill: l.color, class: 'pt', 'data-series': l.name, 'data-t': iso, 'data-v': p.v }, g);
        el('title', {}, c).textContent = l.name + ' ' + iso + ': ' + p.v;
        rows.push({ chart, series: l.name, t: iso, v: p.v });
        n++;
      }
      el('rect', { x: W - R + 10, y: T + i * 16, width: 10, height: 10, fill: l.color }, svg);
      text(svg, W - R + 24, T + i * 16 + 9, l.name.length > 14 ? l.name.slice(0, 13) + '…' : l.name);
    });
    svg.dataset.points = String(n);
  }

  function renderHealth(st) {
    const tbody = $('health').tBodies[0];
    tbody.textContent = '';
    const targets = st.targets || [];
    if (!targets.length) {
      const td = tbody.insertRow().insertCell();
      td.colSpan = 8;
      td.textContent = st.error ? 'status unavailable: ' + st.error : 'none configured (api.status in the config)';
      return;
    }
    for (const t of targets) {
      const tr = tbody.insertRow();
      tr.dataset.target = t.name;
      const s = t.status || { inputs: [], outputs: [] };
      const sum = (xs, f) => (xs || []).reduce((a, x) => a + f(x), 0);
      const nodes = (s.outputs || []).flatMap((o) => o.nodes || []);
      const stateText = !t.up ? 'down' : t.health.length ? 'degraded' : 'up';
      tr.dataset.state = stateText;
      const cells = [t.name, t.role || '', stateText,
        fmt(sum(s.inputs, (i) => i.events)), fmt(sum(s.outputs, (o) => o.events_delivered)),
        fmt(sum(s.outputs, (o) => o.buffer.bytes)) + ' B',
        nodes.length ? nodes.filter((x) => x.up).length + '/' + nodes.length : '-',
        t.up ? t.health.join('; ') || 'ok' : t.error];
      cells.forEach((c, i) => {
        const td = tr.insertCell();
        td.textContent = c;
        if (i === 2) td.className = stateText;
      });
    }
  }

  function schedule() {
    clearInterval(timer);
    if (state.auto) timer = setInterval(() => { loadCatalog().then(refresh, showError); }, REFRESH_MS);
  }

  function init() {
    $('metric').addEventListener('change', (e) => {
      state.metric = e.target.value;
      state.where = '';
      state.groupByChosen = false;
      fillDims();
      refresh();
    });
    $('where').addEventListener('change', (e) => { state.where = e.target.value; refresh(); });
    $('group-by').addEventListener('change', (e) => {
      state.groupBy = e.target.value;
      state.groupByChosen = true;
      refresh();
    });
    $('range').addEventListener('change', (e) => { state.range = e.target.value; fitStep(); refresh(); });
    for (const b of $('steps').querySelectorAll('button')) {
      b.addEventListener('click', () => { state.step = b.dataset.step; fitStep(); refresh(); });
    }
    $('range').value = state.range;
    if ($('range').value !== state.range) state.range = $('range').value;
    $('auto').addEventListener('change', (e) => { state.auto = e.target.checked; schedule(); });
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      state.token = $('token').value;
      sessionStorage.setItem('pulse-token', state.token);
      $('token-form').hidden = true;
      loadCatalog().then(refresh, (err) => { showError(err); document.body.dataset.state = 'error'; });
    });
    loadCatalog().then(refresh, (err) => { showError(err); document.body.dataset.state = 'error'; refreshStatus(); });
    schedule();
  }

  init();
})();
