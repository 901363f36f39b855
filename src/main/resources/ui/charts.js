// Skiff dashboard: charts drawn as inline SVG from the usage API's totals. One stacked bar per day;
// each colour a key, path, model or provider (the five largest in the range; the rest as "other").
'use strict';

const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#64748b'];

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmtMetric(metric, v) {
  return metric === 'cost_usd' ? fmtUsd(v) : fmtNum(Math.round(v));
}

/**
 * A stacked bar chart.
 * @param days   ['2026-12-01', ...] in order
 * @param series [{name, values: {day: number}}], drawn bottom up
 */
function barChart(days, series, metric) {
  const W = 800, H = 260, L = 64, B = 28, T = 10, R = 10;
  const totals = days.map(d => series.reduce((a, s) => a + (s.values[d] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotW = W - L - R, plotH = H - T - B;
  const bw = days.length ? plotW / days.length : plotW;
  const y = v => T + plotH - v / max * plotH;
  const grid = [0, 0.25, 0.5, 0.75, 1].map(f => [
    s('line', {class: 'grid', x1: L, x2: W - R, y1: y(max * f), y2: y(max * f)}),
    s('text', {class: 'axis', x: L - 6, y: y(max * f) + 4, 'text-anchor': 'end'}, fmtMetric(metric, max * f))]);
  const bars = days.map((d, i) => {
    let base = 0;
    return series.map((sr, k) => {
      const v = sr.values[d] || 0;
      if (v <= 0) return null;
      const r = s('rect', {class: 'bar', x: L + i * bw + bw * 0.12, width: Math.max(1, bw * 0.76), y: y(base + v), height: y(base) - y(base + v),
        fill: PALETTE[k % PALETTE.length], 'data-day': d, 'data-series': sr.name},
        s('title', {}, d + ' · ' + sr.name + ': ' + fmtMetric(metric, v)));
      base += v;
      return r;
    });
  });
  const every = Math.max(1, Math.ceil(days.length / 10));
  const labels = days.map((d, i) => i % every ? null
    : s('text', {class: 'axis', x: L + i * bw + bw / 2, y: H - 8, 'text-anchor': 'middle'}, d.slice(5)));
  return h('figure', {class: 'chart'},
    s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': metric + ' per day'}, grid, bars, labels),
    h('figcaption', {}, h('ul', {class: 'legend'}, series.map((sr, k) =>
      h('li', {}, h('span', {class: 'swatch', style: null, dataset: {color: k % PALETTE.length}}), sr.name)))));
}

function daysBetween(fromMs, toMs) {
  const out = [];
  for (let t = Math.floor(fromMs / 864e5) * 864e5; t < toMs; t += 864e5) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}
