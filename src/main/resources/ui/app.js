// Skiff dashboard: login, the views (requests, one request, usage, keys, limits) and the hash router.
// Everything comes from the admin API; the browser is logged in by an HttpOnly session cookie.
'use strict';

const main = () => document.getElementById('main');

// ---- the shell: login and routing -------------------------------------------------------------

async function start() {
  document.getElementById('logout').addEventListener('click', async () => {
    try { await api('POST', '/ui/logout'); } catch (e) { /* the cookie is cleared either way */ }
    showLogin();
  });
  window.addEventListener('hashchange', route);
  let session;
  try {
    session = await api('GET', '/ui/session');
  } catch (e) {
    clear(main()).append(notice('error', 'Skiff did not answer: ' + e.message));
    return;
  }
  if (session.authenticated) enter(session.open);
  else showLogin();
}

function showLogin(message) {
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  const input = h('input', {type: 'password', id: 'login-key', name: 'key', autocomplete: 'current-password', required: true,
    placeholder: 'master key or admin key (sk-skiff-…)', size: 48});
  const status = h('div', {id: 'login-status'}, message ? notice('error', message) : null);
  const form = h('form', {id: 'login', class: 'card narrow'},
    h('h2', {}, 'Log in'),
    h('p', {class: 'muted'}, 'Give the master key or a managed key with the admin scope. The key is sent once; the browser keeps a ' +
      'session cookie, never the key.'),
    h('label', {for: 'login-key'}, 'Key'), input,
    h('button', {type: 'submit', id: 'login-submit'}, 'Log in'), status);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const key = input.value.trim();
    input.value = '';
    clear(status);
    try {
      const r = await fetch('/ui/login', {method: 'POST', credentials: 'same-origin',
        headers: {[UI_HEADER]: '1', authorization: 'Bearer ' + key}});
      if (!r.ok) {
        let msg = r.status + ' ' + r.statusText;
        try { msg = (await r.json()).error.message; } catch (x) { /* keep the status */ }
        status.append(notice('error', msg));
        return;
      }
      const body = await r.json();
      enter(!!body.open);
    } catch (x) {
      status.append(notice('error', 'Skiff did not answer: ' + x.message));
    }
  });
  clear(main()).append(form);
  input.focus();
}

function enter(open) {
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = !!open;
  if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/requests';
  else route();
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, q] = raw.split('?');
  return {parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q || '')};
}

async function route() {
  const {parts, params} = parseHash();
  const view = parts[0] || 'requests';
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === view);
  const el = clear(main());
  delete el.dataset.ready; // set again once this view has drawn (tests wait for it)
  el.dataset.view = view;
  try {
    if (view === 'requests' && parts[1]) await requestView(el, parts[1]);
    else if (view === 'requests') await requestsView(el, params);
    else if (view === 'usage') await usageView(el, params);
    else if (view === 'keys') await keysView(el);
    else if (view === 'limits') await limitsView(el);
    else el.append(notice('error', 'There is no view ' + view + '.'));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) showLogin('Your session ended; log in again.');
    else el.append(notice('error', e.message));
  }
  el.dataset.ready = 'true';
}

// ---- requests -------------------------------------------------------------------------------

const REQUEST_FILTERS = [
  ['key', 'Key id', 'key_…'], ['path', 'User path', '/acme'], ['end_user', 'End user', ''], ['model', 'Model', ''],
  ['provider', 'Provider', ''], ['endpoint', 'Endpoint', 'chat, messages…'], ['status', 'Status', '200, 4xx, error'],
  ['from', 'From', 'YYYY-MM-DD or ISO time'], ['to', 'To', ''],
];

function filterForm(fields, params, onApply) {
  const inputs = {};
  const form = h('form', {class: 'filters', id: 'filters'}, fields.map(([name, label, hint]) => {
    inputs[name] = h('input', {name, id: 'f-' + name, value: params.get(name) || '', placeholder: hint, size: 14});
    return h('label', {}, label, inputs[name]);
  }), h('button', {type: 'submit'}, 'Apply'), h('button', {type: 'button', onclick: () => onApply({})}, 'Clear'));
  form.addEventListener('submit', e => {
    e.preventDefault();
    const v = {};
    for (const [k, i] of Object.entries(inputs)) if (i.value.trim()) v[k] = i.value.trim();
    onApply(v);
  });
  return form;
}

function latencyMs(r) {
  if (r.latency_ms != null) return r.latency_ms;
  return r.latency_us != null && r.latency_us >= 0 ? r.latency_us / 1000 : null;
}

async function requestsView(el, params) {
  el.append(h('h2', {}, 'Requests ', h('button', {type: 'button', class: 'small', id: 'refresh', onclick: () => route()}, 'Refresh')),
    filterForm(REQUEST_FILTERS, params, v => { location.hash = '#/requests' + query(v); }));
  const filters = {};
  for (const [k] of REQUEST_FILTERS) if (params.get(k)) filters[k] = params.get(k);
  const table = h('table', {class: 'list', id: 'requests'},
    h('thead', {}, h('tr', {}, ['time', 'status', 'endpoint', 'model', 'provider', 'key', 'user path', 'end user', 'tokens in/out', 'latency',
      'first byte'].map(c => h('th', {}, c)))),
    h('tbody'));
  const more = h('button', {type: 'button', id: 'more', hidden: true}, 'Older requests');
  // The dashboard's own admin calls are audited too; they are hidden unless asked for.
  const ownCalls = params.get('admin') === '1' || filters.endpoint === 'admin' || filters.endpoint === 'ui';
  el.append(h('label', {class: 'toggle'}, h('input', {type: 'checkbox', id: 'show-admin', checked: ownCalls,
    onchange: e => { location.hash = '#/requests' + query({...filters, admin: e.target.checked ? '1' : ''}); }}),
    ' show admin API and dashboard calls'), table, more);
  let cursor = null;
  const load = async () => {
    let page;
    try {
      page = await api('GET', '/admin/v1/audit' + query({...filters, limit: 50, cursor}));
    } catch (e) {
      if (e.status === 404) {
        el.append(notice('info', 'This server keeps no audit log, so there is no request list (see docs/audit.md to turn it on). ' +
          'Usage totals are under Usage.'));
        return;
      }
      throw e;
    }
    const rows = page.data || page.requests || [];
    const body = table.tBodies[0];
    for (const r of rows) {
      if (!ownCalls && (r.endpoint === 'admin' || r.endpoint === 'ui')) continue;
      const tokens = (r.input_tokens >= 0 ? fmtNum(r.input_tokens) : '–') + ' / ' + (r.output_tokens >= 0 ? fmtNum(r.output_tokens) : '–');
      const ttft = r.ttft_ms != null ? r.ttft_ms : r.ttft_us >= 0 ? r.ttft_us / 1000 : null;
      body.append(h('tr', {class: 'row', dataset: {requestId: r.request_id}, tabindex: 0,
        onclick: () => { location.hash = '#/requests/' + encodeURIComponent(r.request_id); },
        onkeydown: e => { if (e.key === 'Enter') location.hash = '#/requests/' + encodeURIComponent(r.request_id); }},
        h('td', {}, h('a', {href: '#/requests/' + encodeURIComponent(r.request_id), class: 'link'}, fmtTime(r.ts))),
        h('td', {}, h('span', {class: 'status s' + String(r.status)[0]}, r.status)),
        h('td', {}, r.endpoint || r.path || ''), h('td', {}, r.model || r.requested_model || ''), h('td', {}, r.provider || ''),
        h('td', {}, r.key_id || ''), h('td', {}, r.user_path || ''), h('td', {}, r.end_user || ''), h('td', {class: 'num'}, tokens),
        h('td', {class: 'num'}, fmtMs(latencyMs(r))), h('td', {class: 'num'}, fmtMs(ttft))));
    }
    const next = page.next_cursor || (page.has_more && rows.length ? String(rows[rows.length - 1].id) : null);
    cursor = next;
    more.hidden = !page.has_more || !next;
    return rows.length;
  };
  more.addEventListener('click', () => load().catch(e => el.append(notice('error', e.message))));
  // Pages of hidden calls alone are read through, a few at most, so the first screen shows requests.
  for (let pages = 0; pages < 5; pages++) {
    if (await load() === undefined) return; // no audit log
    if (table.tBodies[0].rows.length || more.hidden) break;
  }
  if (!table.tBodies[0].rows.length) table.tBodies[0].append(h('tr', {class: 'empty'}, h('td', {colspan: 11, class: 'muted'}, 'No requests match.')));
}

async function requestView(el, requestId) {
  const body = await api('GET', '/admin/v1/audit/' + encodeURIComponent(requestId));
  const row = body.request || body;
  const detail = typeof body.detail === 'object' && body.detail !== null ? body.detail : body;
  el.append(drawRequest(row, detail));
}

// ---- usage ----------------------------------------------------------------------------------

const SPLITS = {none: null, model: 'model', key: 'key', path: 'path', provider: 'provider', end_user: 'end_user'};
const METRICS = {requests: 'requests', total_tokens: 'tokens', cost_usd: 'cost (USD)'};

async function usageView(el, params) {
  const days = Math.min(366, Math.max(1, parseInt(params.get('days') || '14', 10) || 14));
  const metric = METRICS[params.get('metric')] ? params.get('metric') : 'requests';
  const split = params.get('by') in SPLITS ? params.get('by') : 'model';
  const set = patch => { location.hash = '#/usage' + query({days, metric, by: split, ...patch}); };
  const select = (id, options, value, onChange) => h('select', {id, onchange: e => onChange(e.target.value)},
    Object.entries(options).map(([k, label]) => h('option', {value: k, selected: k === value}, label)));
  el.append(h('h2', {}, 'Usage and cost'),
    h('div', {class: 'filters'},
      h('label', {}, 'Last ', select('u-days', {1: '1 day', 7: '7 days', 14: '14 days', 30: '30 days', 90: '90 days'}, String(days),
        v => set({days: v}))),
      h('label', {}, 'Show ', select('u-metric', METRICS, metric, v => set({metric: v}))),
      h('label', {}, 'By ', select('u-by', {none: 'nothing', model: 'model', key: 'key', path: 'user path', provider: 'provider',
        end_user: 'end user'}, split, v => set({by: v})))));
  const to = Date.now() + 1, from = Math.floor((to - days * 864e5) / 864e5) * 864e5;
  const range = {from: new Date(from).toISOString(), to: new Date(to).toISOString()};
  let groups = [];
  let totals;
  try {
    totals = await api('GET', '/admin/v1/usage' + query({...range, group_by: split === 'none' ? undefined : split}));
  } catch (e) {
    if (e.status === 404) {
      el.append(notice('info', 'This server stores no usage (SKIFF_USAGE_STORE=off).'));
      return;
    }
    throw e;
  }
  const dayList = daysBetween(from, to);
  const series = [];
  if (split === 'none') {
    const perDay = await api('GET', '/admin/v1/usage' + query({...range, group_by: 'day'}));
    series.push({name: 'all', values: Object.fromEntries(perDay.data.map(r => [r.day, r[metric]]))});
  } else {
    groups = (totals.data || []).slice().sort((a, b) => (b[metric] || 0) - (a[metric] || 0));
    const top = groups.slice(0, 5);
    const filterName = split;
    const perGroup = await Promise.all(top.map(g => api('GET', '/admin/v1/usage' + query({...range, group_by: 'day', [filterName]: g[split]}))));
    top.forEach((g, i) => series.push({name: g[split] === null || g[split] === undefined ? '(none)' : String(g[split]),
      values: Object.fromEntries(perGroup[i].data.map(r => [r.day, r[metric]]))}));
    if (groups.length > 5) {
      const all = await api('GET', '/admin/v1/usage' + query({...range, group_by: 'day'}));
      const other = {};
      for (const r of all.data) {
        const shown = series.reduce((a, sr) => a + (sr.values[r.day] || 0), 0);
        other[r.day] = Math.max(0, (r[metric] || 0) - shown);
      }
      series.push({name: 'other', values: other});
    }
  }
  const t = totals.total || {};
  el.append(h('dl', {class: 'facts totals'},
    h('dt', {}, 'requests'), h('dd', {}, fmtNum(t.requests)), h('dt', {}, 'errors'), h('dd', {}, fmtNum(t.errors)),
    h('dt', {}, 'tokens'), h('dd', {}, fmtNum(t.total_tokens)), h('dt', {}, 'cost'), h('dd', {}, fmtUsd(t.cost_usd)),
    t.unknown_cost_requests ? [h('dt', {}, 'without a price'), h('dd', {}, fmtNum(t.unknown_cost_requests) + ' requests')] : null));
  el.append(barChart(dayList, series, metric));
  if (split !== 'none') {
    el.append(h('table', {class: 'list', id: 'usage-groups'},
      h('thead', {}, h('tr', {}, [split, 'requests', 'errors', 'input', 'cached', 'output', 'reasoning', 'cost'].map(c => h('th', {}, c)))),
      h('tbody', {}, groups.map(g => h('tr', {},
        h('td', {}, g[split] === null ? '(none: admin calls, refusals)' : String(g[split])), h('td', {class: 'num'}, fmtNum(g.requests)),
        h('td', {class: 'num'}, fmtNum(g.errors)), h('td', {class: 'num'}, fmtNum(g.input_tokens)),
        h('td', {class: 'num'}, fmtNum(g.cached_input_tokens)), h('td', {class: 'num'}, fmtNum(g.output_tokens)),
        h('td', {class: 'num'}, fmtNum(g.reasoning_tokens)), h('td', {class: 'num'}, fmtUsd(g.cost_usd)))))));
  }
}

// ---- keys -----------------------------------------------------------------------------------

function secretBox(title, secret) {
  return h('div', {class: 'notice secret', role: 'status', id: 'secret'}, h('strong', {}, title),
    h('p', {}, 'Copy it now: Skiff keeps only its hash and will not show it again.'), h('code', {class: 'secret-value'}, secret));
}

async function keysView(el) {
  const out = h('div', {id: 'key-messages'});
  const field = (name, label, attrs) => h('label', {}, label, h('input', {name, ...attrs}));
  const form = h('form', {class: 'card', id: 'new-key'}, h('h3', {}, 'New key'),
    field('name', 'Name', {required: true, size: 20}), field('user_path', 'User path', {placeholder: '/team/app', size: 16}),
    field('allowed_models', 'Models', {placeholder: '* or openai/*, gpt-4o', size: 22}),
    field('expires_at', 'Expires', {placeholder: 'ISO date, empty: never', size: 16}),
    h('label', {}, h('input', {type: 'checkbox', name: 'admin'}), ' admin scope'),
    h('label', {class: 'wide'}, 'Limits (JSON)', h('input', {name: 'limits', placeholder: '{"rpm": 60, "budget_usd": 20}', size: 40})),
    h('button', {type: 'submit'}, 'Create'));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const f = new FormData(form);
    const body = {name: f.get('name')};
    if (f.get('user_path')) body.user_path = f.get('user_path');
    if (f.get('allowed_models')) body.allowed_models = String(f.get('allowed_models')).split(',').map(x => x.trim()).filter(Boolean);
    if (f.get('expires_at')) body.expires_at = f.get('expires_at');
    if (f.get('admin')) body.scopes = ['admin'];
    clear(out);
    try {
      if (f.get('limits')) body.limits = JSON.parse(f.get('limits'));
      const created = await api('POST', '/admin/v1/keys', body);
      form.reset();
      await renderKeys();
      out.append(secretBox('Key ' + created.name + ' created', created.secret));
    } catch (x) {
      out.append(notice('error', x.message));
    }
  });
  const table = h('table', {class: 'list', id: 'keys'}, h('thead', {}, h('tr', {},
    ['name', 'id', 'prefix', 'user path', 'models', 'scopes', 'status', 'expires', 'limits', ''].map(c => h('th', {}, c)))), h('tbody'));
  const renderKeys = async () => {
    const rows = [];
    let after;
    for (let page = 0; page < 20; page++) { // 2,000 keys at most on one page of the dashboard
      const r = await api('GET', '/admin/v1/keys' + query({limit: 100, after}));
      rows.push(...r.data);
      if (!r.has_more) break;
      after = r.last_id;
    }
    const body = clear(table.tBodies[0]);
    for (const k of rows) {
      const act = (label, fn) => h('button', {type: 'button', class: 'small', onclick: async () => {
        clear(out);
        try { await fn(); } catch (x) { out.append(notice('error', x.message)); }
      }}, label);
      body.append(h('tr', {dataset: {keyId: k.id}},
        h('td', {}, k.name), h('td', {}, h('code', {}, k.id)), h('td', {}, h('code', {}, k.prefix)), h('td', {}, k.user_path),
        h('td', {}, (k.allowed_models || []).join(', ')), h('td', {}, (k.scopes || []).join(', ')),
        h('td', {}, h('span', {class: 'status ' + (k.status === 'active' ? 's2' : 's4')}, k.status)),
        h('td', {}, k.expires_at ? fmtTime(k.expires_at) : 'never'),
        h('td', {}, k.limits && Object.keys(k.limits).length ? h('code', {}, JSON.stringify(k.limits)) : ''),
        h('td', {class: 'actions'}, k.status === 'revoked' ? null : [
          act('Rotate', async () => {
            if (!confirm('Give ' + k.name + ' a new secret? The old one stops working now.')) return;
            const r = await api('POST', '/admin/v1/keys/' + encodeURIComponent(k.id) + '/rotate');
            await renderKeys();
            out.append(secretBox('New secret for ' + k.name, r.secret));
          }),
          act('Revoke', async () => {
            if (!confirm('Revoke ' + k.name + '? Requests with it are refused from now on.')) return;
            await api('DELETE', '/admin/v1/keys/' + encodeURIComponent(k.id));
            await renderKeys();
          }),
          act('Usage', async () => { location.hash = '#/requests' + query({key: k.id}); })])));
    }
    if (!rows.length) body.append(h('tr', {}, h('td', {colspan: 10, class: 'muted'}, 'No managed keys yet.')));
  };
  el.append(h('h2', {}, 'Keys'), form, out, table);
  await renderKeys();
}

// ---- limits ---------------------------------------------------------------------------------

async function limitsView(el) {
  const out = h('div', {id: 'limit-messages'});
  const sel = (name, options) => h('select', {name}, options.map(o => h('option', {value: o}, o)));
  const form = h('form', {class: 'card', id: 'new-limit'}, h('h3', {}, 'New limit'),
    h('label', {}, 'Scope', sel('scope', ['key', 'path', 'end_user'])),
    h('label', {}, 'Key id', h('input', {name: 'key_id', size: 14})), h('label', {}, 'Path', h('input', {name: 'path', size: 12})),
    h('label', {}, 'End user', h('input', {name: 'end_user', size: 10, placeholder: 'empty: each'})),
    h('label', {}, 'Metric', sel('metric', ['requests', 'tokens', 'cost', 'concurrent'])),
    h('label', {}, 'Window', sel('window', ['minute', 'hour', 'day', 'month', 'none'])),
    h('label', {}, 'Limit', h('input', {name: 'limit', size: 8, required: true, placeholder: 'cost: USD'})),
    h('label', {}, 'Soft', h('input', {name: 'soft', size: 6})),
    h('button', {type: 'submit'}, 'Add'));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const f = new FormData(form);
    const body = {scope: f.get('scope'), metric: f.get('metric')};
    for (const k of ['key_id', 'path', 'end_user']) if (f.get(k)) body[k] = f.get(k);
    if (f.get('window') !== 'none' && body.metric !== 'concurrent') body.window = f.get('window');
    const limit = Number(f.get('limit'));
    if (body.metric === 'cost') body.limit_usd = limit; else body.limit = limit;
    if (f.get('soft')) body[body.metric === 'cost' ? 'soft_usd' : 'soft'] = Number(f.get('soft'));
    clear(out);
    try {
      await api('POST', '/admin/v1/limits', body);
      form.reset();
      await renderLimits();
    } catch (x) {
      out.append(notice('error', x.message));
    }
  });
  const table = h('table', {class: 'list', id: 'limits'}, h('thead', {}, h('tr', {},
    ['scope', 'key / path', 'end user', 'metric', 'window', 'limit', 'soft', ''].map(c => h('th', {}, c)))), h('tbody'));
  const renderLimits = async () => {
    const r = await api('GET', '/admin/v1/limits');
    const body = clear(table.tBodies[0]);
    for (const p of r.data) {
      body.append(h('tr', {dataset: {limitId: p.id}},
        h('td', {}, p.scope), h('td', {}, p.key_id || p.path || ''), h('td', {}, p.end_user || (p.scope === 'end_user' ? '(each)' : '')),
        h('td', {}, p.metric), h('td', {}, p.window || ''),
        h('td', {class: 'num'}, p.limit_usd != null ? fmtUsd(p.limit_usd) : fmtNum(p.limit)),
        h('td', {class: 'num'}, p.soft_usd != null ? fmtUsd(p.soft_usd) : p.soft != null ? fmtNum(p.soft) : ''),
        h('td', {}, h('button', {type: 'button', class: 'small', onclick: async () => {
          if (!confirm('Delete this limit?')) return;
          clear(out);
          try {
            await api('DELETE', '/admin/v1/limits/' + encodeURIComponent(p.id));
            await renderLimits();
          } catch (x) { out.append(notice('error', x.message)); }
        }}, 'Delete'))));
    }
    if (!r.data.length) body.append(h('tr', {}, h('td', {colspan: 8, class: 'muted'}, 'No limit policies. Keys may still carry their own.')));
  };
  el.append(h('h2', {}, 'Limits'), form, out, table);
  await renderLimits();
}

document.addEventListener('DOMContentLoaded', start);
