// Forms and tables of the admin console, built from field lists: in-page validation (required, pattern,
// number ranges) and the server's structured error shown next to the field it names (fieldOf below is the
// one mapping of reason keys to fields).
import { t } from '../shared/i18n.js';

export function el(tag, attrs, children) {
  var e = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) return;
    if (k === 'text') e.textContent = v;
    else if (k === 'on') Object.keys(v).forEach(function (ev) { e.addEventListener(ev, v[ev]); });
    else e.setAttribute(k, v === true ? '' : v);
  });
  (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
  return e;
}

var DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
var SPAN = /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/;

// The field an error names: REST validation details (loc), details.field, INVALID_<FIELD>, <THING>_EXISTS.
var KEY_FIELDS = { INVALID_SLA: 'sla_minutes', USER_EXISTS: 'email', INVALID_POLICY_VALUE: null, BRANCH_SCOPE_REQUIRED: 'branch_ids',
  SERVICE_NOT_IN_BRANCH: 'service_ids', AREA_NOT_IN_BRANCH: 'area_id', WEAK_PASSWORD: 'password', CONTACT_NOT_ALLOWED: 'contact',
  INVALID_TEMPLATE: 'body_text', INVALID_NOTIFICATION_PROVIDER: 'kind' };
export function fieldOf(err, names) {
  var d = err.details;
  if (d && typeof d === 'object' && !Array.isArray(d) && d.field) return d.field;
  if (Array.isArray(d) && d[0] && d[0].loc) { var loc = d[0].loc; return loc[loc.length - 1]; }
  if (Object.prototype.hasOwnProperty.call(KEY_FIELDS, err.code)) return KEY_FIELDS[err.code];
  var m = /^INVALID_(.+)$/.exec(err.code || '');
  if (m && names.indexOf(m[1].toLowerCase()) >= 0) return m[1].toLowerCase();
  if (/_EXISTS$/.test(err.code || '') && names.indexOf('name') >= 0) return 'name';
  return null;
}

export function errorText(err) {
  var key = 'admin.err.' + err.code;
  var known = t(key);
  var text = known === key ? (err.message || err.code) : known;
  return err.code && known === key ? text + ' (' + err.code + ')' : text;
}

function hoursInput(id, value) {
  var box = el('div', { class: 'hours', id: id, role: 'group' });
  DAYS.forEach(function (d) {
    var spans = value && value[d] ? value[d].map(function (s) { return s[0] + '-' + s[1]; }).join(', ') : '';
    var inp = el('input', { id: id + '-' + d, 'data-day': d, placeholder: '08:00-12:00, 13:00-15:00', value: spans });
    box.appendChild(el('label', { for: id + '-' + d, class: 'day', text: t('admin.day.' + d) }));
    box.appendChild(inp);
  });
  box.appendChild(el('p', { class: 'muted small', text: t('admin.hours_hint') }));
  return box;
}

function readHours(box) {
  var out = {};
  var any = false;
  var bad = null;
  box.querySelectorAll('input[data-day]').forEach(function (inp) {
    var v = inp.value.trim();
    if (!v) return;
    any = true;
    out[inp.getAttribute('data-day')] = v.split(/\s*,\s*/).map(function (s) {
      s = s.replace(/\s+/g, '');
      if (!SPAN.test(s)) bad = t('admin.bad_hours', { v: s });
      return s.split('-');
    });
  });
  if (bad) throw bad;
  return any ? out : {};
}

// fields: [{name, label, type: text|number|select|checkbox|checks|hours|password|email|textarea, required,
// pattern, min, max, options: [{value, label}], value, hint, readonly}]. onSubmit(values) returns a promise.
export function form(opts) {
  var f = el('form', { id: opts.id, class: 'card form', novalidate: true, 'aria-labelledby': opts.id + '-title' });
  f.appendChild(el('h3', { id: opts.id + '-title', text: opts.title }));
  var names = opts.fields.map(function (x) { return x.name; });
  var inputs = {};
  opts.fields.forEach(function (fd) {
    var id = opts.id + '-' + fd.name;
    var row = el('div', { class: 'field', 'data-field': fd.name });
    var input;
    var v = fd.value;
    if (fd.type === 'checkbox') {
      input = el('input', { id: id, type: 'checkbox', checked: !!v });
      row.appendChild(el('label', { class: 'check', for: id }, [input, ' ' + fd.label]));
    } else {
      row.appendChild(el('label', { for: id, text: fd.label + (fd.required ? ' *' : '') }));
      if (fd.type === 'select') {
        input = el('select', { id: id, required: fd.required });
        if (!fd.required) input.appendChild(el('option', { value: '', text: '—' }));
        fd.options.forEach(function (o) { input.appendChild(el('option', { value: o.value, text: o.label, selected: String(v) === String(o.value) })); });
      } else if (fd.type === 'checks') {
        input = el('div', { id: id, class: 'checks', role: 'group', 'aria-label': fd.label });
        if (!fd.options.length) input.appendChild(el('span', { class: 'muted', text: t('admin.none') }));
        fd.options.forEach(function (o, i) {
          var c = el('input', { type: 'checkbox', id: id + '-' + i, value: o.value, checked: (v || []).indexOf(o.value) >= 0 });
          input.appendChild(el('label', { class: 'check', for: id + '-' + i }, [c, ' ' + o.label]));
        });
      } else if (fd.type === 'hours') {
        input = hoursInput(id, v);
      } else if (fd.type === 'textarea') {
        input = el('textarea', { id: id, rows: 4, text: v === undefined || v === null ? '' : v });
      } else {
        input = el('input', { id: id, type: fd.type || 'text', value: v === undefined || v === null ? '' : v,
          required: fd.required, pattern: fd.pattern, min: fd.min, max: fd.max, readonly: fd.readonly,
          autocomplete: fd.type === 'password' ? 'new-password' : 'off' });
      }
      row.appendChild(input);
    }
    if (fd.hint) row.appendChild(el('p', { class: 'muted small', text: fd.hint }));
    row.appendChild(el('p', { class: 'field-error', id: id + '-error', role: 'alert', hidden: true }));
    input.setAttribute('aria-describedby', id + '-error');
    inputs[fd.name] = input;
    f.appendChild(row);
  });
  var formError = el('p', { class: 'form-error', role: 'alert', hidden: true });
  var ok = el('p', { class: 'form-ok', role: 'status', hidden: true });
  var submit = el('button', { class: 'btn', type: 'submit', text: opts.submit || t('admin.save') });
  var actions = el('div', { class: 'actions' }, [submit]);
  if (opts.onCancel) actions.appendChild(el('button', { class: 'btn secondary', type: 'button', text: t('admin.cancel'), on: { click: opts.onCancel } }));
  f.appendChild(formError);
  f.appendChild(ok);
  f.appendChild(actions);

  function setError(name, text) {
    var row = f.querySelector('[data-field="' + name + '"]');
    if (!row) { formError.textContent = text; formError.hidden = false; return; }
    var p = row.querySelector('.field-error');
    p.textContent = text;
    p.hidden = false;
    row.classList.add('invalid');
  }

  function clear() {
    f.querySelectorAll('.field-error').forEach(function (p) { p.hidden = true; p.textContent = ''; });
    f.querySelectorAll('.invalid').forEach(function (r) { r.classList.remove('invalid'); });
    formError.hidden = true;
    ok.hidden = true;
  }

  function values() {
    var out = {};
    var bad = false;
    opts.fields.forEach(function (fd) {
      var input = inputs[fd.name];
      var v;
      if (fd.readonly) return;
      if (fd.type === 'checkbox') v = input.checked;
      else if (fd.type === 'checks') v = Array.prototype.map.call(input.querySelectorAll('input:checked'), function (c) { return c.value; });
      else if (fd.type === 'hours') {
        try { v = readHours(input); } catch (msg) { setError(fd.name, msg); bad = true; return; }
      } else {
        v = input.value.trim();
        if (!v && fd.required) { setError(fd.name, t('admin.required')); bad = true; return; }
        if (v && fd.pattern && !new RegExp('^(?:' + fd.pattern + ')$').test(v)) { setError(fd.name, fd.patternText || t('admin.bad_format')); bad = true; return; }
        if (fd.type === 'number' && v !== '') {
          v = Number(v);
          if (!isFinite(v) || (fd.min !== undefined && v < fd.min) || (fd.max !== undefined && v > fd.max) || Math.floor(v) !== v) {
            setError(fd.name, t('admin.bad_number', { min: fd.min, max: fd.max })); bad = true; return;
          }
        }
        if (v === '') v = null;
      }
      out[fd.name] = v;
    });
    return bad ? null : out;
  }

  f.addEventListener('submit', function (ev) {
    ev.preventDefault();
    clear();
    var v = values();
    if (!v) { var first = f.querySelector('.invalid input, .invalid select'); if (first) first.focus(); return; }
    submit.disabled = true;
    Promise.resolve(opts.onSubmit(v)).then(function (msg) {
      ok.textContent = msg || t('admin.saved');
      ok.hidden = false;
    }, function (err) {
      var name = err && err.code ? fieldOf(err, names) : null;
      setError(name || '_', err && err.code ? errorText(err) : String(err));
      if (name && inputs[name] && inputs[name].focus) inputs[name].focus();
    }).then(function () { submit.disabled = false; });
  });
  f.inputs = inputs;
  return f;
}

// columns: [{label, value: row -> string|Node}]; actions: row -> [Node]
export function table(caption, columns, rows, actions) {
  var tb = el('table', { class: 'grid' });
  tb.appendChild(el('caption', { class: 'visually-hidden', text: caption }));
  var head = el('tr', {}, columns.map(function (c) { return el('th', { scope: 'col', text: c.label }); }));
  if (actions) head.appendChild(el('th', { scope: 'col', text: t('admin.actions') }));
  tb.appendChild(el('thead', {}, [head]));
  var body = el('tbody');
  if (!rows.length) body.appendChild(el('tr', {}, [el('td', { colspan: columns.length + (actions ? 1 : 0), class: 'muted', text: t('admin.empty') })]));
  rows.forEach(function (r) {
    var tr = el('tr');
    columns.forEach(function (c) {
      var v = c.value(r);
      tr.appendChild(el('td', { 'data-label': c.label }, [v === null || v === undefined ? '' : (typeof v === 'object' ? v : String(v))]));
    });
    if (actions) tr.appendChild(el('td', { class: 'row-actions' }, actions(r)));
    body.appendChild(tr);
  });
  tb.appendChild(body);
  return el('div', { class: 'table-wrap' }, [tb]);
}

export function button(text, onClick, cls) {
  return el('button', { type: 'button', class: 'btn small ' + (cls || 'secondary'), text: text, on: { click: onClick } });
}
