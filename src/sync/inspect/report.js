'use strict';
(function () {
  const D = JSON.parse(document.getElementById('data').textContent);
  const N = D.topics.length;
  // Stamps in µs from the first stamp, per topic, ascending.
  const S = D.stamps.map(function (d) {
    const a = new Float64Array(d.length);
    let t = 0;
    for (let i = 0; i < d.length; i++) { t += d[i]; a[i] = t; }
    return a;
  });
  const F = D.fates.map(function (f) { return Uint8Array.from(f); });
  const SETS = D.sets;
  const nSets = Math.floor(SETS.length / N);
  const setLo = new Float64Array(nSets), setHi = new Float64Array(nSets);
  for (let k = 0; k < nSets; k++) {
    let lo = Infinity, hi = -Infinity;
    for (let c = 0; c < N; c++) {
      const t = S[c][SETS[k * N + c]];
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    setLo[k] = lo; setHi[k] = hi;
  }
  let tMin = Infinity, tMax = -Infinity;
  S.forEach(function (a) {
    if (a.length) { tMin = Math.min(tMin, a[0]); tMax = Math.max(tMax, a[a.length - 1]); }
  });
  if (!isFinite(tMin)) { tMin = 0; tMax = 1; }
  const PALETTE = ['#d62728', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#bcbd22',
    '#17becf', '#7f7f7f', '#444444', '#1f77b4', '#aa5500'];
  function color(code) {
    if (code === 0) return '#2e9b4f';
    if (code === 255) return '#b0b0b0';
    return PALETTE[(code - 1) % PALETTE.length];
  }
  function label(code) {
    if (code === 0) return 'in a set';
    if (code === 255) return 'pending at the end';
    return 'dropped: ' + D.reasons[code - 1];
  }
  // Legend: only the fates that occur.
  const seen = new Set();
  F.forEach(function (f) { for (let i = 0; i < f.length; i++) seen.add(f[i]); });
  document.getElementById('legend').innerHTML = Array.from(seen).sort(function (a, b) { return a - b; })
    .map(function (c) { return '<span><i style="background:' + color(c) + '"></i>' + label(c) + '</span>'; })
    .join('') + '<span><i style="background:#2e9b4f;height:2px"></i>set (line joining its members)</span>';

  const DETAIL = 4000;
  const LEFT = 200, RIGHT = 40, TOP = 26, ROW = 46;
  const svg = document.getElementById('timeline-svg');
  let view = [tMin, tMax + 1];
  const m = /view=([-0-9.e]+),([-0-9.e]+)/.exec(location.hash);
  if (m && Number(m[2]) > Number(m[1])) view = [Number(m[1]) * 1e6, Number(m[2]) * 1e6];

  function lowerBound(a, x) {
    let lo = 0, hi = a.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] < x) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function upperBound(a, x) {
    let lo = 0, hi = a.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] <= x) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function seconds(us) { return (us / 1e6).toFixed(Math.abs(view[1] - view[0]) < 2e4 ? 6 : 3); }

  function plotWidth() { return Math.max(600, (svg.parentNode.clientWidth || 1200) - 2); }

  function render() {
    const w = plotWidth(), plotW = w - LEFT - RIGHT;
    const h = TOP + (N + 1) * ROW + 8;
    svg.setAttribute('width', w); svg.setAttribute('height', h);
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    const v0 = view[0], v1 = view[1], span = v1 - v0;
    function x(t) { return (LEFT + (t - v0) / span * plotW).toFixed(1); }
    function y(c) { return TOP + c * ROW + ROW / 2; }
    const parts = [];
    // Time axis.
    const step = Math.pow(10, Math.floor(Math.log10(span / 6)));
    const tick = span / step > 30 ? step * 5 : span / step > 12 ? step * 2 : step;
    parts.push('<g class="axis">');
    for (let t = Math.ceil(v0 / tick) * tick; t <= v1; t += tick) {
      parts.push('<line x1="' + x(t) + '" x2="' + x(t) + '" y1="' + (TOP - 6) + '" y2="' + (h - 8) + '"/>' +
        '<text x="' + x(t) + '" y="' + (TOP - 10) + '" text-anchor="middle">' + seconds(t) + ' s</text>');
    }
    parts.push('</g>');
    for (let c = 0; c < N; c++) {
      parts.push('<text x="6" y="' + (y(c) + 4) + '">' + esc(D.topics[c]) + ' (' + S[c].length + ')</text>');
    }
    parts.push('<text x="6" y="' + (y(N) + 4) + '">sets (' + nSets + ')</text>');
    const ranges = S.map(function (a) { return [lowerBound(a, v0), upperBound(a, v1)]; });
    const visible = ranges.reduce(function (n, r) { return n + r[1] - r[0]; }, 0);
    let marks = 0, lines = 0, mode;
    if (visible <= DETAIL) {
      mode = 'detail';
      for (let k = 0; k < nSets; k++) {
        if (setHi[k] < v0 || setLo[k] > v1) continue;
        const pts = [];
        for (let c = 0; c < N; c++) pts.push(x(S[c][SETS[k * N + c]]) + ',' + y(c));
        parts.push('<polyline class="set" data-k="' + k + '" points="' + pts.join(' ') + '"/>');
        lines++;
      }
      for (let c = 0; c < N; c++) {
        const a = S[c], f = F[c];
        for (let i = ranges[c][0]; i < ranges[c][1]; i++) {
          parts.push('<rect class="msg" data-c="' + c + '" data-i="' + i + '" x="' + (x(a[i]) - 1.5) +
            '" y="' + (y(c) - 9) + '" width="3" height="18" fill="' + color(f[i]) + '"/>');
          marks++;
        }
      }
      for (let k = 0; k < nSets; k++) {
        if (setHi[k] < v0 || setLo[k] > v1) continue;
        parts.push('<circle cx="' + x(setHi[k]) + '" cy="' + y(N) + '" r="2.5" fill="#2e9b4f"/>');
      }
    } else {
      mode = 'overview';
      const bins = Math.max(50, Math.floor(plotW / 3)), bw = plotW / bins;
      for (let c = 0; c <= N; c++) {
        const count = new Uint32Array(bins), dropped = new Uint32Array(bins);
        if (c < N) {
          const a = S[c], f = F[c];
          for (let i = ranges[c][0]; i < ranges[c][1]; i++) {
            const b = Math.min(bins - 1, Math.floor((a[i] - v0) / span * bins));
            count[b]++;
            if (f[i] !== 0 && f[i] !== 255) dropped[b]++;
          }
        } else {
          for (let k = 0; k < nSets; k++) {
            if (setHi[k] < v0 || setHi[k] > v1) continue;
            count[Math.min(bins - 1, Math.floor((setHi[k] - v0) / span * bins))]++;
          }
        }
        let most = 1;
        for (let b = 0; b < bins; b++) most = Math.max(most, count[b]);
        for (let b = 0; b < bins; b++) {
          if (!count[b]) continue;
          const bh = Math.max(1, count[b] / most * (ROW - 10));
          const hue = c < N ? 130 * (1 - dropped[b] / count[b]) : 130;
          parts.push('<rect class="bin" x="' + (LEFT + b * bw).toFixed(1) + '" y="' + (y(c) + ROW / 2 - 5 - bh).toFixed(1) +
            '" width="' + Math.max(1, bw - 0.5).toFixed(1) + '" height="' + bh.toFixed(1) +
            '" fill="hsl(' + hue.toFixed(0) + ',60%,42%)"><title>' + count[b] + (c < N ? ' messages, ' + dropped[b] + ' dropped' : ' sets') + '</title></rect>');
        }
      }
    }
    svg.innerHTML = parts.join('');
    svg.setAttribute('data-mode', mode);
    svg.setAttribute('data-messages-shown', String(marks));
    svg.setAttribute('data-sets-shown', String(lines));
    svg.setAttribute('data-messages-in-view', String(visible));
    document.getElementById('range').textContent = seconds(v0) + ' s to ' + seconds(v1) + ' s from the first stamp, ' +
      visible + ' messages in view' + (mode === 'overview' ? ' (overview: per-bin counts, red = dropped; zoom in to under ' +
      DETAIL + ' for each message)' : '');
  }

  function zoom(factor, at) {
    const span = view[1] - view[0];
    const next = Math.min(Math.max(span * factor, 50), (tMax - tMin + 1) * 4);
    const anchor = view[0] + (at === undefined ? 0.5 : at) * span;
    const share = (anchor - view[0]) / span;
    view = [anchor - share * next, anchor - share * next + next];
    render();
  }
  function share(ev) {
    const r = svg.getBoundingClientRect();
    return Math.min(1, Math.max(0, (ev.clientX - r.left - LEFT) / (r.width - LEFT - RIGHT)));
  }
  svg.addEventListener('wheel', function (ev) { ev.preventDefault(); zoom(Math.exp(ev.deltaY * 0.0015), share(ev)); }, { passive: false });
  let drag = null;
  svg.addEventListener('mousedown', function (ev) { drag = { x: ev.clientX, view: view.slice() }; });
  window.addEventListener('mouseup', function () { drag = null; });
  svg.addEventListener('mousemove', function (ev) {
    if (drag) {
      const r = svg.getBoundingClientRect();
      const dt = (ev.clientX - drag.x) / (r.width - LEFT - RIGHT) * (drag.view[1] - drag.view[0]);
      view = [drag.view[0] - dt, drag.view[1] - dt];
      render();
      return;
    }
    const t = ev.target;
    const info = document.getElementById('info');
    if (t.classList && t.classList.contains('msg')) {
      const c = Number(t.getAttribute('data-c')), i = Number(t.getAttribute('data-i'));
      info.textContent = D.topics[c] + '  stamp ' + (S[c][i] / 1e6).toFixed(6) + ' s  ' + label(F[c][i]);
    } else if (t.classList && t.classList.contains('set')) {
      const k = Number(t.getAttribute('data-k'));
      info.textContent = 'set ' + k + ': spread ' + ((setHi[k] - setLo[k]) / 1e3).toFixed(3) + ' ms';
    }
  });
  document.getElementById('all').addEventListener('click', function () { view = [tMin, tMax + 1]; render(); });
  document.getElementById('zin').addEventListener('click', function () { zoom(0.5); });
  document.getElementById('zout').addEventListener('click', function () { zoom(2); });
  window.addEventListener('resize', render);
  render();
  document.body.setAttribute('data-render-ms', performance.now().toFixed(0));
})();
