// Web Push opt-in of the status page (docs/adr/0017-public-push-subscriptions.md). public.js loads this
// module only when the browser has service workers, PushManager and Notification and the tenant offers push
// for the ticket (api.get_public_push_config). "Notify me on this device": permission, then
// PushManager.subscribe with the tenant's VAPID key (userVisibleOnly), then api.subscribe_public_push with the
// subscription's JSON and the page's language. "Turn off": api.unsubscribe_public_push for this ticket only;
// the browser's subscription stays (it may serve another ticket followed in this browser). The status URL
// is kept in the cache 'qms-public-tickets', so sw.js can open this page when a notification is clicked.
import {t, getLang} from '../shared/i18n.js';

var $ = function (id) { return document.getElementById(id); };
var TICKETS = 'qms-public-tickets';

function keyBytes(b64u) {
  var s = b64u.replace(/-/g, '+').replace(/_/g, '/');
  while (s.length % 4) s += '=';
  var raw = atob(s);
  var out = new Uint8Array(raw.length);
  for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function sameKey(a, b) {
  if (!a || a.byteLength !== b.byteLength) return false;
  var x = new Uint8Array(a);
  for (var i = 0; i < x.length; i++) if (x[i] !== b[i]) return false;
  return true;
}

// The browser's subscription for this VAPID key: the existing one, or a new one (another key's is replaced).
function subscription(reg, key) {
  return reg.pushManager.getSubscription().then(function (sub) {
    if (sub && sameKey(sub.options && sub.options.applicationServerKey, key)) return sub;
    return (sub ? sub.unsubscribe() : Promise.resolve()).then(function () {
      return reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: key});
    });
  });
}

export function startPush(api, ref, config) {
  var stored = 'qms.public.push.' + ref.ticket_id;
  var args = {ticket_id: ref.ticket_id, secret: ref.secret};

  function show(on, note) {
    $('push-box').hidden = false;
    $('push').hidden = on;
    $('push-off').hidden = !on;
    var state = $('push-state');
    state.textContent = note ? t(note) : '';
    if (note) state.setAttribute('data-i18n', note); else state.removeAttribute('data-i18n');  // follows a language change
  }

  function turnOn() {
    $('push').disabled = true;
    Notification.requestPermission().then(function (perm) {
      if (perm !== 'granted') throw new Error('denied');
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      return subscription(reg, keyBytes(config.application_server_key));
    }).then(function (sub) {
      var json = sub.toJSON();
      localStorage.setItem(stored, json.endpoint);
      return api.read('subscribe_public_push', Object.assign({
        subscription: {endpoint: json.endpoint, keys: json.keys}, language: getLang()}, args));
    }).then(function () {
      caches.open(TICKETS).then(function (c) { return c.put('ticket/' + ref.ticket_id, new Response(location.href)); });
      show(true, 'public.push_on');
    }, function (err) {
      localStorage.removeItem(stored);
      show(false, err && err.message === 'denied' ? 'public.push_denied' : 'public.push_failed');
    }).then(function () { $('push').disabled = false; });
  }

  function turnOff() {
    var endpoint = localStorage.getItem(stored);
    api.read('unsubscribe_public_push', Object.assign({endpoint: endpoint}, args)).then(function () {
      localStorage.removeItem(stored);
      show(false, null);
    }, function () { show(true, 'public.push_failed'); });
  }

  $('push').addEventListener('click', turnOn);
  $('push-off').addEventListener('click', turnOff);
  var on = !!localStorage.getItem(stored) && Notification.permission === 'granted';
  show(on, on ? 'public.push_on' : Notification.permission === 'denied' ? 'public.push_denied' : null);
  return {
    // The ticket ended: nothing more will be sent, so the offer goes.
    hide: function () { $('push-box').hidden = true; }
  };
}
