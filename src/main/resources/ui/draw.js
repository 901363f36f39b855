// Skiff dashboard: one request drawn. The conversation is read from the client's request and the
// answer it got, whatever its dialect (OpenAI chat, Anthropic Messages, OpenAI Responses), into turns
// of parts: text, thinking, images, tool calls and tool results, each call linked to its result.
'use strict';

/** The dialect a path speaks. */
function dialectOf(path, endpoint) {
  const p = path || '';
  if (p.startsWith('/v1/messages') || endpoint === 'messages' || endpoint === 'count_tokens') return 'anthropic';
  if (p.startsWith('/v1/responses') || endpoint === 'responses') return 'responses';
  if (p.startsWith('/v1/chat/completions') || endpoint === 'chat') return 'openai';
  return null;
}

const DIALECT_NAMES = {openai: 'OpenAI chat', anthropic: 'Anthropic Messages', responses: 'OpenAI Responses'};

/** A body as the audit API gives it: parsed JSON, an assembled stream, or null. */
function bodyJson(b) {
  if (!b) return null;
  if (b.json !== undefined) return b.json;
  if (b.assembled) return b.assembled;
  if (typeof b.text === 'string') {
    try { return JSON.parse(b.text); } catch (e) { return null; }
  }
  return null;
}

function bodyText(b) {
  if (!b) return '';
  if (b.json !== undefined) return pretty(b.json);
  if (typeof b.text === 'string') return b.text;
  if (b.base64) return '(' + fmtNum(b.size) + ' bytes of binary data)';
  return '';
}

function textOf(content) {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map(c => typeof c === 'string' ? c : (c.text || c.output_text || '')).join('');
  return pretty(content);
}

// ---- reading each dialect into turns ------------------------------------------------------------

function openAiParts(m) {
  const parts = [];
  if (m.reasoning_content) parts.push({kind: 'thinking', text: m.reasoning_content, signed: !!m.reasoning_signature});
  const c = m.content;
  if (typeof c === 'string' && c) parts.push({kind: 'text', text: c});
  else if (Array.isArray(c)) {
    for (const p of c) {
      if (p.type === 'text' || p.type === 'input_text') parts.push({kind: 'text', text: p.text});
      else if (p.type === 'image_url') parts.push({kind: 'image', url: typeof p.image_url === 'string' ? p.image_url : p.image_url && p.image_url.url});
      else if (p.type === 'refusal') parts.push({kind: 'text', text: p.refusal, refusal: true});
      else parts.push({kind: 'other', value: p});
    }
  }
  for (const tc of m.tool_calls || []) {
    const f = tc.function || {};
    parts.push({kind: 'tool_call', id: tc.id, name: f.name, args: f.arguments});
  }
  if (m.role === 'tool') return [{kind: 'tool_result', id: m.tool_call_id, content: textOf(c)}];
  return parts;
}

function openAiTurns(req, res) {
  const turns = [];
  for (const m of (req && req.messages) || []) turns.push({role: m.role, parts: openAiParts(m)});
  const choice = res && res.choices && res.choices[0];
  if (choice) {
    const msg = choice.message || choice.delta || {};
    turns.push({role: 'assistant', parts: openAiParts({role: 'assistant', ...msg}), answer: true, finish: choice.finish_reason});
  }
  return turns;
}

function anthropicParts(content) {
  if (typeof content === 'string') return content ? [{kind: 'text', text: content}] : [];
  const parts = [];
  for (const b of content || []) {
    switch (b.type) {
      case 'text': parts.push({kind: 'text', text: b.text}); break;
      case 'thinking': parts.push({kind: 'thinking', text: b.thinking, signed: !!b.signature}); break;
      case 'redacted_thinking': parts.push({kind: 'thinking', text: '(redacted by the provider)', signed: true}); break;
      case 'image': {
        const src = b.source || {};
        parts.push({kind: 'image', url: src.type === 'base64' ? 'data:' + src.media_type + ';base64,' + src.data : src.url});
        break;
      }
      case 'tool_use': parts.push({kind: 'tool_call', id: b.id, name: b.name, args: b.input}); break;
      case 'tool_result': parts.push({kind: 'tool_result', id: b.tool_use_id, content: textOf(b.content), error: !!b.is_error}); break;
      default: parts.push({kind: 'other', value: b});
    }
  }
  return parts;
}

function anthropicTurns(req, res) {
  const turns = [];
  if (req && req.system) turns.push({role: 'system', parts: anthropicParts(req.system)});
  for (const m of (req && req.messages) || []) turns.push({role: m.role, parts: anthropicParts(m.content)});
  if (res && res.content) turns.push({role: 'assistant', parts: anthropicParts(res.content), answer: true, finish: res.stop_reason});
  return turns;
}

function responsesItems(items, answer) {
  const turns = [];
  let current = null;
  const push = (role, part) => {
    if (!current || current.role !== role) {
      current = {role, parts: [], answer};
      turns.push(current);
    }
    current.parts.push(part);
  };
  for (const it of items || []) {
    const type = it.type || (it.role ? 'message' : '');
    if (type === 'message') {
      const parts = typeof it.content === 'string' ? [{kind: 'text', text: it.content}] : (it.content || []).map(p =>
        p.type === 'input_image' ? {kind: 'image', url: p.image_url} :
        (p.text !== undefined ? {kind: 'text', text: p.text} : {kind: 'other', value: p}));
      current = {role: it.role || 'assistant', parts, answer};
      turns.push(current);
      current = null;
    } else if (type === 'function_call') {
      push('assistant', {kind: 'tool_call', id: it.call_id, name: it.name, args: it.arguments});
    } else if (type === 'function_call_output') {
      push('tool', {kind: 'tool_result', id: it.call_id, content: textOf(it.output)});
    } else if (type === 'reasoning') {
      push('assistant', {kind: 'thinking', text: (it.summary || []).map(x => x.text).join('\n') || '(reasoning, not shown by the provider)',
        signed: !!it.encrypted_content});
    } else {
      push('assistant', {kind: 'other', value: it});
    }
  }
  return turns;
}

function responsesTurns(req, res) {
  const turns = [];
  if (req && req.instructions) turns.push({role: 'system', parts: [{kind: 'text', text: req.instructions}]});
  if (req && typeof req.input === 'string') turns.push({role: 'user', parts: [{kind: 'text', text: req.input}]});
  else turns.push(...responsesItems(req && req.input, false));
  const out = res && (res.output || (res.response && res.response.output));
  if (out) turns.push(...responsesItems(out, true));
  return turns;
}

/** The conversation of a request, as turns; empty when its bodies were not kept. */
function conversation(dialect, req, res) {
  if (!req) return [];
  if (dialect === 'anthropic') return anthropicTurns(req, res);
  if (dialect === 'responses') return responsesTurns(req, res);
  return openAiTurns(req, res);
}

// ---- drawing --------------------------------------------------------------------------------

function drawArgs(args) {
  let v = args;
  if (typeof v === 'string') {
    try { v = JSON.parse(v); } catch (e) { /* shown as sent */ }
  }
  return h('pre', {class: 'args'}, pretty(v));
}

function drawPart(p, calls, results, seq) {
  switch (p.kind) {
    case 'text':
      return h('div', {class: 'part text' + (p.refusal ? ' refusal' : '')}, p.text);
    case 'thinking':
      return h('details', {class: 'part thinking', open: true},
        h('summary', {}, 'Thinking' + (p.signed ? ' (signed)' : '')), h('div', {class: 'thinking-text'}, p.text));
    case 'image': {
      const url = p.url || '';
      // Inline images are drawn; a remote one is named, not fetched (the page loads nothing from elsewhere).
      return h('figure', {class: 'part image'}, url.startsWith('data:image/') ? h('img', {src: url, alt: 'image sent in the request'})
        : h('figcaption', {}, 'image at ' + url));
    }
    case 'tool_call': {
      const n = seq(p.id);
      const result = results.get(p.id);
      return h('div', {class: 'part tool-call', id: 'call-' + n, dataset: {callId: p.id || ''}},
        h('div', {class: 'part-head'}, h('span', {class: 'badge b' + (n % 6)}, '#' + n), ' calls ', h('code', {}, p.name || '?'),
          h('span', {class: 'muted'}, ' ' + (p.id || ''))),
        drawArgs(p.args),
        result ? h('a', {class: 'link result-link', href: '', dataset: {target: 'result-' + n},
          onclick: e => jump(e, 'result-' + n)}, '→ its result') : h('span', {class: 'muted unanswered'}, 'no result in this request'));
    }
    case 'tool_result': {
      const n = seq(p.id);
      const call = calls.get(p.id);
      return h('div', {class: 'part tool-result' + (p.error ? ' error' : ''), id: 'result-' + n, dataset: {callId: p.id || ''}},
        h('div', {class: 'part-head'}, h('span', {class: 'badge b' + (n % 6)}, '#' + n), ' result of ',
          h('code', {}, call ? call.name : '?'), h('span', {class: 'muted'}, ' ' + (p.id || '')), p.error ? ' (error)' : ''),
        h('pre', {class: 'result-text'}, p.content),
        call ? h('a', {class: 'link call-link', href: '', dataset: {target: 'call-' + n}, onclick: e => jump(e, 'call-' + n)}, '← its call')
          : h('span', {class: 'muted'}, 'its call is not in this request'));
    }
    default:
      return h('pre', {class: 'part other'}, pretty(p.value));
  }
}

function jump(e, id) {
  e.preventDefault();
  const el = document.getElementById(id);
  if (!el) return;
  el.scrollIntoView({block: 'center'});
  el.classList.add('flash');
  setTimeout(() => el.classList.remove('flash'), 1200);
}

function drawConversation(turns) {
  const calls = new Map(), results = new Map(), numbers = new Map();
  for (const t of turns) for (const p of t.parts) {
    if (p.kind === 'tool_call') calls.set(p.id, p);
    if (p.kind === 'tool_result') results.set(p.id, p);
  }
  const seq = id => {
    if (!numbers.has(id)) numbers.set(id, numbers.size + 1);
    return numbers.get(id);
  };
  return h('ol', {class: 'turns'}, turns.map((t, i) =>
    h('li', {class: 'turn role-' + t.role + (t.answer ? ' answer' : ''), dataset: {turn: i + 1, role: t.role}},
      h('div', {class: 'turn-head'}, h('span', {class: 'role'}, t.role), t.answer ? h('span', {class: 'tag'}, 'answer') : null,
        t.finish ? h('span', {class: 'muted'}, ' finish: ' + t.finish) : null),
      t.parts.length ? t.parts.map(p => drawPart(p, calls, results, seq)) : h('div', {class: 'muted'}, '(empty)'))));
}

/** The timing bar: Skiff's own time, connecting, waiting for the first byte and token, the stream's events. */
function drawTiming(t, latencyMs) {
  if (!t) return h('p', {class: 'muted'}, 'No timing was kept for this request.');
  const end = t.finished_ms != null ? t.finished_ms : latencyMs;
  if (!end || end <= 0) return h('p', {class: 'muted'}, 'No timing was kept for this request.');
  const sent = t.upstream_sent_ms, conn = t.upstream_connected_ms, fb = t.first_byte_ms, ft = t.first_token_ms;
  const segs = [];
  const add = (name, cls, from, to) => {
    if (from == null || to == null || to < from) return;
    segs.push({name, cls, from, to});
  };
  add('in Skiff (queue, checks, translation)', 'seg-queue', 0, sent != null ? sent : fb);
  if (conn != null) add(t.connection_reused ? 'connection from the pool' : 'connect', 'seg-connect', sent, conn);
  add('waiting for the first byte', 'seg-wait', conn != null ? conn : sent, fb);
  if (ft != null && ft > fb) add('to the first token', 'seg-token', fb, ft);
  add('answer' + (t.events_ms && t.events_ms.length ? ' (stream)' : ''), 'seg-body', ft != null && ft > fb ? ft : fb, end);
  const W = 1000, x = v => Math.max(0, Math.min(W, v / end * W));
  const svg = s('svg', {class: 'timing', viewBox: '0 0 ' + W + ' 46', preserveAspectRatio: 'none', role: 'img',
    'aria-label': 'timing of the request'},
    segs.map(g => s('rect', {class: g.cls, x: x(g.from), y: 4, width: Math.max(1, x(g.to) - x(g.from)), height: 24},
      s('title', {}, g.name + ': ' + fmtMs(g.to - g.from)))),
    (t.events_ms || t.chunks_ms || []).map(e => s('line', {class: 'tick', x1: x(e), x2: x(e), y1: 30, y2: 42},
      s('title', {}, 'event at ' + fmtMs(e)))));
  const legend = h('ul', {class: 'legend'}, segs.map(g => h('li', {}, h('span', {class: 'swatch ' + g.cls}), g.name + ' ' + fmtMs(g.to - g.from))),
    h('li', {}, 'total ' + fmtMs(end)),
    (t.events_ms || []).length ? h('li', {}, h('span', {class: 'swatch tick'}), t.events_ms.length + ' stream events') : null);
  return h('div', {class: 'timing-wrap'}, svg, legend);
}

function drawHeaders(headers) {
  if (!headers) return null;
  return h('details', {class: 'headers'}, h('summary', {}, 'headers'),
    h('table', {}, Object.entries(headers).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, Array.isArray(v) ? v.join(', ') : v)))));
}

function drawExchange(title, sub, req, res) {
  return h('section', {class: 'side'},
    h('h3', {}, title), sub ? h('div', {class: 'muted'}, sub) : null,
    req ? h('div', {class: 'msg'}, h('h4', {}, 'request ', h('span', {class: 'muted'}, (req.method || '') + ' ' + (req.url || ''))),
      drawHeaders(req.headers), h('pre', {class: 'body'}, bodyText(req.body) || '(no body kept)'),
      req.body && req.body.truncated ? h('div', {class: 'muted'}, 'cut at the audit size cap (' + fmtNum(req.body.size) + ' bytes in all)') : null)
      : h('p', {class: 'muted'}, 'not kept'),
    res ? h('div', {class: 'msg'}, h('h4', {}, 'response ', h('span', {class: 'status s' + String(res.status || '')[0]}, res.status || '')),
      drawHeaders(res.headers),
      res.body && res.body.assembled ? h('details', {}, h('summary', {}, 'assembled from ' + res.body.events + ' events'),
        h('pre', {class: 'body'}, pretty(res.body.assembled))) : null,
      h('pre', {class: 'body'}, bodyText(res.body) || '(no body kept)')) : null);
}

function hostOf(url) {
  try { return new URL(url).host; } catch (e) { return null; }
}

/** The whole view of one audited request. */
function drawRequest(row, d) {
  const client = d.client || {};
  // The detail's "provider" is the provider-side exchange, which may have replaced the summary's name.
  const provider = d.provider && typeof d.provider === 'object' ? d.provider : null;
  const providerName = typeof row.provider === 'string' ? row.provider
    : provider && provider.request && provider.request.url ? hostOf(provider.request.url) : null;
  const path = row.path || (client.request && client.request.url ? new URL(client.request.url, location.origin).pathname : '');
  const dialect = dialectOf(path, row.endpoint);
  const req = client.request ? bodyJson(client.request.body) : null;
  const res = client.response ? bodyJson(client.response.body) : null;
  const turns = dialect ? conversation(dialect, req, res) : [];
  const usage = d.usage || {};
  const latencyMs = row.latency_ms != null ? row.latency_ms : row.latency_us > 0 ? row.latency_us / 1000 : null;
  const facts = [
    ['request', row.request_id], ['received', fmtTime(row.ts || (d.timing && d.timing.received_at))],
    ['status', row.status], ['endpoint', row.endpoint], ['path', path], ['model', row.model],
    ['asked for', row.requested_model !== row.model ? row.requested_model : null], ['provider', providerName],
    ['stream', row.stream ? 'yes' : 'no'], ['key', row.key_id], ['user path', row.user_path], ['end user', row.end_user],
    ['attempts', d.attempts > 1 ? d.attempts : null], ['dropped fields', d.dropped_fields], ['error', row.error],
    ['trace', row.trace_id],
  ].filter(([, v]) => v !== null && v !== undefined && v !== '');
  const tokens = [['input', usage.input_tokens], ['cached input', usage.cached_tokens], ['cache writes', usage.cache_write_tokens],
    ['output', usage.output_tokens], ['reasoning', usage.reasoning_tokens], ['total', usage.total_tokens]].filter(([, v]) => v != null);
  const cost = row.cost_usd != null ? row.cost_usd : d.cost_usd;
  return h('article', {class: 'request-view'},
    h('p', {}, h('a', {href: '#/requests', class: 'link'}, '← all requests')),
    h('h2', {}, 'Request ', h('code', {}, row.request_id || '')),
    h('dl', {class: 'facts'}, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])),
    h('h3', {}, 'Timing'), drawTiming(d.timing, latencyMs),
    h('h3', {}, 'Tokens and cost'),
    tokens.length || cost != null ? h('dl', {class: 'facts tokens'}, tokens.map(([k, v]) => [h('dt', {}, k), h('dd', {}, fmtNum(v))]),
      cost != null ? [h('dt', {}, 'cost'), h('dd', {}, fmtUsd(cost))] : null) : h('p', {class: 'muted'}, 'The provider reported no usage.'),
    h('h3', {}, 'Conversation', dialect ? h('span', {class: 'muted'}, ' as the client sent it (' + DIALECT_NAMES[dialect] + ')') : null),
    turns.length ? drawConversation(turns) : h('p', {class: 'muted'},
      req ? 'This endpoint has no conversation to draw.' : 'Bodies were not kept for this request (audit level metadata, or cut at the size cap).'),
    h('h3', {}, 'Client and provider side by side'),
    h('div', {class: 'sides'},
      drawExchange('Client ⇄ Skiff', dialect ? DIALECT_NAMES[dialect] : row.endpoint, client.request, client.response),
      provider ? drawExchange('Skiff ⇄ ' + (providerName || 'provider'), provider.request && provider.request.url, provider.request, provider.response)
        : h('section', {class: 'side'}, h('h3', {}, 'Skiff ⇄ provider'), h('p', {class: 'muted'}, 'No provider was called.'))));
}
