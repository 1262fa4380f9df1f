// The gateway's HTTP API for the apps: JSON calls with a bearer token, a fresh request_id on every command,
// one token refresh on 401 TOKEN_EXPIRED, and errors as ApiError {status, code, message, hint, details}.
// status 0 means the gateway was not reached (code NETWORK or TIMEOUT).

export function uuid4() {
  var b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  var h = [];
  for (var i = 0; i < 16; i++) h.push((b[i] + 0x100).toString(16).slice(1));
  return h.slice(0, 4).join('') + '-' + h.slice(4, 6).join('') + '-' + h.slice(6, 8).join('') + '-' +
    h.slice(8, 10).join('') + '-' + h.slice(10).join('');
}

export class ApiError extends Error {
  constructor(status, code, message, hint, details, requestId) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.hint = hint || null;
    this.details = details || null;
    this.requestId = requestId || null;
  }
  get offline() { return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504; }
}

// The payload of a JWT (no verification: the gateway verifies; the apps only read branch_ids, sub, exp…).
export function decodeClaims(token) {
  try {
    var part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    while (part.length % 4) part += '=';
    return JSON.parse(decodeURIComponent(Array.prototype.map.call(atob(part), function (c) {
      return '%' + ('00' + c.charCodeAt(0).toString(16)).slice(-2);
    }).join('')));
  } catch (e) {
    return null;
  }
}

// Token storage of one app in localStorage: {access_token, refresh_token, user}.
export class TokenStore {
  constructor(key) { this.key = key; }
  get() {
    if (!this.key) return null;
    try { return JSON.parse(localStorage.getItem(this.key) || 'null'); } catch (e) { return null; }
  }
  set(value) {
    if (!this.key) return;
    if (value) localStorage.setItem(this.key, JSON.stringify(value));
    else localStorage.removeItem(this.key);
  }
  get accessToken() { var v = this.get(); return v ? v.access_token : null; }
  get claims() { var t = this.accessToken; return t ? decodeClaims(t) : null; }
}

// createApi({app, base, timeoutMs, onAuthLost}): app names the token store ('qms.<app>.auth'); app null = anonymous.
export function createApi(opts) {
  opts = opts || {};
  var base = opts.base || '';
  var timeoutMs = opts.timeoutMs || 8000;
  var store = new TokenStore(opts.app ? 'qms.' + opts.app + '.auth' : null);
  var refreshing = null;

  function send(method, path, body, withAuth) {
    var headers = {'Accept': 'application/json'};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    var token = withAuth ? store.accessToken : null;
    if (token) headers['Authorization'] = 'Bearer ' + token;
    var ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctrl) ctrl.abort(); }, timeoutMs);
    return fetch(base + path, {
      method: method, headers: headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl ? ctrl.signal : undefined
    }).then(function (res) {
      clearTimeout(timer);
      if (res.status === 204) return null;
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (res.ok) return data;
        var err = data && typeof data === 'object' ? data : {};
        var code = err.code || (err.error && err.error.code) || 'HTTP_' + res.status;
        throw new ApiError(res.status, code, err.message || res.statusText, err.hint, err.details,
          err.request_id || res.headers.get('x-request-id'));
      });
    }, function (e) {
      clearTimeout(timer);
      var aborted = e && e.name === 'AbortError';
      throw new ApiError(0, aborted ? 'TIMEOUT' : 'NETWORK', aborted ? 'the gateway did not answer in time'
        : 'the gateway cannot be reached', 'Check the network; the app retries by itself.');
    });
  }

  function refresh() {
    var saved = store.get();
    if (!saved || !saved.refresh_token) return Promise.reject(new ApiError(401, 'SESSION_ENDED', 'no session'));
    if (!refreshing) {
      refreshing = send('POST', '/auth/refresh', {refresh_token: saved.refresh_token}, false).then(function (pair) {
        store.set(Object.assign({}, saved, pair));
        refreshing = null;
      }, function (e) {
        refreshing = null;
        if (e.status === 401) store.set(null);
        throw e;
      });
    }
    return refreshing;
  }

  function request(method, path, body) {
    return send(method, path, body, true).catch(function (e) {
      var saved = store.get();
      if (e.status === 401 && e.code === 'TOKEN_EXPIRED' && saved && saved.refresh_token) {
        return refresh().then(function () { return send(method, path, body, true); });
      }
      throw e;
    }).catch(function (e) {
      if (e.status === 401 && opts.onAuthLost) opts.onAuthLost(e);
      throw e;
    });
  }

  function query(path, params) {
    var qs = [];
    Object.keys(params || {}).forEach(function (k) {
      var v = params[k];
      if (v !== null && v !== undefined) qs.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
    });
    return qs.length ? path + '?' + qs.join('&') : path;
  }

  return {
    store: store,
    // A read: POST /rpc/<fn> with the named arguments, no request_id.
    read: function (fn, args) { return request('POST', '/rpc/' + fn, args || {}); },
    // A command: POST /rpc/<fn> with a fresh request_id (kept when the caller passes one, e.g. to retry).
    command: function (fn, args) {
      var body = Object.assign({}, args || {});
      if (!body.request_id) body.request_id = uuid4();
      return request('POST', '/rpc/' + fn, body);
    },
    get: function (path, params) { return request('GET', query(path, params)); },
    post: function (path, body) { return request('POST', path, body || {}); },
    put: function (path, body) { return request('PUT', path, body || {}); },
    login: function (tenant, email, password) {
      return send('POST', '/auth/login', {tenant: tenant, email: email, password: password}, false)
        .then(function (pair) { store.set(pair); return pair; });
    },
    logout: function () {
      var saved = store.get();
      store.set(null);
      if (saved && saved.refresh_token) {
        return send('POST', '/auth/logout', {refresh_token: saved.refresh_token}, false).catch(function () { return null; });
      }
      return Promise.resolve(null);
    },
    // A device token (kiosk, display): stored as the access token, no refresh token.
    useToken: function (token) { store.set({access_token: token}); },
    health: function () { return send('GET', '/healthz', undefined, false); }
  };
}
