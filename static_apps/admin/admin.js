// Admin console shell: staff login (admin and supervisor, session.js), the section navigation, the branch picker shared by
// the branch-scoped sections, and the role gating of the page (a supervisor sees no create/edit controls; the
// database decides what anyone may do — a refused call shows its 403).
import { createApi } from '../shared/api.js';
import { LANGUAGES, initLang, languagePicker, t, translate } from '../shared/i18n.js';
import { applyPrefs } from '../shared/prefs.js';
import { el, errorText } from './forms.js';
import { SECTIONS } from './sections.js';
import { session } from './session.js';
import stringsId from './i18n/id.js';
import stringsEn from './i18n/en.js';

var $ = function (id) { return document.getElementById(id); };
var api = createApi({ app: 'admin', onAuthLost: function () { login.showLogin(t('admin.session_ended')); } });
var ctx = { api: api, branches: [], branchId: null, tenant: null, isAdmin: false, reload: null, section: null };
window.qmsAdmin = ctx;

Object.assign(LANGUAGES.id, stringsId);
Object.assign(LANGUAGES.en, stringsEn);
initLang('admin');
applyPrefs('admin');
translate(document);
languagePicker($('langs'), function () { if (ctx.section) { nav(); whoAmI(); open(ctx.section); } });
$('branch').addEventListener('change', function () { ctx.branchId = $('branch').value; localStorage.setItem('qms.admin.branch', ctx.branchId); open(ctx.section); });
window.addEventListener('hashchange', function () { var s = location.hash.slice(1); if (s && s !== ctx.section) open(s); });
var login = session(api, ['qms_admin', 'qms_supervisor'], enter);

function whoAmI() { $('who').textContent = t(ctx.isAdmin ? 'admin.role_admin' : 'admin.role_supervisor'); }

function enter(role) {
  ctx.isAdmin = role === 'qms_admin';
  document.body.classList.toggle('read-only', !ctx.isAdmin);
  whoAmI();
  return Promise.all([api.read('list_branches'), api.read('get_tenant')]).then(function (r) {
    ctx.branches = r[0];
    ctx.tenant = r[1];
    $('tenant-name').textContent = ctx.tenant.name;
    fillBranches(localStorage.getItem('qms.admin.branch'));
    nav();
    open(location.hash.slice(1) || 'branches');
  }, function (err) { $('content').textContent = errorText(err); });
}
ctx.refreshBranches = function (keep) {
  return api.read('list_branches').then(function (list) { ctx.branches = list; fillBranches(keep || ctx.branchId); });
};

function fillBranches(want) {
  var sel = $('branch');
  sel.innerHTML = '';
  ctx.branches.forEach(function (b) { sel.appendChild(el('option', { value: b.branch_id, text: b.name + (b.is_active ? '' : ' (' + t('admin.inactive') + ')') })); });
  var ids = ctx.branches.map(function (b) { return b.branch_id; });
  ctx.branchId = ids.indexOf(want) >= 0 ? want : (ids[0] || null);
  sel.value = ctx.branchId || '';
}

function nav() {
  var list = $('nav');
  list.innerHTML = '';
  SECTIONS.forEach(function (s) {
    if (s.adminOnly && !ctx.isAdmin) return;
    var a = el('a', { href: '#' + s.id, 'data-section': s.id, text: t('admin.nav.' + s.id) });
    list.appendChild(el('li', {}, [a]));
  });
  list.appendChild(el('li', {}, [el('a', { href: '../live/', text: t('admin.nav.live') + ' ↗' })]));
}

function open(id) {
  var s = SECTIONS.filter(function (x) { return x.id === id; })[0] || SECTIONS[0];
  ctx.section = s.id;
  if (location.hash.slice(1) !== s.id) history.replaceState(null, '', '#' + s.id);
  Array.prototype.forEach.call(document.querySelectorAll('#nav a'), function (a) {
    if (a.getAttribute('data-section') === s.id) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
  $('branch-pick').hidden = !s.perBranch;
  var box = $('content');
  box.innerHTML = '';
  box.appendChild(el('h2', { id: 'section-title', text: t('admin.nav.' + s.id) }));
  var body = el('div', { class: 'section-body' });
  box.appendChild(body);
  ctx.reload = function () { open(s.id); };
  if (s.perBranch && !ctx.branchId) { body.appendChild(el('p', { class: 'muted', text: t('admin.no_branch') })); return; }
  Promise.resolve(s.render(body, ctx)).catch(function (err) {
    body.appendChild(el('p', { class: 'form-error', role: 'alert', text: errorText(err) }));
  }).then(function () { if (!performance.getEntriesByName('qms-first-render').length) performance.mark('qms-first-render'); });
}
