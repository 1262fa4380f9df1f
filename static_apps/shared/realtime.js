// Live updates for boards and consoles: WebSocket /realtime, falling back to SSE /realtime/sse, then to snapshot
// polling. The app owns its state: it gives a resync() that reloads its snapshot (and returns a promise) and an
// onEvent(envelope) that applies one event. The client calls resync() after every (re)connect and on a server
// "resync" frame (the gateway sends it when it may have lost events); in polling mode every pollMs.
//
// seq is the tenant-wide event sequence and a subscription sees a subset of it, so a jump in seq is normal;
// events with seq <= the last one seen, or <= the snapshot's as_of_seq (give it to setSeq), are dropped.
//
// Watchdog: when nothing at all (event, pong, keepalive, poll answer) arrived for watchdogMs, the client
// reconnects; when that stays silent while /healthz answers, the page is reloaded (onStale; a board frozen
// after days of running comes back by itself). Without /healthz the board stays up showing "offline".
//
// connect({token, topics, onEvent, onNotice, resync, onStatus, pollMs, watchdogMs, transports, onStale}) → {stop, setSeq,
// state, transport}. token is a function (the token may be refreshed), topics a list of topic names.

export function connect(opts) {
  var transports = opts.transports || ['ws', 'sse', 'poll'];
  var pollMs = opts.pollMs || 4000;
  var watchdogMs = opts.watchdogMs || 60000;
  var level = 0;
  var failures = 0;
  var stopped = false;
  var lastSeq = 0;
  var lastRx = Date.now();
  var silentChecks = 0;
  var current = null;
  var retryTimer = null;
  var pollTimer = null;
  var upgradeTimer = null;
  var self = {state: 'connecting', transport: null};

  function status(state, transport) {
    self.state = state;
    self.transport = transport || null;
    if (opts.onStatus) opts.onStatus(state, transport);
  }

  // Any frame moves lastRx; only traffic of a working stream (events, pongs, keepalives, poll answers) also
  // clears the watchdog's count, not a handshake: a stream that connects and then stays silent is stale.
  function received(flowing) { lastRx = Date.now(); if (flowing) silentChecks = 0; }

  function doResync(reason) {
    return Promise.resolve().then(function () { return opts.resync(reason); }).then(function (r) {
      if (reason === 'poll') received(true);
      return r;
    });
  }

  function handle(env) {
    received(true);
    if (!env || typeof env !== 'object') return;
    if (env.type === 'resync') { doResync('server').catch(function () {}); return; }
    // An envelope without seq is a notice, not a ticket event (e.g. anomaly.raised / anomaly.cleared): it
    // goes to opts.onNotice, when the app has one, and never moves the event order.
    if (typeof env.seq !== 'number') { if (opts.onNotice) opts.onNotice(env); return; }
    if (env.seq <= lastSeq) return;
    lastSeq = env.seq;
    opts.onEvent(env);
  }

  function open() {
    if (stopped) return;
    var kind = transports[Math.min(level, transports.length - 1)];
    status('connecting', kind);
    if (kind === 'ws') current = openWs();
    else if (kind === 'sse') current = openSse();
    else current = openPoll();
  }

  // A transport reached the live state: reset the failure count and resync (events may have been missed).
  function live(kind) {
    failures = 0;
    status('live', kind);
    doResync('connected').catch(function () {});
  }

  // A transport ended (or never opened): retry with backoff, moving down a level after two failures in a row.
  function dropped(wasLive) {
    if (stopped) return;
    current = null;
    failures = wasLive ? 1 : failures + 1;
    if (!wasLive && failures >= 2 && level < transports.length - 1) { level++; failures = 0; }
    status('offline', null);
    var delay = Math.min(15000, 500 * Math.pow(2, Math.max(0, failures - 1))) * (0.75 + Math.random() / 2);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(open, delay);
  }

  function openWs() {
    var proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
    var ws;
    var isLive = false;
    var pinger = null;
    try { ws = new WebSocket(proto + location.host + '/realtime'); } catch (e) { setTimeout(function () { dropped(false); }, 0); return {close: function () {}}; }
    ws.onopen = function () { ws.send(JSON.stringify({action: 'auth', token: opts.token()})); };
    ws.onmessage = function (m) {
      var msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      received(msg.type !== 'welcome' && msg.type !== 'subscribed');
      if (msg.type === 'welcome') { ws.send(JSON.stringify({action: 'subscribe', topics: opts.topics})); return; }
      if (msg.type === 'subscribed') {
        if (!isLive) {
          isLive = true;
          pinger = setInterval(function () { if (ws.readyState === 1) ws.send('{"action":"ping"}'); }, 20000);
          live('ws');
        }
        return;
      }
      if (msg.type === 'pong') return;
      if (msg.type === 'error') { ws.close(); return; }
      handle(msg);
    };
    ws.onclose = function () { clearInterval(pinger); if (current && current.ws === ws) dropped(isLive); };
    return {ws: ws, close: function () { clearInterval(pinger); ws.onclose = null; ws.close(); }};
  }

  // SSE read through fetch (not EventSource): the token goes in a header, and keepalive comments are seen.
  function openSse() {
    var ctrl = new AbortController();
    var isLive = false;
    var qs = opts.topics.map(function (t) { return 'topics=' + encodeURIComponent(t); }).join('&');
    var handle_ = {close: function () { ctrl.abort(); }};
    fetch('/realtime/sse?' + qs, {headers: {'Authorization': 'Bearer ' + opts.token(), 'Accept': 'text/event-stream'},
      cache: 'no-store', signal: ctrl.signal}).then(function (res) {
      if (!res.ok || !res.body) throw new Error('sse ' + res.status);
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      var buf = '';
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) throw new Error('sse closed');
          received(false);
          buf += decoder.decode(r.value, {stream: true});
          var at;
          while ((at = buf.indexOf('\n\n')) >= 0) {
            var block = buf.slice(0, at);
            buf = buf.slice(at + 2);
            if (block.charAt(0) === ':') { received(true); continue; }
            var ev = 'message';
            var data = [];
            block.split('\n').forEach(function (line) {
              if (line.indexOf('event:') === 0) ev = line.slice(6).trim();
              else if (line.indexOf('data:') === 0) data.push(line.slice(5).replace(/^ /, ''));
            });
            if (ev === 'subscribed' && !isLive) { isLive = true; live('sse'); }
            else if (ev === 'resync') handle({type: 'resync'});
            else if (ev === 'error') throw new Error('sse error');
            else if (ev === 'event') { try { handle(JSON.parse(data.join('\n'))); } catch (e) { /* a bad frame */ } }
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () { if (current === handle_) dropped(isLive); });
    return handle_;
  }

  // Polling: resync every pollMs; every minute try to climb back to the first transport.
  function openPoll() {
    var h = {close: function () { clearTimeout(pollTimer); clearTimeout(upgradeTimer); }};
    var wasLive = false;
    function tick() {
      doResync('poll').then(function () {
        if (!wasLive) { wasLive = true; failures = 0; status('live', 'poll'); }
      }, function () {
        if (wasLive) { wasLive = false; status('offline', null); }
      }).then(function () {
        if (current === h) pollTimer = setTimeout(tick, pollMs);
      });
    }
    tick();
    upgradeTimer = setTimeout(function () {
      if (current !== h || transports.length < 2) return;
      h.close();
      level = 0;
      failures = 0;
      open();
    }, 60000);
    return h;
  }

  var watchdog = setInterval(function () {
    if (stopped || Date.now() - lastRx < watchdogMs) return;
    silentChecks++;
    lastRx = Date.now();
    if (silentChecks === 1) {
      if (current) current.close();
      current = null;
      open();
      return;
    }
    fetch('/healthz', {cache: 'no-store'}).then(function (r) {
      if (r.ok) (opts.onStale || function () { location.reload(); })();
    }, function () { status('offline', null); });
  }, Math.min(5000, watchdogMs / 2));

  self.stop = function () {
    stopped = true;
    clearInterval(watchdog);
    clearTimeout(retryTimer);
    if (current) current.close();
    current = null;
  };
  self.setSeq = function (seq) { if (typeof seq === 'number' && seq > lastSeq) lastSeq = seq; };
  self.reconnect = function () { if (current) current.close(); current = null; failures = 0; open(); };
  open();
  return self;
}
