// The kiosk's offline buffer (spec §18): while the gateway cannot be reached, a ticket gets a local number
// (L-001, L-002, … per day; a branch with several kiosks gives each its own prefix in the device config,
// e.g. "L1"), is printed, and its create_ticket request is kept here with its request_id. sync() sends the
// requests in order once the gateway answers again; the engine's idempotency on request_id makes a repeat
// (a reload or a lost answer mid-sync) return the same ticket, so each local ticket becomes exactly one.
// Everything lives in localStorage, so a reload or a power cut loses nothing.

var OUTBOX = 'qms.kiosk.outbox';
var SYNCED = 'qms.kiosk.synced';
var SEQ = 'qms.kiosk.offline_seq';

function load(key, fallback) {
  try { var v = JSON.parse(localStorage.getItem(key) || 'null'); return v === null ? fallback : v; } catch (e) { return fallback; }
}
function save(key, value) { localStorage.setItem(key, JSON.stringify(value)); }

export function pending() { return load(OUTBOX, []); }
export function synced() { return load(SYNCED, []); }

function today() {
  var d = new Date();
  return d.getFullYear() + '-' + (d.getMonth() + 1) + '-' + d.getDate();
}

// Queues a create_ticket request and returns the local ticket {local_number, request_id, service_id, …}.
export function enqueue(prefix, request, serviceName) {
  var seq = load(SEQ, {day: '', n: 0});
  if (seq.day !== today()) seq = {day: today(), n: 0};
  seq.n += 1;
  save(SEQ, seq);
  var number = (prefix || 'L') + '-' + ('00' + seq.n).slice(-3);
  var entry = {
    local_number: number,
    // The synced ticket keeps the printed number (create_ticket's offline_number).
    request: Object.assign({}, request, {offline_number: number}),
    service_name: serviceName,
    queued_at: new Date().toISOString()
  };
  var box = pending();
  box.push(entry);
  save(OUTBOX, box);
  return entry;
}

var running = null;

// Sends the queued requests in order (one sync at a time). Resolves to the number still pending.
// An entry leaves the outbox only after the gateway answered for it: with the ticket (recorded in the synced
// log: local number → server ticket) or with a refusal other than "unreachable" (recorded with its code).
export function sync(api) {
  if (running) return running;
  running = (function next() {
    var box = pending();
    if (!box.length) return Promise.resolve(0);
    var entry = box[0];
    return api.command('create_ticket', entry.request).then(function (ticket) {
      return {ok: true, ticket: ticket};
    }, function (err) {
      if (err.offline) throw err;
      return {ok: false, code: err.code};
    }).then(function (outcome) {
      var log = synced();
      log.push({local_number: entry.local_number, request_id: entry.request.request_id,
        ticket_id: outcome.ok ? outcome.ticket.ticket_id : null,
        ticket_number: outcome.ok ? outcome.ticket.ticket_number : null,
        error: outcome.ok ? null : outcome.code, synced_at: new Date().toISOString()});
      save(SYNCED, log.slice(-100));
      save(OUTBOX, pending().filter(function (e) { return e.request.request_id !== entry.request.request_id; }));
      return next();
    });
  })().then(function (n) { running = null; return n; }, function (e) { running = null; return pending().length; });
  return running;
}
