// Devices: register a kiosk or display to the branch (and an area), pair it (its token, start URL and a QR code
// of the URL, shown once: the token is not stored anywhere the console can read again), online/offline from
// last_seen_at (the heartbeat), revoke (update_device status revoked: its tokens stop working at once).
import { t, formatTime } from '../shared/i18n.js';
import { el, form, table, button, errorText } from './forms.js';

function pair(ctx, box, device) {
  return ctx.api.post('/api/devices/' + device.device_id + '/token').then(function (tok) {
    var url = location.origin + tok.start_url;
    var qr = el('div', { class: 'qr', id: 'pair-qr', role: 'img', 'aria-label': t('admin.pair_qr') });
    qr.innerHTML = tok.qr_svg;  // server-rendered SVG (segno), no user input in it
    box.innerHTML = '';
    box.appendChild(el('div', { class: 'card pairing', id: 'pairing', role: 'region', 'aria-label': t('admin.pairing') }, [
      el('h3', { text: t('admin.pairing_of', { x: device.name }) }),
      el('p', { class: 'warn', text: t('admin.token_once') }),
      qr,
      el('label', { for: 'pair-url', text: t('admin.start_url') }),
      el('input', { id: 'pair-url', readonly: true, value: url, class: 'mono' }),
      el('div', { class: 'actions' }, [
        button(t('admin.copy'), function () { var i = document.getElementById('pair-url'); i.select(); if (navigator.clipboard) navigator.clipboard.writeText(url); }),
        button(t('admin.done'), function () { box.innerHTML = ''; ctx.reload(); }, 'primary')
      ])
    ]));
    document.getElementById('pair-url').focus();
  });
}

export function renderDevices(body, ctx) {
  return ctx.api.read('list_areas', { branch_id: ctx.branchId }).then(function (areas) {
    var pairBox = el('div', { class: 'form-box', id: 'pair-box' });
    var listBox = el('div', { id: 'device-list' });
    var areaName = function (id) { var a = areas.filter(function (x) { return x.area_id === id; })[0]; return a ? a.name : '—'; };
    body.appendChild(listBox);
    body.appendChild(pairBox);
    function refresh() {
      return ctx.api.read('list_devices', { branch_id: ctx.branchId }).then(function (devices) {
        listBox.innerHTML = '';
        listBox.appendChild(deviceTable(devices));
      });
    }
    function deviceTable(devices) { return table(t('admin.nav.devices'), [
      { label: t('admin.name'), value: function (d) { return d.name; } },
      { label: t('admin.kind'), value: function (d) { return t('admin.kind.' + d.kind); } },
      { label: t('admin.area'), value: function (d) { return areaName(d.area_id); } },
      { label: t('admin.status'), value: function (d) { return t('admin.device_status.' + d.status); } },
      { label: t('admin.online'), value: function (d) {
        return el('span', { class: 'status-dot', 'data-state': d.online ? 'live' : 'offline', text: d.online ? t('admin.online') : t('admin.offline') });
      } },
      { label: t('admin.last_seen'), value: function (d) { return d.last_seen_at ? formatTime(d.last_seen_at) : t('admin.never'); } }
    ], devices, ctx.isAdmin ? function (d) {
      if (d.status === 'revoked') {
        return [button(t('admin.activate'), function () { ctx.api.read('update_device', { device_id: d.device_id, status: 'active' }).then(ctx.reload, fail); })];
      }
      return [
        button(t('admin.pair'), function () { pair(ctx, pairBox, d).catch(fail); }),
        button(t('admin.revoke'), function () {
          if (window.confirm(t('admin.revoke_confirm', { x: d.name }))) ctx.api.read('update_device', { device_id: d.device_id, status: 'revoked' }).then(ctx.reload, fail);
        }, 'danger')
      ];
    } : null); }
    function fail(err) { pairBox.innerHTML = ''; pairBox.appendChild(el('p', { class: 'form-error', role: 'alert', text: errorText(err) })); }
    if (ctx.isAdmin) body.appendChild(form({ id: 'device-form', title: t('admin.new_device'), submit: t('admin.register'), fields: [
      { name: 'name', label: t('admin.name'), required: true },
      { name: 'kind', label: t('admin.kind'), type: 'select', required: true, value: 'display',
        options: [{ value: 'kiosk', label: t('admin.kind.kiosk') }, { value: 'display', label: t('admin.kind.display') }] },
      { name: 'area_id', label: t('admin.area'), type: 'select', options: areas.map(function (a) { return { value: a.area_id, label: a.name }; }) }
    ], onSubmit: function (v) {
      // A new device is active (api.create_device); pairing issues its first token.
      return ctx.api.read('create_device', { branch_id: ctx.branchId, kind: v.kind, name: v.name, area_id: v.area_id }).then(function (d) {
        return pair(ctx, pairBox, d).then(function () {
          document.getElementById('device-form').reset();
          return refresh();
        }).then(function () { return t('admin.registered'); });
      });
    } }));
    return refresh();
  });
}
