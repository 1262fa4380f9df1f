// Service worker of the public pages (scope /apps/public/): keeps the shell (HTML, JS, CSS, strings, icon)
// so the status and join pages open offline; the pages themselves keep their last API answers in
// localStorage and mark them as old. API calls (/rpc, /api, /auth, /realtime) are never intercepted or
// cached: they always go to the network, so nothing stale is ever served as a fresh answer.
// Shell requests: network first (an update is picked up at once), the cached copy when offline.
// Web Push (docs/adr/0017-public-push-subscriptions.md): a push message {title, body, tag, ticket_id,
// event_type} is shown as a notification, one per ticket (a newer one replaces it); a click focuses the
// ticket's open page or opens its status URL, which push.js kept in the cache TICKETS.
var CACHE = 'qms-public-shell-v2';
var TICKETS = 'qms-public-tickets';
var SHELL = ['./', 'index.html', 'public.js', 'join.js', 'push.js', 'public.css', 'manifest.json', 'icon.svg',
  'icon-192.png',
  '../shared/base.css', '../shared/api.js', '../shared/i18n.js', '../shared/i18n/id.js', '../shared/i18n/en.js',
  '../shared/prefs.js'];

self.addEventListener('install', function (ev) {
  ev.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (ev) {
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE && k !== TICKETS; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function isShell(url) {
  return url.origin === self.location.origin && /^\/apps\/(public|shared)\//.test(url.pathname);
}

self.addEventListener('fetch', function (ev) {
  var req = ev.request;
  var url = new URL(req.url);
  if (req.method !== 'GET' || !isShell(url)) return;  // API and everything else: straight to the network
  var key = url.pathname === '/apps/public/' ? './' : req;
  ev.respondWith(fetch(req).then(function (res) {
    if (res.ok) { var copy = res.clone(); caches.open(CACHE).then(function (c) { c.put(key, copy); }); }
    return res;
  }, function () {
    return caches.match(key, { ignoreSearch: true }).then(function (hit) { return hit || Response.error(); });
  }));
});

self.addEventListener('push', function (ev) {
  var msg = {};
  try { msg = ev.data ? ev.data.json() : {}; } catch (e) { msg = {body: ev.data ? ev.data.text() : ''}; }
  ev.waitUntil(self.registration.showNotification(msg.title || 'Antrean', {
    body: msg.body || '', tag: msg.ticket_id ? 'qms-' + msg.ticket_id : msg.tag, renotify: true,
    icon: 'icon-192.png', badge: 'icon-192.png', data: {ticket_id: msg.ticket_id || null}
  }));
});

self.addEventListener('notificationclick', function (ev) {
  var id = ev.notification.data && ev.notification.data.ticket_id;
  ev.notification.close();
  ev.waitUntil(self.clients.matchAll({type: 'window', includeUncontrolled: true}).then(function (wins) {
    var open = wins.filter(function (w) { return id && w.url.indexOf('t=' + id + '.') >= 0; })[0];
    if (open) return open.focus();
    return caches.open(TICKETS).then(function (c) { return id ? c.match('ticket/' + id) : null; })
      .then(function (hit) { return hit ? hit.text() : './'; })
      .then(function (url) { return self.clients.openWindow(url); });
  }));
});
