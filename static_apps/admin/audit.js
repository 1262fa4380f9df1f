// The audit log viewer: filters (date range, actor, action, target) over api.list_audit_logs, newest first, and
// each entry's before/after as a list of the fields that changed.
import { t, formatTime } from '../shared/i18n.js';
import { el, form, table, errorText } from './forms.js';

function changes(entry) {
  var before = entry.before || {};
  var after = entry.after || {};
  var keys = Object.keys(Object.assign({}, before, after)).filter(function (k) {
    return JSON.stringify(before[k]) !== JSON.stringify(after[k]) && ['updated_at', 'created_at', 'tenant_id'].indexOf(k) < 0;
  });
  if (!keys.length) return el('span', { class: 'muted', text: '—' });
  var dl = el('dl', { class: 'diff' });
  keys.forEach(function (k) {
    dl.appendChild(el('dt', { text: k }));
    dl.appendChild(el('dd', {}, [
      el('del', { text: before[k] === undefined ? '∅' : JSON.stringify(before[k]) }), ' → ',
      el('ins', { text: after[k] === undefined ? '∅' : JSON.stringify(after[k]) })
    ]));
  });
  return dl;
}

function dayStart(v) { return v ? new Date(v + 'T00:00:00').toISOString() : null; }
function dayEnd(v) { if (!v) return null; var d = new Date(v + 'T00:00:00'); d.setDate(d.getDate() + 1); return d.toISOString(); }

export function renderAudit(body, ctx) {
  return ctx.api.read('list_users').then(function (users) { build(body, ctx, users); });
}

function build(body, ctx, users) {
  var out = el('div', { id: 'audit-rows' });
  var last = {};
  var who = function (sub) { var u = users.filter(function (x) { return x.user_id === sub; })[0]; return u ? u.display_name + ' <' + u.email + '>' : (sub || ''); };
  function load(f) {
    last = f;
    if (f.from && f.to && f.from > f.to) return Promise.reject({ code: 'INVALID_RANGE', details: { field: 'to' } });
    return ctx.api.read('list_audit_logs', { from_ts: dayStart(f.from), to_ts: dayEnd(f.to), actor: f.actor, action: f.action,
      target: f.target, max_rows: 200 }).then(function (rows) {
      out.innerHTML = '';
      out.appendChild(table(t('admin.nav.audit'), [
        { label: t('admin.when'), value: function (r) { return new Date(r.created_at).toLocaleString(); } },
        { label: t('admin.actor'), value: function (r) { return who(r.actor_sub) + ' (' + (r.actor_role || '').replace('qms_', '') + ')'; } },
        { label: t('admin.action'), value: function (r) { return r.action; } },
        { label: t('admin.target'), value: function (r) { return r.target_type + ' ' + (r.target_id || ''); } },
        { label: t('admin.change'), value: changes }
      ], rows));
      return t('admin.audit_count', { n: rows.length });
    });
  }
  body.appendChild(form({ id: 'audit-filter', title: t('admin.filters'), submit: t('admin.apply'), fields: [
    { name: 'from', label: t('admin.from'), type: 'date' },
    { name: 'to', label: t('admin.to'), type: 'date' },
    { name: 'actor', label: t('admin.actor'), type: 'select',
      options: users.map(function (u) { return { value: u.user_id, label: u.display_name + ' <' + u.email + '>' }; }) },
    { name: 'action', label: t('admin.action'), hint: t('admin.action_hint') },
    { name: 'target', label: t('admin.target'), hint: t('admin.target_hint') }
  ], onSubmit: load }));
  body.appendChild(out);
  load(last).catch(function (err) { out.appendChild(el('p', { class: 'form-error', role: 'alert', text: errorText(err) })); });
}
