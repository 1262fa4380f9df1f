// Counter console: presence, the counter's active ticket with exactly the actions its state allows, and the
// queue per service (filter, search, SLA and ETA hints), kept live by realtime events that trigger a
// snapshot reload (api.queue_snapshot), never a page reload. Every command carries a request_id; one command
// runs at a time, so a double click never acts twice, and a command that did not reach the server is
// retried with the same request_id (the engine answers a replay with the stored result).

import { uuid4 } from '../shared/api.js';
import { connect } from '../shared/realtime.js';
import { t, formatWait, formatTime } from '../shared/i18n.js';

// Actions per ticket state (DESIGN §3); 'call' (a waiting ticket to this counter) is for supervisors.
var ACTIVE_ACTIONS = { called: ['recall', 'start', 'mark_no_show', 'transfer'], serving: ['complete', 'transfer'] };
var WAITING_ACTIONS = ['hold', 'transfer', 'cancel'];
var HELD_ACTIONS = ['unhold', 'cancel'];
var SUPERVISORS = ['qms_supervisor', 'qms_admin'];
var REFRESH_DELAY = 80;
// After a command's answer the buttons of the next state appear where the pressed one was. They stay
// disabled for the double-click time, so the second click of a double click on "call next" never recalls.
var SETTLE_MS = 400;

var $ = function (id) { return document.getElementById(id); };
var c = null;        // {api, branch, counter, claims}
var snap = null;     // last queue_snapshot
var services = [];   // list_services of the branch (names, SLA)
var allCounters = [];
var active = null;   // the counter's active ticket (called / serving)
var busy = false;
var settling = false; // the buttons just rendered after a command's answer are not yet clickable
var settleTimer = null;
var rt = null;
var refreshTimer = null;
var tickTimer = null;
var transferTicket = null;
var exposed = { commands: [] };
window.qmsConsole = exposed;

bindOnce();

export function openConsole(ctx) {
  closeConsole();
  c = ctx;
  snap = null;
  active = null;
  $('filter').value = 'mine';
  $('search').value = '';
  hideMessage();
  return Promise.all([
    c.api.read('list_services', { branch_id: c.branch.branch_id }),
    c.api.read('list_counters', { branch_id: c.branch.branch_id })
  ]).then(function (r) {
    services = r[0];
    allCounters = r[1].filter(function (x) { return x.is_active !== false; });
    fillFilter();
    return refresh();
  }).then(function () {
    var topics = ['counter:' + c.counter.counter_id].concat(services.map(function (s) {
      return 'branch:' + c.branch.branch_id + ':service:' + s.service_id;
    }));
    rt = connect({
      token: function () { return c.api.store.accessToken; },
      topics: topics,
      onEvent: function () { scheduleRefresh(); },
      resync: refresh,
      onStatus: onStatus
    });
    tickTimer = setInterval(render, 30000);
  }, showError);
}

export function closeConsole() {
  if (rt) rt.stop();
  rt = null;
  clearInterval(tickTimer);
  clearTimeout(refreshTimer);
  clearTimeout(settleTimer);
  settling = false;
  closeTransfer();
  c = null;
}

export function relabel() {
  if (!c) return;
  fillFilter();
  render();
}

function bindOnce() {
  Array.prototype.forEach.call(document.querySelectorAll('.presence .seg'), function (b) {
    b.addEventListener('click', function () { setPresence(b.getAttribute('data-status')); });
  });
  $('filter').addEventListener('change', renderQueue);
  $('search').addEventListener('input', renderQueue);
  $('transfer-form').addEventListener('submit', submitTransfer);
  $('t-cancel').addEventListener('click', closeTransfer);
  $('dialog').addEventListener('keydown', function (e) {
    if (e.key === 'Escape') closeTransfer();
    if (e.key !== 'Tab') return;
    // Keep the focus inside the dialog while it is open.
    var items = $('transfer-form').querySelectorAll('select, textarea, button');
    var first = items[0];
    var last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      last.focus();
      e.preventDefault();
    } else if (!e.shiftKey && document.activeElement === last) {
      first.focus();
      e.preventDefault();
    }
  });
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(function () { refresh().catch(function () {}); }, REFRESH_DELAY);
}

function refresh() {
  if (!c) return Promise.resolve();
  var ctx = c;
  return c.api.read('queue_snapshot', { branch_id: c.branch.branch_id }).then(function (s) {
    if (c !== ctx) return;
    snap = s;
    if (rt) rt.setSeq(s.as_of_seq);
    var me = myCounter();
    active = me && me.ticket ? me.ticket : null;
    render();
  });
}

function myCounter() {
  if (!snap || !c) return null;
  for (var i = 0; i < snap.counters.length; i++) {
    if (snap.counters[i].counter_id === c.counter.counter_id) return snap.counters[i];
  }
  return null;
}

function serviceName(id) {
  for (var i = 0; i < services.length; i++) if (services[i].service_id === id) return services[i].name;
  return '';
}

// Live updates rebuild the buttons: a keyboard user keeps the focus on the same action of the same ticket.
function render() {
  if (!c || !snap) return;
  var el = document.activeElement;
  var action = el && el.getAttribute ? el.getAttribute('data-action') : null;
  renderAll();
  if (action && !document.body.contains(el)) {
    var twin = findTwin(action, el.getAttribute('aria-label'));
    if (twin) twin.focus();
  }
}

function findTwin(action, label) {
  return label ? document.querySelector('[data-action="' + action + '"][aria-label="' + label + '"]')
    : document.querySelector('#actions [data-action="' + action + '"]');
}

function renderAll() {
  var me = myCounter();
  var status = me ? me.status : null;
  Array.prototype.forEach.call(document.querySelectorAll('.presence .seg'), function (b) {
    b.setAttribute('aria-pressed', String(b.getAttribute('data-status') === status));
  });
  renderActive(status);
  renderQueue();
}

function renderActive(status) {
  $('no-active').hidden = !!active;
  $('active-number').textContent = active ? active.ticket_number : '';
  $('active-number').className = 'active-number' + (active ? ' ' + active.status : '');
  $('active-meta').textContent = active ? [
    t('agent.st_' + active.status), serviceName(active.service_id),
    active.status === 'serving' ? t('agent.serving_since', { time: formatTime(active.served_at) })
      : t('agent.called_at', { time: formatTime(active.called_at) })
  ].join(' · ') : '';
  var box = $('actions');
  box.innerHTML = '';
  if (!active) {
    var call = button('call_next', 'btn big', function (rid) {
      return c.api.command('call_next', { counter_id: c.counter.counter_id, request_id: rid });
    });
    if (status !== 'available') {
      call.disabled = true;
      call.setAttribute('aria-describedby', 'call-hint');
      var hint = document.createElement('p');
      hint.id = 'call-hint';
      hint.className = 'muted';
      hint.textContent = t('agent.counter_unavailable');
      box.appendChild(call);
      box.appendChild(hint);
      return;
    }
    box.appendChild(call);
    return;
  }
  (ACTIVE_ACTIONS[active.status] || []).forEach(function (action) {
    box.appendChild(ticketButton(active, action, action === 'start' || action === 'complete' ? 'btn big' : 'btn secondary'));
  });
}

function plainButton(key, cls, onClick) {
  var b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = t('agent.' + key);
  b.setAttribute('data-action', key);
  b.disabled = busy || settling;
  b.addEventListener('click', function () { onClick(b); });
  return b;
}

// A button for a command: fn(request_id) → promise.
function button(key, cls, fn) {
  return plainButton(key, cls, function () { run(key, fn, null); });
}

function ticketButton(ticket, action, cls) {
  if (action === 'transfer') return plainButton('transfer', cls, function (b) { openTransfer(ticket, b); });
  return plainButton(action, cls, function () {
    if (action === 'cancel' && !window.confirm(t('agent.confirm_cancel', { n: ticket.ticket_number }))) return;
    run(action, function (rid) {
      return c.api.command('ticket_action', {
        ticket_id: ticket.ticket_id, action: action, counter_id: c.counter.counter_id, request_id: rid
      });
    }, null);
  });
}

// One command at a time. A failure that never reached the server keeps its request_id for the retry.
function run(key, fn, requestId) {
  if (busy || !c) return;
  busy = true;
  setDisabled(true);
  hideMessage();
  var rid = requestId || uuid4();
  var record = { action: key, request_id: rid, at: Date.now(), answered_at: null };
  exposed.commands.push(record);
  var ctx = c;
  return fn(rid).then(function (res) {
    record.answered_at = Date.now();
    busy = false;
    if (c === ctx) afterCommand(key, res);
  }, function (e) {
    busy = false;
    if (c !== ctx) return;
    showError(e, function () { run(key, fn, e.status === 0 ? rid : null); });
    scheduleRefresh();
    setDisabled(false);
  });
}

function afterCommand(key, res) {
  settling = true;
  clearTimeout(settleTimer);
  settleTimer = setTimeout(function () {
    settling = false;
    if (!busy) setDisabled(false);
  }, SETTLE_MS);
  if (key === 'call_next') {
    if (!res.ticket) showInfo(t('agent.' + res.reason));
    else active = res.ticket;
  } else if (res && res.ticket_id && active && res.ticket_id === active.ticket_id) {
    active = (res.status === 'called' || res.status === 'serving') && res.counter_id === c.counter.counter_id ? res : null;
  } else if (key === 'call' && res) {
    active = res;
  }
  render();
  scheduleRefresh();
}

function setDisabled(on) {
  Array.prototype.forEach.call(document.querySelectorAll('#screen-console [data-action], .presence .seg'), function (b) {
    if (on) b.disabled = true;
    else if (!(b.getAttribute('data-action') === 'call_next' && (myCounter() || {}).status !== 'available')) b.disabled = false;
  });
}

function setPresence(status) {
  run('presence', function (rid) {
    return c.api.command('set_counter_status', { counter_id: c.counter.counter_id, status: status, request_id: rid });
  }, null);
}

function fillFilter() {
  var sel = $('filter');
  var value = sel.value || 'mine';
  sel.innerHTML = '';
  [['mine', t('agent.filter_mine')], ['all', t('agent.filter_all')]].concat(services.map(function (s) {
    return [s.service_id, s.name];
  })).forEach(function (pair) {
    var o = document.createElement('option');
    o.value = pair[0];
    o.textContent = pair[1];
    sel.appendChild(o);
  });
  sel.value = value;
}

function shownServices() {
  var f = $('filter').value;
  var mine = c.counter.service_ids || [];
  return snap.services.filter(function (s) {
    if (f === 'mine') return mine.indexOf(s.service_id) >= 0;
    if (f === 'all') return true;
    return s.service_id === f;
  });
}

function renderQueue() {
  if (!c || !snap) return;
  var box = $('queue');
  var q = $('search').value.trim().toLowerCase();
  var match = function (row) { return !q || row.ticket_number.toLowerCase().indexOf(q) >= 0; };
  box.innerHTML = '';
  var total = 0;
  shownServices().forEach(function (s) {
    var waiting = s.waiting.filter(match);
    var held = s.held.filter(match);
    total += waiting.length + held.length;
    var sec = document.createElement('section');
    sec.className = 'svc';
    var h = document.createElement('h3');
    h.textContent = s.name + ' · ' + t('agent.waiting_n', { n: s.waiting_count });
    sec.appendChild(h);
    var ul = document.createElement('ul');
    ul.className = 'tickets';
    waiting.forEach(function (row) { ul.appendChild(ticketRow(s, row, 'waiting')); });
    sec.appendChild(ul);
    if (held.length) {
      var hh = document.createElement('h4');
      hh.textContent = t('agent.held_title');
      sec.appendChild(hh);
      var ul2 = document.createElement('ul');
      ul2.className = 'tickets held';
      held.forEach(function (row) { ul2.appendChild(ticketRow(s, row, 'held')); });
      sec.appendChild(ul2);
    }
    if (waiting.length || held.length) box.appendChild(sec);
  });
  if (!total) {
    var p = document.createElement('p');
    p.className = 'calm';
    p.textContent = t('agent.empty_queue');
    box.appendChild(p);
  }
}

function ticketRow(service, row, state) {
  var li = document.createElement('li');
  li.className = 'ticket';
  var num = document.createElement('span');
  num.className = 'num';
  num.textContent = row.ticket_number;
  li.appendChild(num);
  var info = document.createElement('span');
  info.className = 'info';
  var waited = Math.max(0, Math.floor((Date.now() - Date.parse(row.created_at)) / 60000));
  var parts = [t('agent.waited', { m: waited })];
  var cls = '';
  if (state === 'waiting' && service.sla_minutes) {
    if (waited >= service.sla_minutes) {
      parts.push(t('agent.sla_over', { n: waited - service.sla_minutes }));
      cls = 'over';
    } else if (waited >= service.sla_minutes * 0.8) {
      parts.push(t('agent.sla_near'));
      cls = 'near';
    }
  }
  if (state === 'waiting' && row.position === 1) parts.push(t('agent.next'));
  else if (state === 'waiting' && row.estimated_wait_seconds) {
    parts.push(t('agent.eta', { eta: formatWait(row.estimated_wait_seconds) }));
  }
  info.textContent = parts.join(' · ');
  if (cls) info.className += ' ' + cls;
  if (row.priority_class && row.priority_class !== 'regular') li.appendChild(badge(t('agent.priority')));
  if (row.returned) li.appendChild(badge(t('agent.returned')));
  li.appendChild(info);
  var acts = document.createElement('span');
  acts.className = 'row-actions';
  var list = state === 'held' ? HELD_ACTIONS : WAITING_ACTIONS;
  if (state === 'waiting' && SUPERVISORS.indexOf(c.claims.role) >= 0 && !active) list = ['call'].concat(list);
  list.forEach(function (action) {
    var b = ticketButton(row, action, 'btn secondary small');
    b.setAttribute('aria-label', t('agent.' + action) + ' ' + row.ticket_number);
    acts.appendChild(b);
  });
  li.appendChild(acts);
  return li;
}

function badge(text) {
  var b = document.createElement('span');
  b.className = 'badge';
  b.textContent = text;
  return b;
}

// Transfer: a target service (default: the same one) and/or a counter, and a reason.
function openTransfer(ticket, opener) {
  if (busy) return;
  transferTicket = { ticket: ticket, opener: opener };
  $('transfer-title').textContent = t('agent.transfer_title', { n: ticket.ticket_number });
  fillSelect($('t-service'), [['', t('agent.same_service')]].concat(services.filter(function (s) {
    return s.service_id !== ticket.service_id;
  }).map(function (s) { return [s.service_id, s.name]; })));
  fillSelect($('t-counter'), [['', t('agent.any_counter')]].concat(allCounters.filter(function (x) {
    return x.counter_id !== c.counter.counter_id;
  }).map(function (x) { return [x.counter_id, x.name]; })));
  $('t-reason').value = '';
  $('transfer-error').hidden = true;
  $('dialog').hidden = false;
  $('t-service').focus();
}

function fillSelect(sel, pairs) {
  sel.innerHTML = '';
  pairs.forEach(function (p) {
    var o = document.createElement('option');
    o.value = p[0];
    o.textContent = p[1];
    sel.appendChild(o);
  });
}

function closeTransfer() {
  if (!transferTicket) return;
  var opener = transferTicket.opener;
  transferTicket = null;
  $('dialog').hidden = true;
  // The lists are re-rendered on every update: focus the opener's current twin.
  if (opener && !document.body.contains(opener)) opener = findTwin('transfer', opener.getAttribute('aria-label'));
  if (opener) opener.focus();
}

function submitTransfer(ev) {
  ev.preventDefault();
  var tt = transferTicket;
  if (!tt) return;
  var service = $('t-service').value || null;
  var counter = $('t-counter').value || null;
  var reason = $('t-reason').value.trim();
  var err = !service && !counter ? t('agent.need_target') : (!reason ? t('agent.need_reason') : null);
  if (err) {
    $('transfer-error').textContent = err;
    $('transfer-error').hidden = false;
    return;
  }
  closeTransfer();
  run('transfer', function (rid) {
    return c.api.command('ticket_action', {
      ticket_id: tt.ticket.ticket_id, action: 'transfer', counter_id: c.counter.counter_id, request_id: rid,
      target_service_id: service, target_counter_id: counter, reason: reason
    });
  }, null);
}

function errorText(e) {
  var key = 'agent.err_' + e.code;
  if (t(key) !== key) return t(key);
  if (e.status === 0) return t('agent.err_network');
  if (e.status === 409) return t('agent.err_conflict', { msg: e.message });
  return t('agent.err_generic', { msg: e.message || e.code });
}

function showError(e, retry) {
  if (!e || e.status === 401) return;
  message(errorText(e), 'error', retry);
}

function showInfo(text) { message(text, 'info', null); }

function message(text, kind, retry) {
  $('message').className = 'message ' + kind;
  $('message-text').textContent = text;
  $('message').hidden = false;
  var r = $('message-retry');
  r.hidden = !retry;
  r.onclick = retry ? function () { hideMessage(); retry(); } : null;
}

function hideMessage() { $('message').hidden = true; }

function onStatus(state) {
  $('offline').hidden = state !== 'offline';
  $('conn').setAttribute('data-state', state);
  $('conn-text').textContent = t('common.' + (state === 'live' ? 'online' : state));
}
