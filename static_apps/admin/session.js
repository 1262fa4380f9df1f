// Staff sign-in of the admin console and the live floor (same page markup: #login-form, #tenant, #email,
// #password, #login-note, #login-error, #login-btn): the last organisation and e-mail are remembered, only the
// roles in `roles` may enter (anyone else is signed out again with a note; the database refuses them anyway).
import { t } from '../shared/i18n.js';
import { errorText } from './forms.js';

var $ = function (id) { return document.getElementById(id); };
var LOGIN_KEY = 'qms.staff.login';

export function session(api, roles, onEnter) {
  $('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var tenant = $('tenant').value.trim();
    var email = $('email').value.trim();
    var password = $('password').value;
    $('login-error').hidden = true;
    if (!tenant || !email || !password) { fail(t('admin.fill_all')); return; }
    $('login-btn').disabled = true;
    api.login(tenant, email, password).then(function () {
      localStorage.setItem(LOGIN_KEY, JSON.stringify({ tenant: tenant, email: email }));
      $('password').value = '';
      enter();
    }, function (err) { fail(errorText(err)); }).then(function () { $('login-btn').disabled = false; });
  });
  $('logout').addEventListener('click', function () { api.logout().then(function () { showLogin(null); }); });

  function fail(text) { $('login-error').textContent = text; $('login-error').hidden = false; }

  function showLogin(note) {
    $('screen-login').hidden = false;
    $('screen-main').hidden = true;
    $('logout').hidden = true;
    var saved = {};
    try { saved = JSON.parse(localStorage.getItem(LOGIN_KEY) || '{}') || {}; } catch (e) { saved = {}; }
    $('tenant').value = saved.tenant || '';
    $('email').value = saved.email || '';
    $('password').value = '';
    $('login-note').textContent = note || '';
    $('login-note').hidden = !note;
    $('login-error').hidden = true;
    $(!$('tenant').value ? 'tenant' : (!$('email').value ? 'email' : 'password')).focus();
  }

  function enter() {
    var role = api.store.claims && api.store.claims.role;
    if (roles.indexOf(role) < 0) {
      api.logout();
      showLogin(t('admin.not_allowed'));
      return;
    }
    $('screen-login').hidden = true;
    $('screen-main').hidden = false;
    $('logout').hidden = false;
    onEnter(role);
  }

  if (api.store.accessToken) enter(); else showLogin(null);
  return { showLogin: showLogin };
}
