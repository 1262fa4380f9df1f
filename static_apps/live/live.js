// Supervisor live floor (/apps/live/): api.floor_snapshot (per service waiting, longest and average wait, SLA
// breaches; per counter status, agent, current ticket) and api.queue_snapshot (the waiting tickets, for the
// interventions), then the branch's realtime ticket events applied to a ticket map in the page: counts and
// counter tickets follow each event at once, with no query per event. Both snapshots are reloaded every
// REFRESH_MS (hourly averages, counter status, agents) and on every (re)connect.
// Interventions (each audited with the supervisor as actor): force-transfer a waiting ticket, or reassign a
// called or serving one from its counter (ticket_action transfer with a reason: the engine sends any of the
// three back to waiting in the target service or for the target counter), call a ticket out of order at a
// counter (ticket_action call), put a counter on break or back (set_counter_status).
// Anomaly alerts of the branch (api.list_anomaly_alerts, open ones) are listed on top; the anomaly worker's
// anomaly.raised / anomaly.cleared notices (realtime, without seq) add and remove them at once.
import { createApi } from '../shared/api.js';
import { LANGUAGES, initLang, languagePicker, t, translate, formatWait } from '../shared/i18n.js';
import { applyPrefs } from '../shared/prefs.js';
import { connect } from '../shared/realtime.js';
import { el, table, button, errorText } from '../admin/forms.js';
import { session } from '../admin/session.js';
import adminId from '../admin/i18n/id.js';
import adminEn from '../admin/i18n/en.js';
import liveId from './i18n/id.js';
import liveEn from './i18n/en.js';

var REFRESH_MS = 15000;
var ACTIVE = { waiting: 1, held: 1, called: 1, serving: 1 };
var $ = function (id) { return document.getElementById(id); };
var api = createApi({ app: 'live', onAuthLost: function () { stop(); login.showLogin(t('admin.session_ended')); } });
var st = { branchId: null, floor: null, tickets: {}, services: [], counters: [], alerts: [], rt: null, timer: null, tick: null, applied: 0 };
window.qmsLive = st;

Object.assign(LANGUAGES.id, adminId, liveId);
Object.assign(LANGUAGES.en, adminEn, liveEn);
initLang('live');
applyPrefs('live');
translate(document);
languagePicker($('langs'), function () { render(); });
$('branch').addEventListener('change', function () { localStorage.setItem('qms.live.branch', $('branch').value); start($('branch').value); });
var login = session(api, ['qms_admin', 'qms_supervisor'], enter);

function enter() {
  api.read('list_branches').then(function (branches) {
    var sel = $('branch');
    sel.innerHTML = '';
    branches.forEach(function (b) { sel.appendChild(el('option', { value: b.branch_id, text: b.name })); });
    var want = localStorage.getItem('qms.live.branch');
    var ids = branches.map(function (b) { return b.branch_id; });
    sel.value = ids.indexOf(want) >= 0 ? want : (ids[0] || '');
    if (sel.value) start(sel.value);
  }, showError);
}

function stop() {
  if (st.rt) st.rt.stop();
  st.rt = null;
  clearInterval(st.timer);
  clearInterval(st.tick);
}

function start(branchId) {
  stop();
  st.branchId = branchId;
  st.tickets = {};
  st.floor = null;
  st.rt = connect({
    token: function () { return api.store.accessToken; },
    topics: ['branch:' + branchId + ':display:all'],
    onEvent: applyEvent,
    onNotice: applyNotice,
    resync: load,
    onStatus: function (state) {
      $('conn').setAttribute('data-state', state);
      $('conn-text').textContent = t('live.conn.' + state);
      $('offline').hidden = state !== 'offline';
    }
  });
  st.timer = setInterval(function () { load().catch(showError); }, REFRESH_MS);
  st.tick = setInterval(render, 1000);
}

// Both snapshots; the map of active tickets is rebuilt from them, events after as_of_seq are applied on top.
function load() {
  var b = st.branchId;
  return Promise.all([api.read('floor_snapshot', { branch_id: b }), api.read('queue_snapshot', { branch_id: b }),
    api.read('list_anomaly_alerts', { branch_id: b })]).then(function (r) {
    if (b !== st.branchId) return;
    var floor = r[0];
    var queue = r[1];
    st.alerts = r[2];
    var tickets = {};
    queue.services.forEach(function (s) {
      s.waiting.forEach(function (w) { tickets[w.ticket_id] = { ticket_id: w.ticket_id, ticket_number: w.ticket_number, status: 'waiting', service_id: s.service_id, since: w.created_at, created_at: w.created_at, queued_at: w.queued_at, priority: w.priority_class }; });
      s.held.forEach(function (h) { tickets[h.ticket_id] = { ticket_id: h.ticket_id, ticket_number: h.ticket_number, status: 'held', service_id: s.service_id, created_at: h.created_at }; });
    });
    floor.counters.forEach(function (c) {
      if (c.ticket) tickets[c.ticket.ticket_id] = { ticket_id: c.ticket.ticket_id, ticket_number: c.ticket.ticket_number, status: c.ticket.status, service_id: c.ticket.service_id, counter_id: c.counter_id, since: c.ticket.since };
    });
    st.floor = floor;
    st.services = floor.services;
    st.counters = floor.counters;
    st.tickets = tickets;
    st.fetchedAt = new Date();
    if (st.rt) st.rt.setSeq(Math.min(floor.as_of_seq, queue.as_of_seq));
    $('message').hidden = true;
    render();
  });
}

// One ticket event: the ticket's new status, service and counter (events carry new values).
function applyEvent(env) {
  var p = env.payload || {};
  if (!p.ticket_id || !p.status) return;
  st.applied++;
  var old = st.tickets[p.ticket_id];
  if (!ACTIVE[p.status]) { delete st.tickets[p.ticket_id]; render(); return; }
  var tk = old || { ticket_id: p.ticket_id, created_at: env.ts };
  tk.ticket_number = p.ticket_number || tk.ticket_number;
  if (tk.status !== p.status || (p.status === 'waiting' && tk.service_id !== p.service_id)) tk.since = env.ts;
  if (p.status === 'waiting' && !old) tk.queued_at = env.ts;
  tk.status = p.status;
  tk.service_id = p.service_id || tk.service_id;
  tk.counter_id = p.status === 'called' || p.status === 'serving' ? p.counter_id : null;
  st.tickets[p.ticket_id] = tk;
  render();
}

// An anomaly notice of the branch: a raised alert is listed (or updated), a cleared one removed.
function applyNotice(env) {
  var p = env.payload || {};
  if (!p.alert_id || env.branch_id !== st.branchId) return;
  st.alerts = st.alerts.filter(function (a) { return a.alert_id !== p.alert_id; });
  if (env.type === 'anomaly.raised') {
    st.alerts.unshift({ alert_id: p.alert_id, rule_id: p.rule_id, service_id: p.service_id, kind: p.kind, raised_at: p.raised_at, last_value: p.value });
  }
  render();
}

function alertText(a) {
  var v = Number(a.last_value);
  var value = a.kind === 'p90_wait_over_sla' ? formatWait(Math.round(v)) : a.kind === 'no_show_spike' ? Math.round(v * 100) + '%' : String(v);
  return t('live.alert.' + a.kind, { service: serviceName(a.service_id), value: value });
}

function list(filter) { return Object.keys(st.tickets).map(function (k) { return st.tickets[k]; }).filter(filter); }
function ago(iso) { return iso ? Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000)) : null; }
function serviceName(id) { var s = st.services.filter(function (x) { return x.service_id === id; })[0]; return s ? s.name : ''; }

function render() {
  if (!st.floor) return;
  $('updated').textContent = t('live.updated', { time: st.fetchedAt.toLocaleTimeString() });
  var alertsBox = $('alerts');
  alertsBox.innerHTML = '';
  st.alerts.forEach(function (a) {
    alertsBox.appendChild(el('li', { class: 'alert alert-' + a.kind, 'data-alert': a.alert_id, text: alertText(a) + ' · ' + t('live.alert_since', { time: new Date(a.raised_at).toLocaleTimeString() }) }));
  });
  $('alerts-section').hidden = st.alerts.length === 0;
  $('services').innerHTML = '';
  $('services').appendChild(table(t('live.services'), [
    { label: t('admin.name'), value: function (s) { return s.name + ' (' + s.prefix + ')'; } },
    { label: t('live.waiting'), value: function (s) { return el('span', { class: 'big', 'data-waiting': s.service_id, text: String(waiting(s).length) }); } },
    { label: t('live.held'), value: function (s) { return String(list(function (x) { return x.status === 'held' && x.service_id === s.service_id; }).length); } },
    { label: t('live.longest'), value: function (s) {
      var w = waiting(s);
      var oldest = w.reduce(function (m, x) { return Math.max(m, ago(x.created_at) || 0); }, 0);
      return w.length ? el('span', { class: oldest > s.sla_minutes * 60 ? 'breach' : '', text: formatWait(oldest) }) : '—';
    } },
    { label: t('live.avg_hour'), value: function (s) { return s.avg_wait_seconds_last_hour === null ? '—' : formatWait(s.avg_wait_seconds_last_hour); } },
    { label: t('live.sla'), value: function (s) {
      var now = waiting(s).filter(function (x) { return ago(x.created_at) > s.sla_minutes * 60; }).length;
      return el('span', { class: now ? 'breach' : '', text: t('live.sla_value', { now: now, hour: s.sla_breaches_last_hour, sla: s.sla_minutes }) });
    } }
  ], st.services));

  $('counters').innerHTML = '';
  $('counters').appendChild(table(t('live.counters'), [
    { label: t('admin.name'), value: function (c) { return c.name; } },
    { label: t('admin.status'), value: function (c) { return el('span', { class: 'st-' + c.status, text: t('admin.counter_status.' + c.status) }); } },
    { label: t('live.agent'), value: function (c) { return c.agent ? c.agent.display_name : '—'; } },
    { label: t('live.current'), value: function (c) {
      var tk = current(c);
      return tk ? tk.ticket_number + ' · ' + t('live.status.' + tk.status) + ' · ' + formatWait(ago(tk.since)) : '—';
    } }
  ], st.counters, function (c) {
    var tk = current(c);
    return [c.status === 'break' ? button(t('live.end_break'), function () { counterStatus(c, 'available'); })
      : button(t('live.put_on_break'), function () { counterStatus(c, 'break'); }),
      tk ? button(t('live.reassign'), function () { openAct('transfer', tk); }) : null];
  }));

  var rows = list(function (x) { return x.status === 'waiting'; }).sort(function (a, b) { return String(a.queued_at || a.created_at).localeCompare(String(b.queued_at || b.created_at)); });
  $('waiting').innerHTML = '';
  $('waiting').appendChild(table(t('live.waiting_tickets'), [
    { label: t('live.number'), value: function (x) { return x.ticket_number; } },
    { label: t('admin.services'), value: function (x) { return serviceName(x.service_id); } },
    { label: t('live.waited'), value: function (x) { return formatWait(ago(x.created_at)); } }
  ], rows, function (x) {
    return [button(t('live.transfer'), function () { openAct('transfer', x); }), button(t('live.call_here'), function () { openAct('call', x); })];
  }));
  if (!performance.getEntriesByName('qms-first-render').length) performance.mark('qms-first-render');
}

function current(c) { return list(function (x) { return x.counter_id === c.counter_id && (x.status === 'called' || x.status === 'serving'); })[0]; }

function waiting(s) { return list(function (x) { return x.status === 'waiting' && x.service_id === s.service_id; }); }

function counterStatus(c, status) {
  api.command('set_counter_status', { counter_id: c.counter_id, status: status }).then(function () { return load(); }, showError);
}

// The intervention panel: transfer (target service or counter, reason required) or call at a counter.
function openAct(kind, tk) {
  var box = $('act');
  box.innerHTML = '';
  box.hidden = false;
  var title = el('h3', { id: 'act-title', text: t(kind === 'call' ? 'live.call_x' : (tk.status === 'waiting' ? 'live.transfer_x' : 'live.reassign_x'),
    { n: tk.ticket_number, s: t('live.status.' + tk.status) }) });
  var err = el('p', { class: 'form-error', role: 'alert', hidden: true });
  var counterOpts = st.counters.filter(function (c) { return c.is_active; }).map(function (c) { return el('option', { value: c.counter_id, text: c.name }); });
  var fields = [title];
  var target = null;
  var reason = null;
  var counter = null;
  if (kind === 'transfer') {
    var atCounter = tk.status === 'called' || tk.status === 'serving';
    target = el('select', { id: 'act-target' }, st.services.filter(function (s) { return atCounter || s.service_id !== tk.service_id; }).map(function (s) {
      return el('option', { value: 's:' + s.service_id, text: t('live.to_service', { x: s.name }) });
    }).concat(st.counters.filter(function (c) { return c.is_active && c.counter_id !== tk.counter_id; }).map(function (c) {
      return el('option', { value: 'c:' + c.counter_id, text: t('live.to_counter', { x: c.name }) });
    })));
    reason = el('input', { id: 'act-reason', maxlength: 500 });
    fields.push(el('label', { for: 'act-target', text: t('live.target') }), target, el('label', { for: 'act-reason', text: t('live.reason') + ' *' }), reason);
  } else {
    counter = el('select', { id: 'act-counter' }, counterOpts);
    fields.push(el('label', { for: 'act-counter', text: t('live.at_counter') }), counter);
  }
  var go = button(t(kind === 'transfer' ? 'live.transfer' : 'live.call_here'), function () {
    err.hidden = true;
    var args = { ticket_id: tk.ticket_id, action: kind };
    if (kind === 'transfer') {
      if (!reason.value.trim()) { err.textContent = t('live.reason_required'); err.hidden = false; reason.focus(); return; }
      args.reason = reason.value.trim();
      if (target.value.slice(0, 2) === 's:') args.target_service_id = target.value.slice(2); else args.target_counter_id = target.value.slice(2);
    } else {
      args.counter_id = counter.value;
    }
    go.disabled = true;
    api.command('ticket_action', args).then(function () { box.hidden = true; return load(); }, function (e) {
      err.textContent = errorText(e);
      err.hidden = false;
    }).then(function () { go.disabled = false; });
  }, 'primary');
  fields.push(err, el('div', { class: 'actions' }, [go, button(t('admin.cancel'), function () { box.hidden = true; })]));
  fields.forEach(function (f) { box.appendChild(f); });
  (reason || counter).focus();
}

function showError(e) { $('message').textContent = errorText(e); $('message').hidden = false; }
