// havm's dashboard: the cluster at a glance, incidents as timelines, live migration progress,
// operations with a confirmation that says what will happen, and the event log. Everything comes
// from this agent's REST API (/api/v1) with the operator's bearer token; live updates come from its
// server-sent-event stream, read with fetch() because EventSource cannot send an Authorization header.
// Server data is only ever put in the page as text (textContent), never as markup.
'use strict';

const API = '/api/v1';
const PHASES = ['detected', 'fenced', 'placed', 'running', 'answered'];
const PHASE_COLOURS = { detected: '#ef6c00', fenced: '#c62828', placed: '#6a1b9a', running: '#1565c0', answered: '#2e7d32' };
const view = { cluster: null, nodes: [], groups: [], operations: new Map(), events: [], incidents: [] };
let token = sessionStorage.getItem('havm-token') || '';
let stream = null;
// The last timeline line this page has: the stream goes on from it (Last-Event-ID), without a gap or a repeat.
let lastEventId = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

/**
 * Sets parent's children to items, each made by make(item) and keyed by key(item), keeping every
 * child whose rendering did not change: a redraw on a live event (several a second while a
 * cluster moves) must not swap the button under the user's pointer for an identical new one, or
 * the click lands on nothing.
 */
function reconcile(parent, items, key, make) {
  const old = new Map([...parent.children].map(c => [c.dataset.key, c]));
  const next = items.map(it => {
    const fresh = make(it);
    fresh.dataset.key = key(it);
    const prev = old.get(fresh.dataset.key);
    return prev && prev.outerHTML === fresh.outerHTML ? prev : fresh;
  });
  next.forEach((n, i) => { if (parent.children[i] !== n) parent.insertBefore(n, parent.children[i] || null); });
  while (parent.children.length > next.length) parent.lastElementChild.remove();
}

class Unauthorized extends Error {}

async function api(method, path, body) {
  const res = await fetch(API + path, {
    method,
    headers: Object.assign({ Authorization: 'Bearer ' + token }, body === undefined ? {} : { 'Content-Type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) throw new Unauthorized('the token was refused');
  const text = await res.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = { error: text }; }
  if (!res.ok) {
    const why = doc && doc.error ? doc.error : res.status + ' ' + res.statusText;
    const allowed = doc && doc.allowed ? ' (allowed: ' + doc.allowed.join(', ') + ')' : '';
    throw new Error(why + allowed);
  }
  return doc;
}

function notice(text) {
  const n = document.getElementById('notice');
  n.textContent = text;
  n.hidden = !text;
}

// ------------------------------------------------------------------ sign in

function showLogin(message) {
  document.getElementById('login').hidden = false;
  document.getElementById('main').hidden = true;
  document.getElementById('login-error').textContent = message || '';
  if (stream) stream.abort();
}

document.getElementById('login-form').addEventListener('submit', async ev => {
  ev.preventDefault();
  token = document.getElementById('token').value.trim();
  sessionStorage.setItem('havm-token', token);
  await start();
});

async function start() {
  try {
    await refresh();
  } catch (e) {
    if (e instanceof Unauthorized) { showLogin(token ? 'This token was refused.' : ''); return; }
    notice('Cannot read the cluster: ' + e.message);
  }
  document.getElementById('login').hidden = true;
  document.getElementById('main').hidden = false;
  listen();
}

// ------------------------------------------------------------------ data

async function refresh() {
  const [cluster, nodes, groups, ops, events, incidents] = await Promise.all([
    api('GET', '/cluster'), api('GET', '/nodes'), api('GET', '/groups'), api('GET', '/operations'),
    api('GET', '/events?limit=10000'), api('GET', '/incidents')]);
  view.cluster = cluster;
  view.nodes = list(nodes, 'nodes');
  view.groups = list(groups, 'groups');
  view.operations = new Map(list(ops, 'operations').map(o => [o.id, o]));
  view.events = list(events, 'events').slice(-2000);
  if (view.events.length) lastEventId = String(view.events[view.events.length - 1].seq);
  view.incidents = list(incidents, 'incidents');
  render();
}

// A list answer may be a bare array or an object holding it under its name.
function list(doc, name) {
  if (Array.isArray(doc)) return doc;
  return doc && Array.isArray(doc[name]) ? doc[name] : [];
}

let incidentsDue = null;
function refreshIncidentsSoon() {
  if (incidentsDue) return;
  incidentsDue = setTimeout(async () => {
    incidentsDue = null;
    try { view.incidents = list(await api('GET', '/incidents'), 'incidents'); renderIncidents(); } catch (e) { /* next event retries */ }
  }, 500);
}

// The event stream: server-sent events over fetch, reconnecting with Last-Event-ID.
async function listen() {
  for (;;) {
    stream = new AbortController();
    try {
      const headers = { Authorization: 'Bearer ' + token, Accept: 'text/event-stream' };
      if (lastEventId) headers['Last-Event-ID'] = lastEventId;
      const res = await fetch(API + '/events/stream', { headers, signal: stream.signal });
      if (res.status === 401) { showLogin('This token was refused.'); return; }
      if (!res.ok || !res.body) throw new Error('stream answered ' + res.status);
      live(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n/g, '\n');
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const msg = { event: 'message', data: [] };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
            if (field === 'event') msg.event = val;
            else if (field === 'data') msg.data.push(val);
            else if (field === 'id') lastEventId = val;
          }
          if (msg.data.length) onEvent(msg.event, msg.data.join('\n'));
        }
      }
    } catch (e) {
      if (e.name === 'AbortError') return;
    }
    live(false);
    await new Promise(r => setTimeout(r, 2000));
    try { await refresh(); } catch (e) { if (e instanceof Unauthorized) { showLogin('This token was refused.'); return; } }
  }
}

function live(on) {
  const l = document.getElementById('live');
  l.className = 'live ' + (on ? 'on' : 'off');
  l.textContent = on ? 'live' : 'reconnecting';
}

function onEvent(kind, data) {
  let doc;
  try { doc = JSON.parse(data); } catch (e) { return; }
  if (kind === 'state') {
    if (doc.cluster) view.cluster = doc.cluster;
    if (doc.nodes) view.nodes = list(doc.nodes, 'nodes');
    if (doc.groups) view.groups = list(doc.groups, 'groups');
    renderCluster(); renderNodes(); renderGroups();
  } else if (kind === 'timeline') {
    view.events.push(doc);
    if (view.events.length > 2000) view.events.splice(0, view.events.length - 2000);
    renderEvents();
    refreshIncidentsSoon();
  } else if (kind === 'operation') {
    view.operations.set(doc.id, doc);
    renderOperations();
  }
}

// ------------------------------------------------------------------ rendering

function render() {
  renderCluster(); renderNodes(); renderGroups(); renderOperations(); renderIncidents(); renderFilters(); renderEvents();
}

function renderCluster() {
  const c = view.cluster || {};
  document.getElementById('cluster-name').textContent = c.name || '';
  document.getElementById('coordinator').textContent = c.coordinator || 'none';
  document.getElementById('epoch').textContent = c.epoch ?? '–';
  document.getElementById('config-version').textContent = c.configVersion ?? '–';
  document.getElementById('zookeeper').textContent = c.zookeeper || '–';
  document.title = 'havm ' + (c.name || '');
}

function nodeState(n) {
  if (n.status !== 'up') return n.status;
  return n.draining ? 'draining' : n.paused ? 'paused' : 'up';
}

function renderNodes() {
  const box = document.getElementById('nodes');
  reconcile(box, view.nodes, n => n.name, n => {
    const state = nodeState(n);
    const on = view.groups.filter(g => g.node === n.name).map(g => g.name);
    return el('div', { class: 'card ' + state, 'data-node': n.name, 'data-state': state },
      el('h3', { text: n.name }),
      el('div', { class: 'node-state', text: state + (n.member === false ? ' (not a member)' : '') + (n.unresponsive ? ' (unresponsive)' : '') }),
      el('div', { class: 'groups', text: on.length ? 'runs ' + on.join(', ') : 'runs no group' }),
      el('div', {},
        el('button', { onclick: () => confirmNode('drain', n), disabled: n.status !== 'up' || n.draining, text: 'Drain' }),
        el('button', { onclick: () => confirmNode('resume', n), disabled: n.status !== 'up' || !(n.draining || n.paused), text: 'Resume' }),
        el('button', { onclick: () => confirmNode('shutdown', n), disabled: n.status !== 'up', text: 'Shut down' })));
  });
}

function migrationCell(g) {
  const m = g.migration;
  if (!m) return el('span', { text: g.phase === 'moving' ? (g.mode ? g.mode + ' move' : 'moving') : '' });
  const total = m.memoryTotalBytes || 0;
  const left = m.memoryRemainingBytes ?? total;
  const done = total > 0 ? Math.max(0, Math.min(100, 100 * (total - left) / total)) : 0;
  const bits = [Math.round(done) + '%'];
  if (total) bits.push((left / 1048576).toFixed(0) + ' MiB left');
  if (m.expectedDowntimeMs !== undefined && m.expectedDowntimeMs !== null) bits.push('downtime ~' + m.expectedDowntimeMs + ' ms');
  return el('span', { class: 'migration', 'data-group': g.name },
    el('span', { class: 'progress', role: 'progressbar', 'aria-valuenow': Math.round(done), 'aria-valuemin': 0, 'aria-valuemax': 100 },
      Object.assign(el('div'), { style: 'width:' + done + '%' })),
    el('span', { class: 'progress-text', text: (m.mode ? m.mode + ': ' : '') + bits.join(', ') }));
}

function renderGroups() {
  const body = document.querySelector('#groups tbody');
  reconcile(body, view.groups, g => g.name, g => el('tr', { 'data-group': g.name },
    el('td', { text: g.name }),
    el('td', {}, el('span', { class: 'phase ' + g.phase, text: g.phase })),
    el('td', { class: 'owner', text: g.node || '–' }),
    el('td', { text: g.wantOnline ? 'online' : 'offline' }),
    el('td', {}, migrationCell(g)),
    el('td', {},
      el('button', { onclick: () => confirmMove(g), disabled: !g.node || g.phase !== 'online', text: 'Move' }),
      el('button', { onclick: () => confirmGroup('online', g), disabled: g.wantOnline, text: 'Online' }),
      el('button', { onclick: () => confirmGroup('offline', g), disabled: !g.wantOnline, text: 'Offline' }))));
  renderNodes();
}

function renderOperations() {
  const ops = [...view.operations.values()].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt))).slice(0, 20);
  document.querySelector('#operations tbody').replaceChildren(...ops.map(o => el('tr', { 'data-operation': o.id },
    el('td', { text: o.id }),
    el('td', { text: o.kind + ' ' + (o.target || '') + describeParams(o.params) }),
    el('td', { class: 'state-' + o.state, text: o.state }),
    el('td', { text: o.by || '' }),
    el('td', { text: shortTime(o.updatedAt) }),
    el('td', { text: o.message || '' }))));
}

function describeParams(p) {
  if (!p) return '';
  return Object.entries(p).map(([k, v]) => ' ' + k + '=' + v).join('');
}

function shortTime(t) {
  if (!t) return '';
  const d = new Date(t);
  return isNaN(d) ? String(t) : d.toLocaleTimeString();
}

// Each incident as a horizontal bar of its phases, to scale, with each phase's duration.
function renderIncidents() {
  const box = document.getElementById('incidents');
  if (!view.incidents.length) { box.replaceChildren(el('p', { class: 'hint', text: 'No incident yet.' })); return; }
  const ns = 'http://www.w3.org/2000/svg';
  box.replaceChildren(...view.incidents.slice().reverse().map(inc => {
    // "detected" is the moment the cluster saw the loss (an instant, not a span): it starts the bar
    const phases = (inc.phases || []).filter(p => p.seconds !== null && p.seconds !== undefined
      && !(p.name === 'detected' && p.seconds === 0));
    const total = inc.totalSeconds || phases.reduce((s, p) => s + p.seconds, 0) || 1;
    const width = 640;
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('width', width); svg.setAttribute('height', 18);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'timeline of ' + inc.group);
    let x = 0;
    const legend = el('div', { class: 'legend' });
    for (const p of phases) {
      const w = Math.max(2, width * p.seconds / total);
      const r = document.createElementNS(ns, 'rect');
      r.setAttribute('x', x); r.setAttribute('y', 0); r.setAttribute('width', w); r.setAttribute('height', 18);
      r.setAttribute('fill', PHASE_COLOURS[p.name] || '#757575');
      r.setAttribute('data-phase', p.name);
      const title = document.createElementNS(ns, 'title');
      title.textContent = p.name + ': ' + p.seconds.toFixed(2) + ' s';
      r.append(title);
      svg.append(r);
      legend.append(el('span', { class: 'swatch', style: 'background:' + (PHASE_COLOURS[p.name] || '#757575') }),
        el('span', { class: 'phase-seconds', text: p.name + ' ' + p.seconds.toFixed(2) + ' s' }), ' ');
      x += w;
    }
    return el('div', { class: 'incident', 'data-incident-group': inc.group },
      el('div', { text: inc.group + ': ' + (inc.fromNode || '?') + ' → ' + (inc.toNode || '?') + ', '
        + (inc.totalSeconds !== undefined && inc.totalSeconds !== null ? inc.totalSeconds.toFixed(2) + ' s' : 'not recovered yet')
        + (inc.phases && inc.phases.length ? ' from its detection at ' + shortTime(inc.phases[0].at) : '') }),
      svg, legend);
  }));
}

function renderFilters() {
  fill('filter-group', view.groups.map(g => g.name), 'every group');
  fill('filter-node', view.nodes.map(n => n.name), 'every host');
}

function fill(id, names, all) {
  const s = document.getElementById(id);
  const keep = s.value;
  s.replaceChildren(el('option', { value: '', text: all }), ...names.map(n => el('option', { value: n, text: n })));
  s.value = names.includes(keep) ? keep : '';
}

function renderEvents() {
  const text = document.getElementById('filter-text').value.toLowerCase();
  const group = document.getElementById('filter-group').value;
  const node = document.getElementById('filter-node').value;
  const shown = view.events.filter(e => (!group || e.group === group || (e.text || '').includes(group))
    && (!node || e.node === node || (e.text || '').includes(node))
    && (!text || (e.text || '').toLowerCase().includes(text)));
  const list = document.getElementById('events');
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.replaceChildren(...shown.slice(-500).map(e => el('li', { text: (e.time ? shortTime(e.time) + '  ' : '') + e.text })));
  if (atEnd) list.scrollTop = list.scrollHeight;
}

for (const id of ['filter-text', 'filter-group', 'filter-node']) {
  document.getElementById(id).addEventListener('input', renderEvents);
}

// ------------------------------------------------------------------ actions, each confirmed

function ask(title, text, fields) {
  const d = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-fields').replaceChildren(...(fields || []));
  const p = document.getElementById('confirm-text');
  const say = typeof text === 'function' ? text : () => text;
  p.textContent = say();
  for (const f of fields || []) f.addEventListener('change', () => { p.textContent = say(); });
  d.showModal();
  return new Promise(resolve => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }));
}

async function act(path, body) {
  try {
    const op = await api('POST', path, body);
    if (op && op.id) { view.operations.set(op.id, op); renderOperations(); }
    notice('');
  } catch (e) {
    if (e instanceof Unauthorized) { showLogin('This token was refused.'); return; }
    notice('Refused: ' + e.message);
  }
}

const MOVE_SAYS = {
  live: 'by live migration: the guest keeps running; it pauses only for the final switch-over',
  quick: 'by quick migration: its state is saved on %from and restored on %to; the guest is paused meanwhile but does not reboot',
  offline: 'offline: the guest is shut down on %from and started again on %to (it reboots)',
};

async function confirmMove(g) {
  const targets = view.nodes.filter(n => n.name !== g.node && n.status === 'up' && !n.draining && !n.paused).map(n => n.name);
  if (!targets.length) { notice('No other host can take ' + g.name + ' now.'); return; }
  const to = el('select', { id: 'move-to' }, ...targets.map(t => el('option', { value: t, text: t })));
  const mode = el('select', { id: 'move-mode' }, ...['live', 'quick', 'offline'].map(m => el('option', { value: m, text: m })));
  const ok = await ask('Move ' + g.name, () => 'Move group ' + g.name + ' from ' + g.node + ' to ' + to.value + ' '
    + MOVE_SAYS[mode.value].replace('%from', g.node).replace('%to', to.value) + '.',
    [el('label', {}, 'to ', to), el('label', {}, 'mode ', mode)]);
  if (ok) await act('/groups/' + encodeURIComponent(g.name) + '/move', { to: to.value, mode: mode.value });
}

async function confirmGroup(verb, g) {
  const says = verb === 'online'
    ? 'Bring group ' + g.name + ' online: the cluster places it on a host and starts it, and restarts it if it fails.'
    : 'Take group ' + g.name + ' offline: its VM is shut down' + (g.node ? ' on ' + g.node : '')
      + ' and stays off; the cluster will not restart it until it is brought online.';
  if (await ask((verb === 'online' ? 'Online ' : 'Offline ') + g.name, says)) {
    await act('/groups/' + encodeURIComponent(g.name) + '/' + verb);
  }
}

async function confirmNode(verb, n) {
  const on = view.groups.filter(g => g.node === n.name).map(g => g.name);
  const runs = on.length ? on.join(', ') : 'no group';
  let fields = [];
  let says;
  let body;
  if (verb === 'drain') {
    says = () => 'Drain host ' + n.name + ': its groups (' + runs + ') move to other hosts, live where they can, and no group is'
      + ' placed on it until it is resumed. Its VMs keep running during the moves.';
  } else if (verb === 'resume') {
    const fb = el('input', { type: 'checkbox', id: 'resume-failback' });
    fields = [el('label', {}, fb, ' fail back: every group that prefers ' + n.name + ' moves back to it now')];
    says = () => 'Resume host ' + n.name + ': it takes groups again' + (fb.checked ? ', and groups that prefer it move back.' : '; nothing moves back now.');
    body = () => ({ failback: fb.checked });
  } else {
    says = () => 'Shut down host ' + n.name + '\'s agent: its groups (' + runs + ') are moved away first, then the node leaves the'
      + ' cluster. This needs an admin token.';
  }
  const title = { drain: 'Drain ', resume: 'Resume ', shutdown: 'Shut down ' }[verb] + n.name;
  if (await ask(title, says, fields)) {
    await act('/nodes/' + encodeURIComponent(n.name) + '/' + verb, body ? body() : undefined);
  }
}

if (token) start(); else showLogin('');
