// Kiosk: home (language) → service → optional contact → ticket on screen + printed. Offline: local L- numbers
// (outbox.js). Configuration comes from the device's config (api.device_heartbeat, set by an admin with
// api.update_device): contact "off" | "optional" | "required", idle_seconds, ticket_seconds, paper "80" | "58",
// offline_prefix. The heartbeat every 15 s is also the health indicator and the reconnect loop.
import {createApi, uuid4} from '../shared/api.js';
import {bootstrapDevice} from '../shared/device.js';
import {initLang, setLang, getLang, t, translate, formatWait, LANGUAGES} from '../shared/i18n.js';
import {applyPrefs, togglePref, getPref} from '../shared/prefs.js';
import * as outbox from './outbox.js';

var CONFIG_KEY = 'qms.kiosk.config';
var SERVICES_KEY = 'qms.kiosk.services';
var DEFAULTS = {contact: 'off', idle_seconds: 45, ticket_seconds: 25, paper: '80', offline_prefix: 'L'};
// Mirrors the engine's contact check (qms.validate_contact), which stays the authority.
var PHONE = /^\+?[0-9 ()-]{6,20}$/;
var EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

var api = createApi({app: 'kiosk'});
var $ = function (id) { return document.getElementById(id); };
var state = {screen: null, online: null, service: null, config: load(CONFIG_KEY, {}), services: load(SERVICES_KEY, []),
  lastTicket: null, prints: 0, idleTimer: null, ticketTimer: null};
window.kiosk = state;

function load(key, fallback) { try { return JSON.parse(localStorage.getItem(key) || 'null') || fallback; } catch (e) { return fallback; } }
function cfg(name) { return state.config[name] === undefined ? DEFAULTS[name] : state.config[name]; }

function show(name) {
  state.screen = name;
  Array.prototype.forEach.call(document.querySelectorAll('.screen'), function (s) { s.hidden = s.id !== 'screen-' + name; });
  var focus = document.querySelector('#screen-' + name + ' h1, #screen-' + name + ' .ticket-big');
  if (focus) { focus.setAttribute('tabindex', '-1'); focus.focus(); }
  armIdle();
}

// Back to home after idle_seconds without a touch (not from home itself).
function armIdle() {
  clearTimeout(state.idleTimer);
  if (state.screen === 'home' || state.screen === 'unpaired') return;
  state.idleTimer = setTimeout(goHome, cfg('idle_seconds') * 1000);
}

function goHome() {
  clearTimeout(state.ticketTimer);
  state.service = null;
  $('contact-form').reset();
  clearErrors();
  show('home');
}

function setHealth(online) {
  state.online = online;
  var el = $('health');
  el.setAttribute('data-state', online ? 'live' : 'offline');
  el.firstChild.textContent = t(online ? 'common.online' : 'common.offline');
  el.firstChild.setAttribute('data-i18n', online ? 'common.online' : 'common.offline');
  $('offline-banner').hidden = online;
  showPending();
}

function showPending() {
  var n = outbox.pending().length;
  $('pending').hidden = n === 0;
  $('pending').textContent = t('kiosk.pending_sync', {n: n});
}

// -- configuration, services, health -----------------------------------------------------------------
function heartbeat() {
  return api.read('device_heartbeat').then(function (hb) {
    state.config = hb.config || {};
    localStorage.setItem(CONFIG_KEY, JSON.stringify(state.config));
    setHealth(true);
    return outbox.sync(api).then(showPending).then(refreshServices);
  }, function (err) {
    setHealth(!err.offline);
    if (err.status === 401 || err.code === 'DEVICE_REVOKED') show('unpaired');
  });
}

// The heartbeat loop: every 15 s while online, every 3 s while offline (the reconnect).
function loop() {
  heartbeat().then(function () { setTimeout(loop, state.online ? 15000 : 3000); });
}

function refreshServices() {
  var branch = (api.store.claims.branch_ids || [])[0];
  return api.read('list_services', {branch_id: branch}).then(function (list) {
    state.services = list.filter(function (s) { return s.is_active; });
    localStorage.setItem(SERVICES_KEY, JSON.stringify(state.services));
    if (state.screen === 'service') renderServices();
  }, function () { /* keep the cached list */ });
}

function renderServices() {
  var box = $('services');
  box.innerHTML = '';
  state.services.forEach(function (s) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'service-btn';
    b.setAttribute('data-service-id', s.service_id);
    var p = document.createElement('span');
    p.className = 'service-prefix';
    p.setAttribute('aria-hidden', 'true');
    p.textContent = s.prefix;
    var n = document.createElement('span');
    n.textContent = s.name;
    b.appendChild(p);
    b.appendChild(n);
    b.addEventListener('click', function () { pickService(s); });
    box.appendChild(b);
  });
  $('no-services').hidden = state.services.length > 0;
}

// -- flow ---------------------------------------------------------------------------------------------
function renderLanguageChoice() {
  var box = $('lang-choice');
  box.innerHTML = '';
  Object.keys(LANGUAGES).forEach(function (lang) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn big';
    b.lang = lang;
    b.setAttribute('data-lang', lang);
    b.textContent = LANGUAGES[lang]['common.language_name'];
    b.addEventListener('click', function () {
      setLang(lang);
      renderServices();
      show('service');
    });
    box.appendChild(b);
  });
}

function pickService(service) {
  state.service = service;
  var mode = cfg('contact');
  if (mode === 'optional' || mode === 'required') {
    $('contact-title').textContent = t(mode === 'required' ? 'kiosk.contact_required_title' : 'kiosk.contact_title');
    $('contact-skip').hidden = mode === 'required';
    show('contact');
    $('phone').focus();
  } else {
    issue(null);
  }
}

function clearErrors() {
  ['phone', 'email', 'consent'].forEach(function (f) {
    $(f + '-error').textContent = '';
    $(f).removeAttribute('aria-invalid');
  });
}

function fieldError(field, key) {
  $(field + '-error').textContent = t(key);
  $(field).setAttribute('aria-invalid', 'true');
}

function submitContact(ev) {
  ev.preventDefault();
  clearErrors();
  var phone = $('phone').value.trim();
  var email = $('email').value.trim();
  var ok = true;
  if (!phone && !email) { fieldError('phone', 'kiosk.need_contact'); ok = false; }
  if (phone && !PHONE.test(phone)) { fieldError('phone', 'kiosk.invalid_phone'); ok = false; }
  if (email && !EMAIL.test(email)) { fieldError('email', 'kiosk.invalid_email'); ok = false; }
  if (!$('consent').checked) { fieldError('consent', 'kiosk.need_consent'); ok = false; }
  if (!ok) {
    var first = document.querySelector('#contact-form [aria-invalid="true"]');
    if (first) first.focus();
    return;
  }
  var contact = {consent: true, language: getLang()};
  if (phone) contact.phone = phone;
  if (email) contact.email = email;
  issue(contact);
}

function mask(contact) {
  if (!contact) return '';
  if (contact.phone) {
    var digits = contact.phone.replace(/\D/g, '');
    return digits.slice(0, 4) + '*'.repeat(Math.max(0, digits.length - 6)) + digits.slice(-2);
  }
  var at = contact.email.indexOf('@');
  return contact.email.charAt(0) + '***' + contact.email.slice(at);
}

function issue(contact) {
  var service = state.service;
  var request = {service_id: service.service_id, channel: 'kiosk', request_id: uuid4()};
  if (contact) request.contact = contact;
  show('issuing');
  api.command('create_ticket', request).then(function (ticket) {
    showTicket({number: ticket.ticket_number, service: service.name, position: ticket.position,
      eta: ticket.estimated_wait_seconds, statusUrl: ticket.status_url, contact: contact, offline: false,
      ticket: ticket});
  }, function (err) {
    if (err.offline) {
      setHealth(false);
      var entry = outbox.enqueue(cfg('offline_prefix'), request, service.name);
      showPending();
      showTicket({number: entry.local_number, service: service.name, position: null, eta: null, statusUrl: null,
        contact: contact, offline: true, ticket: null});
    } else {
      var key = err.code === 'SERVICE_CLOSED' || err.code === 'BRANCH_CLOSED' ? 'kiosk.closed' : 'kiosk.error_issue';
      $('error-text').textContent = t(key);
      show('error');
    }
  });
}

function showTicket(tk) {
  state.lastTicket = tk;
  $('ticket-number').textContent = tk.number;
  $('ticket-service').textContent = tk.service;
  $('ticket-position').textContent = !tk.position ? '' : tk.position === 1 ? t('kiosk.next') : t('kiosk.ahead', {n: tk.position - 1});
  $('ticket-position').hidden = !tk.position;
  $('ticket-eta').textContent = tk.offline ? '' : t('kiosk.eta', {eta: formatWait(tk.eta)});
  $('ticket-contact').textContent = tk.contact ? t('kiosk.contact_saved', {c: mask(tk.contact)}) : '';
  $('ticket-offline').hidden = !tk.offline;
  $('ticket-qr').innerHTML = '';
  $('ticket-qr-box').hidden = true;
  $('print-status').textContent = t('kiosk.printing');
  show('ticket');
  if (tk.offline) printOffline(tk); else printOnline(tk);
  clearTimeout(state.ticketTimer);
  state.ticketTimer = setTimeout(goHome, cfg('ticket_seconds') * 1000);
}

// -- printing -------------------------------------------------------------------------------------------
// Online: the server renders the ticket (POST /apps/print/ticket: the secret travels in the body, never in a
// URL); the page goes into a hidden iframe (srcdoc, so its links resolve against the kiosk's address) that is
// printed, and its QR code is copied onto the screen (a kiosk without a working printer still hands out the QR).
function printOnline(tk) {
  var ref = (tk.statusUrl || '').split('#t=')[1];
  if (!ref) { printFailed(); return; }
  fetch('/apps/print/ticket', {method: 'POST', cache: 'no-store', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({t: ref, lang: getLang(), paper: String(cfg('paper'))})}).then(function (res) {
    if (!res.ok) throw new Error('print page ' + res.status);
    return res.text();
  }).then(function (html) {
    var old = $('print-frame');
    if (old) old.parentNode.removeChild(old);
    var frame = document.createElement('iframe');
    frame.id = 'print-frame';
    frame.title = 'print';
    frame.setAttribute('aria-hidden', 'true');
    frame.tabIndex = -1;
    frame.style.cssText = 'position:absolute;width:80mm;height:10px;left:-9999px;top:0;border:0;';
    var started = Date.now();
    frame.addEventListener('load', function wait() {
      var doc = frame.contentDocument;
      if (!doc || !doc.querySelector('.ticket')) return;
      if (doc.body.getAttribute('data-ready') !== '1' && Date.now() - started < 5000) { setTimeout(wait, 50); return; }
      var svg = doc.querySelector('.ticket-qr svg');
      if (svg && state.lastTicket === tk) {
        $('ticket-qr').appendChild(document.importNode(svg, true));
        $('ticket-qr-box').hidden = false;
      }
      frame.contentWindow.focus();
      frame.contentWindow.print();
      state.prints += 1;
    });
    frame.srcdoc = html;
    document.body.appendChild(frame);
  }).catch(printFailed);
}

// Offline: the kiosk prints the local ticket itself (print.css, loaded with the page, lays it out).
function printOffline(tk) {
  var area = $('print-area');
  area.className = 'paper-' + cfg('paper');
  area.innerHTML = '';
  var art = document.createElement('article');
  art.className = 'ticket';
  [['ticket-label', t('print.number')], ['ticket-number', tk.number], ['ticket-service', tk.service],
    ['ticket-time', new Date().toLocaleString(getLang() === 'id' ? 'id-ID' : 'en-GB')],
    ['ticket-note', t('print.offline')]].forEach(function (pair) {
    var p = document.createElement('p');
    p.className = pair[0];
    p.textContent = pair[1];
    art.appendChild(p);
  });
  area.appendChild(art);
  try {
    window.print();
    state.prints += 1;
  } catch (e) {
    printFailed();
  }
}

function printFailed() {
  $('print-status').textContent = t('kiosk.print_failed');
  if (window.console) console.error('kiosk: printing failed');
}

// -- start ----------------------------------------------------------------------------------------------
function start() {
  initLang('kiosk');
  applyPrefs('kiosk');
  translate(document);
  var toggles = {'toggle-font': 'largeFont', 'toggle-contrast': 'highContrast'};
  Object.keys(toggles).forEach(function (id) {
    $(id).setAttribute('aria-pressed', String(getPref('kiosk', toggles[id])));
    $(id).addEventListener('click', function () {
      $(id).setAttribute('aria-pressed', String(togglePref('kiosk', toggles[id])));
    });
  });
  renderLanguageChoice();
  Array.prototype.forEach.call(document.querySelectorAll('.back'), function (b) {
    b.addEventListener('click', function () { show(state.screen === 'contact' ? 'service' : 'home'); });
  });
  $('contact-form').addEventListener('submit', submitContact);
  $('contact-skip').addEventListener('click', function () { issue(null); });
  $('ticket-done').addEventListener('click', goHome);
  $('error-home').addEventListener('click', goHome);
  ['pointerdown', 'keydown', 'input'].forEach(function (ev) { document.addEventListener(ev, armIdle, true); });

  if (!bootstrapDevice(api)) { show('unpaired'); return; }
  renderServices();
  showPending();
  show('home');
  performance.mark('qms-first-render');
  loop();
  window.addEventListener('online', heartbeat);
}

start();
