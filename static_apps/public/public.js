// The customer's status page, opened from the ticket's QR code: /apps/public/#t=<ticket_id>.<secret>; the
// join page (/apps/public/#b=<join code>) is join.js, loaded only then. sw.js keeps the shell for offline use.
// Anonymous (no token, no PII): api.get_public_ticket every 4 s while the ticket is active (every 15 s when the
// page is in the background), api.cancel_public_ticket to cancel; the Web Push opt-in is push.js. The last answer is kept in localStorage, so
// a reload or a lost connection still shows the last known state, marked as such.
import {createApi} from '../shared/api.js';
import {initLang, t, translate, languagePicker, formatWait, formatTime} from '../shared/i18n.js';
import {applyPrefs} from '../shared/prefs.js';

var ACTIVE = {waiting: 1, held: 1, called: 1, serving: 1};
var api = createApi({app: null});
var $ = function (id) { return document.getElementById(id); };
var ref = parseRef();
var state = {ticket: null, fetchedAt: null, offline: false, timer: null, lastStatus: null, notFound: false,
  push: null};
window.statusPage = state;

function parseRef() {
  var m = /(?:^#|&)t=([0-9a-fA-F-]{36})\.([^&]+)/.exec(location.hash);
  return m ? {ticket_id: m[1], secret: decodeURIComponent(m[2])} : null;
}

function storeKey() { return 'qms.public.' + ref.ticket_id; }

function message(key) {
  $('message').textContent = t(key);
  $('message').hidden = false;
  $('ticket').hidden = true;
}

function render() {
  var tk = state.ticket;
  if (!tk) return;
  $('message').hidden = true;
  $('ticket').hidden = false;
  $('ticket').setAttribute('data-status', tk.status);
  document.title = tk.ticket_number + ' — ' + t('public.title');
  $('number').textContent = tk.ticket_number;
  $('status').textContent = t('public.status_' + tk.status);
  var called = tk.status === 'called';
  $('called').hidden = !called;
  $('called').textContent = tk.counter_name ? t('public.called', {counter: tk.counter_name}) : t('public.called_nocounter');
  var waiting = tk.status === 'waiting' && tk.position;
  $('row-position').hidden = !waiting;
  $('row-eta').hidden = !waiting;
  if (waiting) {
    $('position').textContent = tk.position === 1 ? t('public.next') : t('public.ahead', {n: tk.position - 1});
    $('eta').textContent = formatWait(tk.estimated_wait_seconds);
  }
  $('service').textContent = tk.service_name || '';
  $('branch').textContent = tk.branch_name || '';
  $('issued').textContent = t('public.issued_at', {time: formatTime(tk.created_at, tk.branch_timezone)});
  $('updated').textContent = t('public.updated', {time: formatTime(state.fetchedAt)});
  $('cancel-box').hidden = !tk.can_cancel;
  if (!tk.can_cancel) $('confirm').hidden = true;
  $('offline').hidden = !state.offline;
  $('offline').textContent = t('public.offline', {time: formatTime(state.fetchedAt)});
  if (called && state.lastStatus && state.lastStatus !== 'called' && navigator.vibrate) navigator.vibrate([300, 150, 300]);
  state.lastStatus = tk.status;
  if (!performance.getEntriesByName('qms-first-render').length) performance.mark('qms-first-render');
  if (state.push && state.push.hide && !ACTIVE[tk.status]) state.push.hide();
}

// Web Push opt-in (push.js), offered once per page load when the browser can and the tenant does.
function offerPush() {
  if (state.push || !ACTIVE[state.ticket.status]) return;
  if (!('serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window)) return;
  state.push = {};
  api.read('get_public_push_config', ref).then(function (config) {
    if (!config.available) return;
    return import('./push.js').then(function (m) { state.push = m.startPush(api, ref, config); });
  }).catch(function () { state.push = null; });
}

function accept(ticket) {
  state.ticket = ticket;
  state.fetchedAt = new Date().toISOString();
  state.offline = false;
  localStorage.setItem(storeKey(), JSON.stringify({ticket: ticket, fetched_at: state.fetchedAt}));
  render();
  offerPush();
}

function refresh() {
  return api.read('get_public_ticket', ref).then(accept, function (err) {
    if (err.offline) {
      state.offline = true;
      if (state.ticket) render(); else message('common.offline');
    } else if (err.code === 'TICKET_NOT_FOUND') {
      localStorage.removeItem(storeKey());
      state.ticket = null;
      state.notFound = true;
      message('public.not_found');
    }
  });
}

function schedule() {
  clearTimeout(state.timer);
  var active = state.offline || (state.ticket ? ACTIVE[state.ticket.status] : !state.notFound);
  if (!active) return;
  state.timer = setTimeout(function () { refresh().then(schedule); }, document.hidden ? 15000 : 4000);
}

function cancel() {
  $('confirm-yes').disabled = true;
  api.command('cancel_public_ticket', ref).then(function (ticket) {
    accept(ticket);
    $('status').textContent = t('public.cancelled_ok');
  }, function (err) {
    if (err.code === 'INVALID_TRANSITION') { $('confirm-text').textContent = t('public.cannot_cancel'); refresh(); }
    else if (err.offline) { state.offline = true; render(); }
    else { $('confirm-text').textContent = t('common.error'); }
  }).then(function () { $('confirm-yes').disabled = false; });
}

function start() {
  initLang('public', (navigator.language || 'id').slice(0, 2));
  applyPrefs('public');
  translate(document);
  languagePicker($('lang'), function () { render(); });
  if (!ref) {
    if (/(?:^#|&)b=/.test(location.hash)) { import('./join.js').then(function (m) { m.startJoin(api); }); return; }
    message('public.no_ticket');
    return;
  }
  try {
    var saved = JSON.parse(localStorage.getItem(storeKey()) || 'null');
    if (saved) { state.ticket = saved.ticket; state.fetchedAt = saved.fetched_at; render(); }
  } catch (e) { /* nothing saved */ }
  $('cancel').addEventListener('click', function () {
    $('confirm-text').textContent = t('public.cancel_confirm', {n: state.ticket.ticket_number});
    $('confirm').hidden = false;
    $('confirm-no').focus();
  });
  $('confirm-no').addEventListener('click', function () { $('confirm').hidden = true; $('cancel').focus(); });
  $('confirm-yes').addEventListener('click', cancel);
  document.addEventListener('visibilitychange', function () { if (!document.hidden) refresh().then(schedule); });
  window.addEventListener('online', function () { refresh().then(schedule); });
  window.addEventListener('hashchange', function () { location.reload(); });
  refresh().then(schedule);
}

start();
if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js').catch(function () { /* no offline shell */ });
