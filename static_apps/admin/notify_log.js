// The delivery log (api.list_notification_deliveries: filters by status, channel and date; recipients come
// masked from the database), the dead letters with re-drive per row or for the selected rows
// (api.redrive_notification, admins), each delivery's attempts, and the messages of the local mail sink of
// `qms up` (api.list_sink_messages) with a body view.
import { t, getLang } from '../shared/i18n.js';
import { el, form, table, button, errorText } from './forms.js';
import { CHANNELS } from './notify.js';

var STATUSES = ['queued', 'sending', 'temporary_failure', 'sent', 'delivered', 'permanent_failure', 'dead'];
var filters = {};

function when(iso) { return iso ? new Date(iso).toLocaleString(getLang() === 'id' ? 'id-ID' : 'en-GB') : '—'; }
function dayStart(v) { return v ? new Date(v + 'T00:00:00').toISOString() : null; }
function dayEnd(v) { if (!v) return null; var d = new Date(v + 'T00:00:00'); d.setDate(d.getDate() + 1); return d.toISOString(); }

export function renderLog(pane, ctx, dead) {
  var out = el('div', { id: dead ? 'dead-rows' : 'delivery-rows' });
  var detail = el('div', { id: 'delivery-detail' });
  var f = dead ? {} : filters;
  var fields = [];
  if (!dead) {
    fields.push({ name: 'status', label: t('admin.status'), type: 'select', value: f.status,
      options: STATUSES.map(function (s) { return { value: s, label: t('notify.status.' + s) }; }) });
  }
  fields.push({ name: 'channel', label: t('notify.channel'), type: 'select', value: f.channel,
    options: CHANNELS.map(function (c) { return { value: c, label: t('notify.channel.' + c) }; }) });
  fields.push({ name: 'from', label: t('admin.from'), type: 'date', value: f.from });
  fields.push({ name: 'to', label: t('admin.to'), type: 'date', value: f.to });
  function load(v) {
    if (!dead) filters = v;
    if (v.from && v.to && v.from > v.to) return Promise.reject({ code: 'INVALID_RANGE', details: { field: 'to' } });
    return ctx.api.read('list_notification_deliveries', { status: dead ? 'dead' : v.status, channel: v.channel,
      from_ts: dayStart(v.from), to_ts: dayEnd(v.to), max_rows: 200 }).then(function (rows) {
      out.innerHTML = '';
      detail.innerHTML = '';
      out.appendChild(list(rows));
      return t('notify.count', { n: rows.length });
    });
  }
  var selected = {};
  function list(rows) {
    var cols = [];
    var canRedrive = ctx.isAdmin;
    if (dead && canRedrive) {
      cols.push({ label: t('notify.select'), value: function (d) {
        return el('input', { type: 'checkbox', class: 'pick-row', 'aria-label': t('notify.select_x', { x: d.ticket_number || d.delivery_id }),
          on: { change: function (ev) { if (ev.target.checked) selected[d.delivery_id] = true; else delete selected[d.delivery_id]; } } });
      } });
    }
    cols = cols.concat([
      { label: t('admin.status'), value: function (d) { return el('span', { class: 'badge st-' + d.status, text: t('notify.status.' + d.status) }); } },
      { label: t('notify.channel'), value: function (d) { return t('notify.channel.' + d.channel); } },
      { label: t('notify.event'), value: function (d) { return t('notify.event.' + d.event_type) + (d.ticket_number ? ' · ' + d.ticket_number : ''); } },
      { label: t('notify.recipient'), value: function (d) { return el('span', { class: 'mono', text: d.recipient || '—' }); } },
      { label: t('notify.attempts'), value: function (d) { return d.attempts + ' / ' + d.max_attempts; } },
      { label: t('notify.last_error'), value: function (d) { return d.last_error ? el('span', { class: 'error-text', text: d.last_error }) : '—'; } },
      { label: t('notify.created'), value: function (d) { return when(d.created_at); } },
      { label: t('notify.sent'), value: function (d) { return when(d.sent_at); } }
    ]);
    var box = el('div');
    if (dead && canRedrive && rows.length) {
      box.appendChild(el('div', { class: 'toolbar' }, [button(t('notify.redrive_selected'), function () {
        var ids = Object.keys(selected);
        if (!ids.length) { window.alert(t('notify.select_first')); return; }
        redrive(ids);
      }, 'primary')]));
    }
    box.appendChild(table(t(dead ? 'notify.tab.dead' : 'notify.tab.deliveries'), cols, rows, function (d) {
      var acts = [button(t('notify.show_attempts'), function () { attempts(d); })];
      if (d.status === 'dead' && canRedrive) acts.unshift(button(t('notify.redrive'), function () { redrive([d.delivery_id]); }, 'primary'));
      return acts;
    }));
    return box;
  }
  function redrive(ids) {
    // One call per delivery: each re-drive is its own audited change; a failure names its delivery.
    var failed = [];
    return ids.reduce(function (p, id) {
      return p.then(function () { return ctx.api.read('redrive_notification', { delivery_id: id }).catch(function (e) { failed.push(errorText(e)); }); });
    }, Promise.resolve()).then(function () {
      selected = {};
      return load(dead ? {} : filters);
    }).then(function () {
      detail.appendChild(el('p', { class: failed.length ? 'form-error' : 'form-ok', role: 'status', id: 'redrive-result',
        text: failed.length ? failed.join('; ') : t('notify.redriven', { n: ids.length }) }));
    });
  }
  function attempts(d) {
    return ctx.api.read('list_notification_attempts', { delivery_id: d.delivery_id }).then(function (rows) {
      detail.innerHTML = '';
      detail.appendChild(el('h3', { text: t('notify.attempts_of', { x: d.ticket_number || d.delivery_id }) }));
      detail.appendChild(table(t('notify.attempts'), [
        { label: '#', value: function (a) { return a.attempt; } },
        { label: t('notify.outcome'), value: function (a) { return a.outcome ? t('notify.status.' + a.outcome) : '…'; } },
        { label: t('notify.last_error'), value: function (a) { return a.error || '—'; } },
        { label: t('notify.created'), value: function (a) { return when(a.started_at); } }
      ], rows));
    }, function (e) { detail.appendChild(el('p', { class: 'form-error', text: errorText(e) })); });
  }
  if (dead) pane.appendChild(el('p', { class: 'muted small', text: t('notify.dead_hint') }));
  pane.appendChild(form({ id: dead ? 'dead-filter' : 'delivery-filter', title: t('admin.filters'), submit: t('admin.apply'), fields: fields, onSubmit: load }));
  pane.appendChild(out);
  pane.appendChild(detail);
  return load(f);
}

export function renderSink(pane, ctx) {
  return ctx.api.read('list_sink_messages', { max_rows: 100 }).then(function (msgs) {
    var view = el('div', { id: 'sink-view' });
    pane.appendChild(el('p', { class: 'muted small', text: t('notify.sink_hint') }));
    pane.appendChild(table(t('notify.tab.sink'), [
      { label: t('notify.received'), value: function (m) { return when(m.received_at); } },
      { label: t('notify.to'), value: function (m) { return el('span', { class: 'mono', text: (m.rcpt_to || []).join(', ') }); } },
      { label: t('notify.subject'), value: function (m) { return m.subject || '—'; } }
    ], msgs, function (m) { return [button(t('notify.view'), function () { show(view, m); })]; }));
    pane.appendChild(view);
  });
}

function show(view, m) {
  view.innerHTML = '';
  var card = el('article', { class: 'card sink-message', 'aria-labelledby': 'sink-subject' }, [
    el('h3', { id: 'sink-subject', text: m.subject || '—' }),
    el('p', { class: 'muted small', text: t('notify.to') + ': ' + (m.rcpt_to || []).join(', ') + ' · ' + when(m.received_at) }),
    el('pre', { class: 'preview-text', id: 'sink-text', text: m.body_text || '' })
  ]);
  if (m.body_html) card.appendChild(el('iframe', { class: 'preview-html', id: 'sink-html', sandbox: '', title: m.subject || 'HTML', srcdoc: m.body_html }));
  view.appendChild(card);
  card.scrollIntoView({ block: 'nearest' });
}
