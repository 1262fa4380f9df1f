// The sections of the admin console. Each render(body, ctx) reads through the api and builds tables and forms
// (forms.js). Writes are admin functions: the controls are only shown to admins (ctx.isAdmin), the database
// refuses them to anyone else. Admin functions take no request_id, so they go through api.read (a plain POST).
import { t, formatTime } from '../shared/i18n.js';
import { el, form, table, button, errorText } from './forms.js';
import { renderDevices } from './devices.js';
import { renderAudit } from './audit.js';
import { renderNotifications } from './notify.js';

var TZ_HINT = 'Asia/Jakarta';
var yes = function (b) { return b ? t('admin.yes') : t('admin.no'); };
var names = function (list, idKey, ids) {
  return (ids || []).map(function (id) { var x = list.filter(function (o) { return o[idKey] === id; })[0]; return x ? x.name : id; }).join(', ');
};
var opts = function (list, idKey, label) { return list.map(function (o) { return { value: o[idKey], label: label ? label(o) : o.name }; }); };

// A list with "new" and per-row "edit" forms: spec {list(), columns, fields(row|null), save(values, row|null), title}.
function crud(body, ctx, spec) {
  return spec.list().then(function (rows) {
    var formBox = el('div', { class: 'form-box' });
    function showForm(row) {
      formBox.innerHTML = '';
      var f = form({ id: spec.id + '-form', title: row ? t('admin.edit_x', { x: spec.label(row) }) : spec.newTitle,
        fields: spec.fields(row), onCancel: function () { formBox.innerHTML = ''; },
        onSubmit: function (v) { return spec.save(v, row).then(function () { ctx.reload(); }); } });
      formBox.appendChild(f);
      if (spec.extra && row) spec.extra(formBox, row);
      var first = f.querySelector('input, select');
      if (first) first.focus();
    }
    if (ctx.isAdmin) body.appendChild(el('div', { class: 'toolbar' }, [button(spec.newTitle, function () { showForm(null); }, 'primary')]));
    body.appendChild(table(spec.newTitle, spec.columns, rows, ctx.isAdmin ? function (r) {
      return [button(t('admin.edit'), function () { showForm(r); })].concat(spec.rowActions ? spec.rowActions(r) : []);
    } : null));
    body.appendChild(formBox);
  });
}

function joinLink(ctx, b) {
  if (!b.code) return el('span', { class: 'muted', text: t('admin.no_code') });
  var code = ctx.tenant.slug + '.' + b.code;
  var href = '/apps/public/#b=' + encodeURIComponent(code);
  return el('a', { href: href, target: '_blank', rel: 'noopener', class: 'join-link', text: code });
}

function branches(body, ctx) {
  return crud(body, ctx, {
    id: 'branch', newTitle: t('admin.new_branch'), label: function (b) { return b.name; },
    list: function () { return ctx.api.read('list_branches'); },
    columns: [
      { label: t('admin.name'), value: function (b) { return b.name; } },
      { label: t('admin.code'), value: function (b) { return b.code; } },
      { label: t('admin.timezone'), value: function (b) { return b.timezone; } },
      { label: t('admin.join_link'), value: function (b) { return joinLink(ctx, b); } },
      { label: t('admin.active'), value: function (b) { return yes(b.is_active); } }
    ],
    fields: function (b) {
      b = b || {};
      var f = [
        { name: 'name', label: t('admin.name'), required: true, value: b.name },
        { name: 'code', label: t('admin.code'), value: b.code, pattern: '[A-Za-z0-9_-]{1,32}', patternText: t('admin.code_hint'), hint: t('admin.code_hint') },
        { name: 'timezone', label: t('admin.timezone'), required: true, value: b.timezone || TZ_HINT, hint: t('admin.timezone_hint') },
        { name: 'address', label: t('admin.address'), value: b.address },
        { name: 'hours', label: t('admin.hours'), type: 'hours', value: b.hours }
      ];
      if (b.branch_id) f.push({ name: 'is_active', label: t('admin.active'), type: 'checkbox', value: b.is_active, hint: t('admin.deactivate_hint') });
      return f;
    },
    save: function (v, b) {
      var p = b ? ctx.api.read('update_branch', Object.assign({ branch_id: b.branch_id }, v)) : ctx.api.read('create_branch', v);
      return p.then(function (saved) { return ctx.refreshBranches(saved.branch_id); });
    },
    extra: function (box, b) { box.appendChild(areasOf(ctx, b)); }
  });
}

function areasOf(ctx, b) {
  var wrap = el('div', { class: 'card sub' }, [el('h3', { text: t('admin.areas_of', { x: b.name }) })]);
  ctx.api.read('list_areas', { branch_id: b.branch_id }).then(function (areas) {
    wrap.appendChild(table(t('admin.areas'), [
      { label: t('admin.name'), value: function (a) { return a.name; } },
      { label: t('admin.active'), value: function (a) { return yes(a.is_active); } }
    ], areas, function (a) {
      return [button(a.is_active ? t('admin.deactivate') : t('admin.activate'), function () {
        ctx.api.read('update_area', { area_id: a.area_id, is_active: !a.is_active }).then(ctx.reload, alertError);
      })];
    }));
    wrap.appendChild(form({ id: 'area-form', title: t('admin.new_area'), fields: [{ name: 'name', label: t('admin.name'), required: true }],
      onSubmit: function (v) { return ctx.api.read('create_area', { branch_id: b.branch_id, name: v.name }).then(function () { ctx.reload(); }); } }));
  }, function (err) { wrap.appendChild(el('p', { class: 'form-error', text: errorText(err) })); });
  return wrap;
}

function human(v) {
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'boolean') return yes(v);
  return String(v);
}

function alertError(err) { window.alert(errorText(err)); }

function services(body, ctx) {
  return ctx.api.read('list_areas', { branch_id: ctx.branchId }).then(function (areas) {
    return crud(body, ctx, {
      id: 'service', newTitle: t('admin.new_service'), label: function (s) { return s.name; },
      list: function () { return ctx.api.read('list_services', { branch_id: ctx.branchId }); },
      columns: [
        { label: t('admin.name'), value: function (s) { return s.name; } },
        { label: t('admin.prefix'), value: function (s) { return s.prefix; } },
        { label: t('admin.sla_minutes'), value: function (s) { return s.sla_minutes; } },
        { label: t('admin.capacity'), value: function (s) { return s.capacity === null ? '—' : s.capacity; } },
        { label: t('admin.area'), value: function (s) { return names(areas, 'area_id', s.area_id ? [s.area_id] : []); } },
        { label: t('admin.active'), value: function (s) { return yes(s.is_active); } }
      ],
      fields: function (s) {
        s = s || {};
        var f = [
          { name: 'name', label: t('admin.name'), required: true, value: s.name },
          { name: 'prefix', label: t('admin.prefix'), required: true, value: s.prefix, pattern: '[A-Za-z0-9]{1,4}', patternText: t('admin.prefix_hint'), hint: t('admin.prefix_hint') },
          { name: 'sla_minutes', label: t('admin.sla_minutes'), type: 'number', min: 1, max: 1440, required: true, value: s.sla_minutes || 15 },
          { name: 'capacity', label: t('admin.capacity'), type: 'number', min: 1, max: 100000, value: s.capacity, hint: t('admin.capacity_hint') },
          { name: 'area_id', label: t('admin.area'), type: 'select', options: opts(areas, 'area_id'), value: s.area_id },
          { name: 'hours', label: t('admin.hours'), type: 'hours', value: s.hours }
        ];
        if (s.service_id) f.push({ name: 'is_active', label: t('admin.active'), type: 'checkbox', value: s.is_active });
        return f;
      },
      save: function (v, s) {
        return s ? ctx.api.read('update_service', Object.assign({ service_id: s.service_id }, v))
          : ctx.api.read('create_service', Object.assign({ branch_id: ctx.branchId }, v));
      }
    });
  });
}

function counters(body, ctx) {
  return Promise.all([ctx.api.read('list_areas', { branch_id: ctx.branchId }), ctx.api.read('list_services', { branch_id: ctx.branchId })]).then(function (r) {
    var areas = r[0];
    var svcs = r[1];
    return crud(body, ctx, {
      id: 'counter', newTitle: t('admin.new_counter'), label: function (c) { return c.name; },
      list: function () { return ctx.api.read('list_counters', { branch_id: ctx.branchId }); },
      columns: [
        { label: t('admin.name'), value: function (c) { return c.name; } },
        { label: t('admin.services'), value: function (c) { return names(svcs, 'service_id', c.service_ids); } },
        { label: t('admin.area'), value: function (c) { return names(areas, 'area_id', c.area_id ? [c.area_id] : []); } },
        { label: t('admin.status'), value: function (c) { return t('admin.counter_status.' + c.status); } },
        { label: t('admin.active'), value: function (c) { return yes(c.is_active); } }
      ],
      fields: function (c) {
        c = c || {};
        var f = [
          { name: 'name', label: t('admin.name'), required: true, value: c.name },
          { name: 'area_id', label: t('admin.area'), type: 'select', options: opts(areas, 'area_id'), value: c.area_id },
          { name: 'service_ids', label: t('admin.counter_services'), type: 'checks', options: opts(svcs, 'service_id'), value: c.service_ids }
        ];
        if (c.counter_id) f.push({ name: 'is_active', label: t('admin.active'), type: 'checkbox', value: c.is_active });
        return f;
      },
      save: function (v, c) {
        return c ? ctx.api.read('update_counter', Object.assign({ counter_id: c.counter_id }, v))
          : ctx.api.read('create_counter', Object.assign({ branch_id: ctx.branchId }, v));
      }
    });
  });
}

var ROLES = ['agent', 'supervisor', 'admin', 'analyst'];

function users(body, ctx) {
  return ctx.api.read('list_counters').then(function (allCounters) {
    var branchName = function (id) { var b = ctx.branches.filter(function (x) { return x.branch_id === id; })[0]; return b ? b.name : ''; };
    return crud(body, ctx, {
      id: 'user', newTitle: t('admin.new_user'), label: function (u) { return u.email; },
      list: function () { return ctx.api.read('list_users'); },
      columns: [
        { label: t('admin.email'), value: function (u) { return u.email; } },
        { label: t('admin.display_name'), value: function (u) { return u.display_name; } },
        { label: t('admin.role'), value: function (u) { return t('admin.role.' + u.role); } },
        { label: t('admin.branches'), value: function (u) { return u.branch_ids ? names(ctx.branches, 'branch_id', u.branch_ids) : t('admin.all_branches'); } },
        { label: t('admin.last_login'), value: function (u) { return u.last_login_at ? formatTime(u.last_login_at) : '—'; } },
        { label: t('admin.active'), value: function (u) { return yes(u.is_active); } }
      ],
      fields: function (u) {
        u = u || {};
        var f = [
          { name: 'email', label: t('admin.email'), type: 'email', required: true, value: u.email, pattern: '[^@\\s]+@[^@\\s]+\\.[^@\\s]+', patternText: t('admin.email_hint') },
          { name: 'display_name', label: t('admin.display_name'), required: true, value: u.display_name },
          { name: 'role', label: t('admin.role'), type: 'select', required: true, value: u.role || 'agent',
            options: ROLES.map(function (r) { return { value: r, label: t('admin.role.' + r) }; }) },
          { name: 'branch_ids', label: t('admin.branches'), type: 'checks', options: opts(ctx.branches, 'branch_id'), value: u.branch_ids, hint: t('admin.branches_hint') },
          { name: 'counter_ids', label: t('admin.counters'), type: 'checks', value: u.counter_ids, hint: t('admin.counters_hint'),
            options: allCounters.map(function (c) { return { value: c.counter_id, label: c.name + ' · ' + branchName(c.branch_id) }; }) }
        ];
        if (u.user_id) f.push({ name: 'is_active', label: t('admin.active'), type: 'checkbox', value: u.is_active, hint: t('admin.user_deactivate_hint') });
        return f;
      },
      save: function (v, u) {
        if (!v.branch_ids.length) v.branch_ids = u ? [] : null;
        if (!v.counter_ids.length) v.counter_ids = u ? [] : null;
        return u ? ctx.api.read('update_user', Object.assign({ user_id: u.user_id }, v)) : ctx.api.read('create_user', v);
      },
      extra: function (box, u) {
        box.appendChild(form({ id: 'password-form', title: t('admin.set_password'), submit: t('admin.set_password'),
          fields: [{ name: 'password', label: t('admin.new_password'), type: 'password', required: true, hint: t('admin.password_hint') }],
          onSubmit: function (v) {
            if (v.password.length < 8) return Promise.reject({ code: 'WEAK_PASSWORD', details: { field: 'password' } });
            return ctx.api.post('/api/users/' + u.user_id + '/password', { password: v.password }).then(function () { return t('admin.password_set'); });
          } }));
      }
    });
  });
}

function policies(body, ctx) {
  return ctx.api.read('list_services', { branch_id: ctx.branchId }).then(function (svcs) {
    var pick = el('select', { id: 'policy-service' }, [el('option', { value: '', text: t('admin.policy_branch_level') })]
      .concat(svcs.map(function (s) { return el('option', { value: s.service_id, text: s.name }); })));
    var out = el('div');
    body.appendChild(el('div', { class: 'branch-pick' }, [el('label', { for: 'policy-service', text: t('admin.policy_level') }), pick]));
    body.appendChild(out);
    function load() {
      out.innerHTML = '';
      var sid = pick.value || null;
      return ctx.api.read('explain_policy', { branch_id: ctx.branchId, service_id: sid }).then(function (p) {
        var keys = Object.keys(p.effective);
        out.appendChild(table(t('admin.nav.policies'), [
          { label: t('admin.policy_key'), value: function (k) { return t('admin.policy.' + k); } },
          { label: t('admin.effective'), value: function (k) { return human(p.effective[k]); } },
          { label: t('admin.source'), value: function (k) { return el('span', { class: 'source source-' + p.source[k], text: t('admin.source.' + p.source[k]) }); } }
        ], keys));
        if (!ctx.isAdmin) return;
        var own = sid ? p.service : p.branch;
        out.appendChild(form({ id: 'policy-form', title: t(sid ? 'admin.policy_edit_service' : 'admin.policy_edit_branch'),
          fields: [
            { name: 'called_grace_seconds', label: t('admin.policy.called_grace_seconds'), type: 'number', min: 0, max: 86400, value: own.called_grace_seconds },
            { name: 'return_to_queue', label: t('admin.policy.return_to_queue'), type: 'select', value: own.return_to_queue === undefined ? '' : String(own.return_to_queue),
              options: [{ value: 'true', label: t('admin.yes') }, { value: 'false', label: t('admin.no') }] },
            { name: 'priority_ratio', label: t('admin.policy.priority_ratio'), type: 'number', min: 1, max: 100, value: own.priority_ratio },
            { name: 'number_format', label: t('admin.policy.number_format'), value: own.number_format, hint: '{prefix}-{n:03}' },
            { name: 'cancel_from', label: t('admin.policy.cancel_from'), type: 'checks', value: own.cancel_from,
              options: ['waiting', 'held', 'called'].map(function (s) { return { value: s, label: s }; }) },
            { name: 'notify_ahead', label: t('admin.policy.notify_ahead'), type: 'number', min: 0, max: 100, value: own.notify_ahead }
          ],
          onSubmit: function (v) {
            // An empty field removes the key at this level (the level below applies again).
            var patch = {};
            Object.keys(v).forEach(function (k) { patch[k] = v[k]; });
            patch.return_to_queue = v.return_to_queue === null ? null : v.return_to_queue === 'true';
            if (!v.cancel_from.length) patch.cancel_from = null;
            return ctx.api.read('set_policy', { branch_id: ctx.branchId, service_id: sid, policy: patch }).then(load);
          } }));
      });
    }
    pick.addEventListener('change', load);
    return load();
  });
}

function tenant(body, ctx) {
  return ctx.api.read('get_tenant').then(function (tn) {
    var br = tn.branding || {};
    var pii = tn.pii_policy || {};
    body.appendChild(el('p', { class: 'muted', text: t('admin.tenant_slug', { slug: tn.slug }) }));
    if (!ctx.isAdmin) return;
    body.appendChild(form({ id: 'tenant-form', title: t('admin.nav.tenant'), fields: [
      { name: 'name', label: t('admin.name'), required: true, value: tn.name },
      { name: 'accent_color', label: t('admin.accent_color'), value: br.accent_color, pattern: '#[0-9a-fA-F]{6}', patternText: '#0b5cad' },
      { name: 'default_language', label: t('admin.default_language'), type: 'select', value: br.default_language || 'id',
        options: [{ value: 'id', label: 'Bahasa Indonesia' }, { value: 'en', label: 'English' }] },
      { name: 'contacts', label: t('admin.pii_contacts'), type: 'checkbox', value: pii.contacts, hint: t('admin.pii_contacts_hint') },
      { name: 'retention_days', label: t('admin.retention_days'), type: 'number', min: 0, max: 3650, value: pii.retention_days }
    ], onSubmit: function (v) {
      var branding = Object.assign({}, br, { accent_color: v.accent_color, default_language: v.default_language });
      if (!v.accent_color) delete branding.accent_color;
      var p = { contacts: v.contacts };
      if (v.retention_days !== null) p.retention_days = v.retention_days;
      return ctx.api.read('update_tenant', { name: v.name, branding: branding, pii_policy: p }).then(function (saved) {
        document.getElementById('tenant-name').textContent = saved.name;
      });
    } }));
  });
}

export var SECTIONS = [
  { id: 'branches', render: branches },
  { id: 'services', render: services, perBranch: true },
  { id: 'counters', render: counters, perBranch: true },
  { id: 'users', render: users },
  { id: 'devices', render: renderDevices, perBranch: true },
  { id: 'policies', render: policies, perBranch: true },
  { id: 'tenant', render: tenant },
  { id: 'audit', render: renderAudit },
  { id: 'notifications', render: renderNotifications }
];
