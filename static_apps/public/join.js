// Joining a queue from the branch's link or QR: /apps/public/#b=<tenant slug>.<branch code>. Anonymous:
// api.get_public_branch (services, open now, waiting, estimated wait; refreshed every 15 s) and api.join_queue
// (its request_id is kept until an answer arrives, so a retry after a lost answer never issues two tickets).
// After joining, the page becomes the ticket's status page (status_url). The last branch answer and the
// tickets taken from this phone are kept in localStorage (offline: the last state, marked as such).
import { t, translate, formatWait, formatTime } from '../shared/i18n.js';
import { uuid4 } from '../shared/api.js';

var $ = function (id) { return document.getElementById(id); };
var PHONE = /^\+?[0-9 ()-]{6,20}$/;
var EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
var st = { api: null, code: null, branch: null, service: null, requestId: null, fetchedAt: null, offline: false, timer: null };
window.joinPage = st;

export function startJoin(api) {
  st.api = api;
  st.code = decodeURIComponent(/(?:^#|&)b=([^&]+)/.exec(location.hash)[1]);
  $('join').hidden = false;
  $('ticket').hidden = true;
  translate($('join'));
  try {
    var saved = JSON.parse(localStorage.getItem(key('branch')) || 'null');
    if (saved) { st.branch = saved.branch; st.fetchedAt = saved.fetched_at; st.offline = true; render(); }
  } catch (e) { /* nothing saved */ }
  $('join-form').addEventListener('submit', join);
  ['phone', 'email', 'consent'].forEach(function (f) {
    $('join-' + f).addEventListener(f === 'consent' ? 'change' : 'input', function () { $('join-' + f + '-error').hidden = true; });
  });
  $('join-back').addEventListener('click', function () { st.service = null; $('join-form').hidden = true; render(); });
  $('lang').addEventListener('click', function () { render(); });
  window.addEventListener('hashchange', function () { location.reload(); });
  refresh();
}

function key(what) { return 'qms.join.' + what + '.' + st.code; }

function refresh() {
  clearTimeout(st.timer);
  return st.api.read('get_public_branch', { code: st.code }).then(function (b) {
    st.branch = b;
    st.offline = false;
    st.fetchedAt = new Date().toISOString();
    localStorage.setItem(key('branch'), JSON.stringify({ branch: b, fetched_at: st.fetchedAt }));
    render();
  }, function (err) {
    if (err.offline) { st.offline = true; if (st.branch) render(); else notice('common.offline'); }
    else if (err.code === 'BRANCH_NOT_FOUND') { localStorage.removeItem(key('branch')); st.branch = null; notice('join.not_found'); }
    else notice('common.error');
  }).then(function () { st.timer = setTimeout(refresh, document.hidden ? 60000 : 15000); });
}

function notice(k) {
  $('message').textContent = t(k);
  $('message').hidden = false;
  $('join').hidden = !st.branch;
}

function render() {
  var b = st.branch;
  if (!b) return;
  $('message').hidden = true;
  $('join').hidden = false;
  var color = b.branding && b.branding.accent_color;
  if (color && /^#[0-9a-fA-F]{6}$/.test(color)) document.documentElement.style.setProperty('--accent', color);
  document.title = b.branch_name + ' — ' + t('join.title');
  document.querySelector('.bar-title').textContent = t('join.title');
  $('join-tenant').textContent = b.tenant_name;
  $('join-branch').textContent = b.branch_name;
  $('join-state').textContent = b.is_open ? t('join.open_now') : t('join.closed_now');
  $('join-state').className = 'join-state ' + (b.is_open ? 'open' : 'closed');
  var mine = null;
  try { mine = JSON.parse(localStorage.getItem(key('mine')) || 'null'); } catch (e) { mine = null; }
  $('join-mine').hidden = !mine;
  if (mine) { $('join-mine-link').href = mine.status_url; $('join-mine-link').textContent = t('join.mine', { n: mine.ticket_number }); }
  var list = $('join-services');
  list.innerHTML = '';
  list.setAttribute('aria-label', t('join.services'));
  b.services.forEach(function (s) {
    var open = b.is_open && s.is_open;
    var li = document.createElement('li');
    li.className = 'card service' + (open ? '' : ' closed');
    var name = document.createElement('h3');
    name.textContent = s.name;
    var facts = document.createElement('p');
    facts.className = 'muted';
    facts.textContent = !open ? t('join.service_closed') : (s.waiting_count ? t('join.waiting', { n: s.waiting_count }) + ' · ' + t('join.eta', { eta: formatWait(s.estimated_wait_seconds) }) : t('join.no_wait'));
    var btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'btn wide';
    btn.disabled = !open || st.offline;
    btn.textContent = t('join.take', { name: s.name });
    btn.addEventListener('click', function () { pick(s); });
    li.appendChild(name);
    li.appendChild(facts);
    li.appendChild(btn);
    list.appendChild(li);
  });
  $('join-updated').textContent = st.offline ? t('public.offline', { time: formatTime(st.fetchedAt) }) : t('public.updated', { time: formatTime(st.fetchedAt) });
  $('offline').hidden = !st.offline;
  $('offline').textContent = t('public.offline', { time: formatTime(st.fetchedAt) });
  if (st.service) $('join-form-title').textContent = t('join.confirm', { name: st.service.name });
  if (!performance.getEntriesByName('qms-first-render').length) performance.mark('qms-first-render');
}

function pick(s) {
  st.service = s;
  st.requestId = uuid4();
  $('join-form').reset();
  clearErrors();
  $('join-contact').hidden = !st.branch.contacts_allowed;
  $('join-form').hidden = false;
  render();
  $('join-form-title').scrollIntoView({ block: 'center' });
  (st.branch.contacts_allowed ? $('join-phone') : $('join-go')).focus();
}

function clearErrors() {
  ['phone', 'email', 'consent'].forEach(function (f) { $('join-' + f + '-error').hidden = true; });
  $('join-error').hidden = true;
}

function fieldError(field, k) {
  var p = $(field === 'form' ? 'join-error' : 'join-' + field + '-error');
  p.textContent = t(k);
  p.hidden = false;
}

// The contact (only when the tenant keeps contacts): optional, checked here as the engine checks it.
function contact() {
  if (!st.branch.contacts_allowed) return { ok: true, value: null };
  var phone = $('join-phone').value.trim();
  var email = $('join-email').value.trim();
  if (!phone && !email) return { ok: true, value: null };
  var ok = true;
  if (phone && !PHONE.test(phone)) { fieldError('phone', 'join.bad_phone'); ok = false; }
  if (email && !EMAIL.test(email)) { fieldError('email', 'join.bad_email'); ok = false; }
  if (!$('join-consent').checked) { fieldError('consent', 'join.consent_needed'); ok = false; }
  var c = { consent: true, language: document.documentElement.lang === 'en' ? 'en' : 'id' };
  if (phone) c.phone = phone;
  if (email) c.email = email;
  return { ok: ok, value: c };
}

function join(ev) {
  ev.preventDefault();
  clearErrors();
  var c = contact();
  if (!c.ok) return;
  $('join-go').disabled = true;
  st.api.command('join_queue', { code: st.code, service_id: st.service.service_id, contact: c.value, request_id: st.requestId }).then(function (tk) {
    localStorage.setItem(key('mine'), JSON.stringify({ ticket_number: tk.ticket_number, status_url: tk.status_url }));
    location.assign(tk.status_url);
    location.reload();
  }, function (err) {
    $('join-go').disabled = false;
    var map = { CONSENT_REQUIRED: ['consent', 'join.consent_needed'], INVALID_CONTACT: ['phone', 'join.bad_contact'],
      BRANCH_CLOSED: ['form', 'join.branch_closed'], SERVICE_CLOSED: ['form', 'join.service_closed'],
      RATE_LIMITED: ['form', 'join.rate_limited'], CONTACT_NOT_ALLOWED: ['form', 'join.contact_not_allowed'] };
    var m = map[err.code] || ['form', err.offline ? 'join.offline_retry' : 'common.error'];
    if (!err.offline) st.requestId = uuid4();  // an answered request is done; a lost one is retried with its id
    fieldError(m[0], m[1]);
    if (err.code === 'BRANCH_CLOSED' || err.code === 'SERVICE_CLOSED') refresh();
  });
}
