// Notifications section of the admin console: tabs for the switchboard (on/off, channels, events, and why
// events made no delivery), the providers of each channel (credentials write-only), templates
// (notify_templates.js), the delivery log with dead letters and the local mail sink (notify_log.js).
// What a role may read and change is the database's rule (get_notification_settings answers providers to
// admins only; templates, re-drive and the sink are admin functions): a supervisor gets the read-only tabs.
import { t } from '../shared/i18n.js';
import { el, form, table, errorText } from './forms.js';
import { renderTemplates } from './notify_templates.js';
import { renderLog, renderSink } from './notify_log.js';

export var CHANNELS = ['email', 'sms', 'whatsapp', 'push'];
export var EVENTS = ['ticket.created', 'ticket.called', 'ticket.recalled', 'ticket.ahead', 'ticket.no_show', 'ticket.cancelled'];
var KINDS = { email: ['smtp', 'log'], sms: ['http', 'log'], whatsapp: ['whatsapp', 'log'], push: ['webpush', 'log'] };
// Non-secret settings per provider kind (kept in config) and the credentials (encrypted by the gateway).
var CONFIG = {
  smtp: [{ name: 'url', hint: 'smtp://mail.example.org:587?starttls=on' }, { name: 'from', hint: 'QMS <noreply@example.org>' }],
  http: [{ name: 'url', required: true, hint: 'https://sms.example.org/send' }, { name: 'content_type', hint: 'application/json' },
    { name: 'body_template', type: 'textarea', hint: '{"to": {{ to | json }}, "text": {{ text | json }}}' },
    { name: 'success_field' }, { name: 'success_value' }, { name: 'message_id_path', hint: 'messages.0.id' },
    { name: 'timeout_seconds', type: 'number', min: 1, max: 120 }],
  whatsapp: [{ name: 'phone_number_id', required: true }, { name: 'base_url', hint: 'https://graph.facebook.com/v19.0' },
    { name: 'approved_templates', type: 'textarea', json: true, hint: '{"ticket.called": "queue_called"}' },
    { name: 'parameters', list: true, hint: 'ticket_number, counter_name' }],
  webpush: [{ name: 'subject', hint: 'mailto:admin@example.org' }],
  log: []
};
var SECRETS = { smtp: ['username', 'password'], http: ['authorization', 'username', 'password'], whatsapp: ['token'],
  webpush: ['vapid_private_key'], log: [] };

var tab = null;

export function renderNotifications(body, ctx) {
  var tabs = ctx.isAdmin ? ['settings', 'providers', 'templates', 'deliveries', 'dead', 'sink'] : ['settings', 'deliveries', 'dead'];
  if (tabs.indexOf(tab) < 0) tab = tabs[0];
  var bar = el('div', { class: 'tabs', role: 'tablist', 'aria-label': t('admin.nav.notifications') });
  var pane = el('div', { id: 'notify-pane', role: 'tabpanel' });
  var render = { settings: renderSettings, providers: renderProviders, templates: renderTemplates,
    deliveries: function (p, c) { return renderLog(p, c, false); }, dead: function (p, c) { return renderLog(p, c, true); }, sink: renderSink };
  function show(name) {
    tab = name;
    Array.prototype.forEach.call(bar.children, function (b) { b.setAttribute('aria-selected', String(b.getAttribute('data-tab') === name)); });
    pane.innerHTML = '';
    return Promise.resolve(render[name](pane, ctx)).catch(function (err) {
      pane.appendChild(el('p', { class: 'form-error', role: 'alert', text: errorText(err) }));
    });
  }
  tabs.forEach(function (name) {
    bar.appendChild(el('button', { type: 'button', role: 'tab', class: 'tab', id: 'tab-' + name, 'data-tab': name,
      text: t('notify.tab.' + name), on: { click: function () { show(name); } } }));
  });
  body.appendChild(bar);
  body.appendChild(pane);
  return show(tab);
}

var mark = function (on) { return el('span', { class: 'onoff ' + (on ? 'on' : 'off'), text: on ? t('notify.on') : t('notify.off') }); };

function renderSettings(pane, ctx) {
  return Promise.all([ctx.api.read('get_notification_settings'), ctx.api.read('list_notification_skips', { max_rows: 200 })]).then(function (r) {
    var s = r[0];
    var skips = r[1];
    // What is sent, per event and channel: the tenant switch, the event, the channel, and the channel carrying
    // that event (channel_events; a channel without an entry carries every event) must all be on.
    pane.appendChild(el('h3', { text: t('notify.matrix') }));
    pane.appendChild(el('p', { class: 'muted small', text: t('notify.matrix_hint') }));
    pane.appendChild(ctx.isAdmin ? matrixForm(s, ctx) : table(t('notify.matrix'), [{ label: t('notify.event'), value: function (e) { return t('notify.event.' + e); } }]
      .concat(CHANNELS.map(function (c) {
        return { label: t('notify.channel.' + c), value: function (e) { return mark(s.enabled && s.events.indexOf(e) >= 0 && s.channels.indexOf(c) >= 0 && carries(s, c, e)); } };
      })), EVENTS));
    if (ctx.isAdmin) {
      pane.appendChild(form({ id: 'notify-settings', title: t('notify.settings'), fields: [
        { name: 'enabled', label: t('notify.enabled'), type: 'checkbox', value: s.enabled, hint: t('notify.enabled_hint') },
        { name: 'channels', label: t('notify.channels'), type: 'checks', value: s.channels,
          options: CHANNELS.map(function (c) { return { value: c, label: t('notify.channel.' + c) }; }) },
        { name: 'events', label: t('notify.events'), type: 'checks', value: s.events,
          options: EVENTS.map(function (e) { return { value: e, label: t('notify.event.' + e) }; }) },
        { name: 'max_attempts', label: t('notify.max_attempts'), type: 'number', min: 1, max: 20, required: true, value: s.max_attempts }
      ], onSubmit: function (v) { return ctx.api.read('set_notification_settings', v).then(function () { ctx.reload(); }); } }));
    } else {
      pane.appendChild(el('p', { class: 'note', text: t('notify.read_only', { n: s.max_attempts }) }));
    }
    pane.appendChild(skipsBox(skips));
  });
}

function carries(s, c, e) {
  var only = (s.channel_events || {})[c];
  return !only || only.indexOf(e) >= 0;
}

// The admin's event x channel grid: a box per cell, saved as channel_events (a column with every box ticked
// is left out: that channel carries every event). Cells whose event or channel is off are shown but disabled.
function matrixForm(s, ctx) {
  var boxes = {};
  var status = el('p', { class: 'muted small', role: 'status' });
  var head = el('tr', {}, [el('th', { scope: 'col', text: t('notify.event') })].concat(CHANNELS.map(function (c) {
    return el('th', { scope: 'col', text: t('notify.channel.' + c) });
  })));
  var rows = EVENTS.map(function (e) {
    return el('tr', {}, [el('th', { scope: 'row', text: t('notify.event.' + e) })].concat(CHANNELS.map(function (c) {
      var live = s.enabled && s.events.indexOf(e) >= 0 && s.channels.indexOf(c) >= 0;
      if (!live) {  // the event or the channel is off: nothing to choose here, the stored choice is kept
        boxes[c + '|' + e] = { checked: carries(s, c, e) };
        return el('td', { class: 'muted', 'data-label': t('notify.channel.' + c), title: t('notify.cell_off'), text: '–' });
      }
      var box = el('input', { type: 'checkbox', name: c + '|' + e, checked: carries(s, c, e),
        'aria-label': t('notify.event.' + e) + ' / ' + t('notify.channel.' + c) });
      boxes[c + '|' + e] = box;
      return el('td', { 'data-label': t('notify.channel.' + c) }, [box]);
    })));
  });
  var grid = el('table', { class: 'grid', id: 'notify-matrix', 'aria-label': t('notify.matrix') }, [el('thead', {}, [head]),
    el('tbody', {}, rows)]);
  var save = el('button', { type: 'button', class: 'btn', id: 'notify-matrix-save', text: t('admin.save'), on: { click: function () {
    var channelEvents = {};
    CHANNELS.forEach(function (c) {
      var on = EVENTS.filter(function (e) { return boxes[c + '|' + e].checked; });
      if (on.length < EVENTS.length) channelEvents[c] = on;
    });
    status.textContent = '';
    ctx.api.read('set_notification_settings', { channel_events: channelEvents }).then(function () {
      status.textContent = t('admin.saved');
    }, function (err) { status.textContent = errorText(err); });
  } } });
  return el('div', { class: 'sub' }, [el('div', { class: 'table-scroll' }, [grid]), save, status]);
}

function skipsBox(skips) {
  var box = el('div', { id: 'notify-skips', class: 'sub' }, [el('h3', { text: t('notify.skips') }), el('p', { class: 'muted small', text: t('notify.skips_hint') })]);
  var counts = {};
  skips.forEach(function (k) { counts[k.reason] = (counts[k.reason] || 0) + 1; });
  box.appendChild(el('ul', { class: 'chips' }, Object.keys(counts).map(function (k) {
    return el('li', { class: 'chip', title: t('notify.skip.' + k + '.hint'), text: t('notify.skip.' + k) + ': ' + counts[k] });
  })));
  box.appendChild(table(t('notify.skips'), [
    { label: t('admin.when'), value: function (k) { return new Date(k.created_at).toLocaleString(); } },
    { label: t('notify.event'), value: function (k) { return t('notify.event.' + k.event_type); } },
    { label: t('notify.reason'), value: function (k) { return t('notify.skip.' + k.reason); } },
    { label: t('notify.ticket'), value: function (k) { return el('span', { class: 'mono', text: k.ticket_id.slice(0, 8) }); } }
  ], skips.slice(0, 50)));
  return box;
}

function renderProviders(pane, ctx) {
  return ctx.api.read('get_notification_settings').then(function (s) {
    pane.appendChild(el('p', { class: 'muted small', text: t('notify.providers_hint') }));
    var grid = el('div', { class: 'provider-grid' });
    pane.appendChild(grid);
    CHANNELS.forEach(function (c) {
      var box = el('div', { class: 'provider', id: 'provider-' + c });
      grid.appendChild(box);
      var p = s.providers.filter(function (x) { return x.channel === c; })[0] || { channel: c, kind: KINDS[c][0], config: {}, secret_set: false, unset: true };
      providerForm(ctx, box, p, p.kind);
    });
  });
}

function providerForm(ctx, box, p, kind) {
  box.innerHTML = '';
  var c = p.channel;
  var id = 'provider-' + c + '-form';
  var state = el('span', { class: 'badge ' + (p.secret_set ? 'ok' : 'muted'), id: 'provider-' + c + '-secret', text: p.secret_set ? t('notify.secret_set') : t('notify.secret_not_set') });
  var fields = [{ name: 'kind', label: t('notify.kind'), type: 'select', required: true, value: kind,
    options: KINDS[c].map(function (k) { return { value: k, label: t('notify.kind.' + k) }; }) }];
  var shown = kind === p.kind ? p.config : {};
  CONFIG[kind].forEach(function (f) {
    var v = shown[f.name];
    if (f.json && v !== undefined) v = JSON.stringify(v);
    if (f.list && Array.isArray(v)) v = v.join(', ');
    fields.push({ name: f.name, label: t('notify.cfg.' + f.name), type: f.type, required: f.required, min: f.min, max: f.max, value: v, hint: f.hint });
  });
  SECRETS[kind].forEach(function (name) {
    fields.push({ name: 'secret_' + name, label: t('notify.secret.' + name), type: 'password' });
  });
  var f = form({ id: id, title: t('notify.channel.' + c) + (p.unset ? ' — ' + t('notify.no_provider') : ''), fields: fields, onSubmit: function (v) {
    var config = Object.assign({}, p.kind === v.kind ? p.config : {});
    var credentials = {};
    var bad = null;
    CONFIG[v.kind].forEach(function (fd) {
      var x = v[fd.name];
      if (x === null || x === undefined) { delete config[fd.name]; return; }
      if (fd.json) { try { x = JSON.parse(x); } catch (e) { bad = bad || { code: 'INVALID_JSON', details: { field: fd.name } }; } }
      if (fd.list) x = String(x).split(/\s*,\s*/).filter(Boolean);
      config[fd.name] = x;
    });
    if (bad) return Promise.reject(bad);
    SECRETS[v.kind].forEach(function (name) { if (v['secret_' + name]) credentials[name] = v['secret_' + name]; });
    var payload = { kind: v.kind, config: config };
    if (Object.keys(credentials).length) payload.credentials = credentials;
    return ctx.api.put('/api/notification-providers/' + c, payload).then(function () {
      return ctx.api.read('get_notification_settings');
    }).then(function (s) {
      Object.assign(p, s.providers.filter(function (x) { return x.channel === c; })[0], { unset: false });
      SECRETS[v.kind].forEach(function (name) { f.inputs['secret_' + name].value = ''; });
      state.textContent = p.secret_set ? t('notify.secret_set') : t('notify.secret_not_set');
      state.className = 'badge ' + (p.secret_set ? 'ok' : 'muted');
      return t('admin.saved');
    });
  } });
  if (SECRETS[kind].length) {
    var first = f.querySelector('[data-field="secret_' + SECRETS[kind][0] + '"]');
    f.insertBefore(el('p', { class: 'secret-state' }, [t('notify.credentials') + ': ', state]), first);
    f.insertBefore(el('p', { class: 'muted small', id: id + '-secret-hint', text: t('notify.secret_hint') }), first);
  }
  f.inputs.kind.addEventListener('change', function () { providerForm(ctx, box, p, f.inputs.kind.value); });
  box.appendChild(f);
}
