// Counter console, session part: staff login (POST /auth/login), role gating (only staff roles, only the
// branches and counters the claims allow), the counter choice (kept in localStorage across sessions) and
// the way back to login when the session ends. The console itself is console.js.

import { createApi } from '../shared/api.js';
import { initLang, languagePicker, t, translate } from '../shared/i18n.js';
import { applyPrefs } from '../shared/prefs.js';
import { openConsole, closeConsole, relabel } from './console.js';

var STAFF = ['qms_agent', 'qms_supervisor', 'qms_admin'];
var COUNTER_KEY = 'qms.agent.counter';
var LOGIN_KEY = 'qms.agent.login';

var $ = function (id) { return document.getElementById(id); };
var api = createApi({ app: 'agent', onAuthLost: sessionLost });
var branches = [];
var counters = [];
window.qmsAgent = { api: api };

initLang('agent');
applyPrefs('agent');
translate(document);
languagePicker($('langs'), function () { relabel(); });
$('login-form').addEventListener('submit', onLogin);
$('logout').addEventListener('click', logout);
$('change-counter').addEventListener('click', function () {
  closeConsole();
  showPick(null);
});
$('branch').addEventListener('change', function () { loadCounters($('branch').value).then(renderCounters, pickError); });

if (api.store.accessToken) enter(); else showLogin(null);

function show(name) {
  ['login', 'pick', 'console'].forEach(function (s) { $('screen-' + s).hidden = s !== name; });
  if (!performance.getEntriesByName('qms-first-render').length) performance.mark('qms-first-render');
  $('logout').hidden = name === 'login';
  $('change-counter').hidden = name !== 'console';
}

function readJson(key) {
  try { return JSON.parse(localStorage.getItem(key) || 'null'); } catch (e) { return null; }
}

function showLogin(note) {
  show('login');
  $('where').textContent = '';
  var saved = readJson(LOGIN_KEY) || {};
  var fromUrl = /[?&]tenant=([^&#]+)/.exec(location.search);
  $('tenant').value = fromUrl ? decodeURIComponent(fromUrl[1]) : (saved.tenant || '');
  $('email').value = saved.email || '';
  $('password').value = '';
  $('login-note').textContent = note || '';
  $('login-note').hidden = !note;
  $('login-error').hidden = true;
  var first = !$('tenant').value ? 'tenant' : (!$('email').value ? 'email' : 'password');
  $(first).focus();
}

function loginError(text) {
  $('login-error').textContent = text;
  $('login-error').hidden = false;
}

function onLogin(ev) {
  ev.preventDefault();
  var tenant = $('tenant').value.trim();
  var email = $('email').value.trim();
  var password = $('password').value;
  if (!tenant || !email || !password) {
    loginError(t('agent.bad_credentials'));
    return;
  }
  var btn = $('login-btn');
  btn.disabled = true;
  btn.textContent = t('agent.logging_in');
  api.login(tenant, email, password).then(function () {
    localStorage.setItem(LOGIN_KEY, JSON.stringify({ tenant: tenant, email: email }));
    $('password').value = '';
    return enter();
  }, function (e) {
    if (e.code === 'INVALID_CREDENTIALS') loginError(t('agent.bad_credentials'));
    else if (e.code === 'USER_DISABLED') loginError(t('agent.user_disabled'));
    else if (e.status === 0) loginError(t('agent.err_network'));
    else loginError(t('agent.err_generic', { msg: e.message }));
    $('password').focus();
  }).then(function () {
    btn.disabled = false;
    btn.textContent = t('agent.login');
  });
}

// After login (or with a stored session): check the role, then reopen the saved counter if the claims
// still allow it, else let the agent choose.
function enter() {
  var claims = api.store.claims;
  if (!claims || STAFF.indexOf(claims.role) < 0) {
    api.logout();
    showLogin(null);
    loginError(t('agent.wrong_role'));
    return Promise.resolve();
  }
  scheduleRefresh();
  return api.read('list_branches').then(function (list) {
    branches = list.filter(function (b) { return b.is_active !== false; });
    var saved = readJson(COUNTER_KEY);
    var branch = saved && find(branches, 'branch_id', saved.branch_id);
    if (!branch) return showPick(saved ? t('agent.counter_gone') : null);
    return loadCounters(branch.branch_id).then(function () {
      var counter = find(counters, 'counter_id', saved.counter_id);
      if (!counter) return showPick(t('agent.counter_gone'));
      start(branch, counter);
    });
  }).catch(function (e) {
    if (e.status !== 401) showPick(null).then(function () { pickError(e); });
  });
}

function find(list, key, value) {
  for (var i = 0; i < list.length; i++) if (list[i][key] === value) return list[i];
  return null;
}

// Counters of a branch this user may operate: active ones, and only those in counter_ids when the claims
// carry that list.
function loadCounters(branchId) {
  var claims = api.store.claims || {};
  return api.read('list_counters', { branch_id: branchId }).then(function (list) {
    counters = list.filter(function (c) {
      return c.is_active !== false && (!claims.counter_ids || claims.counter_ids.indexOf(c.counter_id) >= 0);
    });
    return counters;
  });
}

function showPick(note) {
  show('pick');
  $('where').textContent = '';
  $('pick-note').textContent = note || '';
  $('pick-note').hidden = !note;
  $('pick-error').hidden = true;
  var sel = $('branch');
  sel.innerHTML = '';
  branches.forEach(function (b) {
    var o = document.createElement('option');
    o.value = b.branch_id;
    o.textContent = b.name;
    sel.appendChild(o);
  });
  sel.parentNode.querySelector('label[for=branch]').hidden = sel.hidden = branches.length < 2;
  if (!branches.length) {
    renderCounters([]);
    return Promise.resolve();
  }
  return loadCounters(sel.value).then(renderCounters, pickError);
}

function renderCounters(list) {
  var ul = $('counters');
  ul.innerHTML = '';
  if (!list.length) {
    var li = document.createElement('li');
    li.className = 'calm';
    li.textContent = t('agent.no_counters');
    ul.appendChild(li);
    return;
  }
  list.forEach(function (c) {
    var li = document.createElement('li');
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn secondary counter-btn';
    b.textContent = c.name;
    var st = document.createElement('span');
    st.className = 'muted';
    st.textContent = ' · ' + t('agent.status_' + c.status);
    b.appendChild(st);
    b.addEventListener('click', function () {
      var branch = find(branches, 'branch_id', $('branch').value);
      localStorage.setItem(COUNTER_KEY, JSON.stringify({ branch_id: branch.branch_id, counter_id: c.counter_id }));
      start(branch, c);
    });
    li.appendChild(b);
    ul.appendChild(li);
  });
  ul.querySelector('button').focus();
}

function pickError(e) {
  $('pick-error').textContent = t('agent.err_generic', { msg: e.message || e.code });
  $('pick-error').hidden = false;
}

function start(branch, counter) {
  show('console');
  $('where').textContent = '· ' + branch.name + ' · ' + counter.name;
  openConsole({ api: api, branch: branch, counter: counter, claims: api.store.claims });
}

// An access token lives minutes: once it has expired, one cheap call makes the api client refresh it, so
// the realtime connection (which re-checks its token) reconnects with a fresh one.
var refreshTimer = null;
function scheduleRefresh() {
  clearInterval(refreshTimer);
  refreshTimer = setInterval(function () {
    var claims = api.store.claims;
    if (claims && claims.exp * 1000 < Date.now() + 5000) api.read('auth_whoami').catch(function () {});
  }, 15000);
}

// Any 401 the client could not cure with a refresh: back to login, keeping the counter choice.
function sessionLost() {
  clearInterval(refreshTimer);
  closeConsole();
  api.store.set(null);
  showLogin(t('agent.session_ended'));
}

function logout() {
  clearInterval(refreshTimer);
  closeConsole();
  api.logout().then(function () { showLogin(null); });
}
