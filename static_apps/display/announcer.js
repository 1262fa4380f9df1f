// The display's one announcement queue.
//
// Every call or recall becomes one entry; entries are played strictly one after another (never two at
// once, none dropped in a burst). An entry is a chime followed by pre-recorded clips joined into the
// sentence, played through Web Audio from buffers decoded once; where the browser has a speech voice of
// the board's language, speech synthesis says the sentence after the chime instead. While the browser
// refuses to play sound (autoplay policy), entries wait and the page shows "tap to enable sound".
// Every entry stays in `log` (the page exposes it as window.qmsDisplay.announcements) with its timestamps
// (Date.now() milliseconds): queued_at, started_at, ended_at, and status queued | playing | done | stale.
// Nothing can stall the queue: loading the clips, the clips of an entry (their 'ended' may never come) and
// speech each have a time limit; an entry cut short is done with `error` set.

import { sentence } from './speech.js';

var GAP = 0.06;          // seconds between two clips
var PAUSE = 0.3;         // a '|' in the sentence: after the chime, after the ticket number
var STALE_MS = 120000;   // an entry that could not start within 2 minutes is not announced any more
var LOAD_MS = 30000;     // clips not fetched and decoded by then (a hung request): this entry fails, the next waits again
var LOG_MAX = 200;

export function Announcer(options) {
  this.base = options.base;                // URL of the clip directory (ends with '/'), holds manifest.json
  this.lang = options.lang;
  this.onBlocked = options.onBlocked;      // function(blocked: bool): show/hide the "tap to enable" overlay
  this.log = [];
  this.queue = [];
  this.running = false;
  this.buffers = {};                        // lang -> {key: AudioBuffer}
  this.loading = {};
  var Ctx = window.AudioContext || window.webkitAudioContext;
  this.ctx = Ctx ? new Ctx() : null;
  this.nextId = 1;
  var self = this;
  if (this.ctx) {
    this.ctx.onstatechange = function () {
      if (self.blocked()) return;
      self.onBlocked(false);
      self.pump();
    };
  }
}

// At start: ask for sound; if the browser still refuses after a moment, show the overlay. (A context is
// briefly 'suspended' while the audio device opens even where autoplay is allowed.)
Announcer.prototype.start = function () {
  var self = this;
  if (!self.ctx) return;
  self.ctx.resume();
  setTimeout(function () { if (self.blocked()) self.onBlocked(true); }, 1000);
};

Announcer.prototype.setLanguage = function (lang) {
  this.lang = lang;
  this.load(lang);
};

// Fetch and decode the clips of a language once (the chime with them).
Announcer.prototype.load = function (lang) {
  var self = this;
  if (!self.ctx) return Promise.resolve(null);
  if (self.loading[lang]) return self.loading[lang];
  self.loading[lang] = fetch(self.base + 'manifest.json', { cache: 'no-cache' })
    .then(function (r) {
      if (!r.ok) throw new Error('manifest ' + r.status);
      return r.json();
    })
    .then(function (manifest) {
      var files = { chime: manifest.chime };
      var clips = manifest.languages[lang].clips;
      Object.keys(clips).forEach(function (k) { files[k] = clips[k]; });
      var decoded = {};
      return Promise.all(Object.keys(files).map(function (key) {
        return fetch(self.base + files[key])
          .then(function (r) { return r.arrayBuffer(); })
          .then(function (data) { return decode(self.ctx, data); })
          .then(function (buf) { decoded[key] = buf; });
      })).then(function () {
        self.buffers[lang] = decoded;
        return decoded;
      });
    })
    .catch(function (err) {
      delete self.loading[lang];
      throw err;
    });
  return self.loading[lang];
};

// The promise, or a rejection with `what` after ms milliseconds (the promise itself cannot be cancelled).
function within(ms, what, promise) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error(what)); }, ms);
    promise.then(function (v) { clearTimeout(timer); resolve(v); }, function (e) { clearTimeout(timer); reject(e); });
  });
}

function decode(ctx, data) {
  // The callback form works on old WebViews whose decodeAudioData returns no promise.
  return new Promise(function (resolve, reject) { ctx.decodeAudioData(data, resolve, reject); });
}

// Queue an announcement: {ticket_number, counter_name, kind: 'call'|'recall', seq}.
Announcer.prototype.announce = function (call) {
  var s = sentence(this.lang, call.ticket_number, call.counter_name);
  var entry = {
    id: this.nextId++, kind: call.kind, seq: call.seq || null, ticket_number: call.ticket_number,
    counter_name: call.counter_name, lang: this.lang, text: s.text, keys: s.keys, mode: null,
    status: 'queued', queued_at: Date.now(), started_at: null, ended_at: null
  };
  this.log.push(entry);
  if (this.log.length > LOG_MAX) this.log.splice(0, this.log.length - LOG_MAX);
  this.queue.push(entry);
  this.pump();
  return entry;
};

Announcer.prototype.blocked = function () {
  return !this.ctx || this.ctx.state !== 'running';
};

// Called from a user gesture (the overlay's button): browsers allow sound from then on.
Announcer.prototype.unlock = function () {
  var self = this;
  if (!self.ctx) return Promise.resolve();
  return self.ctx.resume().then(function () {
    self.onBlocked(self.blocked());
    self.pump();
  });
};

Announcer.prototype.pump = function () {
  var self = this;
  if (self.running || !self.queue.length) return;
  if (self.blocked()) {
    // Try once without a gesture (allowed when the page already had one, or by policy); else ask.
    if (self.ctx) {
      self.ctx.resume().then(function () { if (!self.blocked()) self.pump(); });
    }
    self.onBlocked(true);
    return;
  }
  self.running = true;
  var entry = self.queue.shift();
  var play;
  if (Date.now() - entry.queued_at > STALE_MS) {
    entry.status = 'stale';
    play = Promise.resolve();
  } else {
    entry.status = 'playing';
    entry.started_at = Date.now();
    play = self.play(entry).then(null, function (err) { entry.error = String(err); });
  }
  play.then(function () {
    if (entry.status === 'playing') {
      entry.status = 'done';
      entry.ended_at = Date.now();
    }
    self.running = false;
    self.pump();
  });
};

Announcer.prototype.play = function (entry) {
  var self = this;
  return within(LOAD_MS, 'clips not loaded', self.load(entry.lang)).then(function (buffers) {
    var voice = speechVoice(entry.lang);
    if (voice) {
      entry.mode = 'speech';
      return self.playBuffers(['chime'], buffers).then(function () { return speak(entry.text, voice); });
    }
    entry.mode = 'clips';
    return self.playBuffers(entry.keys, buffers);
  });
};

// Schedule the clips back to back on the audio clock ('|' is a pause); resolve when the last one ended.
Announcer.prototype.playBuffers = function (keys, buffers) {
  var ctx = this.ctx;
  return new Promise(function (resolve) {
    var t = ctx.currentTime + 0.05;
    var last = null;
    for (var i = 0; i < keys.length; i++) {
      if (keys[i] === '|') {
        t += PAUSE - GAP;
        continue;
      }
      var src = ctx.createBufferSource();
      src.buffer = buffers[keys[i]];
      src.connect(ctx.destination);
      src.start(t);
      t += src.buffer.duration + GAP;
      last = src;
    }
    var total = (t - ctx.currentTime) * 1000;
    var done = false;
    var finish = function () { if (!done) { done = true; resolve(); } };
    if (last) last.onended = finish;
    // onended never fires on a context that gets suspended mid-way: do not stall the queue for that.
    setTimeout(finish, total + 1500);
  });
};

function speechVoice(lang) {
  if (!window.speechSynthesis || !window.SpeechSynthesisUtterance) return null;
  var voices = window.speechSynthesis.getVoices();
  for (var i = 0; i < voices.length; i++) {
    if (voices[i].lang && voices[i].lang.toLowerCase().indexOf(lang) === 0) return voices[i];
  }
  return null;
}

function speak(text, voice) {
  return new Promise(function (resolve) {
    var u = new window.SpeechSynthesisUtterance(text);
    u.voice = voice;
    u.lang = voice.lang;
    u.rate = 0.9;
    var done = false;
    var finish = function () { if (!done) { done = true; resolve(); } };
    u.onend = finish;
    u.onerror = finish;
    window.speechSynthesis.speak(u);
    setTimeout(finish, 1000 + text.length * 150);
  });
}
