// Display board: "now calling" (large) and the last calls of the device's branch and area, live from the
// realtime topic branch:{id}:display:{area|all}, resynced from api.display_snapshot on (re)connect and gaps,
// with one announcement queue (announcer.js). Opened once at /apps/display/#token=<device token>.
//
// Device configuration (api.update_device config, read through api.device_heartbeat every minute):
//   lang ("id" | "en"; default id), last_n (rows of "recent", default 8), audio_base (URL of a clip
//   directory with manifest.json; default ../audio/), sound (false = silent board).
//
// For tests and benchmarks the page exposes window.qmsDisplay: announcements (the announcer's log), paints
// ([{seq, type, ticket_number, received_at, painted_at, paint_ms}]: event receipt to the next frame after
// the DOM changed), state(), transport, synced (a snapshot taken since the live connection last came up has
// been applied: from then on every call reaches the board as an event).

import { createApi, decodeClaims } from '../shared/api.js';
import { bootstrapDevice } from '../shared/device.js';
import { connect } from '../shared/realtime.js';
import { initLang, setLang, getLang, t, translate } from '../shared/i18n.js';
import { Announcer } from './announcer.js';

var CALL_TYPES = { 'ticket.called': 'call', 'ticket.recalled': 'recall' };
var HEARTBEAT_MS = 60000;
var PAINTS_MAX = 500;
// The last board is kept in localStorage: a box that restarts shows it at once (and while offline), until the
// first snapshot replaces it.
var CACHE_KEY = 'qms.display.board';
var lastTop = null;  // the call that last made the big card flash
// The board shows every event up to boardSeq: its snapshot's as_of_seq, or the last event it applied.
var boardSeq = 0;
// Snapshots and events change the board one at a time, in the order they came (serial()): an event that waits
// for a counter's name holds back the events behind it, so their announcements keep the order of the calls,
// and a snapshot never lands between an event and its announcement.
var work = Promise.resolve();
var liveEpoch = 0;  // counts the times the realtime connection came up

var $ = function (id) { return document.getElementById(id); };
var api = createApi({ app: 'display', onAuthLost: function (e) { problem(e); } });
var token = bootstrapDevice(api);
var claims = token ? decodeClaims(token) : null;
var config = { lang: null, last_n: 8, audio_base: null, sound: true };
var state = { now: [], recent: [], counters: {}, loaded: false };
var announcer = null;
var rt = null;
var exposed = { paints: [], announcements: [], transport: null, synced: false, state: function () { return state; } };
window.qmsDisplay = exposed;

initLang('display');
translate(document);
tickClock();
setInterval(tickClock, 5000);

if (!token || !claims || !claims.branch_ids || !claims.branch_ids.length) {
  problem({ code: 'NO_TOKEN' });
} else {
  start();
}

function boardKey() { return claims.branch_ids[0] + ':' + (claims.area_id || 'all'); }

function readCache() {
  try {
    var c = JSON.parse(localStorage.getItem(CACHE_KEY) || 'null');
    return c && c.key === boardKey() ? c : null;
  } catch (e) {
    return null;
  }
}

function start() {
  var cached = readCache();
  if (cached) {
    state.now = cached.now;
    state.recent = cached.recent;
    state.counters = cached.counters;
    render();
    performance.mark('qms-first-render');
  }
  heartbeat().then(function () {
    var base = new URL(config.audio_base || '../audio/', location.href).href;
    announcer = new Announcer({ base: base, lang: getLang(), onBlocked: showSoundOverlay });
    exposed.announcements = announcer.log;
    if (config.sound) announcer.load(getLang()).catch(function () { /* retried on the next announcement */ });
    if (config.sound) announcer.start();
    $('sound').addEventListener('click', function () { announcer.unlock(); });
    return resync();
  }).then(function () {
    var topic = 'branch:' + claims.branch_ids[0] + ':display:' + (claims.area_id || 'all');
    rt = connect({
      token: function () { return api.store.accessToken; },
      topics: [topic],
      onEvent: onEvent,
      resync: resync,
      onStatus: onStatus
    });
    setInterval(heartbeat, HEARTBEAT_MS);
  }, problem);
}

// api.device_heartbeat: marks the device alive and returns its configuration.
function heartbeat() {
  return api.read('device_heartbeat').then(function (hb) {
    var c = (hb && hb.config) || {};
    config.last_n = c.last_n > 0 ? Math.min(50, c.last_n) : 8;
    config.audio_base = c.audio_base || null;
    config.sound = c.sound !== false;
    if (c.lang && c.lang !== config.lang) {
      config.lang = c.lang;
      setLang(c.lang);
      if (announcer) announcer.setLanguage(getLang());
      render();
    }
  }, function (e) {
    if (e.status === 401 || e.status === 403 || e.status === 404 || e.status === 409) throw e;
  });
}

function serial(task) {
  var done = work.then(task);
  work = done.then(null, function () { /* the next task runs anyway */ });
  return done;
}

function snapshot() {
  return api.get('/api/display/snapshot', {
    branch_id: claims.branch_ids[0], area_id: claims.area_id || null, last_n: config.last_n
  });
}

// Reload the board from the snapshot (in turn with the events). After the first load, a call that the board
// did not know yet (missed while offline, or seen only by polling) is announced; the events up to the
// snapshot's as_of_seq are then skipped (the snapshot holds them, and announced their calls).
function resync() {
  return serial(loadSnapshot);
}

function loadSnapshot() {
  var epoch = rt && rt.state === 'live' ? liveEpoch : -1;
  return snapshot().then(function (snap) {
    if (snap.as_of_seq < boardSeq) {
      // Taken before an event the board has already applied: it would undo that event. Ask again.
      return new Promise(function (r) { setTimeout(r, 200); }).then(loadSnapshot);
    }
    var known = {};
    state.now.forEach(function (r) { known[r.ticket_id] = true; });
    var announceMissed = state.loaded;
    state.now = snap.now_calling;
    state.recent = snap.recent;
    state.loaded = true;
    learnCounters(snap);
    boardSeq = snap.as_of_seq;
    if (rt) rt.setSeq(snap.as_of_seq);
    exposed.synced = epoch === liveEpoch;
    render();
    if (!performance.getEntriesByName('qms-first-render').length) performance.mark('qms-first-render');
    localStorage.setItem(CACHE_KEY, JSON.stringify({
      key: boardKey(), now: state.now, recent: state.recent, counters: state.counters
    }));
    if (announceMissed) {
      snap.now_calling.slice().reverse().forEach(function (r) {
        if (!known[r.ticket_id] && r.status === 'called' &&
            Date.now() - Date.parse(r.called_at) < 60000) {
          announce(r, 'call', null);
        }
      });
    }
    return snap;
  });
}

function learnCounters(snap) {
  var names = snap.counters || {};
  Object.keys(names).forEach(function (id) { state.counters[id] = names[id]; });
}

function onEvent(env) {
  var received = performance.now();
  serial(function () {
    var p = env.payload || {};
    if (!CALL_TYPES[env.type] || p.counter_id in state.counters) return applyEvent(env, received);
    // A counter added or renamed after the last snapshot: learn its name first (the board itself stays as it
    // is; the events behind this one wait). Without the name the call is still shown and announced.
    return snapshot().then(learnCounters, function () { /* shown without the counter's name */ })
      .then(function () { applyEvent(env, received); });
  });
}

function applyEvent(env, received) {
  if (env.seq <= boardSeq) return;  // the board's snapshot already holds it
  boardSeq = env.seq;
  var p = env.payload || {};
  var kind = CALL_TYPES[env.type];
  // The relay names the area whose boards show the ticket now (qms.display_area_id, the rule the snapshot
  // uses too); this board also gets the events of tickets leaving its area.
  var here = !claims.area_id || p.display_area_id === claims.area_id;
  if (kind && here) {
    var row = {
      ticket_id: p.ticket_id, ticket_number: p.ticket_number, counter_id: p.counter_id,
      counter_name: state.counters[p.counter_id], service_id: p.service_id,
      called_at: env.ts, status: 'called'
    };
    if (kind === 'recall') {
      var old = find(state.now, p.ticket_id);
      if (old) row.called_at = old.called_at;
    }
    state.now = [row].concat(without(state.now, p.ticket_id));
    state.recent = [row].concat(without(state.recent, p.ticket_id)).slice(0, config.last_n);
    render();
    markPaint(env, received);
    announce(row, kind, env.seq);
    return;
  }
  if (!here) {
    state.now = without(state.now, p.ticket_id);
    state.recent = without(state.recent, p.ticket_id);
  } else if (p.status === 'serving') {
    setStatus(p.ticket_id, 'serving');
  } else if (p.status === 'done') {
    state.now = without(state.now, p.ticket_id);
    setStatus(p.ticket_id, 'done');
  } else {
    // no-show, transfer, return to the queue, cancel: the ticket leaves the board.
    state.now = without(state.now, p.ticket_id);
    state.recent = without(state.recent, p.ticket_id);
  }
  render();
  markPaint(env, received);
}

function setStatus(ticketId, status) {
  [state.now, state.recent].forEach(function (list) {
    list.forEach(function (r) { if (r.ticket_id === ticketId) r.status = status; });
  });
}

function find(list, ticketId) {
  for (var i = 0; i < list.length; i++) if (list[i].ticket_id === ticketId) return list[i];
  return null;
}

function without(list, ticketId) {
  return list.filter(function (r) { return r.ticket_id !== ticketId; });
}

function announce(row, kind, seq) {
  if (!config.sound || !announcer) return;
  announcer.announce({ ticket_number: row.ticket_number, counter_name: row.counter_name, kind: kind, seq: seq });
}

// The time from the event's arrival to the first frame drawn after the DOM changed (two animation frames).
function markPaint(env, received) {
  var entry = {
    seq: env.seq, type: env.type, ticket_number: env.payload && env.payload.ticket_number,
    received_at: Date.now(), painted_at: null, paint_ms: null
  };
  exposed.paints.push(entry);
  if (exposed.paints.length > PAINTS_MAX) exposed.paints.splice(0, exposed.paints.length - PAINTS_MAX);
  requestAnimationFrame(function () {
    requestAnimationFrame(function () {
      entry.paint_ms = Math.round((performance.now() - received) * 10) / 10;
      entry.painted_at = Date.now();
    });
  });
}

function render() {
  var top = state.now[0] || null;
  $('empty').hidden = !!top || !state.loaded;
  $('empty').textContent = t(state.recent.length ? 'display.idle' : 'display.empty');
  $('now-card').hidden = !top;
  if (top) {
    $('now-number').textContent = top.ticket_number;
    $('now-counter').textContent = top.counter_name || '';
    var key = top.ticket_id + top.called_at;
    if (key !== lastTop) {
      var card = $('now-card');
      card.classList.remove('flash');
      void card.offsetWidth; // restart the animation
      card.classList.add('flash');
      lastTop = key;
    }
  }
  fillRows($('calling'), state.now.slice(1));
  var nowIds = {};
  state.now.forEach(function (r) { nowIds[r.ticket_id] = true; });
  fillRows($('recent'), state.recent.filter(function (r) { return !nowIds[r.ticket_id]; }));
}

function fillRows(ol, rows) {
  var html = '';
  for (var i = 0; i < rows.length; i++) {
    html += '<li class="row ' + esc(rows[i].status) + '"><span class="num">' + esc(rows[i].ticket_number) +
      '</span><span class="arrow" aria-hidden="true">→</span><span class="ctr">' + esc(rows[i].counter_name || '') +
      '</span></li>';
  }
  if (ol.innerHTML !== html) ol.innerHTML = html;
  ol.parentNode.hidden = rows.length === 0;
}

function esc(s) {
  return String(s === null || s === undefined ? '' : s).replace(/[&<>"]/g, function (c) {
    return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c];
  });
}

function onStatus(s, transport) {
  exposed.transport = transport;
  if (s === 'live') liveEpoch++;
  exposed.synced = false;  // until a snapshot requested while live is applied
  $('offline').hidden = s !== 'offline';
  $('status').textContent = s === 'live' ? '' : t('display.status_' + s);
}

// The button takes the focus, so a TV remote's OK key presses it.
function showSoundOverlay(blocked) {
  var b = $('sound');
  if (b.hidden === !blocked) return;
  b.hidden = !blocked;
  if (blocked) b.focus();
}

function problem(e) {
  var box = $('problem');
  var code = e && e.code;
  if (code === 'NO_TOKEN') box.textContent = t('display.no_token');
  else if (e && (e.status === 401 || code === 'DEVICE_REVOKED')) box.textContent = t('display.token_rejected');
  else box.textContent = t('display.failed') + (code ? ' (' + code + ')' : '');
  box.hidden = false;
}

function tickClock() {
  var d = new Date();
  var lang = getLang() === 'en' ? 'en-GB' : 'id-ID';
  $('clock').textContent = d.toLocaleDateString(lang, { weekday: 'long', day: 'numeric', month: 'long' }) + '  ' +
    d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
}
