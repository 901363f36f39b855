// Skiff dashboard: small helpers shared by the views. No library; every value from the server is put
// in the page as text (textContent, attributes), never as HTML.
'use strict';

const UI_HEADER = 'x-skiff-ui';

/** Builds an element: h('a', {href: '#x', class: 'y'}, 'text', child...). Strings become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/** As h, in SVG's namespace. */
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls Skiff (the admin API, or the dashboard's own routes) as the logged-in browser. */
async function api(method, path, body) {
  const init = {method, credentials: 'same-origin', headers: {[UI_HEADER]: '1'}};
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (!r.ok) {
    const err = json && json.error ? json.error : {};
    throw new ApiError(r.status, err.message || (r.status + ' ' + r.statusText), err.code);
  }
  return json;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const t = q.toString();
  return t ? '?' + t : '';
}

function fmtTime(v) {
  if (v === undefined || v === null || v === '') return '';
  const d = typeof v === 'number' ? new Date(v < 1e12 ? v * 1000 : v) : new Date(v);
  if (isNaN(d)) return String(v);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function fmtNum(n) {
  if (n === undefined || n === null || n < 0) return '';
  return Number(n).toLocaleString('en-US');
}

function fmtMs(ms) {
  if (ms === undefined || ms === null || ms < 0) return '';
  return ms < 1000 ? (Math.round(ms * 10) / 10) + ' ms' : (Math.round(ms / 100) / 10) + ' s';
}

function fmtUsd(v) {
  if (v === undefined || v === null) return '';
  return '$' + (v < 0.01 && v > 0 ? Number(v).toPrecision(3) : Number(v).toFixed(2));
}

function pretty(v) {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2);
}

/** A message in the main area: errors say what failed, in words. */
function notice(kind, text) {
  return h('div', {class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status'}, text);
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}
