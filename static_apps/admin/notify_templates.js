// Notification templates: pick a slot (event, channel, language), see its versions (api.list_notification_templates)
// and the one in use (api.get_notification_template: the active version, else the shipped default, version 0),
// write a new version (subject and HTML for e-mail) with a live preview that the gateway renders with sample data
// as the admin types (POST /api/notification-templates/preview with the draft; debounced), and activate a version.
import { t, getLang } from '../shared/i18n.js';
import { el, form, table, button, errorText } from './forms.js';
import { CHANNELS, EVENTS } from './notify.js';

var PREVIEW_DELAY_MS = 350;
var slot = { event_type: 'ticket.called', channel: 'email', language: null };

function picker(id, label, options, value, onChange) {
  var sel = el('select', { id: id }, options.map(function (o) { return el('option', { value: o.value, text: o.label, selected: o.value === value }); }));
  var current = value;
  sel.addEventListener('change', function () {
    if (sel.value === current) return;
    current = sel.value;
    onChange(sel.value);
  });
  return el('div', { class: 'pick' }, [el('label', { for: id, text: label }), sel]);
}

export function renderTemplates(pane, ctx) {
  if (!slot.language) slot.language = getLang();
  var langs = ['id', 'en'];
  var bar = el('div', { class: 'branch-pick slot-pick' }, [
    picker('tpl-event', t('notify.event'), EVENTS.map(function (e) { return { value: e, label: t('notify.event.' + e) }; }), slot.event_type, function (v) { slot.event_type = v; load(); }),
    picker('tpl-channel', t('notify.channel'), CHANNELS.map(function (c) { return { value: c, label: t('notify.channel.' + c) }; }), slot.channel, function (v) { slot.channel = v; load(); }),
    picker('tpl-language', t('notify.language'), langs.map(function (l) { return { value: l, label: l.toUpperCase() }; }), slot.language, function (v) { slot.language = v; load(); })
  ]);
  var out = el('div', { id: 'tpl-slot' });
  pane.appendChild(bar);
  pane.appendChild(out);
  var loads = 0;
  // Only the answer of the latest load draws the slot: an earlier one arriving late would rebuild the editor
  // under the admin's typing (picking event, channel and language in a row starts three loads).
  function load() {
    var mine = ++loads;
    out.setAttribute('aria-busy', 'true');
    return Promise.all([ctx.api.read('list_notification_templates'), ctx.api.read('get_notification_template', slot)]).then(function (r) {
      if (mine !== loads) return;
      out.removeAttribute('aria-busy');
      out.innerHTML = '';
      var versions = r[0].filter(function (x) { return x.event_type === slot.event_type && x.channel === slot.channel && x.language === slot.language; }).reverse();
      var current = r[1];
      var editor = el('div', { class: 'tpl-editor' });
      out.appendChild(el('p', { id: 'tpl-in-use', class: 'note', text: current.template_id
        ? t('notify.in_use', { v: current.version }) : t('notify.in_use_default') }));
      out.appendChild(table(t('notify.versions'), [
        { label: t('notify.version'), value: function (x) { return 'v' + x.version; } },
        { label: t('admin.status'), value: function (x) { return x.is_active ? el('span', { class: 'badge ok', text: t('notify.active') }) : t('notify.inactive'); } },
        { label: t('notify.text'), value: function (x) { return el('span', { class: 'excerpt', text: (x.subject ? x.subject + ' — ' : '') + x.body_text }); } },
        { label: t('admin.when'), value: function (x) { return new Date(x.created_at).toLocaleString(); } }
      ], versions, function (x) {
        var acts = [button(t('notify.copy_to_draft'), function () { draft(editor, x); })];
        if (!x.is_active) {
          acts.unshift(button(t('notify.activate'), function () {
            ctx.api.read('activate_notification_template', { template_id: x.template_id }).then(load, function (e) { window.alert(errorText(e)); });
          }, 'primary'));
        }
        return acts;
      }));
      out.appendChild(editor);
      draft(editor, current);
    }, function (e) {
      if (mine === loads) out.removeAttribute('aria-busy');
      throw e;
    });
  }
  function draft(box, from) {
    box.innerHTML = '';
    var email = slot.channel === 'email';
    var fields = [];
    if (email) fields.push({ name: 'subject', label: t('notify.subject'), required: true, value: from.subject });
    fields.push({ name: 'body_text', label: t('notify.body_text'), type: 'textarea', required: true, value: from.body_text, hint: t('notify.variables') });
    if (email) fields.push({ name: 'body_html', label: t('notify.body_html'), type: 'textarea', value: from.body_html });
    var preview = el('div', { class: 'card preview', id: 'tpl-preview', 'aria-live': 'polite' });
    var f = form({ id: 'tpl-form', title: t('notify.new_version'), submit: t('notify.save_version'), fields: fields, onSubmit: function (v) {
      return ctx.api.read('create_notification_template', Object.assign({}, slot, v)).then(function (saved) {
        return load().then(function () { flash(t('notify.saved_version', { v: saved.version })); });
      });
    } });
    f.inputs.body_text.rows = 6;
    if (email) f.inputs.body_html.rows = 6;
    box.appendChild(el('div', { class: 'tpl-grid' }, [f, preview]));
    var timer = null;
    var seq = 0;
    function render() {
      var mine = ++seq;
      var body = Object.assign({}, slot, { body_text: f.inputs.body_text.value });
      if (email) { body.subject = f.inputs.subject.value; body.body_html = f.inputs.body_html.value || null; }
      var fieldErr = document.getElementById('tpl-form-body_text-error');
      return ctx.api.post('/api/notification-templates/preview', body).then(function (p) {
        if (mine !== seq) return;
        fieldErr.hidden = true;
        showPreview(preview, p, email);
      }, function (e) {
        if (mine !== seq) return;
        preview.innerHTML = '';
        preview.appendChild(el('h3', { text: t('notify.preview') }));
        preview.appendChild(el('p', { class: 'form-error', role: 'alert', id: 'tpl-preview-error', text: errorText(e) }));
        fieldErr.textContent = errorText(e);
        fieldErr.hidden = false;
      });
    }
    f.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(render, PREVIEW_DELAY_MS); });
    render();
  }
  function flash(text) {
    var p = el('p', { class: 'form-ok', role: 'status', id: 'tpl-saved', text: text });
    var box = document.getElementById('tpl-slot');
    box.insertBefore(p, box.firstChild);
  }
  return load();
}

function showPreview(box, p, email) {
  box.innerHTML = '';
  box.appendChild(el('h3', { text: t('notify.preview') }));
  box.appendChild(el('p', { class: 'muted small', text: t('notify.preview_hint') }));
  if (p.missing && p.missing.length) {
    box.appendChild(el('p', { class: 'warn', id: 'tpl-missing', role: 'status', text: t('notify.missing', { names: p.missing.join(', ') }) }));
  }
  if (email) box.appendChild(el('p', { id: 'tpl-preview-subject' }, [el('strong', { text: t('notify.subject') + ': ' }), p.subject || '']));
  box.appendChild(el('pre', { id: 'tpl-preview-text', class: 'preview-text', text: p.text }));
  if (email && p.html) {
    // The rendered HTML in a sandboxed frame without scripts: tenant text cannot run in the console.
    box.appendChild(el('iframe', { id: 'tpl-preview-html', class: 'preview-html', sandbox: '', title: t('notify.body_html'), srcdoc: p.html }));
  }
}
