// Service worker of the public pages (scope /apps/public/): keeps the shell (HTML, JS, CSS, strings, icon)
// so the status and join pages open offline; the pages themselves keep their last API answers in
// localStorage and mark them as old. API calls (/rpc, /api, /auth, /realtime) are never intercepted or
// cached: they always go to the network, so nothing stale is ever served as a fresh answer.
// Shell requests: network first (an update is picked up at once), the cached copy when offline.
var CACHE = 'qms-public-shell-v1';
var SHELL = ['./', 'index.html', 'public.js', 'join.js', 'public.css', 'manifest.json', 'icon.svg',
  '../shared/base.css', '../shared/api.js', '../shared/i18n.js', '../shared/i18n/id.js', '../shared/i18n/en.js',
  '../shared/prefs.js'];

self.addEventListener('install', function (ev) {
  ev.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (ev) {
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
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
